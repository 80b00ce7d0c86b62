//! A trust server in memory: notary-server's publish rules (an update is checked against the
//! stored root and parents with the same builder the client verifies with, versions only move
//! forward, snapshot signed by the server when the upload has none and the server holds its
//! key, a new timestamp for every update) and its read paths (`root`, `<n>.root`, current and
//! checksum-addressed names). It serves tests of the publish paths, and records what it was
//! asked so that a test can say exactly what went over the wire.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_tuf::builder::RepoBuilder;
use notarius_tuf::metadata::{Signed, Snapshot, Timestamp, sha256};
use notarius_tuf::role;
use notarius_tuf::sign::Signer;
use notarius_tuf::store::{RemoteStore, StoreError};
use notarius_tuf::time::{SNAPSHOT_EXPIRY, TIMESTAMP_EXPIRY};
use notarius_tuf::trust::TrustPinConfig;

use super::Remote;

/// One repository on an in-memory trust server. Clones share the server, so a test keeps one
/// to look inside while the code under test uses another.
#[derive(Clone)]
pub struct MemoryRemote {
    gun: String,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Served files by name without `.json`: `root`, `2.root`, `targets`, `targets.<sha256>`.
    files: BTreeMap<String, Vec<u8>>,
    /// The current version of each role.
    versions: BTreeMap<String, i64>,
    /// Keys the server holds, by role.
    keys: BTreeMap<String, PrivateKey>,
    /// Every accepted upload, in order.
    uploads: Vec<Vec<(String, Vec<u8>)>>,
    /// Every name asked for with `get_sized`, in order.
    requests: Vec<String>,
    /// The next uploads fail with this error (a dropped connection, a refusal).
    fail_uploads: Vec<StoreError>,
    /// The server's clock; the system clock when `None`.
    now: Option<DateTime<Utc>>,
}

impl MemoryRemote {
    /// An empty server for `gun`.
    pub fn new(gun: &str) -> MemoryRemote {
        MemoryRemote {
            gun: gun.to_owned(),
            state: Arc::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current bytes of `name` (`root`, `targets/releases`, `timestamp`), if any.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.state().files.get(name).cloned()
    }

    /// The current version of `role`, 0 when there is none.
    pub fn version(&self, role_name: &str) -> i64 {
        self.state().versions.get(role_name).copied().unwrap_or(0)
    }

    /// The roles of every accepted upload, in order.
    pub fn uploads(&self) -> Vec<Vec<String>> {
        self.state()
            .uploads
            .iter()
            .map(|u| u.iter().map(|(r, _)| r.clone()).collect())
            .collect()
    }

    /// Every name fetched so far.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }

    /// The next upload fails with `error` and changes nothing.
    pub fn fail_next_upload(&self, error: StoreError) {
        self.state().fail_uploads.push(error);
    }

    /// Sets the server's clock (for expiry tests).
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.state().now = Some(now);
    }

    /// Replaces a served file as a compromised or broken server would (attack tests).
    pub fn put_raw(&self, name: &str, bytes: &[u8]) {
        self.state().files.insert(name.to_owned(), bytes.to_vec());
    }

    fn key_json(key: &PrivateKey) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(key.public_key()).map_err(|e| StoreError::Io(e.to_string()))
    }
}

fn refused(msg: impl std::fmt::Display) -> StoreError {
    StoreError::InvalidOperation(msg.to_string())
}

/// Notary's `RoleList` order: fewer path segments first, then by name.
fn by_depth(a: &&str, b: &&str) -> std::cmp::Ordering {
    (a.split('/').count(), *a).cmp(&(b.split('/').count(), *b))
}

impl State {
    /// notary-server's `validateUpdate` and `storeUpdate`: the files to store, or why not.
    fn validate(
        &self,
        gun: &str,
        upload: &BTreeMap<&str, &[u8]>,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let now = self.now.unwrap_or_else(Utc::now);
        let mut b = RepoBuilder::new(gun, TrustPinConfig::default());
        if let Some(root) = self.files.get(role::ROOT) {
            b.load(role::ROOT, root, 1, true, now).map_err(refused)?;
        }
        let mut out = Vec::new();
        if let Some(root) = upload.get(role::ROOT) {
            let current = b.get_loaded_version(role::ROOT);
            b = b.bootstrap_new_builder();
            b.load(role::ROOT, root, current, false, now)
                .map_err(|e| refused(format!("The root metadata is invalid: {e}")))?;
            let new = b.get_loaded_version(role::ROOT);
            if current != 0 && new != current && new != current + 1 {
                return Err(refused(format!(
                    "The root metadata is invalid: Root modifications must increment the version. Current {current}, new {new}"
                )));
            }
            out.push((role::ROOT.to_owned(), root.to_vec()));
        } else if !b.is_loaded(role::ROOT) {
            return Err(refused(
                "An error occurred during validation: no pre-existing root and no root provided in update.",
            ));
        }
        let mut targets: Vec<&str> = upload
            .keys()
            .copied()
            .filter(|r| *r == role::TARGETS || role::is_delegation(r))
            .collect();
        targets.sort_by(by_depth);
        for name in targets {
            let mut ancestors = Vec::new();
            let mut a = name;
            while a != role::TARGETS {
                a = role::parent(a);
                if !b.is_loaded(a) {
                    ancestors.push(a);
                }
            }
            for a in ancestors.into_iter().rev() {
                if let Some(bytes) = self.files.get(a) {
                    b.load(a, bytes, 1, true, now).map_err(refused)?;
                }
            }
            b.load(name, upload[name], 1, false, now)
                .map_err(|e| refused(format!("The targets metadata is invalid: {e}")))?;
            out.push((name.to_owned(), upload[name].to_vec()));
        }
        let signers: Vec<&dyn Signer> = self.keys.values().map(|k| k as &dyn Signer).collect();
        if let Some(snapshot) = upload.get(role::SNAPSHOT) {
            b.load(role::SNAPSHOT, snapshot, 1, false, now)
                .map_err(|e| refused(format!("The snapshot metadata is invalid: {e}")))?;
            out.push((role::SNAPSHOT.to_owned(), snapshot.to_vec()));
        } else {
            let prev = match self.files.get(role::SNAPSHOT) {
                Some(s) => Some(
                    Signed::<Snapshot>::from_bytes(role::SNAPSHOT, s)
                        .map_err(refused)?
                        .0,
                ),
                None => None,
            };
            let (bytes, _) = b
                .generate_snapshot(prev, &signers, (now + SNAPSHOT_EXPIRY).fixed_offset())
                .map_err(|_| {
                    refused(
                        "Metadata hierarchy is incomplete: no snapshot was included in update and server does not hold current snapshot key for repository",
                    )
                })?;
            out.push((role::SNAPSHOT.to_owned(), bytes));
        }
        let prev = match self.files.get(role::TIMESTAMP) {
            Some(t) => Some(
                Signed::<Timestamp>::from_bytes(role::TIMESTAMP, t)
                    .map_err(refused)?
                    .0,
            ),
            None => None,
        };
        let (bytes, _) = b
            .generate_timestamp(prev, &signers, (now + TIMESTAMP_EXPIRY).fixed_offset())
            .map_err(|e| refused(format!("timestamp: {e}")))?;
        out.push((role::TIMESTAMP.to_owned(), bytes));
        // Versions only move forward: a second publisher that lost the race is told so.
        for (name, bytes) in &out {
            let v = declared_version(bytes);
            let current = self.versions.get(name).copied().unwrap_or(0);
            if v <= current && !(name == role::ROOT && v == current) {
                return Err(refused("A newer version of metadata is already available."));
            }
        }
        Ok(out)
    }

    fn store(&mut self, files: Vec<(String, Vec<u8>)>, versions: Vec<(String, i64)>) {
        for ((name, bytes), (_, version)) in files.iter().zip(versions) {
            let checksum = hex::encode(sha256(bytes));
            self.files
                .insert(format!("{name}.{checksum}"), bytes.clone());
            if name == role::ROOT {
                self.files
                    .insert(format!("{version}.{name}"), bytes.clone());
            }
            self.files.insert(name.clone(), bytes.clone());
            self.versions.insert(name.clone(), version);
        }
        self.uploads.push(files);
    }
}

/// The version a file declares, for the version bookkeeping (the file was verified already).
fn declared_version(bytes: &[u8]) -> i64 {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v["signed"]["version"].as_i64())
        .unwrap_or(0)
}

impl RemoteStore for MemoryRemote {
    fn get_sized(&mut self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        let mut s = self.state();
        s.requests.push(name.to_owned());
        let bytes = s.files.get(name).ok_or_else(|| StoreError::MetaNotFound {
            resource: name.to_owned(),
        })?;
        if bytes.len() as u64 > notarius_tuf::store::read_limit(size) {
            return Err(StoreError::MaliciousServer);
        }
        Ok(bytes.clone())
    }

    fn location(&self) -> String {
        "memory".to_owned()
    }
}

impl Remote for MemoryRemote {
    fn get_key(&self, role_name: &str) -> Result<Vec<u8>, StoreError> {
        if !matches!(role_name, role::TIMESTAMP | role::SNAPSHOT) {
            return Err(refused(format!(
                "the server does not hold {role_name} keys"
            )));
        }
        let mut s = self.state();
        if !s.keys.contains_key(role_name) {
            let key = PrivateKey::generate(Algorithm::Ecdsa).map_err(refused)?;
            s.keys.insert(role_name.to_owned(), key);
        }
        MemoryRemote::key_json(&s.keys[role_name])
    }

    fn rotate_key(&self, role_name: &str) -> Result<Vec<u8>, StoreError> {
        if !matches!(role_name, role::TIMESTAMP | role::SNAPSHOT) {
            return Err(refused(format!(
                "the server does not hold {role_name} keys"
            )));
        }
        // The old key stays until a root naming the new one is published, as Notary's key
        // store keeps every key it made; signing picks whichever the root lists.
        let key = PrivateKey::generate(Algorithm::Ecdsa).map_err(refused)?;
        let json = MemoryRemote::key_json(&key)?;
        let mut s = self.state();
        let old = s.keys.insert(role_name.to_owned(), key);
        if let Some(old) = old {
            s.keys.insert(format!("{role_name}.{}", old.id()), old);
        }
        Ok(json)
    }

    fn set_multi(&self, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        let mut s = self.state();
        if !s.fail_uploads.is_empty() {
            return Err(s.fail_uploads.remove(0));
        }
        // A later part for the same role replaces an earlier one, as in Notary's map.
        let upload: BTreeMap<&str, &[u8]> = files
            .iter()
            .map(|(r, b)| (r.as_str(), b.as_slice()))
            .collect();
        let out = s.validate(&self.gun, &upload)?;
        let versions = out
            .iter()
            .map(|(r, b)| (r.clone(), declared_version(b)))
            .collect();
        s.store(out, versions);
        Ok(())
    }

    fn delete_all(&self) -> Result<(), StoreError> {
        let mut s = self.state();
        s.files.clear();
        s.versions.clear();
        Ok(())
    }
}
