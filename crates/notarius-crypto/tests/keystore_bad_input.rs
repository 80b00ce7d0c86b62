//! Key-store rows of the security catalog not covered next to the code: imports of odd files
//! (KS-08), secrets kept out of messages (KS-10), exports that stay encrypted (KS-11).

use std::fs;
use std::path::Path;

use notarius_crypto::keyfile::KeyFile;
use notarius_crypto::keystore::FileKeyStore;
use notarius_crypto::passphrase::ConstantRetriever;
use notarius_crypto::pkcs8::KeyError;
use notarius_crypto::private::{Algorithm, PrivateKey};
use zeroize::Zeroizing;

fn data(name: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn ks08_small_rsa_keys_certificates_and_huge_files_are_refused() {
    let small = KeyFile::parse(&data("rsa1024.pem")).unwrap();
    assert!(matches!(
        small.decrypt(""),
        Err(KeyError::KeyTooSmall | KeyError::Invalid(_))
    ));
    let rsa = KeyFile::parse(&data("rsa2048.pem"))
        .unwrap()
        .decrypt("")
        .unwrap();
    let (method, sig) = rsa.sign_bytes(b"m").unwrap();
    assert_eq!(method, "rsapss");
    rsa.public_key().verify(&method, &sig, b"m").unwrap();

    let cert = KeyFile::parse(&data("cert.pem")).unwrap();
    assert!(matches!(cert.decrypt(""), Err(KeyError::UnsupportedType(t)) if t == "CERTIFICATE"));

    let huge = vec![b'A'; (1 << 20) + 1];
    assert!(KeyFile::parse(&huge).is_err());
    assert!(KeyFile::parse(b"no pem here").is_err());
    let mut trailing = data("rsa2048.pem");
    trailing.extend_from_slice(b"\ngarbage after the block\n");
    KeyFile::parse(&trailing).unwrap().decrypt("").unwrap();
}

#[test]
fn ks10_no_secret_reaches_a_message() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let secret = "correct horse battery staple";
    ks.add(
        &key,
        "targets",
        "g",
        &mut ConstantRetriever(Zeroizing::new(secret.into())),
    )
    .unwrap();
    let err = ks
        .get(
            key.id(),
            &mut ConstantRetriever(Zeroizing::new("a wrong passphrase".into())),
        )
        .unwrap_err();
    let shown = format!("{err} {err:?} {key:?}");
    assert!(
        !shown.contains(secret) && !shown.contains("a wrong passphrase"),
        "{shown}"
    );
    let file = fs::read_to_string(ks.dir().join(format!("{}.key", key.id()))).unwrap();
    let body: String = file
        .lines()
        .filter(|l| !l.contains(':') && !l.starts_with("-----"))
        .collect();
    assert!(!shown.contains(&body[..32.min(body.len())]));
    let kf = KeyFile::parse(file.as_bytes()).unwrap();
    assert!(!format!("{kf:?}").contains(&body[..32]));
    assert!(!file.contains(secret));
}

#[test]
fn ks11_exports_stay_encrypted() {
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let key = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    ks.add(
        &key,
        "root",
        "",
        &mut ConstantRetriever(Zeroizing::new("rootpass1".into())),
    )
    .unwrap();
    let exported = ks.export(key.id()).unwrap();
    assert!(exported.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    let f = KeyFile::parse(exported.as_bytes()).unwrap();
    assert_eq!(f.header("path"), Some(key.id()));
    assert!(f.decrypt("").is_err());
    assert_eq!(
        f.decrypt("rootpass1").unwrap().public_key(),
        key.public_key()
    );
}
