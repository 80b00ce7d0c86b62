//! Creating and publishing a new repository, as `notary init -p` does: root and targets (and by
//! default snapshot) keys made on the client, the timestamp key fetched from the server, version 1
//! of root, targets and snapshot signed locally and uploaded in one request.
//!
//! The full changelist-driven publish (later changes, delegations, rotations) builds on this.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use notarius_crypto::cert::root_certificate;
use notarius_crypto::keystore::KeyStoreError;
use notarius_crypto::private::{Algorithm, CertifiedKey, PrivateKey};
use notarius_crypto::service::CryptoService;
use notarius_tuf::keys::PublicKey;
use notarius_tuf::metadata::{BaseRole, FileMeta};
use notarius_tuf::repo::Repo;
use notarius_tuf::role::{self, Gun};
use notarius_tuf::sign::Signer;
use notarius_tuf::store::StoreError;
use notarius_tuf::time::{ROOT_EXPIRY, SNAPSHOT_EXPIRY, TARGETS_EXPIRY};

use crate::remote::HttpRemote;

/// Why a publish failed. Nothing was uploaded unless the error says so.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Tuf(#[from] notarius_tuf::Error),
    #[error("{0}")]
    Keys(#[from] KeyStoreError),
    #[error("{0}")]
    Remote(#[from] StoreError),
    #[error("the server's {role} key could not be read: {msg}")]
    ServerKey { role: String, msg: String },
    #[error("{0}")]
    Key(#[from] notarius_crypto::pkcs8::KeyError),
}

/// Parses a key as the server's `.key` endpoints return it (Go's JSON of a `TUFKey`).
pub fn parse_server_key(role: &str, bytes: &[u8]) -> Result<PublicKey, PublishError> {
    serde_json::from_slice(bytes).map_err(|e| PublishError::ServerKey {
        role: role.to_owned(),
        msg: e.to_string(),
    })
}

fn single(name: &str, key: &PublicKey) -> BaseRole {
    BaseRole {
        name: name.to_owned(),
        keys: BTreeMap::from([(key.id().to_owned(), key.clone())]),
        threshold: 1,
    }
}

/// The root key to use: the first root key in the store (Notary's "Root key found, using"), or a
/// new one.
pub fn root_key(cs: &mut CryptoService) -> Result<PrivateKey, PublishError> {
    if let Some(id) = cs.list_keys(role::ROOT)?.into_iter().next() {
        return Ok(cs.get_private_key(&id)?.0);
    }
    let pk = cs.create(role::ROOT, "", Algorithm::Ecdsa)?;
    Ok(cs.get_private_key(pk.id())?.0)
}

/// Initialises `gun` with `targets` and publishes it. Returns the files uploaded (role, bytes),
/// which the caller caches.
pub fn init_and_publish(
    remote: &HttpRemote,
    gun: &Gun,
    cs: &mut CryptoService,
    targets: &BTreeMap<String, FileMeta>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Vec<u8>)>, PublishError> {
    let root = root_key(cs)?;
    let not_before = time::OffsetDateTime::from_unix_timestamp(now.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let cert = root_certificate(&root, gun.as_str(), not_before)?;
    let targets_pub = cs.create(role::TARGETS, gun.as_str(), Algorithm::Ecdsa)?;
    let snapshot_pub = cs.create(role::SNAPSHOT, gun.as_str(), Algorithm::Ecdsa)?;
    let timestamp_pub = parse_server_key(role::TIMESTAMP, &remote.get_key(role::TIMESTAMP)?)?;
    let (targets_key, _) = cs.get_private_key(targets_pub.id())?;
    let (snapshot_key, _) = cs.get_private_key(snapshot_pub.id())?;

    let local = now.fixed_offset();
    let mut repo = Repo::default();
    repo.init_root(
        [
            &single(role::ROOT, &cert),
            &single(role::TARGETS, &targets_pub),
            &single(role::SNAPSHOT, &snapshot_pub),
            &single(role::TIMESTAMP, &timestamp_pub),
        ],
        false,
        local + ROOT_EXPIRY,
    );
    repo.init_targets(role::TARGETS, local + TARGETS_EXPIRY)?;
    let all = |_: &str| true;
    repo.add_targets(role::TARGETS, targets, &all, local + TARGETS_EXPIRY)?;
    let root_signer = CertifiedKey {
        key: &root,
        public: cert.clone(),
    };
    let signers: [&dyn Signer; 3] = [&root_signer, &targets_key, &snapshot_key];
    let root_bytes = repo.sign_root(local + ROOT_EXPIRY, &signers)?;
    let targets_bytes = repo.sign_targets(role::TARGETS, local + TARGETS_EXPIRY, &signers)?;
    repo.init_snapshot(local + SNAPSHOT_EXPIRY)?;
    let snapshot_bytes = repo.sign_snapshot(local + SNAPSHOT_EXPIRY, &signers)?;
    let files = vec![
        (role::ROOT.to_owned(), root_bytes),
        (role::TARGETS.to_owned(), targets_bytes),
        (role::SNAPSHOT.to_owned(), snapshot_bytes),
    ];
    remote.set_multi(&files)?;
    Ok(files)
}
