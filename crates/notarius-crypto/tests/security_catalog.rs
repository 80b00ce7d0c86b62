//! The key-store rows of the security catalog (`shared/security-catalog.md`, KS-01..KS-12):
//! each test asserts the kind of error and that the trust directory is byte for byte (and mode
//! for mode) what it was before (INV-K).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use common::{ByRole, Wrong, copy_dir, data, pw, snapshot};
use notarius_crypto::der::{self, oids};
use notarius_crypto::keyfile::{KeyFile, encode_key_file};
use notarius_crypto::keystore::{FileKeyStore, KeyInfo, KeyStoreError, MAX_ATTEMPTS};
use notarius_crypto::passphrase::EnvRetriever;
use notarius_crypto::pkcs8::KeyError;
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_crypto::service::CryptoService;

/// A store holding one ECDSA targets key encrypted with `secret12`.
fn store_with_key() -> (tempfile::TempDir, FileKeyStore, PrivateKey) {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&k, "targets", "example.com/app", &mut pw("secret12"))
        .unwrap();
    (t, ks, k)
}

fn key_path(ks: &FileKeyStore, id: &str) -> std::path::PathBuf {
    ks.dir().join(format!("{id}.key"))
}

/// The key file of `ks` with its body replaced by `der` (headers kept).
fn with_body(ks: &FileKeyStore, id: &str, der: &[u8]) -> String {
    let f = KeyFile::parse(&fs::read(key_path(ks, id)).unwrap()).unwrap();
    let headers: Vec<(&str, &str)> = f
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    notarius_crypto::gopem::encode(&f.label, &headers, der)
}

#[test]
fn ks01_wrong_passphrase_is_invalid_then_attempts_exceeded() {
    let (t, ks, k) = store_with_key();
    let before = snapshot(t.path());

    // Notary's environment passphrase is offered twice, then given up: ErrPasswordInvalid.
    let mut env: EnvRetriever<Wrong> = EnvRetriever::new(
        Box::new(|name| (name == "NOTARY_TARGETS_PASSPHRASE").then(|| "wrongpass".to_owned())),
        None,
    );
    let e = ks.get(k.id(), &mut env).unwrap_err();
    assert!(matches!(e, KeyStoreError::PasswordInvalid), "{e:?}");
    assert_eq!(e.to_string(), "password invalid, operation has failed.");

    // A source that never gives up: eleven tries (Notary: "> 10"), then ErrAttemptsExceeded.
    let mut wrong = Wrong(0);
    let e = ks.get(k.id(), &mut wrong).unwrap_err();
    assert!(matches!(e, KeyStoreError::AttemptsExceeded), "{e:?}");
    assert_eq!(
        e.to_string(),
        "maximum number of passphrase attempts exceeded"
    );
    assert_eq!(wrong.0, MAX_ATTEMPTS + 1);
    assert_eq!(snapshot(t.path()), before);
}

#[test]
fn ks02_truncated_and_malformed_files_fail_without_panic() {
    let (t, ks, k) = store_with_key();
    let path = key_path(&ks, k.id());
    let good = fs::read_to_string(&path).unwrap();
    let f = KeyFile::parse(good.as_bytes()).unwrap();
    let body = f.body().to_vec();

    // The EncryptedPrivateKeyInfo rebuilt with a given IV and ciphertext.
    let rebuild = |iv: &[u8], ct: &[u8]| {
        let mut r = der::Reader::new(der::Reader::new(&body).read(der::SEQUENCE).unwrap());
        let mut alg = der::Reader::new(r.read(der::SEQUENCE).unwrap());
        alg.read(der::OID).unwrap();
        let mut params = der::Reader::new(alg.read(der::SEQUENCE).unwrap());
        let (_, kdf) = params.read_any().unwrap();
        let enc = der::seq(&[
            &der::tlv(der::OID, oids::AES256_CBC),
            &der::tlv(der::OCTET_STRING, iv),
        ]);
        let alg = der::seq(&[
            &der::tlv(der::OID, oids::PBES2),
            &der::seq(&[&der::tlv(der::SEQUENCE, kdf), &enc]),
        ]);
        with_body(
            &ks,
            k.id(),
            &der::seq(&[&alg, &der::tlv(der::OCTET_STRING, ct)]),
        )
    };
    let cut_mid_base64 = good[..good.len() / 2].to_owned();
    let no_end_line = good.replace("-----END ENCRYPTED PRIVATE KEY-----\n", "");
    let odd_ciphertext = rebuild(&[7; 16], &[1; 33]);
    let short_iv = rebuild(&[7; 8], &[1; 32]);
    let empty_ciphertext = rebuild(&[7; 16], &[]);
    for (what, bad) in [
        ("cut in the middle of the base64", cut_mid_base64.as_str()),
        ("no END line", &no_end_line),
        ("ciphertext not a multiple of 16", &odd_ciphertext),
        ("IV of 8 bytes", &short_iv),
        ("no ciphertext", &empty_ciphertext),
        ("empty file", ""),
    ] {
        fs::write(&path, bad).unwrap();
        let before = snapshot(t.path());
        let mut asked = Wrong(0);
        let e = ks.get(k.id(), &mut asked).unwrap_err();
        assert!(matches!(&e, KeyStoreError::Key { .. }), "{what}: {e:?}");
        assert!(
            asked.0 <= 1,
            "{what}: a damaged file is not a passphrase problem"
        );
        assert_eq!(snapshot(t.path()), before, "{what}");
        let info = ks.list().unwrap();
        if what.contains("base64") || what.contains("END") || what.contains("empty") {
            assert!(!info.contains_key(k.id()), "{what}: not listed as a key");
        }
    }
}

#[test]
fn ks03_flipped_ciphertext_bits_never_give_another_key() {
    let (t, ks, k) = store_with_key();
    let path = key_path(&ks, k.id());
    let good = fs::read(&path).unwrap();
    let f = KeyFile::parse(&good).unwrap();
    let body = f.body().to_vec();
    let ct_len = {
        let mut r = der::Reader::new(der::Reader::new(&body).read(der::SEQUENCE).unwrap());
        r.read(der::SEQUENCE).unwrap();
        r.read(der::OCTET_STRING).unwrap().len()
    };
    let mut refused = 0;
    // One bit in each ciphertext byte (the last `ct_len` bytes of the DER).
    for i in body.len() - ct_len..body.len() {
        let mut flipped = body.clone();
        flipped[i] ^= 0x01;
        fs::write(&path, with_body(&ks, k.id(), &flipped)).unwrap();
        let before = snapshot(t.path());
        match ks.get(k.id(), &mut pw("secret12")) {
            // Garbage that still parses is accepted only if it is the very same key.
            Ok((got, _)) => assert_eq!(got.public_key(), k.public_key(), "byte {i}"),
            Err(
                KeyStoreError::AttemptsExceeded
                | KeyStoreError::IdMismatch { .. }
                | KeyStoreError::Key { .. },
            ) => refused += 1,
            Err(e) => panic!("byte {i}: {e:?}"),
        }
        assert_eq!(snapshot(t.path()), before);
    }
    assert!(
        refused > ct_len / 2,
        "most flips are refused ({refused}/{ct_len})"
    );
}

#[test]
fn ks04_hostile_encryption_parameters_are_refused_quickly() {
    // An encrypted block with the given PBES2 pieces, as an import source with a path header.
    let build = |scheme: &[u8], iterations: u64, prf: Option<&[u8]>, cipher: &[u8]| {
        let mut kdf_params = vec![der::tlv(der::OCTET_STRING, &[1; 8]), der::uint(iterations)];
        if let Some(p) = prf {
            kdf_params.push(der::seq(&[&der::tlv(der::OID, p)]));
        }
        let refs: Vec<&[u8]> = kdf_params.iter().map(Vec::as_slice).collect();
        let kdf = der::seq(&[&der::tlv(der::OID, oids::PBKDF2), &der::seq(&refs)]);
        let enc = der::seq(&[
            &der::tlv(der::OID, cipher),
            &der::tlv(der::OCTET_STRING, &[2; 16]),
        ]);
        let alg = der::seq(&[&der::tlv(der::OID, scheme), &der::seq(&[&kdf, &enc])]);
        der::seq(&[&alg, &der::tlv(der::OCTET_STRING, &[3; 48])])
    };
    // PKCS#5 v1.5 pbeWithMD5AndDES-CBC, DES-EDE3-CBC and HMAC-SHA256.
    let pbes1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x03];
    let des3: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07];
    let sha256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
    let cases: Vec<(&str, Vec<u8>, KeyError)> = vec![
        (
            "0 iterations",
            build(oids::PBES2, 0, None, oids::AES256_CBC),
            KeyError::Iterations(0),
        ),
        (
            "1 iteration",
            build(oids::PBES2, 1, None, oids::AES256_CBC),
            KeyError::Iterations(1),
        ),
        (
            "2^31 iterations",
            build(oids::PBES2, 1 << 31, None, oids::AES256_CBC),
            KeyError::Iterations(1 << 31),
        ),
        (
            "HMAC-SHA256",
            build(oids::PBES2, 2048, Some(sha256), oids::AES256_CBC),
            KeyError::UnsupportedPrf,
        ),
        (
            "PBES1",
            build(pbes1, 2048, None, oids::AES256_CBC),
            KeyError::NotPbes2,
        ),
        (
            "3DES",
            build(oids::PBES2, 2048, None, des3),
            KeyError::NotAes256Cbc,
        ),
    ];
    let (t, ks, k) = store_with_key();
    let id = "ab".repeat(32);
    for (what, der_bytes, expected) in cases {
        let before = snapshot(t.path());
        let pem = notarius_crypto::gopem::encode(
            "ENCRYPTED PRIVATE KEY",
            &[("path", &id), ("role", "targets/x")],
            &der_bytes,
        );
        // Imported: refused before anything is written.
        let e = ks
            .import(pem.as_bytes(), "", "", &mut Wrong(0))
            .unwrap_err();
        assert!(e.to_string().contains(&expected.to_string()), "{what}: {e}");
        assert_eq!(snapshot(t.path()), before, "{what}");
        // Planted in the store: refused at once, with no passphrase retries and no 2^31 rounds.
        let path = key_path(&ks, k.id());
        let good = fs::read(&path).unwrap();
        fs::write(&path, with_body(&ks, k.id(), &der_bytes)).unwrap();
        let before = snapshot(t.path());
        let started = Instant::now();
        let mut asked = Wrong(0);
        match ks.get(k.id(), &mut asked) {
            Err(KeyStoreError::Key { source, .. }) => assert_eq!(source, expected, "{what}"),
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(asked.0, 1, "{what}");
        assert!(started.elapsed().as_secs() < 2, "{what}");
        assert_eq!(snapshot(t.path()), before, "{what}");
        fs::write(&path, good).unwrap();
    }
    assert_eq!(
        KeyError::Iterations(0).to_string(),
        "pkcs8: iteration count 0 is outside the accepted range 1000..=10000000"
    );
}

#[test]
fn ks05_modes_are_private_and_never_widened() {
    let t = tempfile::tempdir().unwrap();
    let private = t.path().join("private");
    fs::create_dir(&private).unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o755)).unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    assert_eq!(
        fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&k, "targets", "g", &mut pw("secret12")).unwrap();
    let path = key_path(&ks, k.id());
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(ks.loose_permissions().unwrap().is_empty());

    // A key file someone made world-readable is reported, read, and left as it is.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let before = snapshot(t.path());
    assert_eq!(ks.loose_permissions().unwrap(), std::slice::from_ref(&path));
    ks.get(k.id(), &mut pw("secret12")).unwrap();
    assert_eq!(snapshot(t.path()), before);
    // Rewriting the key makes it private again.
    ks.add(&k, "targets", "g", &mut pw("secret12")).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn ks06_planted_symlinks_are_not_followed() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let victim = t.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    std::os::unix::fs::symlink(&victim, key_path(&ks, k.id())).unwrap();
    let before = snapshot(t.path());
    assert!(matches!(
        ks.add(&k, "targets", "g", &mut pw("secret12")),
        Err(KeyStoreError::Io { .. })
    ));
    let e = ks.get(k.id(), &mut pw("secret12")).unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(!ks.list().unwrap().contains_key(k.id()));
    assert_eq!(snapshot(t.path()), before);

    // A symlinked private directory is refused.
    let t2 = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(t.path().join("private"), t2.path().join("private")).unwrap();
    let before = (snapshot(t.path()), snapshot(t2.path()));
    assert!(matches!(
        FileKeyStore::open(t2.path()),
        Err(KeyStoreError::Io { .. })
    ));
    assert_eq!((snapshot(t.path()), snapshot(t2.path())), before);

    // Links inside legacy directories are neither followed nor deleted through.
    let t3 = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    copy_dir(
        &data("go-notary/notary0.3/private"),
        &outside.path().join("keys"),
    );
    fs::create_dir_all(t3.path().join("private/tuf_keys")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("keys/tuf_keys/docker.com"),
        t3.path().join("private/tuf_keys/docker.com"),
    )
    .unwrap();
    let outside_before = snapshot(outside.path());
    let ks3 = FileKeyStore::open(t3.path()).unwrap();
    assert!(ks3.list().unwrap().is_empty());
    assert_eq!(snapshot(outside.path()), outside_before);
}

#[test]
fn ks07_swapped_names_and_edited_headers_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let a = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let b = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&a, "targets", "example.com/a", &mut pw("secret12"))
        .unwrap();
    ks.add(&b, "snapshot", "example.com/a", &mut pw("secret12"))
        .unwrap();
    let (pa, pb) = (key_path(&ks, a.id()), key_path(&ks, b.id()));

    // Swapped file names: the key inside is not the key its name says.
    let (ba, bb) = (fs::read(&pa).unwrap(), fs::read(&pb).unwrap());
    fs::write(&pa, &bb).unwrap();
    fs::write(&pb, &ba).unwrap();
    let before = snapshot(t.path());
    assert!(matches!(
        ks.get(a.id(), &mut pw("secret12")),
        Err(KeyStoreError::IdMismatch { .. })
    ));
    assert_eq!(snapshot(t.path()), before);
    fs::write(&pa, &ba).unwrap();
    fs::write(&pb, &bb).unwrap();

    let mut cs = CryptoService::new(
        vec![Box::new(FileKeyStore::open(t.path()).unwrap())],
        Box::new(pw("secret12")),
    );
    cs.get_signing_key(a.id(), "targets", "example.com/a")
        .unwrap();
    // `role: targets` edited to `role: root`: no longer a targets key.
    let edited = String::from_utf8(ba.clone())
        .unwrap()
        .replace("role: targets", "role: root");
    fs::write(&pa, edited).unwrap();
    let before = snapshot(t.path());
    assert!(matches!(
        cs.get_signing_key(a.id(), "targets", "example.com/a"),
        Err(KeyStoreError::WrongRole { .. })
    ));
    // A key for GUN A asked for GUN B.
    let e = cs
        .get_signing_key(b.id(), "snapshot", "example.com/b")
        .unwrap_err();
    assert!(matches!(e, KeyStoreError::WrongGun { .. }), "{e:?}");
    assert_eq!(snapshot(t.path()), before);
    // A key imported without a role (`delegation`) may sign for a delegation.
    let d = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(&d, "delegation", "", &mut pw("secret12")).unwrap();
    cs.get_signing_key(d.id(), "targets/releases", "example.com/a")
        .unwrap();
    assert!(
        cs.get_signing_key(d.id(), "targets", "example.com/a")
            .is_err()
    );
    assert!(
        notarius_crypto::keystore::check_key_use(
            d.id(),
            &KeyInfo {
                role: "root".into(),
                gun: String::new()
            },
            "root",
            "any.gun/x"
        )
        .is_ok(),
        "root keys serve every repository"
    );
}

#[test]
fn ks08_odd_import_files_are_bounded_and_refused_specifically() {
    let (t, ks, _) = store_with_key();
    let before = snapshot(t.path());
    let mut retr = pw("newpassphrase");

    // A certificate instead of a key.
    let e = ks
        .import_file(&data("cert.pem"), "targets/x", "", &mut retr)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to import all keys: invalid key pem block (a CERTIFICATE block)"
    );
    // RSA below 2048 bits (Notary's MinRSABitSize).
    let e = ks
        .import_file(&data("rsa1024.pem"), "targets/x", "", &mut retr)
        .unwrap_err();
    assert!(
        e.to_string().contains(&KeyError::KeyTooSmall.to_string()),
        "{e}"
    );
    assert!(matches!(
        KeyFile::parse(&fs::read(data("rsa1024.pem")).unwrap())
            .unwrap()
            .decrypt(""),
        Err(KeyError::KeyTooSmall)
    ));
    // A 1 GiB file is refused before it is read (sparse: nothing is really written).
    let huge = t.path().join("huge.pem");
    fs::File::create(&huge).unwrap().set_len(1 << 30).unwrap();
    let started = Instant::now();
    let e = ks.import_file(&huge, "", "", &mut retr).unwrap_err();
    assert!(e.to_string().contains("larger than"), "{e}");
    assert!(started.elapsed().as_secs() < 2);
    fs::remove_file(&huge).unwrap();
    let e = ks
        .import(&vec![b'A'; (4 << 20) + 1], "", "", &mut retr)
        .unwrap_err();
    assert!(matches!(e, KeyStoreError::Import(_)), "{e:?}");
    // A file with no PEM at all imports nothing (Notary says nothing either).
    assert!(
        ks.import(b"garbage", "", "", &mut retr)
            .unwrap()
            .imported
            .is_empty()
    );
    assert_eq!(snapshot(t.path()), before);

    // Several blocks with trailing garbage: the key is taken, the certificate reported.
    let rsa = fs::read_to_string(data("rsa2048.pem")).unwrap();
    let cert = fs::read_to_string(data("cert.pem")).unwrap();
    let bundle = format!("{rsa}{cert}\ngarbage after the blocks\n");
    let report = ks
        .import(bundle.as_bytes(), "targets/rsa", "", &mut retr)
        .unwrap();
    assert_eq!(report.imported.len(), 1);
    assert_eq!(report.skipped.len(), 1);
    let (key, role) = ks.get(&report.imported[0], &mut retr).unwrap();
    assert_eq!(
        (key.algorithm_name(), role.as_str()),
        ("rsa", "targets/rsa")
    );
    let (method, sig) = key.sign_bytes(b"m").unwrap();
    assert_eq!(method, "rsapss");
    key.public_key().verify(&method, &sig, b"m").unwrap();
}

#[test]
fn ks09_legacy_files_are_read_but_never_written() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(
        &data("go-notary/notary0.3/private"),
        &t.path().join("private"),
    );
    let ks = FileKeyStore::open(t.path()).unwrap();
    let list = ks.list().unwrap();
    let b = tempfile::tempdir().unwrap();
    let fresh = FileKeyStore::open(b.path()).unwrap();
    for (id, info) in &list {
        let file = KeyFile::parse(&fs::read(key_path(&ks, id)).unwrap()).unwrap();
        assert_eq!(
            file.header("Proc-Type"),
            Some("4,ENCRYPTED"),
            "moved as it was, as Notary moves it"
        );
        let (key, _) = ks.get(id, &mut pw("password")).unwrap();
        // Storing the key again writes the current format only.
        fresh
            .add(&key, &info.role, &info.gun, &mut pw("newpassphrase"))
            .unwrap();
        let text = fs::read_to_string(key_path(&fresh, id)).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            "{text}"
        );
        assert!(!text.contains("Proc-Type") && !text.contains("DEK-Info"));
    }
    // A wrong passphrase on a legacy key is a wrong passphrase, asked again.
    let root = list.iter().find(|(_, i)| i.role == "root").unwrap().0;
    let before = snapshot(t.path());
    let mut wrong = Wrong(0);
    assert!(matches!(
        ks.get(root, &mut wrong),
        Err(KeyStoreError::AttemptsExceeded)
    ));
    assert_eq!(wrong.0, MAX_ATTEMPTS + 1);
    assert_eq!(snapshot(t.path()), before);
}

#[test]
fn ks10_no_secret_reaches_a_message() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let secret = "correct horse battery staple";
    ks.add(&key, "targets", "g", &mut pw(secret)).unwrap();
    let err = ks.get(key.id(), &mut Wrong(0)).unwrap_err();
    let file = fs::read_to_string(key_path(&ks, key.id())).unwrap();
    let kf = KeyFile::parse(file.as_bytes()).unwrap();
    let raw = match key.raw() {
        notarius_crypto::pkcs8::RawKey::Ecdsa(b) => hex::encode(&b[..]),
        _ => unreachable!(),
    };
    let shown = format!("{err} {err:?} {key:?} {kf:?} {:?}", key.raw());
    assert!(
        !shown.contains(secret) && !shown.contains("a wrong passphrase"),
        "{shown}"
    );
    assert!(!shown.contains(&raw[..40]), "{shown}");
    let body: String = file
        .lines()
        .filter(|l| !l.contains(':') && !l.starts_with("-----"))
        .collect();
    assert!(!shown.contains(&body[..32]), "{shown}");
    assert!(!file.contains(secret));
    // Legacy and import errors do not carry key bytes either.
    let e = ks
        .import(
            file.replace("role: targets", "").as_bytes(),
            "",
            "",
            &mut Wrong(0),
        )
        .unwrap_err();
    assert!(!e.to_string().contains(&body[..32]));
}

#[test]
fn ks11_exports_stay_encrypted() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let key = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    ks.add(&key, "root", "", &mut pw("rootpass1")).unwrap();
    let before = snapshot(t.path());
    for exported in [ks.export(key.id()).unwrap(), ks.export_all().unwrap()] {
        assert!(exported.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        let f = KeyFile::parse(exported.as_bytes()).unwrap();
        assert_eq!(f.header("path"), Some(key.id()));
        assert!(f.decrypt("").is_err());
        assert_eq!(
            f.decrypt("rootpass1").unwrap().public_key(),
            key.public_key()
        );
    }
    assert_eq!(snapshot(t.path()), before, "an export changes nothing");
}

#[test]
fn ks12_bad_guns_never_reach_a_key_file() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let plain = encode_key_file(&key, "", "", "");
    let long = format!("example.com/{}", "a".repeat(300));
    let before = snapshot(t.path());
    for gun in [
        "../../tmp/x",
        "/abs",
        "a/./b",
        long.as_str(),
        "a\nrole: root",
    ] {
        let e = ks
            .add(&key, "targets", gun, &mut pw("secret12"))
            .unwrap_err();
        assert!(
            matches!(
                e,
                KeyStoreError::InvalidGun(_) | KeyStoreError::BadHeader(_)
            ),
            "{gun:?}: {e:?}"
        );
        let e = ks
            .import(plain.as_bytes(), "targets", gun, &mut pw("secret12"))
            .unwrap_err();
        assert!(
            matches!(e, KeyStoreError::Import(_) | KeyStoreError::BadHeader(_)),
            "{gun:?}: {e:?}"
        );
        assert_eq!(snapshot(t.path()), before, "{gun:?}");
    }
    // Key IDs are file names only when they are key IDs.
    for id in [
        "../../etc/passwd",
        "",
        &"A".repeat(64),
        &format!("{}/x", "a".repeat(62)),
    ] {
        assert!(matches!(
            ks.get(id, &mut pw("x")),
            Err(KeyStoreError::BadKeyId(_))
        ));
        assert!(matches!(ks.remove(id), Err(KeyStoreError::BadKeyId(_))));
    }
    // A path header naming a place outside the store is refused at import.
    let enc = encode_key_file(&key, "targets/x", "", "secret12");
    let f = KeyFile::parse(enc.as_bytes()).unwrap();
    let escape = notarius_crypto::gopem::encode(
        &f.label,
        &[("path", "../../../tmp/evil"), ("role", "targets/x")],
        f.body(),
    );
    assert!(ks.import(escape.as_bytes(), "", "", &mut pw("x")).is_err());
    assert_eq!(snapshot(t.path()), before);
    assert!(!Path::new("/tmp/evil.key").exists());
    // The same GUN checks keep the key usable through the environment passphrase rules.
    let mut by_role = ByRole::new(&[("targets", "t12345678")]);
    ks.add(&key, "targets", "example.com/ok", &mut by_role)
        .unwrap();
}
