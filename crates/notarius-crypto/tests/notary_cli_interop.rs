//! The real `notary` 0.7 CLI and our key store in one trust directory: it lists our keys with
//! their roles and GUNs, exports them to the very bytes we export, imports our exports (and we
//! its), and publishes a repository with our root key and our root certificate.
//!
//! Needs the Debian `notary` package (and, for publishing, the `shared/peer` scripts). Without
//! it the tests print a skip note, except under `CI=true`, where that is a failure.

mod common;

use std::fs;
use std::path::Path;

use common::{ByRole, file_names, pw};
use notarius_crypto::cert::root_certificate;
use notarius_crypto::keyfile::{KeyFile, encode_key_file};
use notarius_crypto::keystore::{FileKeyStore, KeyInfo};
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_testpeer::{Peer, have, notary, require_peer, text};

/// The passphrases `notarius_testpeer::notary` gives the CLI through its environment.
fn peer_passphrases() -> ByRole {
    ByRole::new(&[
        ("root", "ourrootpass"),
        ("targets", "ourtargetspass"),
        ("snapshot", "oursnapshotpass"),
        ("delegation", "ourdelegationpass"),
    ])
}

fn require_notary() -> bool {
    if have("notary") {
        return true;
    }
    let msg = "the real notary CLI (Debian package `notary`) is needed";
    assert!(!common::ci(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

/// `notary key list` rows as (role, gun, key ID).
fn key_list(trust: &Path) -> Vec<(String, String, String)> {
    let out = notary(trust, &["key", "list"], None);
    assert!(out.status.success(), "{}", text(&out));
    let mut rows: Vec<(String, String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(3)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            match cols.len() {
                // ROLE GUN KEYID LOCATION, or ROLE KEYID LOCATION when the GUN is empty.
                4 => Some((cols[0].into(), cols[1].into(), cols[2].into())),
                3 => Some((cols[0].into(), String::new(), cols[1].into())),
                _ => None,
            }
        })
        .collect();
    rows.sort();
    rows
}

fn our_rows(ks: &FileKeyStore) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = ks
        .list()
        .unwrap()
        .into_iter()
        .map(|(id, KeyInfo { role, gun })| (role, gun, id))
        .collect();
    rows.sort();
    rows
}

#[test]
fn notary_lists_exports_and_imports_what_our_key_store_holds() {
    if !require_notary() {
        return;
    }
    let trust = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(trust.path()).unwrap();
    let gun = "example.com/interop";
    let mut pass = peer_passphrases();
    let rsa = KeyFile::parse(&fs::read(common::data("rsa2048.pem")).unwrap())
        .unwrap()
        .decrypt("")
        .unwrap();
    for (key, role) in [
        (PrivateKey::generate(Algorithm::Ecdsa).unwrap(), "root"),
        (PrivateKey::generate(Algorithm::Ecdsa).unwrap(), "targets"),
        (PrivateKey::generate(Algorithm::Ecdsa).unwrap(), "snapshot"),
        (
            PrivateKey::generate(Algorithm::Ed25519).unwrap(),
            "targets/releases",
        ),
        (rsa, "targets/rsa"),
    ] {
        ks.add(&key, role, gun, &mut pass).unwrap();
    }
    let ours = our_rows(&ks);
    assert_eq!(key_list(trust.path()), ours, "notary key list");
    // Long GUNs are cut in `key list`; this one is short enough to compare whole.
    assert!(ours.iter().any(|(r, g, _)| r == "targets" && g == gun));

    // `notary key export`, whole and filtered, is byte for byte our export.
    let exported = trust.path().join("export.pem");
    let export = |args: &[&str]| {
        let mut all = vec!["key", "export", "-o", exported.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = notary(trust.path(), &all, None);
        assert!(out.status.success(), "{}", text(&out));
        fs::read_to_string(&exported).unwrap()
    };
    assert_eq!(export(&[]), *ks.export_all().unwrap());
    assert_eq!(export(&["--gun", gun]), *ks.export_gun(gun).unwrap());
    let root_id = ours.iter().find(|(r, _, _)| r == "root").unwrap().2.clone();
    assert_eq!(
        export(&["--key", &root_id]),
        *ks.export_ids(&[root_id.as_str()]).unwrap()
    );

    // `notary key import` of our export gives a store equal to ours, file for file.
    let bundle = trust.path().join("bundle.pem");
    fs::write(&bundle, ks.export_all().unwrap().as_bytes()).unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let imp = notary(
        theirs.path(),
        &["key", "import", bundle.to_str().unwrap()],
        None,
    );
    assert!(imp.status.success(), "{}", text(&imp));
    let their_private = theirs.path().join("private");
    assert_eq!(file_names(&their_private), file_names(ks.dir()));
    for name in file_names(ks.dir()) {
        assert_eq!(
            fs::read(their_private.join(&name)).unwrap(),
            fs::read(ks.dir().join(&name)).unwrap(),
            "{name}"
        );
    }

    // And the other way: keys notary made (and exported) are read and imported by us.
    let made = tempfile::tempdir().unwrap();
    let gen_out = notary(
        made.path(),
        &["key", "generate", "ecdsa", "--role", "targets/made"],
        None,
    );
    assert!(gen_out.status.success(), "{}", text(&gen_out));
    let made_ks = FileKeyStore::open(made.path()).unwrap();
    let (made_id, made_info) = made_ks.list().unwrap().into_iter().next().unwrap();
    assert_eq!(made_info.role, "targets/made");
    let (key, _) = made_ks.get(&made_id, &mut pass).unwrap();
    assert_eq!(key.id(), made_id);
    let out = notary(
        made.path(),
        &["key", "export", "-o", bundle.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let report = ks
        .import_file(&bundle, "", "", &mut common::Wrong(0))
        .unwrap();
    assert_eq!(report.imported, std::slice::from_ref(&made_id));
    assert_eq!(
        fs::read(ks.dir().join(format!("{made_id}.key"))).unwrap(),
        fs::read(made_ks.dir().join(format!("{made_id}.key"))).unwrap()
    );
    assert_eq!(key_list(trust.path()), our_rows(&ks));
}

#[test]
fn notary_publishes_with_our_root_key_and_our_root_certificate() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);

    // 1. A key store we wrote: notary picks our root key and signs with it.
    let trust = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(trust.path()).unwrap();
    let root = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&root, "root", "", &mut peer_passphrases()).unwrap();
    let gun = "example.com/ours";
    let init = notary(trust.path(), &["init", "-p", gun], Some(&peer));
    let out = text(&init);
    assert!(init.status.success(), "{out}");
    assert!(
        out.contains(&format!("Root key found, using: {}", root.id())),
        "{out}"
    );
    let root_ids = |trust: &Path, gun: &str| {
        let bytes = fs::read(trust.join(format!("tuf/{gun}/metadata/root.json"))).unwrap();
        let env = notarius_tuf::metadata::Envelope::parse("root", &bytes).unwrap();
        let r: notarius_tuf::metadata::Root = env.decode("root").unwrap();
        r.roles["root"]
            .keyids
            .iter()
            .map(|id| r.keys[id].clone())
            .collect::<Vec<_>>()
    };
    let keys = root_ids(trust.path(), gun);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].canonical_id(), root.id());

    // 2. `init --rootkey <our key file> --rootcert <our certificate>`: notary takes our
    //    encrypted key file and publishes our certificate, byte for byte, as the root key.
    let fresh = tempfile::tempdir().unwrap();
    let key_file = fresh.path().join("root-key.pem");
    let cert_file = fresh.path().join("root-cert.pem");
    let root2 = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let gun2 = "example.com/our-cert";
    fs::write(
        &key_file,
        encode_key_file(&root2, "root", "", "ourrootpass").as_bytes(),
    )
    .unwrap();
    let cert = root_certificate(&root2, gun2, time::OffsetDateTime::now_utc()).unwrap();
    fs::write(&cert_file, cert.public()).unwrap();
    let init = notary(
        fresh.path(),
        &[
            "init",
            "-p",
            gun2,
            "--rootkey",
            key_file.to_str().unwrap(),
            "--rootcert",
            cert_file.to_str().unwrap(),
        ],
        Some(&peer),
    );
    assert!(init.status.success(), "{}", text(&init));
    let keys = root_ids(fresh.path(), gun2);
    assert_eq!(
        keys,
        std::slice::from_ref(&cert),
        "our certificate is the published root key"
    );
    assert!(key_list(fresh.path()).contains(&("root".into(), String::new(), root2.id().into())));

    // A reader with an empty trust dir verifies both repositories from the server.
    for g in [gun, gun2] {
        let reader = tempfile::tempdir().unwrap();
        let l = notary(reader.path(), &["list", g], Some(&peer));
        assert!(l.status.success(), "{g}: {}", text(&l));
    }
    // And our store still reads the root key notary stored for it.
    let (k, role) = FileKeyStore::open(fresh.path())
        .unwrap()
        .get(root2.id(), &mut pw("ourrootpass"))
        .unwrap();
    assert_eq!(
        (k.public_key(), role.as_str()),
        (root2.public_key(), "root")
    );
}
