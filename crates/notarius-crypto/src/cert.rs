//! Notary's root certificate (`cryptoservice/certificate.go`, `utils.NewCertificate`):
//! self-signed from the root key, `CN=<GUN>`, ten years, critical key usage, code signing, a
//! critical "not a CA" basic constraint, and nothing else. It is what the root role lists as an
//! `ecdsa-x509` (or, for an imported RSA root key, `rsa-x509`) key.

use notarius_tuf::keys::{KeyType, PublicKey};
use notarius_tuf::trust::go_pem;
use ring::rand::{SecureRandom, SystemRandom};

use crate::handle::CertKey;
use crate::pkcs8::KeyError;

/// Notary's root certificate validity.
pub const ROOT_CERT_DAYS: i64 = 3650;

/// BasicConstraints `CA:FALSE` as Go writes it: an empty SEQUENCE (the false flag is omitted).
const BASIC_CONSTRAINTS_NOT_CA: &[u8] = &[0x30, 0x00];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];

/// Lets rcgen sign with our key, so the private key is never copied into another form.
struct CertSigner<'a, K: CertKey + ?Sized> {
    key: &'a K,
    public: Vec<u8>,
    alg: &'static rcgen::SignatureAlgorithm,
}

impl<K: CertKey + ?Sized> rcgen::PublicKeyData for CertSigner<'_, K> {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}

impl<K: CertKey + ?Sized> rcgen::SigningKey for CertSigner<'_, K> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.key
            .sign_certificate(msg)
            .map_err(|_| rcgen::Error::RingUnspecified)
    }
}

/// Go's `asn1` string choice for a name: `PrintableString` when every byte is in its set,
/// `UTF8String` otherwise.
fn go_name_value(s: &str) -> rcgen::DnValue {
    let printable = s.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'\'' | b'(' | b')' | b'+'..=b'/' | b' ' | b':' | b'=' | b'?'
            )
    });
    match rcgen::string::PrintableString::try_from(s) {
        Ok(p) if printable => rcgen::DnValue::PrintableString(p),
        _ => rcgen::DnValue::Utf8String(s.to_owned()),
    }
}

/// A self-signed Notary certificate for `gun` from `key` (in memory or on a token), valid from `start` to `end`, as the
/// `ecdsa-x509`/`rsa-x509` public key whose bytes are the certificate in Go's PEM encoding.
/// Ed25519 keys cannot make one (Notary: `key type not supported for Certificate generation`).
pub fn certificate<K: CertKey + ?Sized>(
    key: &K,
    gun: &str,
    start: time::OffsetDateTime,
    end: time::OffsetDateTime,
) -> Result<PublicKey, KeyError> {
    let (alg, keytype) = match key.algorithm_name() {
        "ecdsa" => (&rcgen::PKCS_ECDSA_P256_SHA256, KeyType::EcdsaX509),
        "rsa" => (&rcgen::PKCS_RSA_SHA256, KeyType::RsaX509),
        other => {
            return Err(KeyError::UnsupportedType(format!(
                "key type not supported for Certificate generation: {other}"
            )));
        }
    };
    let signer = CertSigner {
        key,
        public: key.ring_public(),
        alg,
    };
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|e| KeyError::Invalid(e.to_string()))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, go_name_value(gun));
    params.not_before = start;
    params.not_after = end;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
    // rcgen adds a subject key identifier to any certificate it marks as "not a CA"; Go adds
    // none, so the constraint goes in as a plain extension after the key usages, where Go puts it.
    params.is_ca = rcgen::IsCa::NoCa;
    let mut bc = rcgen::CustomExtension::from_oid_content(
        OID_BASIC_CONSTRAINTS,
        BASIC_CONSTRAINTS_NOT_CA.to_vec(),
    );
    bc.set_criticality(true);
    params.custom_extensions = vec![bc];
    // A random serial below 2^128, as Go draws it.
    let mut serial = [0u8; 16];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| KeyError::Invalid("no randomness".into()))?;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params
        .self_signed(&signer)
        .map_err(|e| KeyError::Invalid(e.to_string()))?;
    Ok(PublicKey::new(
        keytype,
        go_pem("CERTIFICATE", cert.der()).into_bytes(),
    ))
}

/// Notary's root certificate: valid from `not_before` for [`ROOT_CERT_DAYS`] days.
pub fn root_certificate<K: CertKey + ?Sized>(
    key: &K,
    gun: &str,
    not_before: time::OffsetDateTime,
) -> Result<PublicKey, KeyError> {
    certificate(
        key,
        gun,
        not_before,
        not_before + time::Duration::days(ROOT_CERT_DAYS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::private::{Algorithm, PrivateKey};
    use x509_parser::prelude::*;

    #[test]
    fn certificate_has_notarys_shape_and_its_key() {
        let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        let now = ::time::OffsetDateTime::now_utc();
        let pk = root_certificate(&key, "example.com/app", now).unwrap();
        assert_eq!(
            pk.canonical_id(),
            key.id(),
            "the certificate carries the root key"
        );
        let certs = notarius_tuf::trust::load_cert_bundle(pk.public()).unwrap();
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].common_name, "example.com/app");
        assert!(!certs[0].is_ca);
        assert_eq!(
            certs[0].not_after - certs[0].not_before,
            ROOT_CERT_DAYS * 86_400
        );
        let der = notarius_tuf::keys::first_cert_der(pk.public()).unwrap();
        let (_, c) = X509Certificate::from_der(&der).unwrap();
        let ku = c.key_usage().unwrap().unwrap();
        assert!(ku.critical && ku.value.digital_signature() && ku.value.key_encipherment());
        assert!(c.extended_key_usage().unwrap().unwrap().value.code_signing);
        let bc = c.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && !bc.value.ca);
        assert_eq!(c.subject().to_string(), c.issuer().to_string());
        c.verify_signature(None).unwrap();
        assert_eq!(
            pk.public(),
            go_pem("CERTIFICATE", &der).as_bytes(),
            "Go's PEM layout"
        );
        // Go's extensions, in Go's order, and nothing else (no key identifiers).
        let exts: Vec<(String, bool, &[u8])> = c
            .extensions()
            .iter()
            .map(|e| (e.oid.to_id_string(), e.critical, e.value))
            .collect();
        assert_eq!(
            exts,
            [
                ("2.5.29.15".to_owned(), true, &[0x03, 0x02, 0x05, 0xa0][..]),
                (
                    "2.5.29.37".to_owned(),
                    false,
                    &[
                        0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03
                    ][..]
                ),
                ("2.5.29.19".to_owned(), true, &[0x30, 0x00][..]),
            ]
        );
        assert_eq!(c.version(), X509Version::V3);
        assert_eq!(
            c.signature_algorithm.algorithm.to_id_string(),
            "1.2.840.10045.4.3.2",
            "ecdsa-with-SHA256"
        );
        assert_eq!(c.validity().not_before.timestamp(), now.unix_timestamp());
    }

    #[test]
    fn common_names_use_gos_string_types() {
        let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        let now = ::time::OffsetDateTime::now_utc();
        // PrintableString (tag 19) when Go's set allows, UTF8String (tag 12) otherwise.
        for (gun, tag) in [
            ("example.com/app", 19u8),
            ("registry:5000/a-b/c.d", 19),
            ("docker.io/library/my_app", 12),
            ("example.com/*", 12),
            ("example.com/a&b", 12),
            ("exämple.com/app", 12),
        ] {
            let pk = root_certificate(&key, gun, now).unwrap();
            let der = notarius_tuf::keys::first_cert_der(pk.public()).unwrap();
            let (_, c) = X509Certificate::from_der(&der).unwrap();
            let cn = c.subject().iter_common_name().next().unwrap();
            assert_eq!(cn.attr_value().header.tag().0, u32::from(tag), "{gun}");
            assert_eq!(cn.as_str().unwrap(), gun);
        }
    }

    #[test]
    fn a_root_signed_through_the_certificate_is_trusted() {
        use crate::private::CertifiedKey;
        use notarius_tuf::metadata::{Envelope, Root, RootRole, Signed};
        use notarius_tuf::sign::sign_with_roles;
        let key = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        let cert =
            root_certificate(&key, "example.com/app", ::time::OffsetDateTime::now_utc()).unwrap();
        let id = cert.id().to_owned();
        let roles = ["root", "targets", "snapshot", "timestamp"]
            .iter()
            .map(|r| {
                (
                    r.to_string(),
                    RootRole {
                        keyids: vec![id.clone()],
                        threshold: 1,
                        extra: Default::default(),
                    },
                )
            })
            .collect();
        let root = Root {
            typ: "Root".into(),
            consistent_snapshot: false,
            expires: (chrono::Utc::now() + chrono::Duration::days(3650)).fixed_offset(),
            keys: [(id.clone(), cert.clone())].into(),
            roles,
            version: 1,
            extra: Default::default(),
        };
        let mut signed = Signed::new(root.clone());
        // Paired with another key's certificate, it is refused.
        let other = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        assert!(CertifiedKey::new(&other, cert.clone()).is_err());
        let signer = CertifiedKey::new(&key, cert).unwrap();
        sign_with_roles(&mut signed, &[&root.base_role("root").unwrap()], &[&signer]).unwrap();
        let env = Envelope::parse("root", &signed.to_bytes().unwrap()).unwrap();
        notarius_tuf::trust::validate_root(
            None,
            &env,
            "example.com/app",
            &Default::default(),
            chrono::Utc::now(),
        )
        .unwrap();
    }
}
