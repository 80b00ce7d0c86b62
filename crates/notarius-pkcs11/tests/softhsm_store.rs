//! The PKCS#11 key store against a real module: SoftHSM2, a fresh token per test (each test's
//! body runs in its own child process, see `common/softhsm.rs`).

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::softhsm::{self, SoftHsm, in_token_process};
use cryptoki::context::Pkcs11;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use notarius_crypto::keystore::{FileKeyStore, KeyStoreError};
use notarius_crypto::passphrase::{GiveUp, Passphrase, PassphraseRetriever, TOKEN_PIN_ALIAS};
use notarius_crypto::private::Algorithm;
use notarius_crypto::service::{CryptoService, KeyStore};
use notarius_pkcs11::{Pkcs11Error, Pkcs11KeyStore};
use notarius_tuf::sign::Signer;
use zeroize::Zeroizing;

/// Answers from a script per alias, recording every question (alias, attempt).
#[derive(Clone, Default)]
struct Script {
    pins: Arc<Mutex<Vec<&'static str>>>,
    passphrase: Option<&'static str>,
    asked: Arc<Mutex<Vec<(String, u32)>>>,
}

impl Script {
    fn new(pins: &[&'static str]) -> Script {
        Script {
            pins: Arc::new(Mutex::new(pins.to_vec())),
            passphrase: Some("backup-passphrase"),
            asked: Default::default(),
        }
    }
    fn pin_questions(&self) -> usize {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| a == TOKEN_PIN_ALIAS)
            .count()
    }
}

impl PassphraseRetriever for Script {
    fn passphrase(
        &mut self,
        _name: &str,
        alias: &str,
        _new: bool,
        attempt: u32,
    ) -> Result<Passphrase, GiveUp> {
        self.asked.lock().unwrap().push((alias.to_owned(), attempt));
        if alias == TOKEN_PIN_ALIAS {
            let mut pins = self.pins.lock().unwrap();
            if pins.is_empty() {
                return Err(GiveUp::NoInput);
            }
            return Ok(Zeroizing::new(pins.remove(0).to_owned()));
        }
        self.passphrase
            .map(|p| Zeroizing::new(p.to_owned()))
            .ok_or(GiveUp::NoInput)
    }
}

fn token_store(module: &Path, trust: &Path) -> Pkcs11KeyStore {
    Pkcs11KeyStore::open(module, Some(FileKeyStore::open(trust).unwrap()))
        .unwrap()
        .expect("the SoftHSM token")
}

fn service(module: &Path, trust: &Path, r: &Script) -> CryptoService {
    CryptoService::new(
        vec![
            Box::new(token_store(module, trust)),
            Box::new(FileKeyStore::open(trust).unwrap()),
        ],
        Box::new(r.clone()),
    )
}

/// A session of our own on the token, logged in as the user (what another program would do).
fn raw_session(module: &Path) -> cryptoki::session::Session {
    // The store already initialised the module in this process; a second handle shares it.
    let ctx = Pkcs11::new(module).unwrap();
    let _ = ctx.initialize(cryptoki::context::CInitializeArgs::new(
        cryptoki::context::CInitializeFlags::OS_LOCKING_OK,
    ));
    let slot = ctx
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let s = ctx.open_rw_session(slot).unwrap();
    match s.login(
        UserType::User,
        Some(&AuthPin::new(softhsm::USER_PIN.into())),
    ) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("login: {e}"),
    }
    s
}

fn token_error(e: &KeyStoreError) -> Option<&Pkcs11Error> {
    match e {
        KeyStoreError::Token(b) => b.downcast_ref::<Pkcs11Error>(),
        _ => None,
    }
}

#[test]
fn root_key_is_made_on_the_token_backed_up_and_signs_there() {
    in_token_process(
        "root_key_is_made_on_the_token_backed_up_and_signs_there",
        SoftHsm::with_token,
        |module| {
            let trust = tempfile::tempdir().unwrap();
            let r = Script::new(&[softhsm::USER_PIN]);
            let mut cs = service(module, trust.path(), &r);
            let root = cs.create("root", "", Algorithm::Ecdsa).unwrap();
            // Non-root keys are not the token's: they go to the file store.
            let targets = cs
                .create("targets", "example.com/app", Algorithm::Ecdsa)
                .unwrap();

            // On the token, listed there first, and backed up encrypted in private/.
            let store = token_store(module, trust.path());
            let on_token = store.list().unwrap();
            assert_eq!(on_token.keys().collect::<Vec<_>>(), [root.id()]);
            assert_eq!(on_token[root.id()].role, "root");
            assert_eq!(store.location(), "pkcs11:notarius-test");
            let backup = trust.path().join(format!("private/{}.key", root.id()));
            let text = std::fs::read_to_string(&backup).unwrap();
            assert!(text.contains("ENCRYPTED PRIVATE KEY") && text.contains("role: root"));
            assert!(
                trust
                    .path()
                    .join(format!("private/{}.key", targets.id()))
                    .is_file()
            );
            let all = cs.list_all_keys().unwrap();
            assert_eq!(all[root.id()].1, "pkcs11:notarius-test");
            assert_eq!(
                all[targets.id()].1,
                trust.path().join("private").display().to_string()
            );
            let by_store = cs.list_by_store().unwrap();
            assert!(by_store[0].1.contains_key(root.id()) && by_store[1].1.contains_key(root.id()));

            // Notary's objects: a certificate (CN=root), the public and the private key under
            // one of Notary's single-byte IDs (2 first), the key not extractable.
            let s = raw_session(module);
            for class in [
                ObjectClass::CERTIFICATE,
                ObjectClass::PUBLIC_KEY,
                ObjectClass::PRIVATE_KEY,
            ] {
                let found = s
                    .find_objects(&[Attribute::Class(class), Attribute::Id(vec![2])])
                    .unwrap();
                assert_eq!(found.len(), 1, "{class:?}");
            }
            let private = s
                .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
                .unwrap()[0];
            let attrs = s
                .get_attributes(
                    private,
                    &[
                        cryptoki::object::AttributeType::Extractable,
                        cryptoki::object::AttributeType::Sensitive,
                    ],
                )
                .unwrap();
            assert!(attrs.contains(&Attribute::Extractable(false)));
            assert!(attrs.contains(&Attribute::Sensitive(true)));

            // Signing happens on the token and verifies; the private key never comes out.
            let (handle, role) = cs.signing_key(root.id()).unwrap();
            assert_eq!(role, "root");
            assert!(handle.is_external());
            for msg in [&b"hello"[..], b"", &[0u8; 5000]] {
                let (method, sig) = handle.sign(msg).unwrap();
                assert_eq!((method.as_str(), sig.len()), ("ecdsa", 64));
                root.verify(&method, &sig, msg).unwrap();
                assert!(root.verify(&method, &sig, b"other").is_err());
            }
            assert!(matches!(
                store.get(root.id(), &mut r.clone()),
                Err(KeyStoreError::OnToken(_))
            ));
            // A root certificate signed on the token verifies, and names the token's key.
            let cert = notarius_crypto::cert::root_certificate(
                &handle,
                "example.com/app",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
            assert_eq!(cert.canonical_id(), root.id());
            let (_, pem) = x509_parser::pem::parse_x509_pem(cert.public()).unwrap();
            let x = pem.parse_x509().unwrap();
            x.verify_signature(None).unwrap();
            // The PIN was asked once for the whole run.
            assert_eq!(r.pin_questions(), 1);
        },
    );
}

#[test]
fn removal_takes_the_key_off_the_token_and_out_of_the_backup() {
    in_token_process(
        "removal_takes_the_key_off_the_token_and_out_of_the_backup",
        SoftHsm::with_token,
        |module| {
            let trust = tempfile::tempdir().unwrap();
            let r = Script::new(&[softhsm::USER_PIN]);
            let mut cs = service(module, trust.path(), &r);
            let first = cs.create("root", "", Algorithm::Ecdsa).unwrap();
            let mut cs2 = service(module, trust.path(), &r);
            let root = {
                // A second root key takes the next of Notary's IDs (1).
                let k = notarius_crypto::private::PrivateKey::generate(Algorithm::Ecdsa).unwrap();
                cs2.add_key("root", "", &k).unwrap();
                k.public_key().clone()
            };
            let s = raw_session(module);
            assert_eq!(s.find_objects(&[Attribute::Id(vec![1])]).unwrap().len(), 3);
            cs.remove_key(root.id()).unwrap();
            assert!(
                s.find_objects(&[Attribute::Id(vec![1])])
                    .unwrap()
                    .is_empty()
            );
            assert!(
                !trust
                    .path()
                    .join(format!("private/{}.key", root.id()))
                    .exists()
            );
            assert!(matches!(
                cs.signing_key(root.id()),
                Err(KeyStoreError::NotFound(_))
            ));
            // The other key is untouched and still signs.
            let (h, _) = cs.signing_key(first.id()).unwrap();
            let (m, sig) = h.sign(b"x").unwrap();
            first.verify(&m, &sig, b"x").unwrap();
        },
    );
}

#[test]
fn a_refused_pin_is_not_retried_once_the_token_counts_failures() {
    in_token_process(
        "a_refused_pin_is_not_retried_once_the_token_counts_failures",
        SoftHsm::with_token,
        |module| {
            let trust = tempfile::tempdir().unwrap();
            // Wrong, then right: the right PIN is never sent, because after the refusal the
            // token reports a low count (SG-10), and that error is distinct.
            let r = Script::new(&["0000", softhsm::USER_PIN]);
            let mut cs = service(module, trust.path(), &r);
            let e = cs.create("root", "", Algorithm::Ecdsa).unwrap_err();
            assert!(
                matches!(token_error(&e), Some(Pkcs11Error::PinCountLow { .. })),
                "{e}"
            );
            assert_eq!(r.pin_questions(), 1);
            assert!(!e.to_string().contains("0000"));
            // Nothing was written: not on the token, and no key file either (no silent
            // fallback to the file store).
            assert!(token_store(module, trust.path()).list().unwrap().is_empty());
            assert_eq!(
                std::fs::read_dir(trust.path().join("private"))
                    .unwrap()
                    .count(),
                0
            );

            // The same wrong PIN offered again (an environment variable) is not sent twice.
            let same = Script::new(&["0000", "0000"]);
            let mut cs = service(module, trust.path(), &same);
            let e = cs.create("root", "", Algorithm::Ecdsa).unwrap_err();
            assert!(
                matches!(token_error(&e), Some(Pkcs11Error::PinCountLow { .. }))
                    || matches!(e, KeyStoreError::PasswordInvalid),
                "{e}"
            );
            assert_eq!(same.pin_questions(), 1);

            // One correct PIN is still accepted, and a success clears the count.
            let ok = Script::new(&[softhsm::USER_PIN]);
            let mut cs = service(module, trust.path(), &ok);
            cs.create("root", "", Algorithm::Ecdsa).unwrap();
        },
    );
}

#[test]
fn no_pin_means_no_login_and_no_default_pin_is_tried() {
    in_token_process(
        "no_pin_means_no_login_and_no_default_pin_is_tried",
        || {
            // A token whose PIN is Notary's default: it must still not be used unasked.
            let hsm = SoftHsm::empty()?;
            hsm.util(&[
                "--init-token",
                "--free",
                "--label",
                softhsm::LABEL,
                "--pin",
                "123456",
                "--so-pin",
                "12345678",
            ]);
            Some(hsm)
        },
        |module| {
            let trust = tempfile::tempdir().unwrap();
            let r = Script::new(&[]);
            let mut cs = service(module, trust.path(), &r);
            let e = cs.create("root", "", Algorithm::Ecdsa).unwrap_err();
            assert!(matches!(e, KeyStoreError::GiveUp(GiveUp::NoInput)), "{e}");
            assert!(token_store(module, trust.path()).list().unwrap().is_empty());
            // No login was attempted at all: the token counts no failure.
            let ctx = Pkcs11::new(module).unwrap();
            let slot = ctx.get_slots_with_initialized_token().unwrap()[0];
            assert!(!ctx.get_token_info(slot).unwrap().user_pin_count_low());
        },
    );
}

#[test]
fn a_key_whose_private_object_is_gone_fails_and_the_backup_does_not_sign() {
    in_token_process(
        "a_key_whose_private_object_is_gone_fails_and_the_backup_does_not_sign",
        SoftHsm::with_token,
        |module| {
            let trust = tempfile::tempdir().unwrap();
            let r = Script::new(&[softhsm::USER_PIN]);
            let mut cs = service(module, trust.path(), &r);
            let root = cs.create("root", "", Algorithm::Ecdsa).unwrap();
            let (handle, _) = cs.signing_key(root.id()).unwrap();
            // Another program takes the private key away (the certificate stays).
            let s = raw_session(module);
            for o in s
                .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
                .unwrap()
            {
                s.destroy_object(o).unwrap();
            }
            // The handle already given out fails, with a clear message.
            let e = handle.sign(b"payload").unwrap_err().to_string();
            assert!(e.contains("private key object is missing"), "{e}");
            // Asking again fails too: the backup file is there but never used instead.
            assert!(
                trust
                    .path()
                    .join(format!("private/{}.key", root.id()))
                    .is_file()
            );
            let e = cs.signing_key(root.id()).unwrap_err();
            assert!(
                matches!(token_error(&e), Some(Pkcs11Error::ObjectMissing { .. })),
                "{e}"
            );
            // A second certificate for the same key (a label/ID collision) is refused too.
            let cert = s
                .find_objects(&[Attribute::Class(ObjectClass::CERTIFICATE)])
                .unwrap()[0];
            s.copy_object(cert, &[Attribute::Id(vec![9])]).unwrap();
            let e = cs.signing_key(root.id()).unwrap_err();
            assert!(
                matches!(token_error(&e), Some(Pkcs11Error::Duplicate { .. })),
                "{e}"
            );
        },
    );
}

#[test]
fn a_failed_backup_takes_the_key_off_the_token() {
    in_token_process(
        "a_failed_backup_takes_the_key_off_the_token",
        SoftHsm::with_token,
        |module| {
            let trust = tempfile::tempdir().unwrap();
            // A PIN, but no passphrase for the backup file.
            let mut r = Script::new(&[softhsm::USER_PIN]);
            r.passphrase = None;
            let mut cs = service(module, trust.path(), &r);
            let e = cs.create("root", "", Algorithm::Ecdsa).unwrap_err();
            assert!(
                matches!(token_error(&e), Some(Pkcs11Error::BackupFailed(_))),
                "{e}"
            );
            assert!(
                e.to_string()
                    .starts_with("Failed to backup private key to: ")
            );
            assert!(token_store(module, trust.path()).list().unwrap().is_empty());
            let s = raw_session(module);
            assert!(
                s.find_objects(&[Attribute::Token(true)])
                    .unwrap()
                    .is_empty()
            );
        },
    );
}

#[test]
fn a_removed_token_is_an_error_not_a_fallback() {
    in_token_process(
        "a_removed_token_is_an_error_not_a_fallback",
        SoftHsm::with_token,
        |module| {
            let trust = tempfile::tempdir().unwrap();
            let r = Script::new(&[softhsm::USER_PIN]);
            let mut cs = service(module, trust.path(), &r);
            let root = cs.create("root", "", Algorithm::Ecdsa).unwrap();
            let (handle, _) = cs.signing_key(root.id()).unwrap();
            // The token disappears (SoftHSM: its directory is deleted under the module).
            let conf = std::env::var("SOFTHSM2_CONF").unwrap();
            let out = std::process::Command::new("softhsm2-util")
                .args(["--delete-token", "--token", softhsm::LABEL])
                .env("SOFTHSM2_CONF", &conf)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            assert!(handle.sign(b"payload").is_err());
            let e = cs.signing_key(root.id()).unwrap_err();
            assert!(matches!(e, KeyStoreError::Token(_)), "{e}");
            assert!(cs.list_all_keys().is_err());
        },
    );
}

#[test]
fn no_token_means_no_store() {
    in_token_process("no_token_means_no_store", SoftHsm::empty, |module| {
        assert!(Pkcs11KeyStore::open(module, None).unwrap().is_none());
        assert!(
            notarius_pkcs11::discover(Some(module), None)
                .unwrap()
                .is_none()
        );
    });
}

#[test]
fn a_named_module_that_does_not_load_is_an_error_and_none_is_nothing() {
    let missing = Path::new("/nonexistent/libnothing.so");
    let e = notarius_pkcs11::discover(Some(missing), None).unwrap_err();
    assert!(matches!(e, Pkcs11Error::Load { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/libnothing.so"));
    // A file that is not a PKCS#11 module.
    let e = notarius_pkcs11::discover(Some(Path::new("/bin/sh")), None).unwrap_err();
    assert!(matches!(e, Pkcs11Error::Load { .. }), "{e}");
    // Without a module named, Notary's YubiKey paths are looked at; none here means no store.
    if notarius_pkcs11::NOTARY_MODULE_PATHS
        .iter()
        .all(|p| !Path::new(p).exists())
    {
        assert!(notarius_pkcs11::discover(None, None).unwrap().is_none());
    }
}
