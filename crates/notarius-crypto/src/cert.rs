//! Notary's root certificate (`cryptoservice/certificate.go`): self-signed from the root key,
//! `CN=<GUN>`, ten years, key usage and code-signing extended usage, not a CA. It is what the
//! root role lists as an `ecdsa-x509` key.

use notarius_tuf::keys::{KeyType, PublicKey};
use notarius_tuf::trust::go_pem;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::der::{self, oids};
use crate::pkcs8::{self, KeyError, RawKey};
use crate::private::PrivateKey;

/// Notary's root certificate validity.
pub const ROOT_CERT_DAYS: i64 = 3650;

/// The PKCS#8 form ring (and so rcgen) loads: version 0, no curve inside the SEC1 structure.
fn ring_pkcs8(key: &PrivateKey) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let RawKey::Ecdsa(sec1) = key.raw() else {
        return Err(KeyError::UnsupportedType(
            "root certificates are made for ECDSA keys".into(),
        ));
    };
    let (d, point) = pkcs8::parse_sec1(sec1)?;
    let point = point.ok_or_else(|| KeyError::Invalid("EC key without public key".into()))?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&point);
    let inner = Zeroizing::new(der::seq(&[
        &der::uint(1),
        &Zeroizing::new(der::tlv(der::OCTET_STRING, &d)),
        &der::tlv(0xa1, &der::tlv(der::BIT_STRING, &bits)),
    ]));
    let alg = der::seq(&[
        &der::tlv(der::OID, oids::EC_PUBLIC_KEY),
        &der::tlv(der::OID, oids::P256),
    ]);
    Ok(Zeroizing::new(der::seq(&[
        &der::uint(0),
        &alg,
        &Zeroizing::new(der::tlv(der::OCTET_STRING, &inner)),
    ])))
}

/// A self-signed root certificate for `gun` made from `key`, valid from `not_before` for ten
/// years, as an `ecdsa-x509` public key whose bytes are the certificate in Go's PEM encoding.
pub fn root_certificate(
    key: &PrivateKey,
    gun: &str,
    not_before: time::OffsetDateTime,
) -> Result<PublicKey, KeyError> {
    let doc = ring_pkcs8(key)?;
    let kp =
        rcgen::KeyPair::try_from(doc.as_slice()).map_err(|e| KeyError::Invalid(e.to_string()))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|e| KeyError::Invalid(e.to_string()))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, gun);
    params.not_before = not_before;
    params.not_after = not_before + time::Duration::days(ROOT_CERT_DAYS);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let mut serial = [0u8; 16];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| KeyError::Invalid("no randomness".into()))?;
    serial[0] &= 0x7f;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let cert = params
        .self_signed(&kp)
        .map_err(|e| KeyError::Invalid(e.to_string()))?;
    Ok(PublicKey::new(
        KeyType::EcdsaX509,
        go_pem("CERTIFICATE", cert.der()).into_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::private::Algorithm;
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
        let signer = CertifiedKey {
            key: &key,
            public: cert,
        };
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
