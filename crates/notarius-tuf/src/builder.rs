//! Loading metadata one file at a time into a verified repository (Notary's `tuf/builder.go`).
//!
//! The builder accepts a file only if it is consistent with what is already loaded: root first
//! (trust pinning and rotation through [`validate_root`]), then timestamp, snapshot and targets
//! checked against root's keys, delegations against their delegator, and every file against the
//! hashes its parent recorded. A file loaded before its parent's hashes are known (a cached
//! snapshot before the timestamp) is re-checked when the parent arrives. The server uses the
//! same builder to validate uploads and to generate snapshots and timestamps.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};

use crate::error::{Error, Result};
use crate::metadata::{
    BaseRole, Envelope, FileMeta, Hashes, Received, SHA256, Signature, Signed, Snapshot, Targets,
    Timestamp, check_hashes, verify_expiry, verify_version,
};
use crate::repo::Repo;
use crate::role;
use crate::sign::Signer;
use crate::store::MAX_TIMESTAMP_SIZE;
use crate::time::Instant;
use crate::trust::{TrustPinConfig, validate_root};

/// How to fetch a role consistently: by the checksum its parent recorded, within its length.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsistentInfo {
    pub role_name: String,
    file_meta: FileMeta,
}

impl ConsistentInfo {
    fn unknown(role_name: &str) -> ConsistentInfo {
        ConsistentInfo {
            role_name: role_name.to_owned(),
            file_meta: FileMeta {
                custom: None,
                hashes: Hashes::new(),
                length: 0,
                extra: Default::default(),
            },
        }
    }

    /// Whether a parent has said anything about this file.
    pub fn checksum_known(&self) -> bool {
        !self.file_meta.hashes.is_empty() || self.file_meta.length != 0
    }

    /// `<role>.<sha256 hex>` when the checksum is known, else the bare role name.
    pub fn consistent_name(&self) -> String {
        match self.file_meta.hashes.get(SHA256) {
            Some(h) if !h.0.is_empty() => format!("{}.{}", self.role_name, hex::encode(&h.0)),
            _ => self.role_name.clone(),
        }
    }

    /// The most bytes to accept, `None` when unknown.
    pub fn length(&self) -> Option<u64> {
        if self.checksum_known() {
            Some(u64::try_from(self.file_meta.length).unwrap_or(0))
        } else {
            None
        }
    }
}

/// Builds a verified [`Repo`] from metadata files. A clone goes on from the same loaded state
/// (a server keeps a builder with a verified root and clones it for each update).
#[derive(Debug, Clone)]
pub struct RepoBuilder {
    finished: bool,
    repo: Repo,
    invalid: Repo,
    gun: String,
    trust_pin: TrustPinConfig,
    loaded_not_checksummed: BTreeMap<String, Vec<u8>>,
    /// The root trusted before this one, for rotation checks.
    prev_root: Option<crate::metadata::Root>,
    /// The root checksum a previous builder's snapshot recorded.
    bootstrapped_root_checksum: Option<FileMeta>,
    next_root_checksum: Option<FileMeta>,
}

impl RepoBuilder {
    pub fn new(gun: &str, trust_pin: TrustPinConfig) -> RepoBuilder {
        RepoBuilder::from_repo(gun, Repo::default(), trust_pin)
    }

    /// A builder that starts from an existing repository (the server's current state).
    pub fn from_repo(gun: &str, repo: Repo, trust_pin: TrustPinConfig) -> RepoBuilder {
        RepoBuilder {
            finished: false,
            repo,
            invalid: Repo::default(),
            gun: gun.to_owned(),
            trust_pin,
            loaded_not_checksummed: BTreeMap::new(),
            prev_root: None,
            bootstrapped_root_checksum: None,
            next_root_checksum: None,
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.finished {
            Err(Error::BuildDone)
        } else {
            Ok(())
        }
    }

    /// The verified repository and the delegations that failed verification. The builder
    /// accepts nothing afterwards.
    pub fn finish(&mut self) -> Result<(Repo, Repo)> {
        self.check_open()?;
        self.finished = true;
        Ok((
            std::mem::take(&mut self.repo),
            std::mem::take(&mut self.invalid),
        ))
    }

    /// A fresh builder that trusts this one's root as the previous root (for a root refresh).
    pub fn bootstrap_new_builder(&self) -> RepoBuilder {
        self.bootstrap_with(self.trust_pin.clone())
    }

    /// As [`bootstrap_new_builder`](Self::bootstrap_new_builder), with other trust pinning.
    pub fn bootstrap_new_builder_with_new_trustpin(
        &self,
        trust_pin: TrustPinConfig,
    ) -> RepoBuilder {
        self.bootstrap_with(trust_pin)
    }

    fn bootstrap_with(&self, trust_pin: TrustPinConfig) -> RepoBuilder {
        RepoBuilder {
            finished: self.finished,
            repo: Repo::default(),
            invalid: Repo::default(),
            gun: self.gun.clone(),
            trust_pin,
            loaded_not_checksummed: BTreeMap::new(),
            prev_root: self.repo.root.as_ref().map(|r| r.signed.clone()),
            bootstrapped_root_checksum: self.next_root_checksum.clone(),
            next_root_checksum: None,
        }
    }

    pub fn is_loaded(&self, role_name: &str) -> bool {
        if self.finished {
            return false;
        }
        match role_name {
            role::ROOT => self.repo.root.is_some(),
            role::SNAPSHOT => self.repo.snapshot.is_some(),
            role::TIMESTAMP => self.repo.timestamp.is_some(),
            other => self.repo.targets.contains_key(other),
        }
    }

    /// A targets role as `load` accepted it.
    pub fn loaded_targets(&self, role_name: &str) -> Option<&Targets> {
        if self.finished {
            return None;
        }
        self.repo.targets.get(role_name).map(|t| &t.signed)
    }

    /// The root as `load` accepted it.
    pub fn loaded_root(&self) -> Option<&crate::metadata::Root> {
        if self.finished {
            return None;
        }
        self.repo.root.as_ref().map(|r| &r.signed)
    }

    /// The loaded version of a role, or 1 when it is not loaded (the lowest acceptable).
    pub fn get_loaded_version(&self, role_name: &str) -> i64 {
        if self.finished {
            return 0;
        }
        let v = match role_name {
            role::ROOT => self.repo.root.as_ref().map(|r| r.signed.version),
            role::SNAPSHOT => self.repo.snapshot.as_ref().map(|r| r.signed.version),
            role::TIMESTAMP => self.repo.timestamp.as_ref().map(|r| r.signed.version),
            other => self.repo.targets.get(other).map(|r| r.signed.version),
        };
        v.unwrap_or(1)
    }

    /// The checksum and length the loaded parents give for `role_name`.
    pub fn get_consistent_info(&self, role_name: &str) -> ConsistentInfo {
        let mut info = ConsistentInfo::unknown(role_name);
        if self.finished {
            return info;
        }
        let meta_of = |m: &BTreeMap<String, FileMeta>, name: &str| m.get(name).cloned();
        let found = match role_name {
            role::TIMESTAMP => {
                info.file_meta.length = MAX_TIMESTAMP_SIZE as i64;
                None
            }
            role::SNAPSHOT => self
                .repo
                .timestamp
                .as_ref()
                .and_then(|t| meta_of(&t.signed.meta, role_name)),
            role::ROOT => match (&self.bootstrapped_root_checksum, &self.repo.snapshot) {
                (Some(c), _) => Some(c.clone()),
                (None, Some(s)) => meta_of(&s.signed.meta, role_name),
                (None, None) => None,
            },
            _ => self
                .repo
                .snapshot
                .as_ref()
                .and_then(|s| meta_of(&s.signed.meta, role_name)),
        };
        if let Some(m) = found {
            info.file_meta = m;
        }
        info
    }

    /// Loads one file. `min_version` is the rollback floor; `allow_expired` lets an expired file
    /// in (for rollback baselines from the cache).
    pub fn load(
        &mut self,
        role_name: &str,
        content: &[u8],
        min_version: i64,
        allow_expired: bool,
        now: Instant,
    ) -> Result<()> {
        self.load_options(
            role_name,
            content,
            min_version,
            allow_expired,
            false,
            false,
            now,
        )
    }

    /// Loads a root during a root refresh: intermediate versions may be expired and are not
    /// checked against a checksum; each becomes the previous root of the next.
    pub fn load_root_for_update(
        &mut self,
        content: &[u8],
        min_version: i64,
        is_final: bool,
        now: Instant,
    ) -> Result<()> {
        self.load_options(
            role::ROOT,
            content,
            min_version,
            !is_final,
            !is_final,
            true,
            now,
        )?;
        if !is_final {
            self.prev_root = self.repo.root.as_ref().map(|r| r.signed.clone());
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn load_options(
        &mut self,
        role_name: &str,
        content: &[u8],
        min_version: i64,
        allow_expired: bool,
        skip_checksum: bool,
        allow_loaded: bool,
        now: Instant,
    ) -> Result<()> {
        self.check_open()?;
        if !role::is_valid_role(role_name) {
            return Err(Error::InvalidBuilderInput(format!(
                "{role_name} is an invalid role"
            )));
        }
        if !allow_loaded && self.is_loaded(role_name) {
            return Err(Error::InvalidBuilderInput(format!(
                "{role_name} has already been loaded"
            )));
        }
        let prereqs: &[&str] = match role_name {
            role::ROOT => &[],
            role::TIMESTAMP | role::SNAPSHOT | role::TARGETS => &[role::ROOT],
            _ => &[role::ROOT, role::TARGETS],
        };
        self.check_prereqs(prereqs)?;
        match role_name {
            role::ROOT => self.load_root(content, min_version, allow_expired, skip_checksum, now),
            role::SNAPSHOT => self.load_snapshot(content, min_version, allow_expired, now),
            role::TIMESTAMP => self.load_timestamp(content, min_version, allow_expired, now),
            role::TARGETS => self.load_targets(content, min_version, allow_expired, now),
            _ => self.load_delegation(role_name, content, min_version, allow_expired, now),
        }
    }

    fn check_prereqs(&self, roles: &[&str]) -> Result<()> {
        for r in roles {
            if !self.is_loaded(r) {
                return Err(Error::InvalidBuilderInput(format!(
                    "{r} must be loaded first"
                )));
            }
        }
        Ok(())
    }

    fn root_role(&self, name: &str) -> Result<BaseRole> {
        self.repo.get_base_role(name)
    }

    fn load_root(
        &mut self,
        content: &[u8],
        min_version: i64,
        allow_expired: bool,
        skip_checksum: bool,
        now: Instant,
    ) -> Result<()> {
        if !skip_checksum {
            self.validate_checksum_for(content, role::ROOT)?;
        }
        let env = Envelope::parse(role::ROOT, content)?;
        let root = validate_root(
            self.prev_root.as_ref(),
            &env,
            &self.gun,
            &self.trust_pin,
            now,
        )?;
        verify_version(&root, min_version)?;
        if !allow_expired {
            verify_expiry(&root, role::ROOT, now)?;
        }
        let root_role = root.base_role(role::ROOT)?;
        self.repo.root = Some(Signed {
            signed: root,
            signatures: env.signatures,
            raw: Some(content.to_vec()),
        });
        self.repo.original_root_role = Some(root_role);
        Ok(())
    }

    /// The steps timestamp, snapshot and targets share: signatures by root's role, structure,
    /// rollback floor, then expiry (last, so every other check has run).
    fn load_base<T: crate::metadata::SignedPart>(
        &mut self,
        name: &str,
        content: &[u8],
        min_version: i64,
        allow_expired: bool,
        now: Instant,
    ) -> Result<(T, Vec<Signature>)> {
        let r = self.root_role(name)?;
        let env = self.bytes_to_signed_and_validate_sigs(&r, content)?;
        let part: T = env.decode(name)?;
        verify_version(&part, min_version)?;
        if !allow_expired {
            verify_expiry(&part, name, now)?;
        }
        Ok((part, env.signatures))
    }

    fn load_timestamp(
        &mut self,
        content: &[u8],
        min_version: i64,
        allow_expired: bool,
        now: Instant,
    ) -> Result<()> {
        let (ts, signatures): (Timestamp, _) =
            self.load_base(role::TIMESTAMP, content, min_version, allow_expired, now)?;
        if let Some(sn) = self.loaded_not_checksummed.get(role::SNAPSHOT) {
            let hashes = ts
                .meta
                .get(role::SNAPSHOT)
                .map(|m| m.hashes.clone())
                .unwrap_or_default();
            check_hashes(sn, role::SNAPSHOT, &hashes)?;
            self.loaded_not_checksummed.remove(role::SNAPSHOT);
        }
        self.repo.timestamp = Some(Signed {
            signed: ts,
            signatures,
            raw: Some(content.to_vec()),
        });
        Ok(())
    }

    fn load_snapshot(
        &mut self,
        content: &[u8],
        min_version: i64,
        allow_expired: bool,
        now: Instant,
    ) -> Result<()> {
        let (sn, signatures): (Snapshot, _) =
            self.load_base(role::SNAPSHOT, content, min_version, allow_expired, now)?;
        self.next_root_checksum = Some(
            sn.meta
                .get(role::ROOT)
                .cloned()
                .unwrap_or_else(|| ConsistentInfo::unknown(role::ROOT).file_meta),
        );
        let mut good = Vec::new();
        for (name, bytes) in &self.loaded_not_checksummed {
            if name == role::SNAPSHOT || name == role::TIMESTAMP {
                continue;
            }
            let hashes = sn
                .meta
                .get(name)
                .map(|m| m.hashes.clone())
                .unwrap_or_default();
            check_hashes(bytes, name, &hashes)?;
            good.push(name.clone());
        }
        for name in good {
            self.loaded_not_checksummed.remove(&name);
        }
        self.repo.snapshot = Some(Signed {
            signed: sn,
            signatures,
            raw: Some(content.to_vec()),
        });
        Ok(())
    }

    fn load_targets(
        &mut self,
        content: &[u8],
        min_version: i64,
        allow_expired: bool,
        now: Instant,
    ) -> Result<()> {
        let (t, signatures): (Targets, _) =
            self.load_base(role::TARGETS, content, min_version, allow_expired, now)?;
        self.repo.targets.insert(
            role::TARGETS.to_owned(),
            Signed {
                signed: t,
                signatures,
                raw: Some(content.to_vec()),
            },
        );
        Ok(())
    }

    fn load_delegation(
        &mut self,
        role_name: &str,
        content: &[u8],
        min_version: i64,
        allow_expired: bool,
        now: Instant,
    ) -> Result<()> {
        let d = self.repo.get_delegation_role(role_name)?;
        let env = self.bytes_to_signed(content, role_name, false)?;
        let t: Targets = env.decode(role_name)?;
        verify_version(&t, min_version)?;
        let signed = Signed {
            signed: t,
            signatures: env.signatures.clone(),
            raw: Some(content.to_vec()),
        };
        if let Err(e) = env.verify(&d.base) {
            self.invalid.targets.insert(role_name.to_owned(), signed);
            return Err(e);
        }
        if !allow_expired && let Err(e) = verify_expiry(&signed.signed, role_name, now) {
            self.invalid.targets.insert(role_name.to_owned(), signed);
            return Err(e);
        }
        self.repo.targets.insert(role_name.to_owned(), signed);
        Ok(())
    }

    fn checksums_for(&self, role_name: &str) -> Option<Hashes> {
        match role_name {
            role::TIMESTAMP => None,
            role::SNAPSHOT => self.repo.timestamp.as_ref().map(|t| {
                t.signed
                    .meta
                    .get(role::SNAPSHOT)
                    .map(|m| m.hashes.clone())
                    .unwrap_or_default()
            }),
            other => self.repo.snapshot.as_ref().map(|s| {
                s.signed
                    .meta
                    .get(other)
                    .map(|m| m.hashes.clone())
                    .unwrap_or_default()
            }),
        }
    }

    fn validate_checksum_for(&mut self, content: &[u8], role_name: &str) -> Result<()> {
        if role_name == role::ROOT
            && let Some(c) = &self.bootstrapped_root_checksum
        {
            check_hashes(content, role_name, &c.hashes)?;
        }
        match self.checksums_for(role_name) {
            Some(h) => check_hashes(content, role_name, &h)?,
            None if role_name != role::TIMESTAMP => {
                self.loaded_not_checksummed
                    .insert(role_name.to_owned(), content.to_vec());
            }
            None => {}
        }
        Ok(())
    }

    fn bytes_to_signed<'c>(
        &mut self,
        content: &'c [u8],
        role_name: &str,
        skip_checksum: bool,
    ) -> Result<Received<'c>> {
        if !skip_checksum {
            self.validate_checksum_for(content, role_name)?;
        }
        Received::parse(role_name, content)
    }

    fn bytes_to_signed_and_validate_sigs<'c>(
        &mut self,
        r: &BaseRole,
        content: &'c [u8],
    ) -> Result<Received<'c>> {
        let env = self.bytes_to_signed(content, &r.name, false)?;
        env.verify(r)?;
        Ok(env)
    }

    /// Signs a new snapshot (from `prev`, or a fresh one over the loaded root and targets) with
    /// the snapshot keys among `signers`. Returns the bytes and the version.
    pub fn generate_snapshot(
        &mut self,
        prev: Option<Signed<Snapshot>>,
        signers: &[&dyn Signer],
        expires: DateTime<FixedOffset>,
    ) -> Result<(Vec<u8>, i64)> {
        self.check_open()?;
        if self.is_loaded(role::SNAPSHOT) {
            return Err(Error::InvalidBuilderInput(
                "snapshot has already been loaded".into(),
            ));
        }
        if self.is_loaded(role::TIMESTAMP) {
            return Err(Error::InvalidBuilderInput(
                "cannot generate snapshot if timestamp has already been loaded".into(),
            ));
        }
        self.check_prereqs(&[role::ROOT])?;
        match prev {
            None => {
                self.check_prereqs(&[role::TARGETS])?;
                self.repo.init_snapshot(expires)?;
            }
            Some(p) => {
                crate::metadata::SignedPart::validate(&p.signed, role::SNAPSHOT)?;
                self.repo.snapshot = Some(p);
            }
        }
        // Notary's `SignSnapshot`; a failure leaves no half-made snapshot behind.
        let bytes = match self.repo.sign_snapshot(expires, signers) {
            Ok(b) => b,
            Err(e) => {
                self.repo.snapshot = None;
                return Err(e);
            }
        };
        let version = self
            .repo
            .snapshot
            .as_ref()
            .expect("just signed")
            .signed
            .version;
        let targets: Vec<String> = self.repo.targets.keys().cloned().collect();
        for t in targets {
            self.loaded_not_checksummed.remove(&t);
        }
        self.loaded_not_checksummed.remove(role::ROOT);
        self.loaded_not_checksummed
            .insert(role::SNAPSHOT.to_owned(), bytes.clone());
        Ok((bytes, version))
    }

    /// Signs a new timestamp over the loaded snapshot (from `prev`, or a fresh one) with the
    /// timestamp keys among `signers`.
    pub fn generate_timestamp(
        &mut self,
        prev: Option<Signed<Timestamp>>,
        signers: &[&dyn Signer],
        expires: DateTime<FixedOffset>,
    ) -> Result<(Vec<u8>, i64)> {
        self.check_open()?;
        if self.is_loaded(role::TIMESTAMP) {
            return Err(Error::InvalidBuilderInput(
                "timestamp has already been loaded".into(),
            ));
        }
        self.check_prereqs(&[role::ROOT, role::SNAPSHOT])?;
        match prev {
            None => self.repo.init_timestamp(expires)?,
            Some(p) => {
                crate::metadata::SignedPart::validate(&p.signed, role::TIMESTAMP)?;
                self.repo.timestamp = Some(p);
            }
        }
        let bytes = match self.repo.sign_timestamp(expires, signers) {
            Ok(b) => b,
            Err(e) => {
                self.repo.timestamp = None;
                return Err(e);
            }
        };
        let version = self
            .repo
            .timestamp
            .as_ref()
            .expect("just signed")
            .signed
            .version;
        self.loaded_not_checksummed.remove(role::SNAPSHOT);
        Ok((bytes, version))
    }
}

/// `version + 1`, refusing to wrap (Cure53 TUF-01-002).
pub fn next_version(v: i64, role_name: &str) -> Result<i64> {
    v.checked_add(1).ok_or_else(|| Error::InvalidMetadata {
        role: role_name.to_owned(),
        msg: format!("version {v} cannot be incremented"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Envelope;
    use crate::store::MemoryStore;
    use crate::testrepo::TestRepo;
    use crate::update::{UpdateOptions, load_tuf_repo};
    use chrono::{Duration, Utc};

    /// What the server does on an update without a snapshot: load root and targets, then sign
    /// snapshot and timestamp itself.
    #[test]
    fn server_side_snapshot_and_timestamp_are_readable_by_clients() {
        let mut r = TestRepo::new("example.com/app", Utc::now());
        r.add_target(role::TARGETS, "v1", b"one");
        r.targets.get_mut(role::TARGETS).unwrap().version += 1;
        r.publish_targets(role::TARGETS);
        let now = r.now;
        let mut b = RepoBuilder::new(&r.gun, TrustPinConfig::default());
        b.load(role::ROOT, &r.current[role::ROOT], 1, false, now)
            .unwrap();
        b.load(role::TARGETS, &r.current[role::TARGETS], 1, false, now)
            .unwrap();
        let prev: Signed<Snapshot> = Signed::from_bytes(role::SNAPSHOT, &r.current[role::SNAPSHOT])
            .unwrap()
            .0;
        let exp = (now + Duration::days(30)).fixed_offset();
        // The wrong key is refused and leaves nothing behind.
        assert!(
            b.generate_snapshot(Some(prev.clone()), &[&r.timestamp_key], exp)
                .is_err()
        );
        assert!(!b.is_loaded(role::SNAPSHOT));
        let (snap, v) = b
            .generate_snapshot(Some(prev), &[&r.snapshot_key], exp)
            .unwrap();
        assert_eq!(v, 2);
        let prev_ts: Signed<Timestamp> =
            Signed::from_bytes(role::TIMESTAMP, &r.current[role::TIMESTAMP])
                .unwrap()
                .0;
        let (ts, tv) = b
            .generate_timestamp(Some(prev_ts), &[&r.timestamp_key], exp)
            .unwrap();
        assert_eq!(tv, 2);
        let sn: Snapshot = Envelope::parse("snapshot", &snap)
            .unwrap()
            .decode("snapshot")
            .unwrap();
        sn.meta[role::TARGETS]
            .check_hashes(&r.current[role::TARGETS], "targets")
            .unwrap();
        r.store(role::SNAPSHOT, snap);
        r.store(role::TIMESTAMP, ts);
        let opts = UpdateOptions {
            gun: r.gun.clone(),
            trust_pinning: Default::default(),
            always_check_initialized: false,
            now,
        };
        let u = load_tuf_repo(&opts, &mut r.server.clone(), &mut MemoryStore::default()).unwrap();
        assert!(
            u.repo.targets[role::TARGETS]
                .signed
                .targets
                .contains_key("v1")
        );
        assert!(matches!(
            b.load(role::ROOT, &r.current[role::ROOT], 1, false, now),
            Err(Error::InvalidBuilderInput(_))
        ));
        b.finish().unwrap();
        assert!(matches!(b.finish(), Err(Error::BuildDone)));
    }
}
