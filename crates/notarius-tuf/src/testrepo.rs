//! A whole repository made of in-memory test keys, laid out as a Notary server serves it:
//! the fixture behind update-loop and attack tests (in the spirit of Notary's `swizzler`).
//!
//! It writes metadata directly with the model types, so that tests can produce data a correct
//! publisher never would (wrong signers, lower versions, expired files).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset};

use crate::metadata::{
    BaseRole, DelegationEntry, Delegations, FileMeta, Root, RootRole, Signature, Signed,
    SignedPart, Snapshot, Targets, Timestamp,
};
use crate::role;
use crate::sign::Signer;
use crate::sign::testing::TestKey;
use crate::store::MemoryStore;
use crate::time::Instant;

/// A repository under construction; every `publish_*` writes the server's files.
pub struct TestRepo {
    pub gun: String,
    pub now: Instant,
    pub root_keys: Vec<TestKey>,
    pub root_threshold: i64,
    pub targets_key: TestKey,
    pub snapshot_key: TestKey,
    pub timestamp_key: TestKey,
    pub root: Root,
    pub targets: BTreeMap<String, Targets>,
    /// Keys of delegated roles, by role name.
    pub delegation_keys: BTreeMap<String, TestKey>,
    pub snapshot: Snapshot,
    pub timestamp: Timestamp,
    /// What the server holds, by file name without `.json`.
    pub server: MemoryStore,
    /// Bytes of the current file of each role.
    pub current: BTreeMap<String, Vec<u8>>,
}

fn expires(now: Instant, d: Duration) -> DateTime<FixedOffset> {
    (now + d).fixed_offset()
}

fn empty_targets(now: Instant) -> Targets {
    Targets {
        typ: "Targets".into(),
        delegations: Delegations::default(),
        expires: expires(now, Duration::days(1095)),
        targets: BTreeMap::new(),
        version: 1,
        extra: Default::default(),
    }
}

impl TestRepo {
    /// Version 1 of every role, published.
    pub fn new(gun: &str, now: Instant) -> TestRepo {
        let root_key = TestKey::root(gun);
        let mut r = TestRepo {
            gun: gun.to_owned(),
            now,
            root_keys: vec![root_key],
            root_threshold: 1,
            targets_key: TestKey::ecdsa(),
            snapshot_key: TestKey::ecdsa(),
            timestamp_key: TestKey::ed25519(),
            root: Root {
                typ: "Root".into(),
                consistent_snapshot: false,
                expires: expires(now, Duration::days(3650)),
                keys: BTreeMap::new(),
                roles: BTreeMap::new(),
                version: 1,
                extra: Default::default(),
            },
            targets: BTreeMap::new(),
            delegation_keys: BTreeMap::new(),
            snapshot: Snapshot {
                typ: "Snapshot".into(),
                expires: expires(now, Duration::days(1095)),
                meta: BTreeMap::new(),
                version: 1,
                extra: Default::default(),
            },
            timestamp: Timestamp {
                typ: "Timestamp".into(),
                expires: expires(now, Duration::days(14)),
                meta: BTreeMap::new(),
                version: 1,
                extra: Default::default(),
            },
            server: MemoryStore::default(),
            current: BTreeMap::new(),
        };
        r.set_root_roles();
        r.targets.insert(role::TARGETS.into(), empty_targets(now));
        r.publish_root();
        r.publish_targets(role::TARGETS);
        r.publish_snapshot();
        r.publish_timestamp();
        r
    }

    /// Rebuilds `root.keys`/`roles` from the current keys. Keys of former root roles stay in
    /// `keys`, as Notary leaves them; other replaced keys go.
    pub fn set_root_roles(&mut self) {
        let former_root: Vec<String> = self
            .root
            .roles
            .get(role::ROOT)
            .map(|r| r.keyids.clone())
            .unwrap_or_default();
        let mut keys: BTreeMap<String, crate::keys::PublicKey> = self
            .root
            .keys
            .iter()
            .filter(|(id, k)| former_root.contains(id) || k.keytype().is_x509())
            .map(|(id, k)| (id.clone(), k.clone()))
            .collect();
        let mut roles = BTreeMap::new();
        for (name, k) in [
            (role::TARGETS, &self.targets_key),
            (role::SNAPSHOT, &self.snapshot_key),
            (role::TIMESTAMP, &self.timestamp_key),
        ] {
            let id = k.public_key().id().to_owned();
            keys.insert(id.clone(), k.public_key().clone());
            roles.insert(
                name.to_owned(),
                RootRole {
                    keyids: vec![id],
                    threshold: 1,
                    extra: Default::default(),
                },
            );
        }
        let root_ids: Vec<String> = self
            .root_keys
            .iter()
            .map(|k| k.public_key().id().to_owned())
            .collect();
        for k in &self.root_keys {
            keys.insert(k.public_key().id().to_owned(), k.public_key().clone());
        }
        roles.insert(
            role::ROOT.to_owned(),
            RootRole {
                keyids: root_ids,
                threshold: self.root_threshold,
                extra: Default::default(),
            },
        );
        self.root.keys = keys;
        self.root.roles = roles;
    }

    pub fn sign<T: SignedPart>(part: &T, signers: &[&TestKey]) -> Vec<u8> {
        let mut s = Signed::new(part.clone());
        let msg = s.canonical_signed().expect("canonical");
        s.signatures = signers
            .iter()
            .map(|k| {
                let (method, sig) = k.sign(&msg).expect("sign");
                Signature {
                    keyid: k.public_key().id().to_owned(),
                    method,
                    sig,
                }
            })
            .collect();
        s.to_bytes().expect("encode")
    }

    /// Signs root with its current keys (plus `extra` signers, e.g. the previous root key of a
    /// rotation) and stores it as `root` and `<version>.root`.
    pub fn publish_root_with(&mut self, extra: &[&TestKey]) -> Vec<u8> {
        let mut signers: Vec<&TestKey> = self.root_keys.iter().collect();
        signers.extend_from_slice(extra);
        let bytes = Self::sign(&self.root, &signers);
        self.server
            .files
            .insert(format!("{}.root", self.root.version), bytes.clone());
        self.store(role::ROOT, bytes.clone());
        bytes
    }

    pub fn publish_root(&mut self) -> Vec<u8> {
        self.publish_root_with(&[])
    }

    /// Signs a targets role with its key and stores it by checksum.
    pub fn publish_targets(&mut self, name: &str) -> Vec<u8> {
        let t = self.targets[name].clone();
        let key = if name == role::TARGETS {
            &self.targets_key
        } else {
            &self.delegation_keys[name]
        };
        let bytes = Self::sign(&t, &[key]);
        self.store(name, bytes.clone());
        bytes
    }

    /// Records the current root and targets files in snapshot meta, signs and stores it.
    pub fn publish_snapshot(&mut self) -> Vec<u8> {
        for (name, bytes) in &self.current {
            if name != role::SNAPSHOT && name != role::TIMESTAMP {
                self.snapshot
                    .meta
                    .insert(name.clone(), FileMeta::from_bytes(bytes));
            }
        }
        let bytes = Self::sign(&self.snapshot, &[&self.snapshot_key]);
        self.store(role::SNAPSHOT, bytes.clone());
        bytes
    }

    pub fn publish_timestamp(&mut self) -> Vec<u8> {
        let snap = self.current[role::SNAPSHOT].clone();
        self.timestamp
            .meta
            .insert(role::SNAPSHOT.into(), FileMeta::from_bytes(&snap));
        let bytes = Self::sign(&self.timestamp, &[&self.timestamp_key]);
        self.store(role::TIMESTAMP, bytes.clone());
        bytes
    }

    /// Stores `bytes` as the current file of `role` the way the server names it.
    pub fn store(&mut self, role_name: &str, bytes: Vec<u8>) {
        let sha = hex::encode(crate::metadata::sha256(&bytes));
        self.server
            .files
            .insert(format!("{role_name}.{sha}"), bytes.clone());
        self.server
            .files
            .insert(role_name.to_owned(), bytes.clone());
        self.current.insert(role_name.to_owned(), bytes);
    }

    /// Adds a target to a targets role (not yet published).
    pub fn add_target(&mut self, role_name: &str, name: &str, content: &[u8]) {
        self.targets
            .get_mut(role_name)
            .expect("role exists")
            .targets
            .insert(name.to_owned(), FileMeta::from_bytes(content));
    }

    /// Delegates `name` from its parent to a fresh ECDSA key with `paths` (not yet published).
    pub fn add_delegation(&mut self, name: &str, paths: &[&str]) {
        let key = TestKey::ecdsa();
        let parent = role::parent(name).to_owned();
        let p = self.targets.get_mut(&parent).expect("parent exists");
        p.delegations
            .keys
            .insert(key.public_key().id().to_owned(), key.public_key().clone());
        p.delegations.roles.push(DelegationEntry {
            keyids: vec![key.public_key().id().to_owned()],
            name: name.to_owned(),
            paths: paths.iter().map(|s| s.to_string()).collect(),
            path_hash_prefixes: None,
            threshold: 1,
            extra: Default::default(),
        });
        self.delegation_keys.insert(name.to_owned(), key);
        self.targets
            .insert(name.to_owned(), empty_targets(self.now));
    }

    /// Bumps a role's version and re-publishes it along with snapshot and timestamp.
    pub fn republish_targets(&mut self, name: &str) {
        let t = self.targets.get_mut(name).expect("role exists");
        t.version += 1;
        self.publish_targets(name);
        self.bump_snapshot_and_timestamp();
    }

    pub fn bump_snapshot_and_timestamp(&mut self) {
        self.snapshot.version += 1;
        self.publish_snapshot();
        self.timestamp.version += 1;
        self.publish_timestamp();
    }

    /// Replaces the root key by a fresh one, signing the new root with old and new keys when
    /// `cross_sign`, and re-publishes everything above root.
    pub fn rotate_root_key(&mut self, cross_sign: bool) -> TestKey {
        let new_key = TestKey::root(&self.gun);
        let old = std::mem::replace(&mut self.root_keys, vec![new_key]);
        self.set_root_roles();
        self.root.version += 1;
        let extra: Vec<&TestKey> = if cross_sign {
            old.iter().collect()
        } else {
            Vec::new()
        };
        self.publish_root_with(&extra);
        self.bump_snapshot_and_timestamp();
        old.into_iter().next().expect("one root key")
    }

    /// The base role of `name` in the current root.
    pub fn base_role(&self, name: &str) -> BaseRole {
        self.root.base_role(name).expect("role exists")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{Envelope, verify_signatures};
    use crate::trust::{TrustPinConfig, validate_root};
    use chrono::Utc;

    #[test]
    fn fresh_repo_verifies_role_by_role() {
        let mut r = TestRepo::new("example.com/app", Utc::now());
        r.add_delegation("targets/releases", &[""]);
        r.add_target("targets/releases", "v1", b"one");
        r.publish_targets("targets/releases");
        r.republish_targets(role::TARGETS);
        let root_env = Envelope::parse("root", &r.current["root"]).unwrap();
        let root =
            validate_root(None, &root_env, &r.gun, &TrustPinConfig::default(), r.now).unwrap();
        for name in [role::TARGETS, role::SNAPSHOT, role::TIMESTAMP] {
            let env = Envelope::parse(name, &r.current[name]).unwrap();
            verify_signatures(&env, &root.base_role(name).unwrap()).unwrap();
        }
        let snap: Snapshot = Envelope::parse("snapshot", &r.current["snapshot"])
            .unwrap()
            .decode("snapshot")
            .unwrap();
        snap.meta["targets/releases"]
            .check_hashes(&r.current["targets/releases"], "targets/releases")
            .unwrap();
        let old = r.rotate_root_key(true);
        let v2 = Envelope::parse("root", &r.server.files["2.root"]).unwrap();
        validate_root(Some(&root), &v2, &r.gun, &TrustPinConfig::default(), r.now).unwrap();
        assert!(
            r.root.keys.contains_key(old.public_key().id()),
            "former root keys stay listed"
        );
    }
}
