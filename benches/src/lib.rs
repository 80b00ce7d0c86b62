//! Inputs for the benchmarks, built in memory at start-up so that nothing large is checked in.

use std::collections::BTreeMap;

use notarius_tuf::metadata::{
    BaseRole, Delegations, FileMeta, Signed, SignedPart, Targets, Timestamp,
};
use notarius_tuf::sign::{Signer, sign_with_roles};
use notarius_tuf::time::parse_go;
use serde_json::json;

/// A signed file as a server would serve it, and the role that verifies it.
pub struct SignedFile {
    pub bytes: Vec<u8>,
    pub role: BaseRole,
}

fn role_of(name: &str, key: &dyn Signer) -> BaseRole {
    let public = key.public_key();
    BaseRole {
        name: name.to_owned(),
        keys: BTreeMap::from([(public.id().to_owned(), public.clone())]),
        threshold: 1,
    }
}

fn sign<T: SignedPart>(part: T, role: BaseRole, key: &dyn Signer) -> SignedFile {
    let mut meta = Signed::new(part);
    sign_with_roles(&mut meta, &[&role], &[key]).expect("the key belongs to the role");
    SignedFile {
        bytes: meta.to_bytes().expect("encodes"),
        role,
    }
}

/// `targets.json` with `n` targets shaped like a busy Docker repository's: tags under a few
/// hundred image names, sha256 and sha512 of each, and `custom` data on every tenth.
pub fn targets_file(n: usize, key: &dyn Signer) -> SignedFile {
    let mut targets = BTreeMap::new();
    for i in 0..n {
        let mut meta = FileMeta::from_bytes(&(i as u64).to_le_bytes());
        meta.length = 1_000 + (i as i64 * 7_919) % 1_000_000;
        if i % 10 == 0 {
            meta.custom = Some(json!({"created": "2026-01-01", "layers": i % 17}));
        }
        targets.insert(format!("team-{}/image-{}:v{i}", i % 37, i % 311), meta);
    }
    let part = Targets {
        typ: Targets::TYPE.into(),
        delegations: Delegations::default(),
        expires: parse_go("2030-01-01T00:00:00Z").expect("fixed time"),
        targets,
        version: 1,
        extra: Default::default(),
    };
    sign(part, role_of("targets", key), key)
}

/// A `timestamp.json` as Notary's server signs it.
pub fn timestamp_file(key: &dyn Signer) -> SignedFile {
    let part = Timestamp {
        typ: Timestamp::TYPE.into(),
        expires: parse_go("2030-01-01T00:00:00.123456789Z").expect("fixed time"),
        meta: BTreeMap::from([("snapshot".to_owned(), FileMeta::from_bytes(b"snapshot"))]),
        version: 1,
        extra: Default::default(),
    };
    sign(part, role_of("timestamp", key), key)
}
