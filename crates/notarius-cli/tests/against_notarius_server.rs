//! `notarius` against `notarius-server` (in this process, SQLite, generated TLS): the daily
//! commands, two publishers racing (the loser is told what happened and succeeds on retry),
//! and a server that rolls its data back (the client refuses, and its cache and changelist are
//! untouched). Expired server data is refused by the update loop's own tests (CV-10..CV-14 in
//! notarius-tuf), since our server re-signs whatever expires.

use std::path::{Path, PathBuf};
use std::process::Output;

use notarius_testpeer::{client_at, text};

mod common;
use common::server::Server;

fn notarius(trust: &Path, srv: &Server, args: &[&str]) -> Output {
    client_at(
        env!("CARGO_BIN_EXE_notarius"),
        trust,
        args,
        Some((&srv.url, &srv.ca)),
    )
}

fn ok(o: Output, what: &str) -> String {
    let t = text(&o);
    assert!(o.status.success(), "{what}: {t}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn notarius_works_against_notarius_server() {
    let srv = Server::start();
    let t = tempfile::tempdir().unwrap();
    let gun = "example.com/ours/app";
    let payload = t.path().join("payload");
    std::fs::write(&payload, b"our bits").unwrap();
    let p = payload.to_str().unwrap();
    ok(notarius(t.path(), &srv, &["init", "-p", gun]), "init -p");
    ok(
        notarius(t.path(), &srv, &["add", "-p", gun, "v1", p]),
        "add -p",
    );
    for (role, remote) in [("snapshot", true), ("timestamp", true), ("targets", false)] {
        let mut args = vec!["key", "rotate", gun, role];
        if remote {
            args.push("-r");
        }
        ok(notarius(t.path(), &srv, &args), &format!("rotate {role}"));
    }
    ok(
        notarius(t.path(), &srv, &["add", "-p", gun, "v2", p]),
        "add after rotations",
    );
    let cold = tempfile::tempdir().unwrap();
    let list = ok(notarius(cold.path(), &srv, &["list", gun]), "cold list");
    assert!(list.contains("v1") && list.contains("v2"), "{list}");
    ok(
        notarius(t.path(), &srv, &["delete", gun, "--remote"]),
        "delete --remote",
    );
    let gone = notarius(tempfile::tempdir().unwrap().path(), &srv, &["list", gun]);
    assert!(!gone.status.success(), "{}", text(&gone));
}

#[test]
fn the_loser_of_a_publish_race_is_told_and_retries() {
    let srv = Server::start();
    let base = tempfile::tempdir().unwrap();
    let (t1, t2) = (base.path().join("one"), base.path().join("two"));
    std::fs::create_dir(&t1).unwrap();
    let gun = "example.com/ours/race";
    let payload = base.path().join("payload");
    std::fs::write(&payload, b"bits").unwrap();
    let p = payload.to_str().unwrap();
    ok(notarius(&t1, &srv, &["init", "-p", gun]), "init");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(&t1)
        .arg(&t2)
        .output()
        .unwrap();
    assert!(cp.status.success());

    let mut told = 0;
    for round in 0..8 {
        ok(
            notarius(&t1, &srv, &["add", gun, &format!("a{round}"), p]),
            "stage a",
        );
        ok(
            notarius(&t2, &srv, &["add", gun, &format!("b{round}"), p]),
            "stage b",
        );
        let outs = std::thread::scope(|s| {
            let h1 = s.spawn(|| notarius(&t1, &srv, &["publish", gun]));
            let h2 = s.spawn(|| notarius(&t2, &srv, &["publish", gun]));
            [(h1.join().unwrap(), &t1), (h2.join().unwrap(), &t2)]
        });
        for (o, trust) in outs {
            if o.status.success() {
                continue;
            }
            let t = text(&o);
            assert!(
                t.contains("A newer version of metadata is already available"),
                "{t}"
            );
            assert!(t.contains("run the same publish again"), "{t}");
            told += 1;
            ok(notarius(trust, &srv, &["publish", gun]), "retry");
        }
    }
    let list = ok(
        notarius(tempfile::tempdir().unwrap().path(), &srv, &["list", gun]),
        "list",
    );
    for round in 0..8 {
        assert!(
            list.contains(&format!("a{round} ")) && list.contains(&format!("b{round} ")),
            "{list}"
        );
    }
    eprintln!("{told} publishes lost a race, were told so, and succeeded on retry");
}

#[test]
fn rolled_back_server_data_is_refused_and_changes_nothing() {
    let mut srv = Server::start();
    let t = tempfile::tempdir().unwrap();
    let gun = "example.com/ours/rollback";
    let payload = t.path().join("payload");
    std::fs::write(&payload, b"bits").unwrap();
    let p = payload.to_str().unwrap();
    ok(notarius(t.path(), &srv, &["init", "-p", gun]), "init");
    ok(
        notarius(t.path(), &srv, &["add", "-p", gun, "v1", p]),
        "add v1",
    );
    ok(
        notarius(t.path(), &srv, &["add", "-p", gun, "v2", p]),
        "add v2",
    );
    ok(
        notarius(t.path(), &srv, &["add", gun, "staged", p]),
        "stage",
    );
    // The client has now seen the newest timestamp.
    ok(notarius(t.path(), &srv, &["list", gun]), "list");
    let before = snapshot(t.path());

    // The server forgets its newest publish: it now serves older, validly signed data.
    // The server is restored from an older backup: it now serves older, validly signed data.
    srv.tamper(
        "DELETE FROM tuf_files WHERE role IN ('timestamp', 'snapshot', 'targets') \
         AND version = (SELECT MAX(version) FROM tuf_files f WHERE f.role = tuf_files.role)",
    );
    srv = srv.restart();
    let o = notarius(t.path(), &srv, &["list", gun]);
    assert!(!o.status.success(), "a rollback was accepted: {}", text(&o));
    assert!(text(&o).contains("lower than"), "{}", text(&o));
    assert_eq!(
        snapshot(t.path()),
        before,
        "the cache and changelist are untouched"
    );
}
