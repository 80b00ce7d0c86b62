//! The real `notary` CLI (Debian's notary 0.7) against `notarius-server` on SQLite, PostgreSQL
//! and MySQL: every command that talks to a server, and a second, cold trust directory that
//! must verify what the first published.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Backend, TestDb, TestServer, available, notary, ok, require_notary};
use notarius_testpeer::text;

fn openssl(args: &[&str]) {
    let o = Command::new("openssl").args(args).output().unwrap();
    assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
}

/// An ECDSA key and a self-signed certificate for it, as a delegate would make them.
fn delegate_material(dir: &Path) -> (String, String) {
    let key = dir.join("deleg.key").display().to_string();
    let cert = dir.join("deleg.crt").display().to_string();
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &key,
    ]);
    openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        &key,
        "-out",
        &cert,
        "-days",
        "30",
        "-subj",
        "/CN=delegate",
    ]);
    (key, cert)
}

fn scenario(backend: Backend) {
    if !available(backend) || !require_notary() {
        return;
    }
    let db = TestDb::new(backend);
    let srv = TestServer::start(&db);
    let pub_dir = tempfile::tempdir().unwrap();
    let publisher = pub_dir.path();
    let gun = "example.com/notarius/app";
    let payload = publisher.join("payload");
    std::fs::write(&payload, b"release bits").unwrap();
    let payload = payload.to_str().unwrap();

    ok(notary(publisher, &srv, &["init", "-p", gun]), "init -p");
    ok(
        notary(publisher, &srv, &["add", "-p", gun, "v1", payload]),
        "add v1",
    );
    let list = ok(notary(publisher, &srv, &["list", gun]), "list");
    assert!(list.contains("v1") && list.contains("targets"), "{list}");
    let lookup = ok(notary(publisher, &srv, &["lookup", gun, "v1"]), "lookup");
    assert!(lookup.starts_with("v1 sha256:"), "{lookup}");
    let verified = publisher.join("verified");
    ok(
        notary(
            publisher,
            &srv,
            &[
                "verify",
                gun,
                "v1",
                "-i",
                payload,
                "-o",
                verified.to_str().unwrap(),
            ],
        ),
        "verify",
    );
    assert_eq!(std::fs::read(&verified).unwrap(), b"release bits");
    let tampered = publisher.join("tampered");
    std::fs::write(&tampered, b"release bitz").unwrap();
    let bad = notary(
        publisher,
        &srv,
        &["verify", gun, "v1", "-i", tampered.to_str().unwrap()],
    );
    assert!(!bad.status.success(), "a tampered payload verified");

    // A reader that has never seen the repository: bootstraps from the server alone.
    let reader_dir = tempfile::tempdir().unwrap();
    let reader = reader_dir.path();
    let cold = ok(notary(reader, &srv, &["list", gun]), "cold list");
    assert!(cold.contains("v1"), "{cold}");

    // Delegation with a key of the delegate's own.
    let (dkey, dcert) = delegate_material(publisher);
    ok(
        notary(
            publisher,
            &srv,
            &[
                "delegation",
                "add",
                "-p",
                gun,
                "targets/releases",
                &dcert,
                "--all-paths",
            ],
        ),
        "delegation add",
    );
    ok(
        notary(
            publisher,
            &srv,
            &["key", "import", &dkey, "-r", "targets/releases"],
        ),
        "key import",
    );
    ok(
        notary(
            publisher,
            &srv,
            &[
                "add",
                "-p",
                gun,
                "v2",
                payload,
                "--roles",
                "targets/releases",
            ],
        ),
        "add v2 to the delegation",
    );
    let list = ok(notary(reader, &srv, &["list", gun]), "reader list");
    assert!(
        list.contains("targets/releases") && list.contains("v2"),
        "{list}"
    );
    let dl = ok(
        notary(reader, &srv, &["delegation", "list", gun]),
        "delegation list",
    );
    assert!(dl.contains("targets/releases"), "{dl}");

    // Every rotation the server takes part in, then the client-held ones.
    for (role, remote) in [("snapshot", true), ("timestamp", true), ("targets", false)] {
        let mut args = vec!["key", "rotate", gun, role];
        if remote {
            args.push("-r");
        }
        ok(notary(publisher, &srv, &args), &format!("rotate {role}"));
        let after = ok(
            notary(reader, &srv, &["list", gun]),
            &format!("list after {role}"),
        );
        assert!(after.contains("v1"), "{after}");
    }
    // Snapshot back to the client, a publish it signs, then witness.
    ok(
        notary(publisher, &srv, &["key", "rotate", gun, "snapshot"]),
        "rotate snapshot to client",
    );
    ok(
        notary(publisher, &srv, &["add", "-p", gun, "v3", payload]),
        "add v3",
    );
    ok(
        notary(publisher, &srv, &["witness", "-p", gun, "targets/releases"]),
        "witness",
    );
    let list = ok(notary(reader, &srv, &["list", gun]), "list after witness");
    assert!(list.contains("v3") && list.contains("v2"), "{list}");
    ok(
        notary(publisher, &srv, &["remove", "-p", gun, "v3"]),
        "remove v3",
    );
    let list = ok(notary(reader, &srv, &["list", gun]), "list after remove");
    assert!(!list.contains("v3"), "{list}");

    // Deleting the remote data leaves nothing to read.
    ok(
        notary(publisher, &srv, &["delete", gun, "--remote"]),
        "delete --remote",
    );
    let fresh = tempfile::tempdir().unwrap();
    let gone = notary(fresh.path(), &srv, &["list", gun]);
    assert!(!gone.status.success(), "{}", text(&gone));
    assert!(
        text(&gone).contains("does not have trust data"),
        "{}",
        text(&gone)
    );
}

#[test]
fn notary_cli_against_notarius_server_on_sqlite() {
    scenario(Backend::Sqlite);
}

#[test]
fn notary_cli_against_notarius_server_on_postgresql() {
    scenario(Backend::Postgres);
}

#[test]
fn notary_cli_against_notarius_server_on_mysql() {
    scenario(Backend::MySql);
}
