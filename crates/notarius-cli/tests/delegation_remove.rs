//! `delegation remove` and `delegation purge`: the same output and the same change files as the
//! real `notary` 0.7 (each run on its own copy of one trust directory), applied by our publish
//! and read back by `notary`.

mod common;

use common::*;
use notarius_testpeer::{Peer, notary, require_peer, text};

/// Runs the same staging command with notarius on `ours` and notary on `theirs` (copies of one
/// trust dir): same stdout, same exit status, same change files.
fn both(
    ours: &std::path::Path,
    theirs: &std::path::Path,
    gun: &str,
    args: &[&str],
    stdin: &[u8],
    peer: &Peer,
) -> String {
    let a = run_with(NOTARIUS, ours, args, Some(peer), stdin, &[]);
    let b = run_with("notary", theirs, args, Some(peer), stdin, &[]);
    let (sa, sb) = (
        String::from_utf8_lossy(&a.stdout).into_owned(),
        String::from_utf8_lossy(&b.stdout).into_owned(),
    );
    assert_eq!(
        sa,
        sb,
        "{args:?}: stdout differs\nours: {}\ntheirs: {}",
        text(&a),
        text(&b)
    );
    assert_eq!(a.status.code(), b.status.code(), "{args:?}: exit status");
    assert_eq!(
        changes(ours, gun),
        changes(theirs, gun),
        "{args:?}: change files"
    );
    sa
}

/// The rows of `delegation list` as (role, paths, key IDs).
fn delegations(out: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut rows: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for l in out.lines().skip_while(|l| !l.starts_with("----")).skip(1) {
        if l.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = l
            .split("    ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        if l.starts_with("targets/") {
            let (paths, ids) = if cols.len() >= 4 {
                (vec![cols[1].to_owned()], vec![cols[2].to_owned()])
            } else {
                // A role without paths or without keys: one column fewer.
                let c = cols[1];
                if c.len() == 64 {
                    (vec![], vec![c.to_owned()])
                } else {
                    (vec![c.to_owned()], vec![])
                }
            };
            rows.push((cols[0].to_owned(), paths, ids));
        } else if let Some(last) = rows.last_mut() {
            for c in cols {
                if c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()) {
                    last.2.push(c.to_owned());
                } else {
                    last.1.push(c.to_owned());
                }
            }
        }
    }
    rows
}

#[test]
fn remove_and_purge_stage_what_notary_stages_and_publish_what_notary_reads() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-deleg-remove";
    let (_, a_pub) = openssl_key(keys.path(), "a");
    let (_, b_pub) = openssl_key(keys.path(), "b");
    let (a_pub, b_pub) = (a_pub.to_str().unwrap(), b_pub.to_str().unwrap());

    ok(notarius(trust.path(), &["init", "-p", gun], &peer), "init");
    let out = ok(
        notarius(
            trust.path(),
            &[
                "delegation",
                "add",
                gun,
                "targets/releases",
                a_pub,
                b_pub,
                "--paths",
                "rel/,beta/",
            ],
            &peer,
        ),
        "delegation add releases",
    );
    let ids = added_key_ids(&out);
    let (id_a, id_b) = (ids[0].clone(), ids[1].clone());
    ok(
        notarius(
            trust.path(),
            &[
                "delegation",
                "add",
                gun,
                "targets/qa",
                a_pub,
                b_pub,
                "--all-paths",
                "-p",
            ],
            &peer,
        ),
        "delegation add qa",
    );
    let reader = tempfile::tempdir().unwrap();
    let listed = delegations(&ok(
        notary(reader.path(), &["delegation", "list", gun], Some(&peer)),
        "list",
    ));
    assert_eq!(listed.len(), 2, "{listed:?}");

    // Remove key B and path beta/ from releases: same text, same change files as notary.
    let theirs = tempfile::tempdir().unwrap();
    copy_dir(trust.path(), theirs.path());
    let out = both(
        trust.path(),
        theirs.path(),
        gun,
        &[
            "delegation",
            "remove",
            gun,
            "targets/releases",
            &id_b,
            "--paths",
            "beta/",
        ],
        b"",
        &peer,
    );
    assert_eq!(
        out,
        format!(
            "\nRemoval of delegation role targets/releases with keys [{id_b}], with paths [beta/], to repository \"{gun}\" staged for next publish.\n\n"
        )
    );
    assert_eq!(changes(trust.path(), gun).len(), 2, "paths, then keys");
    // --all-paths, as notary stages it.
    let out = both(
        trust.path(),
        theirs.path(),
        gun,
        &["delegation", "remove", gun, "targets/qa", "--all-paths"],
        b"",
        &peer,
    );
    assert!(
        out.contains("Removal of delegation role targets/qa with all paths, to repository"),
        "{out}"
    );
    // Neither publish is shared: undo the qa change in our copy and publish ours.
    ok(
        notarius(trust.path(), &["reset", gun, "-n", "2"], &peer),
        "reset",
    );
    ok(notarius(trust.path(), &["publish", gun], &peer), "publish");
    let listed = delegations(&ok(
        notary(reader.path(), &["delegation", "list", gun], Some(&peer)),
        "list",
    ));
    let releases = listed.iter().find(|r| r.0 == "targets/releases").unwrap();
    assert_eq!(releases.1, ["rel/"]);
    assert_eq!(releases.2, [id_a.as_str()]);
    let qa = listed.iter().find(|r| r.0 == "targets/qa").unwrap();
    assert_eq!(qa.2.len(), 2);
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(
        ok(
            notarius(fresh.path(), &["delegation", "list", gun], &peer),
            "notarius delegation list"
        ),
        ok(
            notary(reader.path(), &["delegation", "list", gun], Some(&peer)),
            "notary delegation list"
        )
    );

    // Purge key B from every delegation.
    let theirs = tempfile::tempdir().unwrap();
    copy_dir(trust.path(), theirs.path());
    let out = both(
        trust.path(),
        theirs.path(),
        gun,
        &["delegation", "purge", gun, "--key", &id_b],
        b"",
        &peer,
    );
    assert_eq!(
        out,
        format!(
            "Removal of the following keys from all delegations in {gun} staged for next publish:\n\t- {id_b}\n"
        )
    );
    ok(
        notarius(trust.path(), &["publish", gun], &peer),
        "publish purge",
    );
    let listed = delegations(&ok(
        notary(reader.path(), &["delegation", "list", gun], Some(&peer)),
        "list",
    ));
    for r in &listed {
        assert!(!r.2.contains(&id_b), "{listed:?}");
    }
    assert_eq!(
        listed.iter().find(|r| r.0 == "targets/qa").unwrap().2,
        [id_a.as_str()]
    );

    // Removing a whole role asks first; "no" aborts with notary's words and stages nothing.
    let theirs = tempfile::tempdir().unwrap();
    copy_dir(trust.path(), theirs.path());
    let out = both(
        trust.path(),
        theirs.path(),
        gun,
        &["delegation", "remove", gun, "targets/qa"],
        b"no\n",
        &peer,
    );
    assert_eq!(
        out,
        "\nAre you sure you want to remove all data for this delegation? (yes/no)\n* fatal: Aborting action.\n"
    );
    assert!(changes(trust.path(), gun).is_empty());
    let out = both(
        trust.path(),
        theirs.path(),
        gun,
        &["delegation", "remove", gun, "targets/qa"],
        b"yes\n",
        &peer,
    );
    assert!(out.ends_with(&format!("\nForced removal (including all keys and paths) of delegation role targets/qa to repository \"{gun}\" staged for next publish.\n\n")), "{out}");
    ok(
        notarius(trust.path(), &["reset", gun, "--all"], &peer),
        "reset",
    );
    let out = ok(
        notarius(
            trust.path(),
            &["delegation", "remove", gun, "targets/qa", "-y", "-p"],
            &peer,
        ),
        "remove -y -p",
    );
    assert!(out.contains("Confirmed `yes` from flag\n"), "{out}");
    assert!(
        out.ends_with(&format!(
            "Successfully published changes for repository {gun}\n"
        )),
        "{out}"
    );
    let listed = delegations(&ok(
        notary(reader.path(), &["delegation", "list", gun], Some(&peer)),
        "list",
    ));
    assert_eq!(
        listed.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["targets/releases"]
    );
}

#[test]
fn bad_removals_fail_clearly_and_change_nothing() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let gun = "example.com/cli-deleg-remove-bad";
    let (_, a_pub) = openssl_key(keys.path(), "a");
    ok(notarius(trust.path(), &["init", "-p", gun], &peer), "init");
    let out = ok(
        notarius(
            trust.path(),
            &[
                "delegation",
                "add",
                gun,
                "targets/releases",
                a_pub.to_str().unwrap(),
                "--all-paths",
                "-p",
            ],
            &peer,
        ),
        "delegation add",
    );
    let id_a = added_key_ids(&out).remove(0);

    // Not a delegation: notary's message, nothing staged.
    let theirs = tempfile::tempdir().unwrap();
    copy_dir(trust.path(), theirs.path());
    let out = both(
        trust.path(),
        theirs.path(),
        gun,
        &["delegation", "remove", gun, "targets", &id_a],
        b"",
        &peer,
    );
    assert_eq!(out, "\n* fatal: invalid delegation name targets\n");
    assert!(changes(trust.path(), gun).is_empty());
    // purge without --key.
    let o = notarius(trust.path(), &["delegation", "purge", gun], &peer);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(
            "* fatal: Please provide at least one key ID to be removed using the --key flag"
        ),
        "{}",
        text(&o)
    );
    assert!(changes(trust.path(), gun).is_empty());

    // A wrong targets passphrase: the publish fails, the change stays, the server is unchanged.
    ok(
        notarius(
            trust.path(),
            &["delegation", "remove", gun, "targets/releases", "-y"],
            &peer,
        ),
        "stage removal",
    );
    let staged = changes(trust.path(), gun);
    let reader = tempfile::tempdir().unwrap();
    let before = ok(
        notary(reader.path(), &["delegation", "list", gun], Some(&peer)),
        "list",
    );
    let cache_before = tree(&trust.path().join("tuf").join(gun).join("metadata"));
    let o = run_with(
        NOTARIUS,
        trust.path(),
        &["publish", gun],
        Some(&peer),
        b"",
        &[("NOTARY_TARGETS_PASSPHRASE", Some("wrong passphrase"))],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("\n* fatal: "),
        "{}",
        text(&o)
    );
    assert_eq!(changes(trust.path(), gun), staged);
    assert!(tree(&trust.path().join("tuf").join(gun).join("metadata")) == cache_before);
    assert_eq!(
        ok(
            notary(reader.path(), &["delegation", "list", gun], Some(&peer)),
            "list"
        ),
        before
    );

    // Removing keys from a role that does not exist fails at publish, as in notary.
    ok(
        notarius(trust.path(), &["reset", gun, "--all"], &peer),
        "reset",
    );
    ok(
        notarius(
            trust.path(),
            &["delegation", "remove", gun, "targets/nope", &id_a],
            &peer,
        ),
        "stage removal from a missing role",
    );
    let theirs = tempfile::tempdir().unwrap();
    copy_dir(trust.path(), theirs.path());
    let o = notarius(trust.path(), &["publish", gun], &peer);
    assert!(!o.status.success(), "{}", text(&o));
    let o = notary(theirs.path(), &["publish", gun], Some(&peer));
    assert!(!o.status.success(), "notary refuses it too: {}", text(&o));
    assert_eq!(changes(trust.path(), gun).len(), 1);
    assert_eq!(
        ok(
            notary(reader.path(), &["delegation", "list", gun], Some(&peer)),
            "list"
        ),
        before
    );
}
