//! `notarius` and the real `notary` 0.7 on one notary-server, sharing a trust directory and
//! reading each other's publishes; the outputs of the same command compared byte for byte.

use std::path::Path;
use std::process::{Command, Output};

use notarius_testpeer::{Peer, client, notary, require_peer, text};

fn notarius(trust: &Path, args: &[&str], peer: &Peer) -> Output {
    client(env!("CARGO_BIN_EXE_notarius"), trust, args, Some(peer))
}

fn ok(o: Output, what: &str) -> String {
    let t = text(&o);
    assert!(o.status.success(), "{what}: {t}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn notarius_and_notary_share_a_repository() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-interop";
    let file = trust.path().join("payload");
    std::fs::write(&file, b"payload bytes").unwrap();
    let f = file.to_str().unwrap();

    ok(
        notarius(trust.path(), &["init", "-p", gun], &peer),
        "notarius init -p",
    );
    let out = ok(
        notarius(trust.path(), &["add", gun, "v1", f], &peer),
        "notarius add",
    );
    assert_eq!(
        out,
        format!("Addition of target \"v1\" to repository \"{gun}\" staged for next publish.\n")
    );
    assert_eq!(
        ok(
            notarius(trust.path(), &["status", gun], &peer),
            "notarius status"
        ),
        ok(
            notary(trust.path(), &["status", gun], Some(&peer)),
            "notary status"
        ),
        "status tables agree"
    );
    let out = ok(
        notarius(trust.path(), &["publish", gun], &peer),
        "notarius publish",
    );
    assert_eq!(
        out,
        format!("Pushing changes to {gun}\nSuccessfully published changes for repository {gun}\n")
    );

    // The real notary, from an empty trust dir, reads what notarius published, and both print
    // the same table and lookup line.
    let fresh = tempfile::tempdir().unwrap();
    let theirs = ok(
        notary(fresh.path(), &["list", gun], Some(&peer)),
        "notary list",
    );
    let fresh2 = tempfile::tempdir().unwrap();
    let ours = ok(
        notarius(fresh2.path(), &["list", gun], &peer),
        "notarius list",
    );
    assert_eq!(ours, theirs);
    assert!(ours.contains("v1"), "{ours}");
    assert_eq!(
        ok(
            notarius(fresh2.path(), &["lookup", gun, "v1"], &peer),
            "notarius lookup"
        ),
        ok(
            notary(fresh.path(), &["lookup", gun, "v1"], Some(&peer)),
            "notary lookup"
        )
    );

    // notary publishes into the same trust dir with the keys notarius made; notarius reads it.
    ok(
        notary(trust.path(), &["add", gun, "v2", f], Some(&peer)),
        "notary add",
    );
    ok(
        notary(trust.path(), &["publish", gun], Some(&peer)),
        "notary publish",
    );
    let ours = ok(
        notarius(fresh2.path(), &["list", gun], &peer),
        "notarius list after notary publish",
    );
    assert!(ours.contains("v1") && ours.contains("v2"), "{ours}");
    assert_eq!(
        ours,
        ok(
            notary(fresh.path(), &["list", gun], Some(&peer)),
            "notary list"
        )
    );

    // Removal through notarius, and the key list both tools print for the shared trust dir.
    ok(
        notarius(trust.path(), &["remove", gun, "v1", "-p"], &peer),
        "notarius remove -p",
    );
    let theirs = ok(
        notary(fresh.path(), &["list", gun], Some(&peer)),
        "notary list after remove",
    );
    assert!(!theirs.contains("v1 ") && theirs.contains("v2"), "{theirs}");
    assert_eq!(
        ok(
            notarius(trust.path(), &["key", "list"], &peer),
            "notarius key list"
        ),
        ok(
            notary(trust.path(), &["key", "list"], Some(&peer)),
            "notary key list"
        )
    );
}

#[test]
fn failures_print_notarys_fatal_line() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let o = notarius(trust.path(), &["list", "example.com/nothing-here"], &peer);
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("\n* fatal: ")
            && out.contains("does not have trust data for example.com/nothing-here"),
        "{out}"
    );
    // A GUN that climbs out of the trust dir is refused before anything is written, here or
    // beside it (the trust dir is one level down, so "beside" is a folder this test owns).
    let base = tempfile::tempdir().unwrap();
    let inner = base.path().join("trust");
    for gun in ["../escape", "a/../../escape", "example.com/../../escape"] {
        let o = notarius(&inner, &["init", gun], &peer);
        assert!(!o.status.success(), "{gun}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(&format!("invalid GUN \"{gun}\"")),
            "{gun}: {}",
            text(&o)
        );
        let mut written: Vec<_> = std::fs::read_dir(base.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        written.sort();
        assert!(
            written.is_empty() || written == ["trust"],
            "{gun}: {written:?}"
        );
        assert!(!inner.join("tuf").exists(), "{gun}: nothing staged");
    }
}

#[test]
fn delegations_made_by_notarius_are_read_by_notary() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-delegations";
    let key = trust.path().join("deleg.pem");
    let public = trust.path().join("deleg.pub");
    let run = |args: &[&str]| {
        let o = Command::new("openssl").args(args).output().unwrap();
        assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
    };
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        key.to_str().unwrap(),
    ]);
    run(&[
        "ec",
        "-in",
        key.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    let file = trust.path().join("payload");
    std::fs::write(&file, b"release bits").unwrap();

    ok(notarius(trust.path(), &["init", "-p", gun], &peer), "init");
    ok(
        notarius(
            trust.path(),
            &[
                "key",
                "import",
                key.to_str().unwrap(),
                "-r",
                "targets/releases",
            ],
            &peer,
        ),
        "key import",
    );
    let out = ok(
        notarius(
            trust.path(),
            &[
                "delegation",
                "add",
                gun,
                "targets/releases",
                public.to_str().unwrap(),
                "--all-paths",
                "-p",
            ],
            &peer,
        ),
        "delegation add",
    );
    assert!(
        out.contains("Addition of delegation role targets/releases with keys ["),
        "{out}"
    );
    ok(
        notarius(
            trust.path(),
            &[
                "add",
                "-r",
                "targets/releases",
                gun,
                "rel-1",
                file.to_str().unwrap(),
                "-p",
            ],
            &peer,
        ),
        "add -r",
    );

    let fresh = tempfile::tempdir().unwrap();
    let theirs = ok(
        notary(fresh.path(), &["list", gun], Some(&peer)),
        "notary list",
    );
    assert!(
        theirs
            .lines()
            .any(|l| l.starts_with("rel-1") && l.trim_end().ends_with("targets/releases")),
        "{theirs}"
    );
    let fresh2 = tempfile::tempdir().unwrap();
    assert_eq!(
        ok(
            notarius(fresh2.path(), &["list", gun], &peer),
            "notarius list"
        ),
        theirs
    );
    assert_eq!(
        ok(
            notarius(fresh2.path(), &["delegation", "list", gun], &peer),
            "notarius delegation list"
        ),
        ok(
            notary(fresh.path(), &["delegation", "list", gun], Some(&peer)),
            "notary delegation list"
        )
    );
    // notary signs into the delegation with the key notarius imported.
    ok(
        notary(
            trust.path(),
            &[
                "add",
                "-r",
                "targets/releases",
                gun,
                "rel-2",
                file.to_str().unwrap(),
                "-p",
            ],
            Some(&peer),
        ),
        "notary add -r",
    );
    let ours = ok(
        notarius(fresh2.path(), &["list", gun], &peer),
        "notarius list",
    );
    assert!(ours.contains("rel-2"), "{ours}");
}

#[test]
fn verify_delete_and_generate() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-verify";
    let file = trust.path().join("payload");
    std::fs::write(&file, b"the real bits").unwrap();
    let bad = trust.path().join("bad");
    std::fs::write(&bad, b"the fake bits").unwrap();
    ok(notarius(trust.path(), &["init", "-p", gun], &peer), "init");
    ok(
        notarius(
            trust.path(),
            &["add", gun, "v1", file.to_str().unwrap(), "-p"],
            &peer,
        ),
        "add",
    );

    let out = ok(
        notarius(
            trust.path(),
            &["verify", gun, "v1", "-i", file.to_str().unwrap()],
            &peer,
        ),
        "verify",
    );
    assert_eq!(out, "the real bits");
    let o = notarius(
        trust.path(),
        &["verify", gun, "v1", "-i", bad.to_str().unwrap()],
        &peer,
    );
    assert!(!o.status.success());
    let ours = String::from_utf8_lossy(&o.stdout).into_owned();
    let theirs = text(&notary(
        trust.path(),
        &["verify", gun, "v1", "-i", bad.to_str().unwrap()],
        Some(&peer),
    ));
    for t in [&ours, &theirs] {
        assert!(
            t.contains("* fatal: data not present in the trusted collection, sha"),
            "{t}"
        );
        assert!(!t.contains("the fake bits"), "nothing echoed: {t}");
    }
    let o = notarius(
        trust.path(),
        &["verify", gun, "nope", "-i", file.to_str().unwrap()],
        &peer,
    );
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("error retrieving target by name:nope, error:No valid trust data for nope")
    );

    let out = ok(
        notarius(
            trust.path(),
            &["key", "generate", "ecdsa", "-r", "targets/dev"],
            &peer,
        ),
        "key generate",
    );
    let id = out.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(
        out.starts_with("Generated new ecdsa targets/dev key with keyID: "),
        "{out}"
    );
    let listed = ok(
        notary(trust.path(), &["key", "list"], Some(&peer)),
        "notary key list",
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("targets/dev") && l.contains(&id)),
        "{listed}"
    );

    let out = ok(
        notarius(trust.path(), &["delete", gun, "--remote"], &peer),
        "delete --remote",
    );
    assert_eq!(
        out,
        format!(
            "Deleting trust data for repository {gun}\nSuccessfully deleted local and remote trust data for repository {gun}\n"
        )
    );
    assert!(!trust.path().join("tuf").join(gun).exists());
    let fresh = tempfile::tempdir().unwrap();
    let o = notary(fresh.path(), &["list", gun], Some(&peer));
    assert!(
        !o.status.success() && text(&o).contains("does not have trust data"),
        "{}",
        text(&o)
    );
}

/// A publish that cannot sign (wrong passphrase) fails with Notary's message and loses nothing:
/// the staged change stays, the server and the cache are as they were.
#[test]
fn a_failed_publish_changes_nothing() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-failed-publish";
    let file = trust.path().join("payload");
    std::fs::write(&file, b"bits").unwrap();
    ok(notarius(trust.path(), &["init", "-p", gun], &peer), "init");
    ok(
        notarius(
            trust.path(),
            &["add", gun, "v1", file.to_str().unwrap()],
            &peer,
        ),
        "add",
    );
    let cache = trust.path().join("tuf").join(gun).join("metadata");
    let snapshot = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap())
                    .map(|e| {
                        (
                            e.file_name().to_string_lossy().into_owned(),
                            std::fs::read(e.path()).unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let cache_before = snapshot(&cache);
    let status_before = ok(notarius(trust.path(), &["status", gun], &peer), "status");
    let fresh = tempfile::tempdir().unwrap();
    let server_before = ok(
        notary(fresh.path(), &["list", gun], Some(&peer)),
        "notary list",
    );

    let o = Command::new(env!("CARGO_BIN_EXE_notarius"))
        .args([
            "-d",
            trust.path().to_str().unwrap(),
            "-s",
            &peer.url,
            "--tlscacert",
            peer.ca().to_str().unwrap(),
            "publish",
            gun,
        ])
        .env("NOTARY_TARGETS_PASSPHRASE", "not the right one")
        .env("NOTARY_SNAPSHOT_PASSPHRASE", "oursnapshotpass")
        .env("HOME", trust.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("* fatal:"), "{out}");

    assert_eq!(
        ok(notarius(trust.path(), &["status", gun], &peer), "status"),
        status_before,
        "the change is still staged"
    );
    assert!(snapshot(&cache) == cache_before, "cache unchanged");
    assert_eq!(
        ok(
            notary(fresh.path(), &["list", gun], Some(&peer)),
            "notary list"
        ),
        server_before,
        "server unchanged"
    );
    // With the right passphrase the same publish goes through.
    ok(notarius(trust.path(), &["publish", gun], &peer), "publish");
    assert!(
        ok(
            notary(fresh.path(), &["list", gun], Some(&peer)),
            "notary list"
        )
        .contains("v1")
    );
}

/// All four rotations by notarius; a notary client that trusted the first root follows the
/// rotation, and a cold one verifies the result.
#[test]
fn rotations_by_notarius_are_followed_by_notary() {
    use std::io::Write as _;
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-rotations";
    let file = trust.path().join("payload");
    std::fs::write(&file, b"rotated bits").unwrap();
    ok(notarius(trust.path(), &["init", "-p", gun], &peer), "init");
    ok(
        notarius(
            trust.path(),
            &["add", gun, "v1", file.to_str().unwrap(), "-p"],
            &peer,
        ),
        "add",
    );
    // A reader that trusts the repository as it was before the rotations.
    let early = tempfile::tempdir().unwrap();
    ok(
        notary(early.path(), &["list", gun], Some(&peer)),
        "early notary list",
    );

    for (role, server) in [("targets", false), ("snapshot", true), ("timestamp", true)] {
        let mut args = vec!["key", "rotate", gun, role];
        if server {
            args.push("-r");
        }
        let out = ok(
            notarius(trust.path(), &args, &peer),
            &format!("rotate {role}"),
        );
        assert!(
            out.ends_with(&format!(
                "Successfully rotated {role} key for repository {gun}\n"
            )),
            "{out}"
        );
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_notarius"))
        .args([
            "-d",
            trust.path().to_str().unwrap(),
            "-s",
            &peer.url,
            "--tlscacert",
            peer.ca().to_str().unwrap(),
            "key",
            "rotate",
            gun,
            "root",
        ])
        .env("NOTARY_ROOT_PASSPHRASE", "ourrootpass")
        .env("NOTARY_TARGETS_PASSPHRASE", "ourtargetspass")
        .env("NOTARY_SNAPSHOT_PASSPHRASE", "oursnapshotpass")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"yes\n").unwrap();
    let out = ok(child.wait_with_output().unwrap(), "rotate root");
    assert!(
        out.contains("Are you sure you want to proceed?")
            && out.ends_with(&format!(
                "Successfully rotated root key for repository {gun}\n"
            )),
        "{out}"
    );

    // notary, holding the first root, walks the rotation; a cold notary verifies from scratch.
    let theirs = ok(
        notary(early.path(), &["list", gun], Some(&peer)),
        "notary list after rotations",
    );
    assert!(theirs.contains("v1"), "{theirs}");
    let cold = tempfile::tempdir().unwrap();
    assert_eq!(
        ok(
            notary(cold.path(), &["list", gun], Some(&peer)),
            "cold notary list"
        ),
        theirs
    );
    // The snapshot key went to the server: its local file is gone, and publishing still works.
    ok(
        notarius(
            trust.path(),
            &["add", gun, "v2", file.to_str().unwrap(), "-p"],
            &peer,
        ),
        "add after rotations",
    );
    assert!(
        ok(
            notary(cold.path(), &["list", gun], Some(&peer)),
            "notary list"
        )
        .contains("v2")
    );
    let keys = ok(
        notary(trust.path(), &["key", "list"], Some(&peer)),
        "key list",
    );
    assert!(!keys.lines().any(|l| l.starts_with("snapshot")), "{keys}");
}

/// With the server gone, `list` works from an unexpired cache and says so.
#[test]
fn offline_reads_use_the_cache_with_a_warning() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-offline";
    let file = trust.path().join("payload");
    std::fs::write(&file, b"cached bits").unwrap();
    ok(notarius(trust.path(), &["init", "-p", gun], &peer), "init");
    ok(
        notarius(
            trust.path(),
            &["add", gun, "v1", file.to_str().unwrap(), "-p"],
            &peer,
        ),
        "add",
    );
    let reader = tempfile::tempdir().unwrap();
    let online = ok(
        notarius(reader.path(), &["list", gun], &peer),
        "online list",
    );
    let url = peer.url.clone();
    let ca = peer.ca();
    let ca_copy = reader.path().join("ca.crt");
    std::fs::copy(&ca, &ca_copy).unwrap();
    drop(peer);
    let o = Command::new(env!("CARGO_BIN_EXE_notarius"))
        .args([
            "-d",
            reader.path().to_str().unwrap(),
            "-s",
            &url,
            "--tlscacert",
            ca_copy.to_str().unwrap(),
            "list",
            gun,
        ])
        .env("HOME", reader.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), online);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("using cached timestamp"),
        "{}",
        text(&o)
    );
}

/// `witness` re-signs a role as it is: a new version that notary accepts.
#[test]
fn witness_re_signs_a_role() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-witness";
    let file = trust.path().join("payload");
    std::fs::write(&file, b"witnessed").unwrap();
    ok(notarius(trust.path(), &["init", "-p", gun], &peer), "init");
    ok(
        notarius(
            trust.path(),
            &["add", gun, "v1", file.to_str().unwrap(), "-p"],
            &peer,
        ),
        "add",
    );
    let version = |dir: &Path| {
        let b = std::fs::read(dir.join("tuf").join(gun).join("metadata/targets.json")).unwrap();
        let t: notarius_tuf::metadata::Targets =
            notarius_tuf::metadata::Envelope::parse("targets", &b)
                .unwrap()
                .decode("targets")
                .unwrap();
        t.version
    };
    let r1 = tempfile::tempdir().unwrap();
    let before = ok(notary(r1.path(), &["list", gun], Some(&peer)), "list");
    let v1 = version(r1.path());
    let out = ok(
        notarius(trust.path(), &["witness", gun, "targets", "-p"], &peer),
        "witness",
    );
    assert!(out.starts_with("The following roles were successfully marked for witnessing on the next publish:\n\t- targets\n"), "{out}");
    let r2 = tempfile::tempdir().unwrap();
    assert_eq!(
        ok(notary(r2.path(), &["list", gun], Some(&peer)), "list"),
        before
    );
    assert_eq!(version(r2.path()), v1 + 1);
}
