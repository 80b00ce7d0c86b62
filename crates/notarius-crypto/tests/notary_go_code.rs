//! Notary 0.7's own Go code judges what we write: `tests/go/notarycheck` is built against the
//! Notary sources of the Debian package `golang-github-docker-notary-dev` and asked to parse our
//! key files, open our key store, validate our root certificates and verify our signatures.
//!
//! Without `go` or those sources the tests print a skip note, except under `CI=true`, where
//! that is a failure.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{copy_dir, data, pw, snapshot};
use notarius_crypto::cert::{certificate, root_certificate};
use notarius_crypto::keyfile::{KeyFile, encode_key_file};
use notarius_crypto::keystore::FileKeyStore;
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_tuf::keys::PublicKey;

const NOTARY_SRC: &str = "/usr/share/gocode/src/github.com/theupdateframework/notary";

/// The built checker, or `None` (with a note) when it cannot be built here.
fn checker() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        let have_go = Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_go || !Path::new(NOTARY_SRC).is_dir() {
            let msg = "`go` and the Notary Go sources (golang-github-docker-notary-dev) are needed";
            assert!(!common::ci(), "{msg}");
            eprintln!("SKIPPED: {msg}");
            return None;
        }
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let bin = tmp.join("notarycheck");
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/notarycheck"))
            .env("GO111MODULE", "off")
            .env("GOPATH", "/usr/share/gocode")
            .env("GOCACHE", tmp.join("gocache"))
            .env("GOFLAGS", "")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "building notarycheck: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(bin)
    });
    bin.as_deref()
}

/// Runs the checker; its stdout, trimmed, or a panic with what it said.
fn check(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(out.status.success(), "notarycheck {args:?}: {text}");
    text
}

/// Blocks as the checker's `pem` command prints them (`%q` of type and sorted `k=v` headers,
/// base64 of the bytes).
fn blocks_line(input: &[u8]) -> String {
    let mut out = String::new();
    for b in notarius_crypto::gopem::decode_all(input) {
        let mut hs: Vec<String> = b.headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
        hs.sort();
        out.push_str(&format!(
            "{:?} {:?} {}\n",
            b.label,
            hs.join(";"),
            B64.encode(&b.bytes[..])
        ));
    }
    out.push_str("--\n");
    out
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn notary_reads_every_key_file_we_write() {
    let Some(bin) = checker() else {
        return;
    };
    let rsa = KeyFile::parse(&fs::read(data("rsa2048.pem")).unwrap())
        .unwrap()
        .decrypt("")
        .unwrap();
    let keys = [
        (PrivateKey::generate(Algorithm::Ecdsa).unwrap(), "ecdsa"),
        (PrivateKey::generate(Algorithm::Ed25519).unwrap(), "ed25519"),
        (rsa, "rsa"),
    ];
    let t = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(t.path()).unwrap();
    let roles = [
        ("root", "example.com/app", ""),
        ("targets", "example.com/app", "example.com/app"),
        ("targets/releases", "example.com/app", ""),
    ];
    for ((key, alg), (role, gun, stored_gun)) in keys.iter().zip(roles) {
        for pass in ["a passphrase", ""] {
            ks.add(key, role, gun, &mut pw(pass)).unwrap();
            let file = ks.dir().join(format!("{}.key", key.id()));
            assert_eq!(
                check(bin, &["key", path_str(&file), pass]),
                format!("{} {alg} {role} {stored_gun}", key.id()).trim_end(),
                "{alg} {pass:?}"
            );
            // Notary writes the same key unencrypted to the very bytes we write.
            assert_eq!(
                check(bin, &["pkcs8", path_str(&file), pass, role, stored_gun]),
                encode_key_file(key, role, stored_gun, "").trim_end(),
                "{alg}: Notary's PKCS#8 form"
            );
            // Notary's key store finds it by its ID and gets the role from the header.
            assert_eq!(
                check(bin, &["get", path_str(t.path()), key.id(), pass]),
                format!("{} {role}", key.id())
            );
        }
    }
}

#[test]
fn notary_validates_our_root_certificates() {
    let Some(bin) = checker() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let rsa = KeyFile::parse(&fs::read(data("rsa2048.pem")).unwrap())
        .unwrap()
        .decrypt("")
        .unwrap();
    for (key, gun, expected_type, sig_alg) in [
        (
            PrivateKey::generate(Algorithm::Ecdsa).unwrap(),
            "example.com/app",
            "ecdsa-x509",
            "ECDSA-SHA256",
        ),
        // `_` is outside PrintableString: Go writes (and reads) a UTF8String.
        (
            PrivateKey::generate(Algorithm::Ecdsa).unwrap(),
            "docker.io/library/my_app",
            "ecdsa-x509",
            "ECDSA-SHA256",
        ),
        (rsa, "example.com/rsa", "rsa-x509", "SHA256-RSA"),
    ] {
        let cert = root_certificate(&key, gun, now).unwrap();
        assert_eq!(cert.keytype().as_str(), expected_type);
        let file = t.path().join("cert.pem");
        fs::write(&file, cert.public()).unwrap();
        // Type, canonical ID, CN, issuer CN, days, IsCA, BasicConstraintsValid, KeyUsage
        // (digitalSignature|keyEncipherment = 5), ExtKeyUsage (codeSigning = 3), serial below
        // 2^128, no subject or authority key identifiers, signature algorithm.
        assert_eq!(
            check(bin, &["cert", path_str(&file)]),
            format!(
                "{expected_type} {} {gun} {gun} 3650 false true 5 [3] true 0 0 {sig_alg}",
                key.id()
            )
        );
    }
    // Ed25519 keys cannot make certificates, in Notary as here.
    let ed = PrivateKey::generate(Algorithm::Ed25519).unwrap();
    let e = certificate(&ed, "g", now, now + time::Duration::days(1)).unwrap_err();
    assert!(
        e.to_string()
            .contains("not supported for Certificate generation"),
        "{e}"
    );
}

#[test]
fn notary_verifies_our_signatures() {
    let Some(bin) = checker() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let msg = t.path().join("msg");
    fs::write(
        &msg,
        br#"{"_type":"Targets","expires":"2030-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let payload = fs::read(&msg).unwrap();
    let rsa = KeyFile::parse(&fs::read(data("rsa2048.pem")).unwrap())
        .unwrap()
        .decrypt("")
        .unwrap();
    let keys = [
        PrivateKey::generate(Algorithm::Ecdsa).unwrap(),
        PrivateKey::generate(Algorithm::Ed25519).unwrap(),
        rsa,
    ];
    for key in &keys {
        let (method, sig) = key.sign_bytes(&payload).unwrap();
        let mut publics: Vec<PublicKey> = vec![key.public_key().clone()];
        if key.algorithm_name() != "ed25519" {
            publics.push(
                root_certificate(key, "example.com/app", time::OffsetDateTime::now_utc()).unwrap(),
            );
        }
        for public in publics {
            let out = check(
                bin,
                &[
                    "verify",
                    public.keytype().as_str(),
                    &B64.encode(public.public()),
                    &method,
                    &B64.encode(&sig),
                    path_str(&msg),
                ],
            );
            assert_eq!(
                out,
                format!("OK {}", public.id()),
                "the same TUF key ID in Go"
            );
        }
        // And a signature over other bytes is refused by Notary too.
        let (_, other) = key.sign_bytes(b"other").unwrap();
        let out = Command::new(bin)
            .args([
                "verify",
                key.public_key().keytype().as_str(),
                &B64.encode(key.public_key().public()),
                &method,
                &B64.encode(&other),
                path_str(&msg),
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{method}");
    }
}

#[test]
fn notary_migrates_legacy_stores_to_the_same_bytes_as_we_do() {
    let Some(bin) = checker() else {
        return;
    };
    for (version, pass) in [("notary0.1", "randompass"), ("notary0.3", "password")] {
        let (ours, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for t in [&ours, &theirs] {
            copy_dir(
                &data(&format!("go-notary/{version}/private")),
                &t.path().join("private"),
            );
        }
        let listed = check(bin, &["list", path_str(theirs.path())]);
        let ks = FileKeyStore::open(ours.path()).unwrap();
        let ours_listed: Vec<String> = ks
            .list()
            .unwrap()
            .into_iter()
            .map(|(id, i)| format!("{id} {} {}", i.role, i.gun).trim_end().to_owned())
            .collect();
        let theirs_listed: Vec<String> = listed.lines().map(|l| l.trim_end().to_owned()).collect();
        assert_eq!(ours_listed, theirs_listed, "{version}");
        let strip = |t: &tempfile::TempDir| -> Vec<(PathBuf, Vec<u8>)> {
            snapshot(t.path())
                .into_iter()
                .map(|(p, (b, _))| (p.strip_prefix(t.path()).unwrap().to_owned(), b))
                .collect()
        };
        assert_eq!(strip(&ours), strip(&theirs), "{version}");
        // Notary's key store decrypts what our migration wrote.
        for line in &ours_listed {
            let id = line.split(' ').next().unwrap();
            check(bin, &["get", path_str(ours.path()), id, pass]);
        }
    }
}

#[test]
fn our_pem_decoder_finds_what_gos_finds() {
    let Some(bin) = checker() else {
        return;
    };
    let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let file = encode_key_file(&key, "targets", "example.com/app", "a passphrase").to_string();
    let two = format!("{file}{}", fs::read_to_string(data("cert.pem")).unwrap());
    let mut inputs: Vec<String> = vec![
        file.clone(),
        two.clone(),
        file.replace('\n', "\r\n"),
        format!("junk before\n{file}junk after"),
        file.replace("role: targets", "role:targets  \t"),
        file.replace(
            "-----END ENCRYPTED PRIVATE KEY-----",
            "-----END ENCRYPTED PRIVATE KEY----- x",
        ),
        file.replace("\n\n", "\n"),
        "-----BEGIN A-----\n-----END A-----\n".into(),
        "-----BEGIN A-----\n-----BEGIN B-----\nAQID\n-----END B-----\n".into(),
        "-----BEGIN A-----\nk: v\n-----END A-----\n".into(),
        "-----BEGIN A-----\nAQ\n==\n-----END A-----\n".into(),
        "-----BEGIN A-----\nAQJ=\n-----END A-----".into(),
        "x-----BEGIN A-----\nAQID\n-----END A-----\n".into(),
    ];
    // Deterministic mutations of real files: bytes replaced, dropped or doubled, using the
    // characters that matter to PEM.
    let alphabet = b"-:\n\r \tABCaz019+/=";
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for round in 0..400 {
        let mut b = if round % 2 == 0 {
            file.clone()
        } else {
            two.clone()
        }
        .into_bytes();
        for _ in 0..1 + next(4) {
            let i = next(b.len());
            match next(3) {
                0 => b[i] = alphabet[next(alphabet.len())],
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, b[i]),
            }
        }
        inputs.push(String::from_utf8(b).unwrap());
    }
    let t = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    let mut expected = String::new();
    for (i, input) in inputs.iter().enumerate() {
        let p = t.path().join(format!("{i}.pem"));
        fs::write(&p, input).unwrap();
        paths.push(p.to_str().unwrap().to_owned());
        expected.push_str(&blocks_line(input.as_bytes()));
    }
    let mut args = vec!["pem"];
    args.extend(paths.iter().map(String::as_str));
    let got = check(bin, &args);
    let (got, expected): (Vec<&str>, Vec<&str>) = (
        got.split("--").collect(),
        expected.trim().split("--").collect(),
    );
    assert_eq!(got.len(), expected.len());
    // The mutations reach both outcomes: blocks kept and blocks skipped.
    let found: Vec<usize> = expected.iter().map(|e| e.trim().lines().count()).collect();
    let full = found.iter().filter(|&&n| n == 2).count();
    let fewer = found.iter().filter(|&&n| n < 2).count();
    assert!(
        full > 20 && fewer > 100,
        "{full} kept both, {fewer} lost some"
    );
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g.trim(), e.trim(), "input {i}: {:?}", inputs[i]);
    }
}
