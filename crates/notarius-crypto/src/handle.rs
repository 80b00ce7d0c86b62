//! A key ready to sign wherever it lives: decrypted in memory, or on a hardware token that signs
//! on request and never gives its private key out (Notary's `YubiPrivateKey`).

use notarius_tuf::keys::PublicKey;
use notarius_tuf::sign::Signer;

use crate::der;
use crate::pkcs8::KeyError;
use crate::private::{PrivateKey, der_uint_bytes};

/// A P-256 key held outside this process (a PKCS#11 token).
pub trait ExternalKey {
    /// The plain `ecdsa` public key; its ID is the key's canonical ID.
    fn public_key(&self) -> &PublicKey;
    /// ECDSA over SHA-256 of `msg`, as raw `r‖s` (64 bytes). Implementations verify the
    /// signature against [`public_key`](Self::public_key) before returning it.
    fn sign_ecdsa(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// Where the key is, for messages (`yubikey`, `pkcs11:<token label>`).
    fn location(&self) -> String;
}

/// A key that can sign: software or hardware.
#[allow(
    clippy::large_enum_variant,
    reason = "a handful live for one command; boxing the key buys nothing"
)]
pub enum KeyHandle {
    Software(PrivateKey),
    External(Box<dyn ExternalKey>),
}

impl std::fmt::Debug for KeyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyHandle::Software(k) => k.fmt(f),
            KeyHandle::External(k) => f
                .debug_struct("ExternalKey")
                .field("id", &k.public_key().id())
                .field("location", &k.location())
                .finish(),
        }
    }
}

impl KeyHandle {
    /// The canonical key ID.
    pub fn id(&self) -> &str {
        Signer::public_key(self).id()
    }

    /// The in-memory key, when there is one.
    pub fn software(&self) -> Option<&PrivateKey> {
        match self {
            KeyHandle::Software(k) => Some(k),
            KeyHandle::External(_) => None,
        }
    }

    /// Whether the key lives on a token.
    pub fn is_external(&self) -> bool {
        matches!(self, KeyHandle::External(_))
    }
}

impl Signer for KeyHandle {
    fn public_key(&self) -> &PublicKey {
        match self {
            KeyHandle::Software(k) => k.public_key(),
            KeyHandle::External(k) => k.public_key(),
        }
    }
    fn sign(&self, msg: &[u8]) -> notarius_tuf::Result<(String, Vec<u8>)> {
        match self {
            KeyHandle::Software(k) => Signer::sign(k, msg),
            KeyHandle::External(k) => k
                .sign_ecdsa(msg)
                .map(|sig| ("ecdsa".to_owned(), sig))
                .map_err(|e| notarius_tuf::Error::Signing(e.to_string())),
        }
    }
}

/// A key that can sign an X.509 certificate (Notary's root certificates).
pub trait CertKey {
    /// `ecdsa`, `rsa` or `ed25519`.
    fn algorithm_name(&self) -> &'static str;
    /// The uncompressed EC point (or PKCS#1 RSA public key) for the certificate's SPKI.
    fn ring_public(&self) -> Vec<u8>;
    /// A signature over `msg` as a certificate carries it (DER `Ecdsa-Sig-Value` for ECDSA).
    fn sign_certificate(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError>;
}

impl CertKey for PrivateKey {
    fn algorithm_name(&self) -> &'static str {
        PrivateKey::algorithm_name(self)
    }
    fn ring_public(&self) -> Vec<u8> {
        PrivateKey::ring_public(self)
    }
    fn sign_certificate(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        PrivateKey::sign_certificate(self, msg)
    }
}

impl CertKey for KeyHandle {
    fn algorithm_name(&self) -> &'static str {
        match self {
            KeyHandle::Software(k) => k.algorithm_name(),
            KeyHandle::External(_) => "ecdsa",
        }
    }
    fn ring_public(&self) -> Vec<u8> {
        match self {
            KeyHandle::Software(k) => k.ring_public(),
            // The SPKI of a P-256 key ends with its 65-byte point.
            KeyHandle::External(k) => {
                let spki = k.public_key().public();
                spki[spki.len().saturating_sub(65)..].to_vec()
            }
        }
    }
    fn sign_certificate(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            KeyHandle::Software(k) => k.sign_certificate(msg),
            KeyHandle::External(k) => {
                let raw = k.sign_ecdsa(msg)?;
                if raw.len() != 64 {
                    return Err(KeyError::Invalid(
                        "the token's ECDSA signature is not 64 bytes".into(),
                    ));
                }
                let (r, s) = raw.split_at(32);
                Ok(der::seq(&[&der_uint_bytes(r), &der_uint_bytes(s)]))
            }
        }
    }
}
