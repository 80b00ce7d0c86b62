//! The file key store against what Notary 0.7 itself wrote: exports byte for byte, imports with
//! the same files and headers, legacy layouts migrated to the same bytes, and the CryptoService
//! rules over it.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{ByRole, copy_dir, data, file_names, notary_fixture, pw, snapshot};
use notarius_crypto::keyfile::KeyFile;
use notarius_crypto::keystore::{FileKeyStore, ImportReport, KeyInfo, KeyStoreError};
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_crypto::service::CryptoService;
use serde_json::Value;

fn scenario(dir: &Path) -> Value {
    serde_json::from_slice(&fs::read(dir.join("scenario.json")).unwrap()).unwrap()
}

#[test]
fn add_list_get_remove_with_notarys_headers_and_modes() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&k, "targets", "example.com/app", &mut pw("secret12"))
        .unwrap();
    let r = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    ks.add(&r, "root", "example.com/app", &mut pw("secret12"))
        .unwrap();
    let d = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&d, "targets/releases", "example.com/app", &mut pw(""))
        .unwrap();
    let list = ks.list().unwrap();
    let info = |role: &str, gun: &str| KeyInfo {
        role: role.into(),
        gun: gun.into(),
    };
    assert_eq!(list[k.id()], info("targets", "example.com/app"));
    assert_eq!(list[r.id()], info("root", ""), "root keys carry no GUN");
    assert_eq!(
        list[d.id()],
        info("targets/releases", ""),
        "nor delegation keys"
    );
    let text = fs::read_to_string(ks.dir().join(format!("{}.key", k.id()))).unwrap();
    assert!(text.starts_with(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com/app\nrole: targets\n\n"
    ));
    let plain = fs::read_to_string(ks.dir().join(format!("{}.key", d.id()))).unwrap();
    assert!(
        plain.starts_with("-----BEGIN PRIVATE KEY-----\nrole: targets/releases\n\n"),
        "an empty passphrase leaves the key unencrypted, as in Notary"
    );

    let (got, role) = ks.get(k.id(), &mut pw("secret12")).unwrap();
    assert_eq!(
        (got.public_key(), role.as_str()),
        (k.public_key(), "targets")
    );
    let (got, _) = ks.get(d.id(), &mut common::Wrong(0)).unwrap();
    assert_eq!(got.public_key(), d.public_key());
    for id in [k.id(), r.id(), d.id()] {
        let p = ks.dir().join(format!("{id}.key"));
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        fs::metadata(ks.dir()).unwrap().permissions().mode() & 0o777,
        0o700
    );
    ks.remove(k.id()).unwrap();
    assert!(matches!(
        ks.get(k.id(), &mut pw("x")),
        Err(KeyStoreError::NotFound(_))
    ));
    assert!(matches!(ks.remove(k.id()), Err(KeyStoreError::NotFound(_))));
    assert_eq!(file_names(ks.dir()).len(), 2, "no temporary files left");
}

#[test]
fn export_of_notarys_store_is_byte_for_byte_notarys_export() {
    let (Some(deleg), Some(keys)) = (notary_fixture("delegations"), notary_fixture("keys")) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    copy_dir(&deleg.join("trust/private"), &t.path().join("private"));
    let ks = FileKeyStore::open(t.path()).unwrap();
    let export = |name: &str| fs::read_to_string(keys.join("export").join(name)).unwrap();
    assert_eq!(*ks.export_all().unwrap(), export("export-all.pem"));
    assert_eq!(
        *ks.export_gun("example.com/delegations").unwrap(),
        export("export-gun-delegations.pem")
    );
    let root_id = scenario(&deleg)["private_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role_header"] == "root")
        .unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        *ks.export_ids(&[root_id.as_str(), &"0".repeat(64)]).unwrap(),
        export("export-key-root.pem")
    );
    assert_eq!(ks.export_gun("example.com/other").unwrap().as_str(), "");
}

#[test]
fn import_of_notarys_sources_gives_notarys_store() {
    let Some(keys) = notary_fixture("keys") else {
        return;
    };
    let src = |n: &str| keys.join("import-sources").join(n);
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let mut pass = ByRole::notary_fixtures();
    // The same imports, with the same flags, as the fixture transcript.
    for (file, role, gun) in [
        ("unencrypted-pkcs8-ecdsa.pem", "targets/imported-pkcs8", ""),
        ("unencrypted-sec1-ecdsa.pem", "targets/imported-sec1", ""),
        ("unencrypted-pkcs1-rsa.pem", "targets/imported-rsa", ""),
        (
            "unencrypted-pkcs8-for-targets.pem",
            "targets",
            "example.com/imported",
        ),
        ("encrypted-with-path.pem", "", ""),
    ] {
        let report = ks.import_file(&src(file), role, gun, &mut pass).unwrap();
        assert_eq!(report.imported.len(), 1, "{file}: {report:?}");
        assert!(report.skipped.is_empty(), "{file}: {report:?}");
    }
    let theirs = keys.join("imported-trust/private");
    assert_eq!(file_names(ks.dir()), file_names(&theirs));
    let sc = scenario(&keys);
    for k in sc["imported_trust"]["keys"].as_array().unwrap() {
        let id = k["key_id"].as_str().unwrap();
        let ours = fs::read(ks.dir().join(format!("{id}.key"))).unwrap();
        let notarys = fs::read(theirs.join(format!("{id}.key"))).unwrap();
        let (a, b) = (
            KeyFile::parse(&ours).unwrap(),
            KeyFile::parse(&notarys).unwrap(),
        );
        assert_eq!((&a.label, &a.headers), (&b.label, &b.headers), "{id}");
        let p = k["passphrase"].as_str().unwrap();
        assert_eq!(a.decrypt(p).unwrap().id(), id);
        if k["role_header"] == "targets/imported-encrypted" {
            assert_eq!(ours, notarys, "encrypted keys are stored as they are");
        }
    }
    assert_eq!(ks.list().unwrap().len(), 5);

    // Notary refuses an encrypted key without a path header, and so do we, writing nothing.
    let before = snapshot(t.path());
    let e = ks
        .import_file(&keys.join("generate/dev-key.pem"), "", "", &mut pass)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to import all keys: invalid key pem block (key may be encrypted and does not contain path header)"
    );
    assert_eq!(snapshot(t.path()), before);
}

#[test]
fn export_then_import_round_trips_and_keeps_encryption() {
    let a = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(a.path()).unwrap();
    let keys: Vec<(PrivateKey, &str, &str)> = vec![
        (PrivateKey::generate(Algorithm::Ecdsa).unwrap(), "root", ""),
        (
            PrivateKey::generate(Algorithm::Ecdsa).unwrap(),
            "targets",
            "example.com/app",
        ),
        (
            PrivateKey::generate(Algorithm::Ed25519).unwrap(),
            "targets/releases",
            "",
        ),
    ];
    for (k, role, gun) in &keys {
        ks.add(k, role, gun, &mut pw(&format!("{role}-passphrase")))
            .unwrap();
    }
    let bundle = ks.export_all().unwrap();
    let b = tempfile::tempdir().unwrap();
    let other = FileKeyStore::open(b.path()).unwrap();
    let report = other
        .import(bundle.as_bytes(), "", "", &mut common::Wrong(0))
        .unwrap();
    assert_eq!(report.imported.len(), 3);
    assert_eq!(other.list().unwrap(), ks.list().unwrap());
    for (k, role, _) in &keys {
        let name = format!("{}.key", k.id());
        assert_eq!(
            fs::read(a.path().join("private").join(&name)).unwrap(),
            fs::read(b.path().join("private").join(&name)).unwrap(),
            "an encrypted key is stored exactly as exported, minus the path header"
        );
        let (got, got_role) = other
            .get(k.id(), &mut pw(&format!("{role}-passphrase")))
            .unwrap();
        assert_eq!(
            (got.public_key(), got_role.as_str()),
            (k.public_key(), *role)
        );
    }
}

#[test]
fn import_fills_headers_as_notary_does() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let plain = notarius_crypto::keyfile::encode_key_file(&key, "", "", "");

    // No role anywhere: Notary's default role `delegation`, and no GUN for it.
    let r = ks
        .import(
            plain.as_bytes(),
            "",
            "example.com/app",
            &mut pw("newpassphrase"),
        )
        .unwrap();
    assert_eq!(r.imported, [key.id().to_owned()]);
    assert_eq!(
        ks.info(key.id()).unwrap(),
        KeyInfo {
            role: "delegation".into(),
            gun: String::new()
        }
    );
    // The new passphrase was asked for the role, as for a new key.
    let mut asked = ByRole::new(&[("snapshot", "snapshotpass")]);
    ks.import(plain.as_bytes(), "snapshot", "example.com/app", &mut asked)
        .unwrap();
    assert_eq!(
        asked.asked,
        [(key.id().to_owned(), "snapshot".into(), true, 0)]
    );
    assert_eq!(ks.info(key.id()).unwrap().gun, "example.com/app");
    ks.get(key.id(), &mut pw("snapshotpass")).unwrap();

    // A legacy export path `tuf_keys/<gun>/<id>` gives the GUN.
    let enc = notarius_crypto::keyfile::encode_key_file(&key, "targets", "", "pw123456");
    let f = KeyFile::parse(enc.as_bytes()).unwrap();
    let legacy = notarius_crypto::gopem::encode(
        &f.label,
        &[
            ("role", "targets"),
            ("path", &format!("tuf_keys/docker.com/legacy/{}", key.id())),
        ],
        f.body(),
    );
    ks.import(legacy.as_bytes(), "", "", &mut common::Wrong(0))
        .unwrap();
    assert_eq!(
        ks.info(key.id()).unwrap(),
        KeyInfo {
            role: "targets".into(),
            gun: "docker.com/legacy".into()
        }
    );

    // A targets key with no GUN from anywhere is refused, as by Notary.
    let e = ks
        .import(plain.as_bytes(), "targets", "", &mut pw("newpassphrase"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to import all keys: invalid key pem block"
    );
}

#[test]
fn adjacent_blocks_with_one_path_share_a_file_and_others_are_reported() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let enc = notarius_crypto::keyfile::encode_key_file(&key, "targets/a", "", "pw123456");
    let f = KeyFile::parse(enc.as_bytes()).unwrap();
    let block = notarius_crypto::gopem::encode(
        &f.label,
        &[("role", "targets/a"), ("path", key.id())],
        f.body(),
    );
    let cert = fs::read_to_string(data("cert.pem")).unwrap();
    let bundle = format!("{block}{block}{cert}");
    let report = ks.import(bundle.as_bytes(), "", "", &mut pw("x")).unwrap();
    assert_eq!(
        report,
        ImportReport {
            imported: vec![key.id().to_owned()],
            skipped: vec!["invalid key pem block (a CERTIFICATE block)".into()],
        }
    );
    let stored = fs::read_to_string(ks.dir().join(format!("{}.key", key.id()))).unwrap();
    assert_eq!(
        stored
            .matches("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            .count(),
        2
    );
    ks.get(key.id(), &mut pw("pw123456")).unwrap();
    // An export gives back every block of the file.
    assert_eq!(
        ks.export(key.id())
            .unwrap()
            .matches(&format!("path: {}\n", key.id()))
            .count(),
        2
    );
}

#[test]
fn legacy_layouts_migrate_to_notarys_bytes() {
    for (version, pass) in [("notary0.1", "randompass"), ("notary0.3", "password")] {
        let t = tempfile::tempdir().unwrap();
        let private = t.path().join("private");
        copy_dir(&data(&format!("go-notary/{version}/private")), &private);
        fs::create_dir_all(private.join("trusted_certificates/docker.com")).unwrap();
        let ks = FileKeyStore::open(t.path()).unwrap();
        for gone in ["root_keys", "tuf_keys", "trusted_certificates"] {
            assert!(!private.join(gone).exists(), "{version}: {gone}");
        }
        let list = ks.list().unwrap();
        assert_eq!(list.len(), if version == "notary0.1" { 3 } else { 4 });
        for (id, info) in &list {
            let (key, role) = ks
                .get(id, &mut pw(pass))
                .unwrap_or_else(|e| panic!("{version} {id}: {e}"));
            assert_eq!(key.id(), id, "the file name is the key's own ID");
            assert_eq!(role, info.role);
        }
        // What Notary 0.7 made of the same files, byte for byte.
        let Some(theirs) = notary_fixture(&format!("keys/legacy-migrated/{version}/private"))
        else {
            continue;
        };
        assert_eq!(file_names(&private), file_names(&theirs), "{version}");
        for name in file_names(&theirs) {
            assert_eq!(
                fs::read(private.join(&name)).unwrap(),
                fs::read(theirs.join(&name)).unwrap(),
                "{version}/{name}"
            );
        }
        // Opening again changes nothing.
        let before = snapshot(t.path());
        FileKeyStore::open(t.path()).unwrap();
        assert_eq!(snapshot(t.path()), before);
    }
}

#[test]
fn crypto_service_keeps_notarys_rules() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut cs = CryptoService::new(
        vec![
            Box::new(FileKeyStore::open(a.path()).unwrap()),
            Box::new(FileKeyStore::open(b.path()).unwrap()),
        ],
        Box::new(pw("passphrase1")),
    );
    let pk = cs
        .create("targets", "example.com/app", Algorithm::Ed25519)
        .unwrap();
    assert!(a.path().join(format!("private/{}.key", pk.id())).is_file());
    assert!(!b.path().join(format!("private/{}.key", pk.id())).exists());

    // A key in the second store is found there.
    let other = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    FileKeyStore::open(b.path())
        .unwrap()
        .add(
            &other,
            "snapshot",
            "example.com/app",
            &mut pw("passphrase1"),
        )
        .unwrap();
    assert_eq!(cs.get_private_key(other.id()).unwrap().1, "snapshot");
    assert_eq!(cs.get_key(other.id()).as_ref(), Some(other.public_key()));
    assert_eq!(cs.list_keys("snapshot").unwrap(), [other.id().to_owned()]);
    assert_eq!(cs.list_all_keys().unwrap().len(), 2);

    // Adding a key again: the same role is a no-op, another role is refused.
    let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    cs.add_key("targets/x", "", &key).unwrap();
    let before = snapshot(a.path());
    cs.add_key("targets/x", "", &key).unwrap();
    let e = cs.add_key("root", "", &key).unwrap_err();
    assert_eq!(
        e.to_string(),
        "key with same ID already exists for role: targets/x"
    );
    assert_eq!(snapshot(a.path()), before);

    assert_eq!(
        notarius_crypto::private::Algorithm::for_creation("rsa")
            .unwrap_err()
            .to_string(),
        "rsa keys can only be imported"
    );
    cs.remove_key(pk.id()).unwrap();
    assert!(matches!(
        cs.get_private_key(pk.id()),
        Err(KeyStoreError::NotFound(_))
    ));
}

/// A remembering store (the CLI's) asks for a passphrase once per key, as Notary's cachedKeys,
/// and decrypts again when the file changed under it; a plain store always decrypts.
#[test]
fn a_remembering_store_asks_once_and_rereads_a_changed_file() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap().remembering_keys();
    let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&key, "targets", "g", &mut pw("first passphrase"))
        .unwrap();
    let mut never = common::Wrong(0);
    let (got, role) = ks.get(key.id(), &mut never).unwrap();
    assert_eq!((got.id(), role.as_str(), never.0), (key.id(), "targets", 0));

    // Re-encrypted by another process: the old passphrase no longer opens it.
    let other = FileKeyStore::open(t.path()).unwrap();
    other
        .add(&key, "targets", "g", &mut pw("second passphrase"))
        .unwrap();
    assert!(ks.get(key.id(), &mut common::Wrong(0)).is_err());
    assert!(ks.get(key.id(), &mut pw("second passphrase")).is_ok());

    let plain = FileKeyStore::open(t.path()).unwrap();
    assert!(plain.get(key.id(), &mut common::Wrong(0)).is_err());
    ks.remove(key.id()).unwrap();
    assert!(ks.get(key.id(), &mut pw("second passphrase")).is_err());
}

/// A remembering store lists the directory once and then keeps the listing up to date with its
/// own writes and removals, as Notary's key file store keeps its key info map; a plain store
/// always reads the directory.
#[test]
fn a_remembering_store_lists_once_until_it_changes_a_key() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap().remembering_keys();
    let plain = FileKeyStore::open(t.path()).unwrap();
    let a = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&a, "targets", "g", &mut pw("p")).unwrap();
    assert_eq!(ks.list().unwrap().len(), 1);

    // Another process adds a key: this process keeps the listing it read.
    let b = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    plain.add(&b, "root", "", &mut pw("p")).unwrap();
    assert_eq!(ks.list().unwrap().len(), 1);
    assert_eq!(plain.list().unwrap().len(), 2);

    // Its own writes and removals are seen at once (and only they: the other process's key
    // stays unlisted for the rest of this one, as in Notary).
    let c = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    ks.add(&c, "targets/x", "", &mut pw("p")).unwrap();
    let listed = ks.list().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[c.id()].role, "targets/x");
    assert!(!listed.contains_key(b.id()));
    ks.remove(a.id()).unwrap();
    assert!(!ks.list().unwrap().contains_key(a.id()));
    ks.add_raw(a.id(), plain.export(b.id()).unwrap().as_bytes())
        .unwrap();
    assert!(ks.list().unwrap().contains_key(a.id()));
}

/// Clones of a remembering store share its memory: a write through one is listed by the other.
#[test]
fn clones_of_a_store_share_what_it_remembers() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap().remembering_keys();
    let backup = ks.clone();
    assert!(ks.list().unwrap().is_empty());
    let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    backup.add(&k, "root", "", &mut pw("p")).unwrap();
    assert!(ks.list().unwrap().contains_key(k.id()));
    let mut never = common::Wrong(0);
    assert!(ks.get(k.id(), &mut never).is_ok());
    assert_eq!(never.0, 0);
}
