//! `notarius backup` / `notarius restore` (beyond Notary): the archived keys are the stored
//! files, the restored trust directory works with the real `notary`, and a restore that cannot
//! check every key, or meets a dangerous entry, writes nothing.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::*;
use notarius_testpeer::{Peer, notary, require_peer, text};

/// (name, bytes) of each archive entry, read with the tar crate.
fn entries(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let raw = std::fs::read(archive).unwrap();
    let plain = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(raw.as_slice()), &mut out)
            .unwrap();
        out
    } else {
        raw
    };
    let mut a = tar::Archive::new(plain.as_slice());
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut b).unwrap();
            (name, b)
        })
        .collect()
}

#[test]
fn a_backup_restores_keys_notary_signs_with() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun = "example.com/cli-backup";
    let trust = tempfile::tempdir().unwrap();
    let t = trust.path();
    ok(notarius(t, &["init", "-p", gun], &peer), "init");
    ok(
        notarius(t, &["key", "generate", "ecdsa", "-r", "targets/dev"], &peer),
        "generate",
    );
    let files = tree(&t.join("private"));
    assert_eq!(files.len(), 4);
    let out_dir = tempfile::tempdir().unwrap();

    for name in ["keys.tar.gz", "keys.tar"] {
        let archive = out_dir.path().join(name);
        let out = ok(
            notarius(t, &["backup", archive.to_str().unwrap()], &peer),
            "backup",
        );
        assert_eq!(
            out,
            format!(
                "Backed up 4 keys from {}/private to {}\n",
                t.display(),
                archive.display()
            )
        );
        assert_eq!(
            std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let raw = std::fs::read(&archive).unwrap();
        assert_eq!(raw.starts_with(&[0x1f, 0x8b]), name.ends_with(".gz"));
        // Exactly the stored files, still encrypted.
        let e = entries(&archive);
        assert_eq!(e[0].0, "private/");
        let archived: Vec<(std::path::PathBuf, Vec<u8>)> = e[1..]
            .iter()
            .map(|(n, b)| (n.strip_prefix("private/").unwrap().into(), b.clone()))
            .collect();
        assert!(
            archived == files,
            "the archive holds the key files as they are"
        );
        assert!(
            archived
                .iter()
                .all(|(_, b)| b.starts_with(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        );

        // Restored into an empty trust dir: the same files; notary lists and signs with them.
        let fresh = tempfile::tempdir().unwrap();
        let f = fresh.path();
        let out = ok(
            notarius(f, &["restore", archive.to_str().unwrap()], &peer),
            "restore",
        );
        assert_eq!(
            out,
            format!(
                "Restored 4 keys to {}/private (4 new, 0 replaced, 0 already there)\n",
                f.display()
            )
        );
        assert!(tree(&f.join("private")) == files);
        assert_eq!(
            ok(notary(f, &["key", "list"], Some(&peer)), "list").replace(f.to_str().unwrap(), "D"),
            ok(notary(t, &["key", "list"], Some(&peer)), "list").replace(t.to_str().unwrap(), "D")
        );
        let payload = out_dir.path().join("payload");
        std::fs::write(&payload, name).unwrap();
        ok(
            notary(
                f,
                &["add", gun, name, payload.to_str().unwrap(), "-p"],
                Some(&peer),
            ),
            "notary publishes with the restored keys",
        );
        let out = ok(
            notarius(f, &["restore", archive.to_str().unwrap()], &peer),
            "restore again",
        );
        assert!(
            out.ends_with("(0 new, 0 replaced, 4 already there)\n"),
            "{out}"
        );
    }

    // An archive of a notary trust dir made with tar(1) restores too.
    let theirs = tempfile::tempdir().unwrap();
    ok(
        notary(
            theirs.path(),
            &["key", "generate", "-r", "targets/ops"],
            Some(&peer),
        ),
        "notary key generate",
    );
    let archive = out_dir.path().join("theirs.tgz");
    let o = Command::new("tar")
        .arg("-C")
        .arg(theirs.path())
        .arg("-czf")
        .arg(&archive)
        .arg("private")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let fresh = tempfile::tempdir().unwrap();
    ok(
        notarius(fresh.path(), &["restore", archive.to_str().unwrap()], &peer),
        "restore notary's keys",
    );
    assert!(tree(&fresh.path().join("private")) == tree(&theirs.path().join("private")));
}

/// An archive entry: name, kind, contents, link target.
type RawEntry<'a> = (&'a str, tar::EntryType, &'a [u8], &'a str);

/// A tar archive with raw entry names (the tar crate's path checks bypassed on purpose).
fn raw_archive(entries: &[RawEntry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data, link) in entries {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(*kind);
        h.set_mode(0o600);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn a_restore_that_cannot_check_everything_writes_nothing() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun = "example.com/cli-restore-bad";
    let source = tempfile::tempdir().unwrap();
    ok(notarius(source.path(), &["init", "-p", gun], &peer), "init");
    let out_dir = tempfile::tempdir().unwrap();
    let good = out_dir.path().join("good.tar");
    ok(
        notarius(source.path(), &["backup", good.to_str().unwrap()], &peer),
        "backup",
    );
    let good_entries = entries(&good);
    let (key_name, key_bytes) = good_entries
        .iter()
        .find(|(_, b)| String::from_utf8_lossy(b).contains("role: targets"))
        .unwrap()
        .clone();
    let (other_name, _) = good_entries
        .iter()
        .find(|(n, b)| n.ends_with(".key") && *n != key_name && !b.is_empty())
        .unwrap()
        .clone();

    // The trust dir restored into already has a key of its own.
    let target = tempfile::tempdir().unwrap();
    ok(
        notarius(
            target.path(),
            &["key", "generate", "-r", "targets/mine"],
            &peer,
        ),
        "generate",
    );
    let before = tree(target.path());
    let restore = |archive: &Path, env: &[(&str, Option<&str>)]| {
        run_with(
            NOTARIUS,
            target.path(),
            &["restore", archive.to_str().unwrap()],
            Some(&peer),
            b"",
            env,
        )
    };
    let refused = |archive: &Path, env: &[(&str, Option<&str>)], expect: &str| {
        let o = restore(archive, env);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(!o.status.success(), "{archive:?} accepted: {}", text(&o));
        assert!(out.starts_with("\n* fatal: "), "{out}");
        assert!(
            out.contains(expect),
            "{archive:?}: expected {expect:?} in {out}"
        );
        assert!(
            tree(target.path()) == before,
            "{archive:?}: something was written"
        );
    };

    // Wrong passphrase for the targets key: nothing written, not even the other keys.
    refused(
        &good,
        &[("NOTARY_TARGETS_PASSPHRASE", Some("not it"))],
        "password invalid",
    );

    let k = key_bytes.as_slice();
    let cases: Vec<(&str, Vec<RawEntry<'_>>, &str)> = vec![
        (
            "dotdot",
            vec![
                (key_name.as_str(), tar::EntryType::Regular, k, ""),
                ("private/../../escaped.key", tar::EntryType::Regular, k, ""),
            ],
            "\"..\" in the path",
        ),
        (
            "absolute",
            vec![(
                "/tmp/notarius-restore-absolute.key",
                tar::EntryType::Regular,
                k,
                "",
            )],
            "absolute path",
        ),
        (
            "symlink",
            vec![(
                key_name.as_str(),
                tar::EntryType::Symlink,
                b"",
                "/etc/passwd",
            )],
            "a symbolic link",
        ),
        (
            "hardlink",
            vec![(key_name.as_str(), tar::EntryType::Link, b"", "/etc/passwd")],
            "a hard link",
        ),
        (
            "not-a-key",
            vec![
                (key_name.as_str(), tar::EntryType::Regular, k, ""),
                ("private/notes.txt", tar::EntryType::Regular, b"hello", ""),
            ],
            "not a key file",
        ),
        (
            "wrong-name",
            vec![(other_name.as_str(), tar::EntryType::Regular, k, "")],
            "the file holds key",
        ),
        (
            "garbage-key",
            vec![(
                key_name.as_str(),
                tar::EntryType::Regular,
                b"not a pem file",
                "",
            )],
            "in the archive: ",
        ),
        ("empty", vec![], "no key files"),
    ];
    for (name, entries, expect) in &cases {
        let p = out_dir.path().join(format!("{name}.tar"));
        std::fs::write(&p, raw_archive(entries)).unwrap();
        refused(&p, &[], expect);
    }
    assert!(!Path::new("/tmp/notarius-restore-absolute.key").exists());
    assert!(!target.path().join("escaped.key").exists());
    assert!(!out_dir.path().join("escaped.key").exists());

    // Not an archive at all, and a truncated gzip.
    let junk = out_dir.path().join("junk.tar");
    std::fs::write(
        &junk,
        b"this is not a tar archive, not even close. ".repeat(20),
    )
    .unwrap();
    refused(&junk, &[], "");
    let gz = out_dir.path().join("good.tgz");
    ok(
        notarius(source.path(), &["backup", gz.to_str().unwrap()], &peer),
        "backup gz",
    );
    let bytes = std::fs::read(&gz).unwrap();
    let cut = out_dir.path().join("cut.tgz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    refused(&cut, &[], "");
    refused(&out_dir.path().join("missing.tar"), &[], "missing.tar");

    // The good archive, with the right passphrases, goes through.
    let o = restore(&good, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(tree(&target.path().join("private")).len(), 4);
}
