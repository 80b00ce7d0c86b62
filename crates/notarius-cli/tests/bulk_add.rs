//! `notarius add <gun> --from-file` (beyond Notary): one change per listed target, the very
//! change files `notary add` / `notary addhash --sha256` stage, published and read by `notary`;
//! a list with any bad line stages nothing.

mod common;

use common::*;
use notarius_testpeer::{Peer, notary, require_peer, text};

fn sha256_hex(b: &[u8]) -> String {
    notarius_tuf::metadata::sha256(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn a_list_stages_what_notary_add_and_addhash_stage() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun = "example.com/cli-bulk-add";
    let trust = tempfile::tempdir().unwrap();
    let t = trust.path();
    ok(notarius(t, &["init", "-p", gun], &peer), "init");
    let files = tempfile::tempdir().unwrap();
    let one = files.path().join("file one.bin");
    let two = files.path().join("two.bin");
    std::fs::write(&one, b"first payload").unwrap();
    std::fs::write(&two, b"second payload, longer").unwrap();
    let known = b"bits we only know the hash of";
    let list = format!(
        "# release 1\n\nv1 one\t{}\nv1-two   {}\nv1-hash\tsha256:{}:{}\n",
        one.display(),
        two.display(),
        sha256_hex(known),
        known.len()
    );
    let list_file = files.path().join("list.txt");
    std::fs::write(&list_file, &list).unwrap();

    // The same three targets staged by notary, one command each, in a copy of the trust dir.
    let theirs = tempfile::tempdir().unwrap();
    copy_dir(t, theirs.path());
    let size = known.len().to_string();
    let hash = sha256_hex(known);
    for args in [
        vec!["add", gun, "v1 one", one.to_str().unwrap()],
        vec!["add", gun, "v1-two", two.to_str().unwrap()],
        vec!["addhash", gun, "v1-hash", &size, "--sha256", &hash],
    ] {
        ok(notary(theirs.path(), &args, Some(&peer)), "notary add");
    }

    let o = run_with(
        NOTARIUS,
        t,
        &["add", gun, "--from-file", list_file.to_str().unwrap()],
        Some(&peer),
        b"",
        &[],
    );
    let out = ok(o.clone(), "bulk add");
    assert!(
        o.stderr.is_empty(),
        "no progress bar without a terminal: {}",
        text(&o)
    );
    assert_eq!(
        out,
        format!(
            "Addition of target \"v1 one\" to repository \"{gun}\" staged for next publish.\n\
             Addition of target \"v1-two\" to repository \"{gun}\" staged for next publish.\n\
             Addition of target \"v1-hash\" by sha256 hash to repository \"{gun}\" staged for next publish.\n"
        )
    );
    assert_eq!(
        changes(t, gun),
        changes(theirs.path(), gun),
        "same change files"
    );
    assert_eq!(
        ok(notarius(t, &["status", gun], &peer), "status"),
        ok(
            notary(theirs.path(), &["status", gun], Some(&peer)),
            "status"
        )
    );

    ok(notarius(t, &["publish", gun], &peer), "publish");
    let reader = tempfile::tempdir().unwrap();
    let listed = ok(
        notary(reader.path(), &["list", gun], Some(&peer)),
        "notary list",
    );
    for (name, len) in [("v1 one", 13), ("v1-two", 22), ("v1-hash", known.len())] {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(name) && l.contains(&format!(" {len} "))),
            "{name}: {listed}"
        );
    }
    let looked = ok(
        notary(reader.path(), &["lookup", gun, "v1-hash"], Some(&peer)),
        "lookup",
    );
    assert_eq!(looked, format!("v1-hash sha256:{hash} {}\n", known.len()));

    // From standard input, published at once: the same lines as notary's `add -p`.
    let three = files.path().join("three.bin");
    std::fs::write(&three, b"third").unwrap();
    let o = run_with(
        NOTARIUS,
        t,
        &["add", gun, "--from-file", "-", "-p"],
        Some(&peer),
        format!("v2 {}\n", three.display()).as_bytes(),
        &[],
    );
    let out = ok(o, "bulk add from stdin");
    assert_eq!(
        out,
        format!(
            "Addition of target \"v2\" to repository \"{gun}\" staged for next publish.\n\
             Auto-publishing changes to {gun}\n\
             Successfully published changes for repository {gun}\n"
        )
    );
    let theirs_p = ok(
        notary(
            theirs.path(),
            &["add", gun, "v2-notary", three.to_str().unwrap(), "-p"],
            Some(&peer),
        ),
        "notary add -p",
    );
    assert_eq!(
        theirs_p.replace("v2-notary", "v2"),
        out,
        "notary's add -p prints the same"
    );
    assert!(ok(notary(reader.path(), &["list", gun], Some(&peer)), "list").contains("v2 "));
}

#[test]
fn a_bad_line_stages_nothing() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun = "example.com/cli-bulk-add-bad";
    let trust = tempfile::tempdir().unwrap();
    let t = trust.path();
    ok(notarius(t, &["init", "-p", gun], &peer), "init");
    let files = tempfile::tempdir().unwrap();
    let good = files.path().join("good.bin");
    std::fs::write(&good, b"good").unwrap();
    let g = good.display();
    let before = tree(t);
    let short_hash = "ab".repeat(31);
    for (list, expect) in [
        (
            format!("a\t{g}\nb\t{g}.missing\n"),
            "good.bin.missing: no such file or directory",
        ),
        (
            format!("a\t{g}\nb\tsha256:{short_hash}:4\n"),
            "line 2: expected sha256:",
        ),
        (
            format!("a\t{g}\nb\t{}:x\n", "ab".repeat(32)),
            "line 2: invalid size",
        ),
        (
            format!("a\t{g}\na\t{g}\n"),
            "line 2: target \"a\" is already listed",
        ),
        (format!("a\t{g}\nonly-a-name\n"), "line 2: expected"),
        ("# nothing\n".to_owned(), "no targets listed"),
    ] {
        let o = run_with(
            NOTARIUS,
            t,
            &["add", gun, "--from-file", "-"],
            Some(&peer),
            list.as_bytes(),
            &[],
        );
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(!o.status.success(), "{list:?} accepted: {}", text(&o));
        assert!(
            out.starts_with("\n* fatal: ") && out.contains(expect),
            "{list:?}: {out}"
        );
        assert!(tree(t) == before, "{list:?}: something was staged");
    }
    // A list of targets for a role that is not a targets role: refused before staging.
    let o = run_with(
        NOTARIUS,
        t,
        &["add", gun, "--from-file", "-", "-r", "snapshot"],
        Some(&peer),
        format!("a\t{g}\n").as_bytes(),
        &[],
    );
    assert!(!o.status.success());
    assert!(tree(t) == before);
    // --from-file with positional target and file is a usage error.
    let o = notarius(
        t,
        &["add", gun, "x", good.to_str().unwrap(), "--from-file", "-"],
        &peer,
    );
    assert!(!o.status.success());
    assert!(tree(t) == before);
    // A missing list file.
    let o = notarius(t, &["add", gun, "--from-file", "/nonexistent/list"], &peer);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("/nonexistent/list"),
        "{}",
        text(&o)
    );
    assert!(tree(t) == before);
}
