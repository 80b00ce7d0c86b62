//! Key files written by the real Notary (fixtures/notary-0.7, and Notary's own 0.1/0.3
//! compatibility fixtures copied to tests/data/go-notary) read by our code, and ours written
//! byte for byte like Notary's.

use std::fs;
use std::path::{Path, PathBuf};

use notarius_crypto::der::{self, Reader};
use notarius_crypto::keyfile::{KeyFile, encode_key_file};
use notarius_crypto::pkcs8;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// (file, passphrase, role header, gun header) of every client key in the Notary scenarios.
fn notary_keys() -> Vec<(PathBuf, String, String, Option<String>)> {
    let mut out = Vec::new();
    let dir = fixtures().join("notary-0.7");
    if !dir.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "fixtures missing"
        );
        eprintln!("SKIPPED: {} is missing", dir.display());
        return out;
    }
    for e in fs::read_dir(dir).unwrap() {
        let dir = e.unwrap().path();
        let Ok(meta) = fs::read(dir.join("scenario.json")) else {
            continue;
        };
        let meta: Value = serde_json::from_slice(&meta).unwrap();
        // Client keys of each scenario, and the keys `notary key import` stored (RSA among them).
        let listed = meta["private_keys"]
            .as_array()
            .into_iter()
            .chain(meta["imported_trust"]["keys"].as_array())
            .flatten();
        for k in listed {
            out.push((
                dir.join(k["file"].as_str().unwrap()),
                k["passphrase"].as_str().unwrap().to_owned(),
                k["role_header"].as_str().unwrap_or_default().to_owned(),
                k["gun_header"].as_str().map(str::to_owned),
            ));
        }
    }
    assert!(
        out.is_empty() || out.len() >= 15,
        "expected the Notary fixture keys, found {}",
        out.len()
    );
    out
}

fn salt_and_iv(der_bytes: &[u8]) -> ([u8; 8], [u8; 16]) {
    let mut epki = Reader::new(Reader::new(der_bytes).read(der::SEQUENCE).unwrap());
    let mut alg = Reader::new(epki.read(der::SEQUENCE).unwrap());
    alg.read(der::OID).unwrap();
    let mut params = Reader::new(alg.read(der::SEQUENCE).unwrap());
    let mut kdf = Reader::new(params.read(der::SEQUENCE).unwrap());
    kdf.read(der::OID).unwrap();
    let salt = Reader::new(kdf.read(der::SEQUENCE).unwrap())
        .read(der::OCTET_STRING)
        .unwrap();
    let mut enc = Reader::new(params.read(der::SEQUENCE).unwrap());
    enc.read(der::OID).unwrap();
    let iv = enc.read(der::OCTET_STRING).unwrap();
    (salt.try_into().unwrap(), iv.try_into().unwrap())
}

#[test]
fn every_notary_key_decrypts_matches_its_file_name_and_re_encrypts_byte_for_byte() {
    for (path, pass, role, gun) in notary_keys() {
        let bytes = fs::read(&path).unwrap();
        let f = KeyFile::parse(&bytes).unwrap();
        assert_eq!(f.role(), role, "{}", path.display());
        assert_eq!(
            f.header("gun").map(str::to_owned),
            gun,
            "{}",
            path.display()
        );
        let key = f
            .decrypt(&pass)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let id = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(
            key.id(),
            id,
            "canonical key ID is the file name: {}",
            path.display()
        );
        assert!(f.decrypt("not the passphrase").is_err());

        // Same salt and IV: our encryption must give Notary's exact bytes.
        let (salt, iv) = salt_and_iv(f.body());
        let ours = pkcs8::encrypt_pkcs8_with(key.raw(), pass.as_bytes(), &salt, &iv);
        assert_eq!(
            ours,
            f.body(),
            "{}: PKCS#8 differs from Notary's",
            path.display()
        );
        // And the whole file, headers included, once the random parts are fixed.
        let ours_file = encode_key_file(&key, &role, gun.as_deref().unwrap_or(""), &pass);
        let ours_parsed = KeyFile::parse(ours_file.as_bytes()).unwrap();
        assert_eq!(ours_parsed.headers, f.headers, "{}", path.display());
        let rebuilt = notarius_crypto::keyfile::go_pem_encode(
            "ENCRYPTED PRIVATE KEY",
            &f.headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            &ours,
        );
        assert_eq!(
            rebuilt.as_bytes(),
            &bytes[..],
            "{}: PEM layout differs",
            path.display()
        );
    }
}

#[test]
fn legacy_notary_0_1_and_0_3_keys_decrypt_to_the_ids_of_their_names() {
    let compat = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/go-notary");
    let mut checked = 0;
    for (dir, pass) in [("notary0.1", "randompass"), ("notary0.3", "password")] {
        let mut stack = vec![compat.join(dir).join("private")];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let f = KeyFile::parse(&fs::read(&p).unwrap()).unwrap();
                assert_eq!(f.header("Proc-Type"), Some("4,ENCRYPTED"));
                let key = f
                    .decrypt(pass)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                // `<id>.key` or, in 0.1, `<id>_<role>.key`: the ID is the key's own.
                let stem = p.file_stem().unwrap().to_str().unwrap();
                assert_eq!(key.id(), stem.split('_').next().unwrap(), "{}", p.display());
                assert!(matches!(
                    f.decrypt("wrong"),
                    Err(pkcs8::KeyError::LegacyDecrypt)
                ));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 7, "every legacy key");
}

#[test]
fn keys_notary_exported_and_imported_read_back() {
    let keys = fixtures().join("notary-0.7/keys");
    if !keys.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "fixtures missing"
        );
        eprintln!("SKIPPED: {} is missing", keys.display());
        return;
    }
    let generated = fs::read(keys.join("generate/dev-key.pem")).unwrap();
    let f = KeyFile::parse(&generated).unwrap();
    assert_eq!(f.role(), "targets/dev");
    f.decrypt("delegationpassphrase").unwrap();
    for name in fs::read_dir(keys.join("import-sources")).unwrap() {
        let p = name.unwrap().path();
        let f = KeyFile::parse(&fs::read(&p).unwrap()).unwrap();
        let pass = if f.is_encrypted() {
            "importsourcepassphrase"
        } else {
            ""
        };
        f.decrypt(pass)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
}
