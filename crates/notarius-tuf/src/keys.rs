//! Public keys as TUF metadata carries them, their two kinds of ID, and signature verification.
//!
//! The verifier is always chosen by the *trusted key's* type and only then matched against the
//! signature's `method` (NCC CS-DRNT15-1): a method that does not belong to the key type is never
//! even attempted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature as rsig;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::OnceLock;

use crate::cjson;

/// The `keytype` of a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    Ed25519,
    Ecdsa,
    EcdsaX509,
    Rsa,
    RsaX509,
    /// Parsed and kept, but can neither sign nor verify (as in Notary).
    Unknown(String),
}

impl KeyType {
    pub fn as_str(&self) -> &str {
        match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::Ecdsa => "ecdsa",
            KeyType::EcdsaX509 => "ecdsa-x509",
            KeyType::Rsa => "rsa",
            KeyType::RsaX509 => "rsa-x509",
            KeyType::Unknown(s) => s,
        }
    }

    pub fn parse(s: &str) -> KeyType {
        match s {
            "ed25519" => KeyType::Ed25519,
            "ecdsa" => KeyType::Ecdsa,
            "ecdsa-x509" => KeyType::EcdsaX509,
            "rsa" => KeyType::Rsa,
            "rsa-x509" => KeyType::RsaX509,
            other => KeyType::Unknown(other.to_owned()),
        }
    }

    pub fn is_x509(&self) -> bool {
        matches!(self, KeyType::EcdsaX509 | KeyType::RsaX509)
    }

    /// The plain type behind a certificate type.
    pub fn plain(&self) -> KeyType {
        match self {
            KeyType::EcdsaX509 => KeyType::Ecdsa,
            KeyType::RsaX509 => KeyType::Rsa,
            other => other.clone(),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Signature methods Notary knows. Parsed lower-cased, as Notary does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigMethod {
    Ecdsa,
    Eddsa,
    RsaPss,
    RsaPkcs1v15,
    PyCryptoPss,
}

impl SigMethod {
    pub fn parse(s: &str) -> Option<SigMethod> {
        Some(match s {
            "ecdsa" => SigMethod::Ecdsa,
            "eddsa" => SigMethod::Eddsa,
            "rsapss" => SigMethod::RsaPss,
            "rsapkcs1v15" => SigMethod::RsaPkcs1v15,
            "pycrypto-pkcs#1 pss" => SigMethod::PyCryptoPss,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SigMethod::Ecdsa => "ecdsa",
            SigMethod::Eddsa => "eddsa",
            SigMethod::RsaPss => "rsapss",
            SigMethod::RsaPkcs1v15 => "rsapkcs1v15",
            SigMethod::PyCryptoPss => "pycrypto-pkcs#1 pss",
        }
    }
}

/// Why one signature did not count. Never fatal on its own: the threshold decides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("signing method is not supported: {0}")]
    UnsupportedMethod(String),
    #[error("key type is not valid for signature")]
    InvalidKeyType,
    #[error("key length is not supported: {0}")]
    InvalidKeyLength(String),
    #[error("signature was invalid")]
    Invalid,
}

/// A public key: its type and the bytes that go, base64-encoded, into `keyval.public`.
#[derive(Clone)]
pub struct PublicKey {
    keytype: KeyType,
    public: Vec<u8>,
    id: OnceLock<String>,
    canonical_id: OnceLock<String>,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.keytype == other.keytype && self.public == other.public
    }
}
impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("keytype", &self.keytype)
            .field("id", &self.id())
            .finish()
    }
}

impl PublicKey {
    pub fn new(keytype: KeyType, public: Vec<u8>) -> Self {
        PublicKey {
            keytype,
            public,
            id: OnceLock::new(),
            canonical_id: OnceLock::new(),
        }
    }

    pub fn keytype(&self) -> &KeyType {
        &self.keytype
    }

    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// The TUF key ID: hex SHA-256 of `{"keytype":…,"keyval":{"private":null,"public":…}}` in
    /// canonical form. This is the ID metadata uses.
    pub fn id(&self) -> &str {
        self.id
            .get_or_init(|| tuf_key_id(self.keytype.as_str(), &self.public))
    }

    /// Notary's canonical key ID: for a certificate key, the ID of the plain key inside it;
    /// otherwise the TUF ID. File names, key lists and the signer use this one.
    pub fn canonical_id(&self) -> &str {
        self.canonical_id.get_or_init(|| {
            if self.keytype.is_x509() {
                match self.spki_der() {
                    Ok(spki) => tuf_key_id(self.keytype.plain().as_str(), &spki),
                    // Go returns an error here; an ID that matches nothing is the safe stand-in.
                    Err(_) => self.id().to_owned(),
                }
            } else {
                self.id().to_owned()
            }
        })
    }

    /// The SubjectPublicKeyInfo DER of an ecdsa/rsa key (from the certificate for x509 types).
    pub fn spki_der(&self) -> Result<Vec<u8>, SigError> {
        match &self.keytype {
            KeyType::Ecdsa | KeyType::Rsa => Ok(self.public.clone()),
            KeyType::EcdsaX509 | KeyType::RsaX509 => {
                let der = first_cert_der(&self.public)?;
                let (_, cert) =
                    x509_parser::parse_x509_certificate(&der).map_err(|_| SigError::Invalid)?;
                Ok(cert.tbs_certificate.subject_pki.raw.to_vec())
            }
            _ => Err(SigError::InvalidKeyType),
        }
    }

    /// A stable fingerprint of the key material, used to count distinct signers: the same key
    /// listed once bare and once inside a certificate must count once.
    pub fn fingerprint(&self) -> String {
        match &self.keytype {
            KeyType::EcdsaX509 | KeyType::RsaX509 => self.canonical_id().to_owned(),
            _ => self.id().to_owned(),
        }
    }

    /// Verifies `sig` over `msg` with this key, refusing methods that do not fit the key type.
    pub fn verify(&self, method: &str, sig: &[u8], msg: &[u8]) -> Result<(), SigError> {
        let m = SigMethod::parse(method)
            .ok_or_else(|| SigError::UnsupportedMethod(method.to_owned()))?;
        match (m, &self.keytype) {
            (SigMethod::Eddsa, KeyType::Ed25519) => {
                if self.public.len() != 32 {
                    return Err(SigError::InvalidKeyLength(
                        "ed25519 public key must be 32 bytes.".into(),
                    ));
                }
                if sig.len() != 64 {
                    return Err(SigError::Invalid);
                }
                rsig::UnparsedPublicKey::new(&rsig::ED25519, &self.public)
                    .verify(msg, sig)
                    .map_err(|_| SigError::Invalid)
            }
            (SigMethod::Ecdsa, KeyType::Ecdsa | KeyType::EcdsaX509) => {
                let spki = self.spki_der()?;
                let point = ec_p256_point(&spki)?;
                // Notary only accepts the fixed-width r||s form; DER is refused by length.
                if sig.len() != 64 {
                    return Err(SigError::Invalid);
                }
                rsig::UnparsedPublicKey::new(&rsig::ECDSA_P256_SHA256_FIXED, point)
                    .verify(msg, sig)
                    .map_err(|_| SigError::Invalid)
            }
            (SigMethod::RsaPss | SigMethod::RsaPkcs1v15, KeyType::Rsa | KeyType::RsaX509) => {
                let spki = self.spki_der()?;
                let pkcs1 = rsa_pkcs1(&spki)?;
                if sig.len() < 256 {
                    return Err(SigError::Invalid);
                }
                let alg: &dyn rsig::VerificationAlgorithm = if m == SigMethod::RsaPss {
                    &rsig::RSA_PSS_2048_8192_SHA256
                } else {
                    &rsig::RSA_PKCS1_2048_8192_SHA256
                };
                rsig::UnparsedPublicKey::new(alg, pkcs1)
                    .verify(msg, sig)
                    .map_err(|_| SigError::Invalid)
            }
            (SigMethod::PyCryptoPss, KeyType::Rsa) => {
                // PyCrypto keys carry a PEM-encoded PKIX key in `public`.
                let block = pem::parse(&self.public).map_err(|_| SigError::Invalid)?;
                let pkcs1 = rsa_pkcs1(block.contents())?;
                if sig.len() < 256 {
                    return Err(SigError::Invalid);
                }
                rsig::UnparsedPublicKey::new(&rsig::RSA_PSS_2048_8192_SHA256, pkcs1)
                    .verify(msg, sig)
                    .map_err(|_| SigError::Invalid)
            }
            _ => Err(SigError::InvalidKeyType),
        }
    }

    /// The JSON object metadata carries for this key.
    pub fn to_value(&self) -> Value {
        let mut keyval = Map::new();
        keyval.insert("private".into(), Value::Null);
        keyval.insert("public".into(), Value::String(B64.encode(&self.public)));
        let mut obj = Map::new();
        obj.insert(
            "keytype".into(),
            Value::String(self.keytype.as_str().to_owned()),
        );
        obj.insert("keyval".into(), Value::Object(keyval));
        Value::Object(obj)
    }
}

fn tuf_key_id(keytype: &str, public: &[u8]) -> String {
    let mut keyval = Map::new();
    keyval.insert("private".into(), Value::Null);
    keyval.insert("public".into(), Value::String(B64.encode(public)));
    let mut obj = Map::new();
    obj.insert("keytype".into(), Value::String(keytype.to_owned()));
    obj.insert("keyval".into(), Value::Object(keyval));
    let bytes = cjson::to_canonical(&Value::Object(obj)).expect("strings only");
    hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes))
}

/// DER of the first certificate in a PEM bundle, as Go's `pem.Decode` finds it.
pub fn first_cert_der(pem_bytes: &[u8]) -> Result<Vec<u8>, SigError> {
    let blocks = pem::parse_many(pem_bytes).map_err(|_| SigError::Invalid)?;
    let first = blocks.into_iter().next().ok_or(SigError::Invalid)?;
    Ok(first.into_contents())
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_RSA: &str = "1.2.840.113549.1.1.1";

fn ec_p256_point(spki_der: &[u8]) -> Result<Vec<u8>, SigError> {
    use x509_parser::prelude::FromDer;
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|_| SigError::Invalid)?;
    if spki.algorithm.algorithm.to_id_string() != OID_EC_PUBLIC_KEY {
        return Err(SigError::Invalid);
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    if curve.as_deref() != Some(OID_P256) {
        return Err(SigError::InvalidKeyLength(
            "only P-256 ECDSA keys are supported".into(),
        ));
    }
    Ok(spki.subject_public_key.data.to_vec())
}

fn rsa_pkcs1(spki_der: &[u8]) -> Result<Vec<u8>, SigError> {
    use x509_parser::prelude::FromDer;
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|_| SigError::Invalid)?;
    if spki.algorithm.algorithm.to_id_string() != OID_RSA {
        return Err(SigError::Invalid);
    }
    Ok(spki.subject_public_key.data.to_vec())
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

#[derive(Deserialize)]
struct RawKey {
    keytype: String,
    keyval: RawKeyVal,
}

#[derive(Deserialize)]
struct RawKeyVal {
    #[serde(default)]
    public: Option<String>,
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawKey::deserialize(d)?;
        // Any `private` value is dropped: metadata must never carry one, and the key ID
        // ignores it.
        let public = match raw.keyval.public {
            Some(s) => B64
                .decode(s.as_bytes())
                .map_err(|e| D::Error::custom(format!("illegal base64 data in key: {e}")))?,
            None => Vec::new(),
        };
        Ok(PublicKey::new(KeyType::parse(&raw.keytype), public))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_includes_private_null() {
        let k = PublicKey::new(KeyType::Ed25519, vec![7u8; 32]);
        let expect = hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            format!(
                r#"{{"keytype":"ed25519","keyval":{{"private":null,"public":"{}"}}}}"#,
                B64.encode([7u8; 32])
            )
            .as_bytes(),
        ));
        assert_eq!(k.id(), expect);
        assert_eq!(k.canonical_id(), expect);
    }

    #[test]
    fn methods_never_cross_key_types() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = rsig::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let kp = rsig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        use rsig::KeyPair as _;
        let key = PublicKey::new(KeyType::Ed25519, kp.public_key().as_ref().to_vec());
        let sig = kp.sign(b"msg");
        assert_eq!(key.verify("eddsa", sig.as_ref(), b"msg"), Ok(()));
        assert_eq!(
            key.verify("EDDSA".to_lowercase().as_str(), sig.as_ref(), b"msg"),
            Ok(())
        );
        assert_eq!(
            key.verify("eddsa", sig.as_ref(), b"msh"),
            Err(SigError::Invalid)
        );
        for m in ["ecdsa", "rsapss", "rsapkcs1v15", "pycrypto-pkcs#1 pss"] {
            assert_eq!(
                key.verify(m, sig.as_ref(), b"msg"),
                Err(SigError::InvalidKeyType),
                "{m}"
            );
        }
        assert!(matches!(
            key.verify("foo", sig.as_ref(), b"msg"),
            Err(SigError::UnsupportedMethod(_))
        ));
        assert!(matches!(
            key.verify("", sig.as_ref(), b"msg"),
            Err(SigError::UnsupportedMethod(_))
        ));
        // An "ed25519" key made of RSA-ish bytes must fail cleanly.
        let fake = PublicKey::new(KeyType::Ed25519, vec![0xff; 256]);
        assert!(fake.verify("eddsa", sig.as_ref(), b"msg").is_err());
        let unknown = PublicKey::new(KeyType::Unknown("foo".into()), vec![1, 2, 3]);
        assert_eq!(
            unknown.verify("eddsa", sig.as_ref(), b"msg"),
            Err(SigError::InvalidKeyType)
        );
    }

    #[test]
    fn serde_round_trip() {
        let k = PublicKey::new(KeyType::Ecdsa, vec![1, 2, 3]);
        let v = serde_json::to_value(&k).unwrap();
        assert_eq!(
            String::from_utf8(cjson::to_canonical(&v).unwrap()).unwrap(),
            r#"{"keytype":"ecdsa","keyval":{"private":null,"public":"AQID"}}"#
        );
        let back: PublicKey = serde_json::from_value(v).unwrap();
        assert_eq!(back, k);
        assert!(
            serde_json::from_str::<PublicKey>(r#"{"keytype":"ecdsa","keyval":{"public":"!!"}}"#)
                .is_err()
        );
    }
}
