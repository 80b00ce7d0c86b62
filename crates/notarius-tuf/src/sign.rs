//! Signing metadata through an abstract signer, so the core never holds key storage.
//!
//! The signer may be a key file, a PKCS#11 token or a remote signing service; the core only
//! needs the public key and a signature over the canonical bytes.

use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::metadata::{BaseRole, Signature, Signed, SignedPart};

/// Something that can sign with one key.
pub trait Signer {
    /// The public key as it appears in metadata (for root, the certificate key).
    fn public_key(&self) -> &PublicKey;
    /// Signs `msg`; returns the method string (`ecdsa`, `eddsa`, `rsapss`) and the signature.
    fn sign(&self, msg: &[u8]) -> Result<(String, Vec<u8>)>;
}

/// Signs `meta` with every signer whose key belongs to one of `roles`, replacing all previous
/// signatures (Notary keeps an old signature only if it still verifies, which after any change
/// never happens).
///
/// Each role's threshold must be met by the signers given, or nothing is changed and the error
/// says which keys were missing (Notary's `ErrInsufficientSignatures`). `roles` has more than one
/// entry when a root rotation is signed by both the old and the new root role.
pub fn sign_with_roles<T: SignedPart>(
    meta: &mut Signed<T>,
    roles: &[&BaseRole],
    signers: &[&dyn Signer],
) -> Result<()> {
    let msg = meta.canonical_signed()?;
    let mut signatures: Vec<Signature> = Vec::new();
    for role in roles {
        let mut found = 0usize;
        let mut missing = Vec::new();
        for (id, key) in &role.keys {
            let signer = signers.iter().find(|s| {
                s.public_key().id() == id || s.public_key().canonical_id() == key.canonical_id()
            });
            match signer {
                Some(s) => {
                    found += 1;
                    if signatures.iter().any(|sig| &sig.keyid == id) {
                        continue;
                    }
                    let (method, sig) = s.sign(&msg)?;
                    signatures.push(Signature {
                        keyid: id.clone(),
                        method,
                        sig,
                    });
                }
                None => missing.push(key.canonical_id().to_owned()),
            }
        }
        let needed = usize::try_from(role.threshold.max(1)).unwrap_or(usize::MAX);
        if found < needed {
            missing.sort();
            return Err(Error::InsufficientSignatures {
                found,
                needed,
                missing,
            });
        }
    }
    meta.signatures = signatures;
    meta.touch();
    Ok(())
}

/// Notary's optional signing keys (`SignRoot`'s `extraSigningKeys`, the old root keys of
/// `key rotate -l`): each key a signer is held for adds a signature under the key's own ID,
/// unless one with that ID is there already; keys nobody holds are skipped, as Notary ignores
/// errors from this pass. Call after [`sign_with_roles`].
pub fn sign_optional<T: SignedPart>(
    meta: &mut Signed<T>,
    keys: &[PublicKey],
    signers: &[&dyn Signer],
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let msg = meta.canonical_signed()?;
    for key in keys {
        if meta.signatures.iter().any(|s| s.keyid == key.id()) {
            continue;
        }
        let Some(s) = signers
            .iter()
            .find(|s| s.public_key().canonical_id() == key.canonical_id())
        else {
            continue;
        };
        let Ok((method, sig)) = s.sign(&msg) else {
            continue;
        };
        meta.signatures.push(Signature {
            keyid: key.id().to_owned(),
            method,
            sig,
        });
    }
    meta.touch();
    Ok(())
}

/// In-memory Ed25519 and ECDSA P-256 signers for tests of code built on the core.
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use super::*;
    use crate::keys::KeyType;
    use ring::rand::SystemRandom;
    use ring::signature::{self as rsig, KeyPair as _};

    /// A throwaway key; never use outside tests.
    pub struct TestKey {
        public: PublicKey,
        inner: Inner,
    }

    enum Inner {
        Ed(rsig::Ed25519KeyPair),
        Ec(rsig::EcdsaKeyPair),
    }

    impl TestKey {
        pub fn ed25519() -> TestKey {
            let rng = SystemRandom::new();
            let doc = rsig::Ed25519KeyPair::generate_pkcs8(&rng).expect("rng");
            let kp = rsig::Ed25519KeyPair::from_pkcs8(doc.as_ref()).expect("fresh key");
            TestKey {
                public: PublicKey::new(KeyType::Ed25519, kp.public_key().as_ref().to_vec()),
                inner: Inner::Ed(kp),
            }
        }

        /// An ECDSA P-256 key published as a plain `ecdsa` key (SPKI DER).
        pub fn ecdsa() -> TestKey {
            let (kp, _) = Self::ec_pair();
            let spki = p256_spki(kp.public_key().as_ref());
            TestKey {
                public: PublicKey::new(KeyType::Ecdsa, spki),
                inner: Inner::Ec(kp),
            }
        }

        /// An ECDSA P-256 key published as `ecdsa-x509` with a self-signed certificate whose CN
        /// is `cn`, valid from `not_before` to `not_after`, as Notary makes root keys.
        pub fn ecdsa_x509(
            cn: &str,
            not_before: time::OffsetDateTime,
            not_after: time::OffsetDateTime,
        ) -> TestKey {
            let (kp, pkcs8) = Self::ec_pair();
            let rc_key = rcgen::KeyPair::try_from(pkcs8.as_slice()).expect("rcgen key");
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            params.not_before = not_before;
            params.not_after = not_after;
            let cert = params.self_signed(&rc_key).expect("self-signed");
            TestKey {
                public: PublicKey::new(KeyType::EcdsaX509, cert.pem().into_bytes()),
                inner: Inner::Ec(kp),
            }
        }

        /// A root key for `gun` valid for ten years from now.
        pub fn root(gun: &str) -> TestKey {
            let now = time::OffsetDateTime::now_utc();
            Self::ecdsa_x509(
                gun,
                now - time::Duration::hours(1),
                now + time::Duration::days(3650),
            )
        }

        fn ec_pair() -> (rsig::EcdsaKeyPair, Vec<u8>) {
            let rng = SystemRandom::new();
            let alg = &rsig::ECDSA_P256_SHA256_FIXED_SIGNING;
            let doc = rsig::EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("rng");
            let kp = rsig::EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng).expect("fresh key");
            (kp, doc.as_ref().to_vec())
        }
    }

    /// A throwaway certificate authority for trust-pinning tests.
    pub struct TestCa {
        key: rcgen::KeyPair,
        params: rcgen::CertificateParams,
        pem: String,
    }

    impl TestCa {
        pub fn new(cn: &str) -> TestCa {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let now = time::OffsetDateTime::now_utc();
            params.not_before = now - time::Duration::hours(1);
            params.not_after = now + time::Duration::days(365);
            let pem = params.self_signed(&key).expect("self-signed").pem();
            TestCa { key, params, pem }
        }

        pub fn pem(&self) -> &str {
            &self.pem
        }

        /// A leaf key for `cn` issued by this CA; `code_signing` adds the ExtKeyUsage Notary
        /// puts on its own root certificates.
        pub fn issue(&self, cn: &str, code_signing: bool) -> TestKey {
            let (kp, pkcs8) = TestKey::ec_pair();
            let rc_key = rcgen::KeyPair::try_from(pkcs8.as_slice()).expect("rcgen key");
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            if code_signing {
                params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
            }
            let now = time::OffsetDateTime::now_utc();
            params.not_before = now - time::Duration::hours(1);
            params.not_after = now + time::Duration::days(30);
            let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
            let cert = params.signed_by(&rc_key, &issuer).expect("issued");
            TestKey {
                public: PublicKey::new(KeyType::EcdsaX509, cert.pem().into_bytes()),
                inner: Inner::Ec(kp),
            }
        }
    }

    /// SPKI DER for an uncompressed P-256 point.
    pub fn p256_spki(point: &[u8]) -> Vec<u8> {
        let mut out = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        out.extend_from_slice(point);
        out
    }

    impl Signer for TestKey {
        fn public_key(&self) -> &PublicKey {
            &self.public
        }
        fn sign(&self, msg: &[u8]) -> Result<(String, Vec<u8>)> {
            match &self.inner {
                Inner::Ed(kp) => Ok(("eddsa".into(), kp.sign(msg).as_ref().to_vec())),
                Inner::Ec(kp) => {
                    let sig = kp
                        .sign(&SystemRandom::new(), msg)
                        .map_err(|_| Error::Signing("ecdsa signing failed".into()))?;
                    Ok(("ecdsa".into(), sig.as_ref().to_vec()))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestKey;
    use super::*;
    use crate::keys::PublicKey;
    use crate::metadata::{Envelope, Timestamp, verify_signatures};
    use std::collections::BTreeMap;

    fn ts() -> Signed<Timestamp> {
        let bytes = br#"{"signed":{"_type":"Timestamp","expires":"2030-01-01T00:00:00Z","meta":{"snapshot":{"hashes":{"sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},"length":0}},"version":1},"signatures":[]}"#;
        Signed::<Timestamp>::from_bytes("timestamp", bytes)
            .unwrap()
            .0
    }

    fn role(keys: &[&TestKey], threshold: i64) -> BaseRole {
        BaseRole {
            name: "timestamp".into(),
            keys: keys
                .iter()
                .map(|k| (k.public_key().id().to_owned(), k.public_key().clone()))
                .collect::<BTreeMap<_, _>>(),
            threshold,
        }
    }

    #[test]
    fn signs_and_verifies_each_key_type() {
        let now = time::OffsetDateTime::now_utc();
        for key in [
            TestKey::ed25519(),
            TestKey::ecdsa(),
            TestKey::ecdsa_x509("example.com/x", now, now + time::Duration::days(1)),
        ] {
            let r = role(&[&key], 1);
            let mut meta = ts();
            sign_with_roles(&mut meta, &[&r], &[&key]).unwrap();
            let env = Envelope::parse("timestamp", &meta.to_bytes().unwrap()).unwrap();
            verify_signatures(&env, &r).unwrap();
            // A one-bit change anywhere in the signed part breaks it.
            let mut tampered = env.clone();
            tampered.signed["version"] = 2.into();
            assert!(matches!(
                verify_signatures(&tampered, &r),
                Err(Error::RoleThreshold { .. })
            ));
        }
    }

    #[test]
    fn threshold_counts_distinct_keys_and_reports_missing() {
        let (a, b) = (TestKey::ecdsa(), TestKey::ed25519());
        let r = role(&[&a, &b], 2);
        let mut meta = ts();
        let err = sign_with_roles(&mut meta, &[&r], &[&a]).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "not enough signing keys: found 1 of 2 needed keys - 1 other possible keys"
            ),
            "{err}"
        );
        assert!(
            meta.signatures.is_empty(),
            "a failed signing changes nothing"
        );
        sign_with_roles(&mut meta, &[&r], &[&a, &b]).unwrap();
        let env = Envelope::parse("timestamp", &meta.to_bytes().unwrap()).unwrap();
        verify_signatures(&env, &r).unwrap();
        // Duplicating a's signature does not stand in for b's.
        let mut dup = env.clone();
        let a_sig = dup
            .signatures
            .iter()
            .find(|s| s.keyid == a.public_key().id())
            .unwrap()
            .clone();
        dup.signatures = vec![a_sig.clone(), a_sig];
        assert_eq!(
            verify_signatures(&dup, &r).unwrap_err().to_string(),
            "valid signatures did not meet threshold for timestamp"
        );
        let mut none = env.clone();
        none.signatures.clear();
        assert_eq!(verify_signatures(&none, &r), Err(Error::NoSignatures));
    }

    fn signed_by(meta: &Signed<Timestamp>, key: &TestKey, keyid: &str) -> Signature {
        let (method, sig) = key.sign(&meta.canonical_signed().unwrap()).unwrap();
        Signature {
            keyid: keyid.to_owned(),
            method,
            sig,
        }
    }

    #[test]
    fn cv05_a_key_listed_under_a_wrong_id_is_fatal() {
        let k = TestKey::ecdsa();
        let mut r = role(&[&k], 1);
        let forged_id = "0".repeat(64);
        r.keys.insert(forged_id.clone(), k.public_key().clone());
        let mut meta = ts();
        meta.signatures = vec![signed_by(&meta, &k, &forged_id)];
        meta.touch();
        let env = Envelope::parse("timestamp", &meta.to_bytes().unwrap()).unwrap();
        assert_eq!(verify_signatures(&env, &r), Err(Error::InvalidKeyId));
    }

    #[test]
    fn cv06_one_key_in_two_encodings_counts_once() {
        let now = time::OffsetDateTime::now_utc();
        let cert = TestKey::ecdsa_x509("example.com/x", now, now + time::Duration::days(1));
        let bare = PublicKey::new(
            crate::keys::KeyType::Ecdsa,
            cert.public_key().spki_der().unwrap(),
        );
        assert_ne!(bare.id(), cert.public_key().id());
        let r = BaseRole {
            name: "timestamp".into(),
            keys: [
                (bare.id().to_owned(), bare.clone()),
                (cert.public_key().id().to_owned(), cert.public_key().clone()),
            ]
            .into(),
            threshold: 2,
        };
        let mut meta = ts();
        meta.signatures = vec![
            signed_by(&meta, &cert, bare.id()),
            signed_by(&meta, &cert, cert.public_key().id()),
        ];
        meta.touch();
        let env = Envelope::parse("timestamp", &meta.to_bytes().unwrap()).unwrap();
        assert!(matches!(
            verify_signatures(&env, &r),
            Err(Error::RoleThreshold { .. })
        ));
        let mut one = r.clone();
        one.threshold = 1;
        verify_signatures(&env, &one).unwrap();
    }
}
