//! `key export`, `key import` of bundles, `key remove` and `key passwd`, checked against the
//! real `notary` 0.7 on the same (or a copied) trust directory.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;
use notarius_testpeer::{Peer, notary, require_peer, text};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Key IDs in a trust dir, from the file names.
fn key_ids(trust: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(trust.join("private"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".key").map(str::to_owned))
        .collect();
    v.sort();
    v
}

/// A trust dir with root, targets and snapshot keys of `gun` (published) and a delegation key.
fn trust_dir_with_keys(gun: &str, peer: &Peer) -> (tempfile::TempDir, String) {
    let trust = tempfile::tempdir().unwrap();
    ok(notarius(trust.path(), &["init", "-p", gun], peer), "init");
    let out = ok(
        notarius(
            trust.path(),
            &["key", "generate", "ecdsa", "-r", "targets/dev"],
            peer,
        ),
        "key generate",
    );
    let id = out.trim().rsplit(' ').next().unwrap().to_owned();
    (trust, id)
}

#[test]
fn export_is_notarys_and_each_imports_the_others_bundle() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun = "example.com/cli-key-export";
    let (trust, deleg) = trust_dir_with_keys(gun, &peer);
    let t = trust.path();
    let ids = key_ids(t);
    assert_eq!(ids.len(), 4, "root, targets, snapshot, delegation");

    // The same bytes as notary for every selection.
    let selections: Vec<Vec<String>> = vec![
        vec![],
        vec!["--key".into(), format!("{},{}", ids[2], ids[0])],
        vec![
            "--key".into(),
            ids[1].clone(),
            "--key".into(),
            deleg.clone(),
        ],
        vec!["--gun".into(), gun.into()],
        vec!["--gun".into(), "example.com/nothing".into()],
        vec!["--key".into(), "f".repeat(64)],
    ];
    for sel in &selections {
        let mut args = vec!["key", "export"];
        args.extend(sel.iter().map(String::as_str));
        let ours = ok(notarius(t, &args, &peer), "notarius key export");
        let theirs = ok(notary(t, &args, Some(&peer)), "notary key export");
        assert_eq!(ours, theirs, "{args:?}");
    }
    let all = ok(notarius(t, &["key", "export"], &peer), "export");
    assert_eq!(
        all.matches("-----BEGIN ENCRYPTED PRIVATE KEY-----").count(),
        4
    );
    for id in &ids {
        assert!(all.contains(&format!("path: {id}\n")), "{all}");
    }
    let by_gun = ok(
        notarius(t, &["key", "export", "--gun", gun], &peer),
        "export --gun",
    );
    assert_eq!(
        by_gun.matches("BEGIN").count(),
        2,
        "targets and snapshot keys"
    );

    // -o: the same bytes, mode 0600.
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("keys.pem");
    let o = notarius(t, &["key", "export", "-o", file.to_str().unwrap()], &peer);
    assert_eq!(ok(o, "export -o"), "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), all);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // notary imports our bundle into an empty trust dir: the very key files we hold.
    let theirs = tempfile::tempdir().unwrap();
    ok(
        notary(
            theirs.path(),
            &["key", "import", file.to_str().unwrap()],
            Some(&peer),
        ),
        "notary key import",
    );
    assert!(tree(&theirs.path().join("private")) == tree(&t.join("private")));
    // And we import notary's export of them.
    let their_file = out_dir.path().join("theirs.pem");
    ok(
        notary(
            t,
            &["key", "export", "-o", their_file.to_str().unwrap()],
            Some(&peer),
        ),
        "notary export -o",
    );
    let ours = tempfile::tempdir().unwrap();
    ok(
        notarius(
            ours.path(),
            &["key", "import", their_file.to_str().unwrap()],
            &peer,
        ),
        "notarius key import",
    );
    assert!(tree(&ours.path().join("private")) == tree(&t.join("private")));
    assert_eq!(
        ok(notarius(ours.path(), &["key", "list"], &peer), "key list")
            .replace(ours.path().to_str().unwrap(), "DIR"),
        ok(
            notary(ours.path(), &["key", "list"], Some(&peer)),
            "key list"
        )
        .replace(ours.path().to_str().unwrap(), "DIR")
    );
    // The imported keys sign: notary publishes with them.
    let f = out_dir.path().join("payload");
    std::fs::write(&f, b"signed with imported keys").unwrap();
    ok(
        notary(
            ours.path(),
            &["add", gun, "v1", f.to_str().unwrap(), "-p"],
            Some(&peer),
        ),
        "notary publishes with keys notarius imported",
    );
}

#[test]
fn bad_exports_and_imports_change_nothing() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun = "example.com/cli-key-export-bad";
    let (trust, deleg) = trust_dir_with_keys(gun, &peer);
    let t = trust.path();
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("keys.pem");
    let args = [
        "key",
        "export",
        "--key",
        &deleg,
        "--gun",
        gun,
        "-o",
        file.to_str().unwrap(),
    ];
    let ours = notarius(t, &args, &peer);
    assert!(!ours.status.success());
    assert_eq!(
        stdout(&ours),
        "\n* fatal: Only the --gun or --key flag may be provided, not a mix of the two flags\n"
    );
    assert!(
        !file.exists(),
        "nothing written (notary leaves an empty file)"
    );
    let theirs = notary(t, &args, Some(&peer));
    assert!(
        stdout(&theirs).ends_with(&stdout(&ours)),
        "{}",
        text(&theirs)
    );
    let o = notarius(
        t,
        &["key", "export", "-o", "/nonexistent/dir/keys.pem"],
        &peer,
    );
    assert!(
        !o.status.success() && stdout(&o).contains("* fatal: "),
        "{}",
        text(&o)
    );

    // A bundle with one damaged block: refused before anything is written.
    let bundle = ok(notarius(t, &["key", "export"], &peer), "export");
    let target = tempfile::tempdir().unwrap();
    ok(notarius(target.path(), &["key", "list"], &peer), "key list");
    let before = tree(&target.path().join("private"));
    // An encrypted block whose path climbs out of the key store.
    let first_block = &bundle[..bundle
        .find("-----END ENCRYPTED PRIVATE KEY-----\n")
        .unwrap()
        + 36];
    let climbing = out_dir.path().join("climbing.pem");
    let path_line = first_block
        .lines()
        .find(|l| l.starts_with("path: "))
        .unwrap();
    std::fs::write(
        &climbing,
        first_block.replace(path_line, "path: ../../../escaped"),
    )
    .unwrap();
    let o = notarius(
        target.path(),
        &["key", "import", climbing.to_str().unwrap()],
        &peer,
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(tree(&target.path().join("private")) == before);
    assert!(!out_dir.path().join("escaped").exists() && !target.path().join("escaped").exists());
    let only_bad = out_dir.path().join("only-bad.pem");
    std::fs::write(
        &only_bad,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\npath: 0000000000000000000000000000000000000000000000000000000000000000\n\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let o = notarius(
        target.path(),
        &["key", "import", only_bad.to_str().unwrap()],
        &peer,
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).starts_with("\n* fatal: failed to import all keys: invalid key pem block"),
        "{}",
        text(&o)
    );
    assert!(tree(&target.path().join("private")) == before);
    let o = notarius(
        target.path(),
        &["key", "import", "/nonexistent/keys.pem"],
        &peer,
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(tree(&target.path().join("private")) == before);
}

#[test]
fn key_remove_asks_as_notary_does() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let (trust, deleg) = trust_dir_with_keys("example.com/cli-key-remove", &peer);
    let t = trust.path();
    let copy = tempfile::tempdir().unwrap();
    copy_dir(t, copy.path());
    let c = copy.path();
    let same = |args: &[&str], stdin: &[u8]| {
        let ours = run_with(NOTARIUS, t, args, Some(&peer), stdin, &[]);
        let theirs = run_with("notary", c, args, Some(&peer), stdin, &[]);
        let (o, th) = (
            stdout(&ours).replace(t.to_str().unwrap(), "DIR"),
            stdout(&theirs).replace(c.to_str().unwrap(), "DIR"),
        );
        assert_eq!(o, th, "{args:?}: {} / {}", text(&ours), text(&theirs));
        assert_eq!(ours.status.code(), theirs.status.code(), "{args:?}");
        o
    };
    let out = same(&["key", "remove", &deleg], b"no\n");
    assert_eq!(
        out,
        format!(
            "\nAre you sure you want to remove {deleg} (role targets/dev) from DIR/private?  (yes/no)  \nAborting action.\n\n"
        )
    );
    assert!(key_ids(t).contains(&deleg));
    let out = same(&["key", "remove", "abc"], b"");
    assert_eq!(out, "\n* fatal: invalid key ID provided: abc\n");
    let missing = "0".repeat(64);
    let out = same(&["key", "remove", &missing], b"yes\n");
    assert_eq!(
        out,
        format!("\n\n\n* fatal: No key with ID {missing} found\n")
    );
    let out = same(&["key", "remove", &deleg], b"YES\n");
    assert!(
        out.ends_with(&format!(
            "\nDeleted {deleg} (role targets/dev) from DIR/private.\n\n"
        )),
        "{out}"
    );
    assert!(!key_ids(t).contains(&deleg));
    assert_eq!(key_ids(t), key_ids(c));
    assert_eq!(
        ok(notarius(t, &["key", "list"], &peer), "list").replace(t.to_str().unwrap(), "DIR"),
        ok(notary(c, &["key", "list"], Some(&peer)), "list").replace(c.to_str().unwrap(), "DIR")
    );
    // -y (beyond notary) asks nothing.
    let root = key_ids(t)
        .into_iter()
        .find(|id| {
            std::fs::read_to_string(t.join(format!("private/{id}.key")))
                .unwrap()
                .contains("role: root")
        })
        .unwrap();
    let out = ok(
        notarius(t, &["key", "remove", &root, "-y"], &peer),
        "remove -y",
    );
    assert!(!out.contains("Are you sure"), "{out}");
    assert!(!key_ids(t).contains(&root));
}

#[test]
fn key_passwd_re_encrypts_for_notary() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let (trust, deleg) = trust_dir_with_keys("example.com/cli-key-passwd", &peer);
    let t = trust.path();
    let key_file = t.join(format!("private/{deleg}.key"));
    let original = std::fs::read(&key_file).unwrap();

    // From the environment (old and new passphrase the same, as in notary): same text, a new
    // encryption of the same key that notary still opens.
    let out = ok(notarius(t, &["key", "passwd", &deleg], &peer), "passwd");
    assert_eq!(
        out,
        format!("\nSuccessfully updated passphrase for key ID: {deleg}\n")
    );
    assert_eq!(
        out,
        ok(
            notary(t, &["key", "passwd", &deleg], Some(&peer)),
            "notary passwd"
        )
    );
    let rewritten = std::fs::read(&key_file).unwrap();
    assert_ne!(rewritten, original, "new salt and IV");
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Wrong passphrase, and a key that is not there: notary's first line, the reason after it,
    // and the key file untouched.
    let before = std::fs::read(&key_file).unwrap();
    let wrong = [("NOTARY_DELEGATION_PASSPHRASE", Some("not the passphrase"))];
    let ours = run_with(
        NOTARIUS,
        t,
        &["key", "passwd", &deleg],
        Some(&peer),
        b"",
        &wrong,
    );
    let theirs = run_with(
        "notary",
        t,
        &["key", "passwd", &deleg],
        Some(&peer),
        b"",
        &wrong,
    );
    assert!(!ours.status.success());
    let first = |o: &std::process::Output| stdout(o).lines().take(2).collect::<Vec<_>>().join("\n");
    assert_eq!(first(&ours), first(&theirs));
    assert!(
        stdout(&ours).contains("password invalid"),
        "{}",
        text(&ours)
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), before);
    let missing = "e".repeat(64);
    let ours = notarius(t, &["key", "passwd", &missing], &peer);
    let theirs = notary(t, &["key", "passwd", &missing], Some(&peer));
    assert!(!ours.status.success());
    assert_eq!(first(&ours), first(&theirs));
    let ours = notarius(t, &["key", "passwd", "abc"], &peer);
    assert_eq!(stdout(&ours), "\n* fatal: invalid key ID provided: abc\n");
    assert_eq!(
        stdout(&ours),
        stdout(&notary(t, &["key", "passwd", "abc"], Some(&peer)))
    );

    // A new passphrase typed on a terminal (script(1) gives us one): notary then opens the key
    // with the new passphrase only.
    let has_script = Command::new("script").arg("--version").output().is_ok();
    if !has_script {
        assert!(!notarius_testpeer::ci(), "script(1) is needed");
        return;
    }
    let cmd = format!("{NOTARIUS} -d {} key passwd {deleg}", t.display());
    let o = run_raw(
        "script",
        &["-qec", &cmd, "/dev/null"],
        b"ourdelegationpass\nnew passphrase 1\nnew passphrase 1\n",
        &[
            ("NOTARY_DELEGATION_PASSPHRASE", None),
            ("HOME", Some(t.to_str().unwrap())),
        ],
    );
    let typed = stdout(&o);
    assert!(o.status.success(), "{typed}");
    assert!(
        typed.contains("Enter passphrase for new targets/dev key with ID"),
        "{typed}"
    );
    assert!(
        typed.contains(&format!(
            "Successfully updated passphrase for key ID: {deleg}"
        )),
        "{typed}"
    );
    let with = |p: &str| {
        run_with(
            "notary",
            t,
            &["key", "passwd", &deleg],
            None,
            b"",
            &[("NOTARY_DELEGATION_PASSPHRASE", Some(p))],
        )
    };
    assert!(with("new passphrase 1").status.success());
    assert!(!with("ourdelegationpass").status.success());
}
