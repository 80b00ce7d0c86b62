//! A usable private key: its raw material (as Notary stores it), its public key in metadata
//! form, and signing as Notary signs (ECDSA raw r‖s, Ed25519, RSA-PSS with a 32-byte salt).

use notarius_tuf::keys::{KeyType, PublicKey};
use notarius_tuf::sign::Signer;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self as rsig, KeyPair as _};
use zeroize::Zeroizing;

use crate::der::{self, oids};
use crate::pkcs8::{self, KeyError, RawKey};

enum Inner {
    Ec(rsig::EcdsaKeyPair),
    Ed(rsig::Ed25519KeyPair),
    Rsa(rsig::RsaKeyPair),
}

/// A private key ready to sign. Its material is wiped on drop and never printed.
pub struct PrivateKey {
    raw: RawKey,
    public: PublicKey,
    inner: Inner,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("keytype", self.public.keytype())
            .field("id", &self.public.id())
            .finish_non_exhaustive()
    }
}

/// Key algorithms Notary can create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Ecdsa,
    Ed25519,
}

impl Algorithm {
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s {
            "ecdsa" => Some(Algorithm::Ecdsa),
            "ed25519" => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    /// The algorithm a key may be created with, refused with Notary's messages otherwise
    /// (`CryptoService.Create`, `utils.GenerateKey`).
    pub fn for_creation(s: &str) -> Result<Algorithm, KeyError> {
        match s {
            "rsa" => Err(KeyError::RsaImportOnly),
            other => {
                Algorithm::parse(other).ok_or_else(|| KeyError::NotGeneratable(other.to_owned()))
            }
        }
    }
}

/// A DER INTEGER for an unsigned big-endian number.
pub(crate) fn der_uint_bytes(b: &[u8]) -> Vec<u8> {
    let start = b
        .iter()
        .position(|&x| x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    let mut c = b[start..].to_vec();
    if c.first().is_none_or(|x| x & 0x80 != 0) {
        c.insert(0, 0);
    }
    der::tlv(der::INTEGER, &c)
}

/// SPKI DER for a P-256 point, as Go's `MarshalPKIXPublicKey` writes it.
pub fn ec_spki(point: &[u8]) -> Vec<u8> {
    let alg = der::seq(&[
        &der::tlv(der::OID, oids::EC_PUBLIC_KEY),
        &der::tlv(der::OID, oids::P256),
    ]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    der::seq(&[&alg, &der::tlv(der::BIT_STRING, &bits)])
}

/// SPKI DER for an RSA public key (with the NULL parameter, as Go writes it).
pub fn rsa_spki(pkcs1_public: &[u8]) -> Vec<u8> {
    let alg = der::seq(&[&der::tlv(der::OID, oids::RSA), &der::tlv(der::NULL, &[])]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1_public);
    der::seq(&[&alg, &der::tlv(der::BIT_STRING, &bits)])
}

impl PrivateKey {
    /// Builds a key from its raw material, checking it is internally consistent.
    pub fn from_raw(raw: RawKey) -> Result<PrivateKey, KeyError> {
        let rng = SystemRandom::new();
        let (inner, public) = match &raw {
            RawKey::Ecdsa(sec1) => {
                let (d, point) = pkcs8::parse_sec1(sec1)?;
                let point =
                    point.ok_or_else(|| KeyError::Invalid("EC key without public key".into()))?;
                let kp = rsig::EcdsaKeyPair::from_private_key_and_public_key(
                    &rsig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &d,
                    &point,
                    &rng,
                )
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
                (
                    Inner::Ec(kp),
                    PublicKey::new(KeyType::Ecdsa, ec_spki(&point)),
                )
            }
            RawKey::Ed25519(b) => {
                // Go signs with bytes 32..96 as seed and public key: both copies must agree.
                pkcs8::ed25519_from_notary(b)?;
                let kp = rsig::Ed25519KeyPair::from_seed_and_public_key(&b[32..64], &b[..32])
                    .map_err(|_| KeyError::MalformedEd25519)?;
                (
                    Inner::Ed(kp),
                    PublicKey::new(KeyType::Ed25519, b[..32].to_vec()),
                )
            }
            RawKey::Rsa(pkcs1) => {
                pkcs8::rsa_from_pkcs1(pkcs1)?;
                let kp = rsig::RsaKeyPair::from_der(pkcs1)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                let spki = rsa_spki(kp.public().as_ref());
                (Inner::Rsa(kp), PublicKey::new(KeyType::Rsa, spki))
            }
        };
        Ok(PrivateKey { raw, public, inner })
    }

    /// A fresh key. RSA keys are never generated, as in Notary.
    pub fn generate(alg: Algorithm) -> Result<PrivateKey, KeyError> {
        let rng = SystemRandom::new();
        let raw = match alg {
            Algorithm::Ecdsa => {
                let doc = rsig::EcdsaKeyPair::generate_pkcs8(
                    &rsig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &rng,
                )
                .map_err(|_| KeyError::Invalid("key generation failed".into()))?;
                pkcs8::decode_pkcs8(doc.as_ref())?
            }
            Algorithm::Ed25519 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                rng.fill(&mut seed[..])
                    .map_err(|_| KeyError::Invalid("no randomness".into()))?;
                pkcs8::ed25519_from_seed(&seed[..])?
            }
        };
        PrivateKey::from_raw(raw)
    }

    /// The public key in metadata form (plain `ecdsa`/`ed25519`/`rsa`).
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key's canonical ID: its file name in the key store.
    pub fn id(&self) -> &str {
        self.public.id()
    }

    pub fn raw(&self) -> &RawKey {
        &self.raw
    }

    pub fn algorithm_name(&self) -> &'static str {
        match self.inner {
            Inner::Ec(_) => "ecdsa",
            Inner::Ed(_) => "ed25519",
            Inner::Rsa(_) => "rsa",
        }
    }

    /// Signs `msg` the way Notary does; returns (method, signature).
    pub fn sign_bytes(&self, msg: &[u8]) -> Result<(String, Vec<u8>), KeyError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ec(kp) => {
                let sig = kp
                    .sign(&rng, msg)
                    .map_err(|_| KeyError::Invalid("ECDSA signing failed".into()))?;
                Ok(("ecdsa".into(), sig.as_ref().to_vec()))
            }
            Inner::Ed(kp) => Ok(("eddsa".into(), kp.sign(msg).as_ref().to_vec())),
            Inner::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(&rsig::RSA_PSS_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| KeyError::Invalid("RSA signing failed".into()))?;
                Ok(("rsapss".into(), sig))
            }
        }
    }

    /// A signature as an X.509 certificate carries it: ECDSA with SHA-256 as DER
    /// `Ecdsa-Sig-Value`, RSA as PKCS#1 v1.5 with SHA-256 (Go's defaults for these keys).
    /// Ed25519 keys cannot make Notary certificates.
    pub fn sign_certificate(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ec(kp) => {
                let sig = kp
                    .sign(&rng, msg)
                    .map_err(|_| KeyError::Invalid("ECDSA signing failed".into()))?;
                let (r, s) = sig.as_ref().split_at(32);
                Ok(der::seq(&[&der_uint_bytes(r), &der_uint_bytes(s)]))
            }
            Inner::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public().modulus_len()];
                kp.sign(&rsig::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| KeyError::Invalid("RSA signing failed".into()))?;
                Ok(sig)
            }
            Inner::Ed(_) => Err(KeyError::UnsupportedType(
                "key type not supported for Certificate generation: ed25519".into(),
            )),
        }
    }

    /// The public key that ring derives, to check a stored key against the ID it was filed
    /// under (KS-03, KS-07).
    pub fn matches_id(&self, canonical_id: &str) -> bool {
        self.public.id() == canonical_id
    }

    /// Raw public bytes as ring holds them (uncompressed point / raw Ed25519 key / PKCS#1).
    pub fn ring_public(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Ec(kp) => kp.public_key().as_ref().to_vec(),
            Inner::Ed(kp) => kp.public_key().as_ref().to_vec(),
            Inner::Rsa(kp) => kp.public().as_ref().to_vec(),
        }
    }
}

/// A private key presented under another public key of the same material: a root key signs as
/// its `ecdsa-x509` (or `rsa-x509`) certificate key, under the certificate's TUF ID.
pub struct CertifiedKey<'a> {
    key: &'a PrivateKey,
    public: PublicKey,
}

impl<'a> CertifiedKey<'a> {
    /// Pairs `key` with `certificate`, which must carry the same public key.
    pub fn new(key: &'a PrivateKey, certificate: PublicKey) -> Result<CertifiedKey<'a>, KeyError> {
        if certificate.canonical_id() != key.id() {
            return Err(KeyError::Invalid(format!(
                "the certificate key {} is not the private key {}",
                certificate.canonical_id(),
                key.id()
            )));
        }
        Ok(CertifiedKey {
            key,
            public: certificate,
        })
    }

    pub fn key(&self) -> &PrivateKey {
        self.key
    }
}

impl Signer for PrivateKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign(&self, msg: &[u8]) -> notarius_tuf::Result<(String, Vec<u8>)> {
        self.sign_bytes(msg)
            .map_err(|e| notarius_tuf::Error::Signing(e.to_string()))
    }
}

impl Signer for CertifiedKey<'_> {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign(&self, msg: &[u8]) -> notarius_tuf::Result<(String, Vec<u8>)> {
        self.key.sign(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_what_the_core_verifies() {
        for alg in [Algorithm::Ecdsa, Algorithm::Ed25519] {
            let k = PrivateKey::generate(alg).unwrap();
            let (method, sig) = k.sign_bytes(b"msg").unwrap();
            k.public_key().verify(&method, &sig, b"msg").unwrap();
            assert!(k.public_key().verify(&method, &sig, b"msh").is_err());
            let again =
                PrivateKey::from_raw(pkcs8::decode_pkcs8(&pkcs8::encode_pkcs8(k.raw())).unwrap())
                    .unwrap();
            assert_eq!(again.public_key(), k.public_key());
            assert!(!format!("{k:?}").contains(&hex::encode(match k.raw() {
                RawKey::Ecdsa(b) | RawKey::Ed25519(b) | RawKey::Rsa(b) => b.as_slice(),
            })));
        }
    }

    #[test]
    fn ecdsa_public_key_is_go_spki() {
        let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        let spki = k.public_key().public();
        assert_eq!(spki.len(), 91);
        assert_eq!(
            &spki[..26],
            &notarius_tuf::sign::testing::p256_spki(&[0; 65])[..26]
        );
    }
}
