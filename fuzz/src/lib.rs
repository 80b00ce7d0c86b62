//! Keys and documents shared by the `verify_signatures` target and the seed generator
//! (`cargo run --example make_seeds`).
//!
//! The keys are fixed so that checked-in seeds carry signatures that really verify: the fuzzer
//! then mutates valid envelopes and reaches the success path, where the interesting invariant
//! lives (a signature can only ever vouch for the document it was made over).

use notarius_tuf::cjson::{self, NumberMode};
use notarius_tuf::keys::{KeyType, PublicKey};
use notarius_tuf::metadata::{BaseRole, Envelope, Signature};
use notarius_tuf::sign::Signer;
use notarius_tuf::sign::testing::p256_spki;
use ring::rand::SystemRandom;
use ring::signature::{self as rsig, KeyPair as _};
use serde_json::Value;
use std::collections::BTreeMap;

/// The only documents the fixed keys have ever signed. Go's wire escaping (`\u0026` …) and
/// Go-float numbers make the seeds' bytes differ from what was signed, on purpose.
pub const SIGNED_DOCS: &[&str] = &[
    r#"{"_type":"Timestamp","expires":"2030-01-01T00:00:00Z","meta":{"snapshot":{"hashes":{"sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","sha512":"z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="},"length":0}},"version":1}"#,
    r#"{"_type":"Targets","delegations":{"keys":{},"roles":[{"keyids":[],"name":"targets/releases","paths":["rel"],"threshold":1}]},"expires":"2030-01-01T00:00:00.5+01:00","targets":{"t&<x>\u2028é":{"custom":{"b":1,"a":"<>"},"hashes":{"sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},"length":0}},"version":2}"#,
];

/// The canonical bytes of every document in [`SIGNED_DOCS`].
pub fn signed_messages() -> Vec<Vec<u8>> {
    SIGNED_DOCS
        .iter()
        .map(|d| {
            let v = cjson::parse_strict(d.as_bytes()).expect("fixed document");
            cjson::to_canonical_with(&v, NumberMode::GoFloat).expect("integers only")
        })
        .collect()
}

const ED25519_SEED: [u8; 32] = *b"notarius fuzz fixed ed25519 key!";

/// PKCS#8 of a P-256 key made once with `openssl genpkey`; a test key, public on purpose.
const ECDSA_PKCS8_HEX: &str = concat!(
    "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02010104208ab13290",
    "f53ac9b652c3c8ebb1a36f598c26ae3c5a201810dfa2bc09126e0684a14403420004a2250dd05bd2",
    "76f70fd992b565fb484275f9b08ec39a6345196971cf08a82ac2d4b7010d3280ef359250a907cd4f",
    "4493cd8fdb50cdf5623847ac97af6a5b5bd8",
);

/// A signer whose key is the same in every run.
pub struct FixedKey {
    public: PublicKey,
    inner: Inner,
}

enum Inner {
    Ed(rsig::Ed25519KeyPair),
    Ec(rsig::EcdsaKeyPair),
}

impl FixedKey {
    pub fn ed25519() -> FixedKey {
        let kp = rsig::Ed25519KeyPair::from_seed_unchecked(&ED25519_SEED).expect("32-byte seed");
        FixedKey {
            public: PublicKey::new(KeyType::Ed25519, kp.public_key().as_ref().to_vec()),
            inner: Inner::Ed(kp),
        }
    }

    pub fn ecdsa() -> FixedKey {
        let pkcs8 = hex_decode(ECDSA_PKCS8_HEX);
        let kp = rsig::EcdsaKeyPair::from_pkcs8(
            &rsig::ECDSA_P256_SHA256_FIXED_SIGNING,
            &pkcs8,
            &SystemRandom::new(),
        )
        .expect("fixed P-256 key");
        FixedKey {
            public: PublicKey::new(KeyType::Ecdsa, p256_spki(kp.public_key().as_ref())),
            inner: Inner::Ec(kp),
        }
    }
}

impl Signer for FixedKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, msg: &[u8]) -> notarius_tuf::Result<(String, Vec<u8>)> {
        Ok(match &self.inner {
            Inner::Ed(kp) => ("eddsa".into(), kp.sign(msg).as_ref().to_vec()),
            Inner::Ec(kp) => {
                let sig = kp
                    .sign(&SystemRandom::new(), msg)
                    .map_err(|_| notarius_tuf::Error::Signing("ecdsa".into()))?;
                ("ecdsa".into(), sig.as_ref().to_vec())
            }
        })
    }
}

/// A `timestamp` role over `keys`.
pub fn role(keys: &[&PublicKey], threshold: i64) -> BaseRole {
    BaseRole {
        name: "timestamp".into(),
        keys: keys
            .iter()
            .map(|k| (k.id().to_owned(), (*k).clone()))
            .collect::<BTreeMap<_, _>>(),
        threshold,
    }
}

/// `doc` signed by `signers`, as wire bytes.
pub fn signed_envelope(doc: &str, signers: &[&dyn Signer]) -> Vec<u8> {
    let signed: Value = cjson::parse_strict(doc.as_bytes()).expect("fixed document");
    let mut env = Envelope {
        signed,
        signatures: Vec::new(),
    };
    let msg = env.canonical_signed().expect("integers only");
    for s in signers {
        let (method, sig) = s.sign(&msg).expect("fixed key signs");
        env.signatures.push(Signature {
            keyid: s.public_key().id().to_owned(),
            method,
            sig,
        });
    }
    env.to_wire_bytes().expect("integers only")
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
