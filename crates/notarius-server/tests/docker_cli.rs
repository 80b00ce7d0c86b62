//! The docker CLI's `docker trust` commands (no engine needed for these) against
//! notarius-server: key generate, signer add (which initialises the repository on the server),
//! sign, inspect from a cold configuration, revoke. The image's registry host does not resolve
//! (`interop.invalid`), so the CLI verifies our TLS certificate for real instead of skipping it
//! as it does for loopback registries.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Backend, TestDb, TestServer, ci, ok};
use notarius_testpeer::{have, text};

const IMAGE: &str = "interop.invalid/notarius/img";

fn docker(config: &Path, srv: &TestServer, args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_CONFIG", config)
        .env("DOCKER_CONTENT_TRUST_SERVER", &srv.url)
        .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "docker-root-pass")
        .env(
            "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
            "docker-repo-pass",
        )
        .current_dir(config)
        .output()
        .unwrap()
}

/// A docker config directory that trusts the server's CA (`tls/<host:port>/*.crt`).
fn docker_config(srv: &TestServer) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let host = srv.url.trim_start_matches("https://");
    let tls = dir.path().join("tls").join(host);
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::copy(&srv.ca, tls.join("ca.crt")).unwrap();
    dir
}

#[test]
fn docker_trust_commands_work_against_notarius_server() {
    if !have("docker") || !have("notary") {
        assert!(!ci(), "the docker CLI and notary are needed");
        eprintln!("SKIPPED: docker CLI or notary missing");
        return;
    }
    let db = TestDb::new(Backend::Sqlite);
    let srv = TestServer::start(&db);
    let cfg = docker_config(&srv);
    let c = cfg.path();

    let out = ok(
        docker(c, &srv, &["trust", "key", "generate", "alice"]),
        "key generate",
    );
    assert!(
        out.contains("Successfully generated and loaded private key"),
        "{out}"
    );
    let out = ok(
        docker(
            c,
            &srv,
            &[
                "trust",
                "signer",
                "add",
                "--key",
                "alice.pub",
                "alice",
                IMAGE,
            ],
        ),
        "signer add",
    );
    assert!(
        out.contains(&format!("Successfully initialized \"{IMAGE}\""))
            && out.contains(&format!("Successfully added signer: alice to {IMAGE}")),
        "{out}"
    );

    // The tag must exist in the trust data before `docker trust sign` works without an engine;
    // notary stages it into the same trust directory, signed by alice's key.
    let digest = "530c94cd4fddc1360582bceec5cc493e2b4f7d4d6370042124f1a5b8d5b05450";
    let o = Command::new("notary")
        .args(["-s", &srv.url, "--tlscacert"])
        .arg(&srv.ca)
        .arg("-d")
        .arg(c.join("trust"))
        .args([
            "addhash",
            IMAGE,
            "v1",
            "423",
            "--sha256",
            digest,
            "-r",
            "targets/releases",
            "-p",
        ])
        .env("NOTARY_DELEGATION_PASSPHRASE", "docker-repo-pass")
        .env("NOTARY_TARGETS_PASSPHRASE", "docker-repo-pass")
        .env("NOTARY_SNAPSHOT_PASSPHRASE", "docker-repo-pass")
        .output()
        .unwrap();
    ok(o, "notary addhash into the docker trust directory");
    let out = ok(
        docker(c, &srv, &["trust", "sign", &format!("{IMAGE}:v1")]),
        "sign",
    );
    assert!(
        out.contains(&format!("Successfully signed {IMAGE}:v1")),
        "{out}"
    );

    // A brand-new configuration sees only what the server serves.
    let cold = docker_config(&srv);
    let out = ok(
        docker(cold.path(), &srv, &["trust", "inspect", "--pretty", IMAGE]),
        "inspect",
    );
    assert!(out.contains(&format!("Signatures for {IMAGE}")), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("v1 "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains(digest) && row.contains("alice"), "{row}");
    let json = ok(
        docker(cold.path(), &srv, &["trust", "inspect", IMAGE]),
        "inspect json",
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["Name"], IMAGE);
    assert_eq!(v[0]["SignedTags"][0]["SignedTag"], "v1");
    assert_eq!(v[0]["Signers"][0]["Name"], "alice");

    let out = ok(
        docker(
            c,
            &srv,
            &["trust", "revoke", "--yes", &format!("{IMAGE}:v1")],
        ),
        "revoke",
    );
    assert!(
        out.contains(&format!("Successfully deleted signature for {IMAGE}:v1")),
        "{out}"
    );
    let cold = docker_config(&srv);
    let out = ok(
        docker(cold.path(), &srv, &["trust", "inspect", "--pretty", IMAGE]),
        "inspect after revoke",
    );
    assert!(!out.lines().any(|l| l.starts_with("v1 ")), "{out}");
    let again = docker(
        c,
        &srv,
        &["trust", "revoke", "--yes", &format!("{IMAGE}:v1")],
    );
    assert!(!again.status.success());
    assert!(
        text(&again).contains("No valid trust data for v1"),
        "{}",
        text(&again)
    );

    // Without the CA the CLI refuses our certificate: verification is real.
    let untrusting = tempfile::tempdir().unwrap();
    let o = docker(untrusting.path(), &srv, &["-D", "trust", "inspect", IMAGE]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("certificate signed by unknown authority"),
        "{}",
        text(&o)
    );
}
