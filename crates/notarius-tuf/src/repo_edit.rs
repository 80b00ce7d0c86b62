//! Editing a repository (the write half of Notary's `tuf.Repo`): new metadata, keys of base
//! roles, delegations, targets, and signing with version bumps. What client publishes and the
//! server's key rotations both call.
//!
//! "Can this role be signed?" depends on which private keys the caller holds, so the edits that
//! Notary guards with `VerifyCanSign` take a `has_key` predicate over key IDs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};

use crate::builder::next_version;
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::metadata::{
    BaseRole, DelegationEntry, Delegations, FileMeta, Root, RootRole, Signed, Snapshot, Targets,
    Timestamp,
};
use crate::repo::{Repo, Walk};
use crate::role;
use crate::sign::{Signer, sign_with_roles};

/// Does the caller hold the private key with this (TUF or canonical) ID?
pub type HasKey<'a> = &'a dyn Fn(&str) -> bool;

fn invalid_role(r: &str, reason: &str) -> Error {
    Error::InvalidRole {
        role: r.to_owned(),
        reason: reason.to_owned(),
    }
}

fn not_loaded(r: &str) -> Error {
    Error::InvalidBuilderInput(format!("{r} role has not been loaded"))
}

/// An empty targets file, version 0 until first signed.
pub fn new_targets(expires: DateTime<FixedOffset>) -> Targets {
    Targets {
        typ: "Targets".into(),
        delegations: Delegations::default(),
        expires,
        targets: BTreeMap::new(),
        version: 0,
        extra: Default::default(),
    }
}

/// Changes to one delegation (Notary's `TUFDelegation` as applied by `delegationUpdateVisitor`).
#[derive(Debug, Clone, Default)]
pub struct DelegationUpdate {
    pub add_keys: Vec<PublicKey>,
    /// TUF or canonical key IDs.
    pub remove_keys: Vec<String>,
    pub add_paths: Vec<String>,
    pub remove_paths: Vec<String>,
    pub clear_paths: bool,
    /// Threshold for a new role (existing roles keep theirs).
    pub threshold: i64,
}

impl Repo {
    /// Notary's `InitRoot`: a version-0 root over the four base roles.
    pub fn init_root(
        &mut self,
        roles: [&BaseRole; 4],
        consistent: bool,
        expires: DateTime<FixedOffset>,
    ) {
        let mut keys = BTreeMap::new();
        let mut rr = BTreeMap::new();
        for r in roles {
            rr.insert(
                r.name.clone(),
                RootRole {
                    keyids: r.keys.keys().cloned().collect(),
                    threshold: r.threshold,
                    extra: Default::default(),
                },
            );
            keys.extend(r.keys.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let root = Root {
            typ: "Root".into(),
            consistent_snapshot: consistent,
            expires,
            keys,
            roles: rr,
            version: 0,
            extra: Default::default(),
        };
        self.original_root_role = roles
            .iter()
            .find(|r| r.name == role::ROOT)
            .map(|r| (*r).clone());
        self.root = Some(Signed::new(root));
        self.dirty.insert(role::ROOT.to_owned());
    }

    /// Notary's `InitTargets`.
    pub fn init_targets(&mut self, name: &str, expires: DateTime<FixedOffset>) -> Result<()> {
        if name != role::TARGETS && !role::is_delegation(name) {
            return Err(invalid_role(
                name,
                &format!("role is not a valid targets role name: {name}"),
            ));
        }
        self.targets
            .insert(name.to_owned(), Signed::new(new_targets(expires)));
        self.dirty.insert(name.to_owned());
        Ok(())
    }

    /// A version-0 snapshot over the current root and targets.
    pub fn init_snapshot(&mut self, expires: DateTime<FixedOffset>) -> Result<()> {
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| not_loaded(role::ROOT))?
            .to_bytes()?;
        let targets = self
            .targets
            .get(role::TARGETS)
            .ok_or_else(|| not_loaded(role::TARGETS))?
            .to_bytes()?;
        let meta = BTreeMap::from([
            (role::ROOT.to_owned(), FileMeta::from_bytes(&root)),
            (role::TARGETS.to_owned(), FileMeta::from_bytes(&targets)),
        ]);
        self.snapshot = Some(Signed::new(Snapshot {
            typ: "Snapshot".into(),
            expires,
            meta,
            version: 0,
            extra: Default::default(),
        }));
        self.dirty.insert(role::SNAPSHOT.to_owned());
        Ok(())
    }

    /// A version-0 timestamp over the current snapshot.
    pub fn init_timestamp(&mut self, expires: DateTime<FixedOffset>) -> Result<()> {
        let snap = self
            .snapshot
            .as_ref()
            .ok_or_else(|| not_loaded(role::SNAPSHOT))?
            .to_bytes()?;
        self.timestamp = Some(Signed::new(Timestamp {
            typ: "Timestamp".into(),
            expires,
            meta: BTreeMap::from([(role::SNAPSHOT.to_owned(), FileMeta::from_bytes(&snap))]),
            version: 0,
            extra: Default::default(),
        }));
        self.dirty.insert(role::TIMESTAMP.to_owned());
        Ok(())
    }

    fn root_mut(&mut self) -> Result<&mut Signed<Root>> {
        let r = self.root.as_mut().ok_or_else(|| not_loaded(role::ROOT))?;
        r.touch();
        self.dirty.insert(role::ROOT.to_owned());
        Ok(r)
    }

    /// Notary's `AddBaseKeys`.
    pub fn add_base_keys(&mut self, name: &str, keys: &[PublicKey]) -> Result<()> {
        let root = self.root_mut()?;
        for k in keys {
            root.signed.keys.insert(k.id().to_owned(), k.clone());
            let rr = root
                .signed
                .roles
                .get_mut(name)
                .ok_or_else(|| invalid_role(name, "role not found in root file"))?;
            if !rr.keyids.iter().any(|i| i == k.id()) {
                rr.keyids.push(k.id().to_owned());
            }
        }
        self.dirty.insert(name.to_owned());
        Ok(())
    }

    /// Notary's `RemoveBaseKeys`: keys no other role uses leave `keys`, except root keys, which
    /// stay listed so older roots keep verifying.
    pub fn remove_base_keys(&mut self, name: &str, ids: &[String]) -> Result<()> {
        let root = self.root_mut()?;
        let rr = root
            .signed
            .roles
            .get_mut(name)
            .ok_or_else(|| invalid_role(name, "role not found in root file"))?;
        rr.keyids.retain(|k| !ids.contains(k));
        let used: BTreeSet<String> = root
            .signed
            .roles
            .iter()
            .filter(|(n, _)| n.as_str() != name)
            .flat_map(|(_, r)| r.keyids.iter().cloned())
            .collect();
        if name != role::ROOT {
            for id in ids {
                if !used.contains(id) {
                    root.signed.keys.remove(id);
                }
            }
        }
        self.dirty.insert(name.to_owned());
        Ok(())
    }

    /// Notary's `ReplaceBaseKeys`.
    pub fn replace_base_keys(&mut self, name: &str, keys: &[PublicKey]) -> Result<()> {
        let old: Vec<String> = self.get_base_role(name)?.keys.keys().cloned().collect();
        self.remove_base_keys(name, &old)?;
        self.add_base_keys(name, keys)
    }

    /// Notary's `VerifyCanSign`: the caller holds at least one key of the role.
    pub fn verify_can_sign(&self, name: &str, has_key: HasKey<'_>) -> Result<()> {
        let r = if role::is_delegation(name) {
            self.get_delegation_role(name)?.base
        } else {
            self.get_base_role(name)
                .map_err(|_| invalid_role(name, "does not exist"))?
        };
        let mut canonical = Vec::new();
        for (id, k) in &r.keys {
            if has_key(id) || has_key(k.canonical_id()) {
                return Ok(());
            }
            canonical.push(k.canonical_id().to_owned());
        }
        Err(Error::NoKeys(canonical))
    }

    /// Notary's `UpdateDelegationKeys` and `UpdateDelegationPaths` in one: creates the role if
    /// its parent does not list it. Stricter than Notary: a role whose threshold exceeds its
    /// keys is refused rather than written unusable (NCC App. A.2-2).
    pub fn update_delegation(
        &mut self,
        name: &str,
        update: &DelegationUpdate,
        has_key: HasKey<'_>,
        expires: DateTime<FixedOffset>,
    ) -> Result<()> {
        if !role::is_delegation(name) {
            return Err(invalid_role(name, "not a valid delegated role"));
        }
        let parent = role::parent(name).to_owned();
        self.verify_can_sign(&parent, has_key)?;
        if !self.targets.contains_key(&parent) {
            if update.add_keys.is_empty() {
                return Err(invalid_role(name, "no valid delegated role exists"));
            }
            self.init_targets(&parent, expires)?;
        }
        let mut valid_parent = None;
        self.walk_targets("", &parent, &[], |_, r| {
            valid_parent = Some(r.clone());
            Ok(Walk::Stop)
        })?;
        let valid_parent =
            valid_parent.ok_or_else(|| invalid_role(name, "its parent is not reachable"))?;
        if role::restrict_paths(&valid_parent.paths, &update.add_paths).len()
            != update.add_paths.len()
        {
            return Err(invalid_role(name, "invalid paths to add to role"));
        }
        let t = self.targets.get_mut(&parent).expect("created above");
        let d = &mut t.signed.delegations;
        let canonical_of = |keys: &BTreeMap<String, PublicKey>, id: &str| {
            keys.get(id).map(|k| k.canonical_id().to_owned())
        };
        let idx = d.roles.iter().position(|r| r.name == name);
        let mut entry = match idx {
            Some(i) => d.roles[i].clone(),
            None => {
                if update.threshold < 1 {
                    return Err(invalid_role(name, ""));
                }
                DelegationEntry {
                    keyids: Vec::new(),
                    name: name.to_owned(),
                    paths: Vec::new(),
                    path_hash_prefixes: None,
                    threshold: update.threshold,
                    extra: Default::default(),
                }
            }
        };
        entry.paths.retain(|p| !update.remove_paths.contains(p));
        if update.clear_paths {
            entry.paths.clear();
        }
        for p in &update.add_paths {
            if !entry.paths.contains(p) {
                entry.paths.push(p.clone());
            }
        }
        entry.keyids.retain(|id| {
            !update.remove_keys.contains(id)
                && !canonical_of(&d.keys, id).is_some_and(|c| update.remove_keys.contains(&c))
        });
        for k in &update.add_keys {
            if !entry.keyids.iter().any(|i| i == k.id()) {
                entry.keyids.push(k.id().to_owned());
            }
            d.keys.insert(k.id().to_owned(), k.clone());
        }
        if (entry.keyids.len() as i64) < entry.threshold && !update.add_keys.is_empty() {
            return Err(invalid_role(
                name,
                &format!(
                    "threshold {} is more than its {} keys",
                    entry.threshold,
                    entry.keyids.len()
                ),
            ));
        }
        match idx {
            Some(i) => d.roles[i] = entry,
            None => d.roles.push(entry),
        }
        remove_unused_keys(d);
        t.touch();
        self.dirty.insert(parent);
        Ok(())
    }

    /// Notary's `PurgeDelegationKeys`: removes the keys with these canonical IDs from every
    /// delegation under `wild`'s parent (`targets/*` for all). A role whose file lists such a
    /// key but which the caller cannot sign is left alone with a warning, as is a role left with
    /// fewer keys than its threshold; the warnings (Notary's texts) are returned for the caller
    /// to print.
    pub fn purge_delegation_keys(
        &mut self,
        wild: &str,
        remove: &[String],
        has_key: HasKey<'_>,
    ) -> Result<Vec<String>> {
        if !role::is_wild_delegation(wild) {
            return Err(invalid_role(
                wild,
                "only wildcard roles can be used in a purge",
            ));
        }
        let start = role::parent(wild).to_owned();
        let top = self.get_base_role(role::TARGETS)?;
        let mut warnings = Vec::new();
        let mut queue =
            std::collections::VecDeque::from([crate::metadata::DelegationRole::top(top)]);
        while let Some(r) = queue.pop_front() {
            let name = r.base.name.clone();
            let Some(t) = self.targets.get(&name) else {
                continue;
            };
            if start.starts_with(&format!("{name}/")) {
                queue.extend(t.signed.valid_delegations(&r));
                continue;
            }
            let in_subtree = start == name || name.starts_with(&format!("{start}/"));
            if !in_subtree {
                continue;
            }
            let candidates: Vec<String> = t
                .signed
                .delegations
                .keys
                .iter()
                .filter(|(_, k)| remove.iter().any(|c| c == k.canonical_id()))
                .map(|(id, _)| id.clone())
                .collect();
            if !candidates.is_empty() {
                if self.verify_can_sign(&name, has_key).is_err() {
                    warnings.push(format!(
                        "role {name} contains keys being purged but you do not have the necessary keys present to sign it; keys will not be purged from {name} or its immediate children"
                    ));
                } else {
                    let t = self.targets.get_mut(&name).expect("looked up above");
                    let d = &mut t.signed.delegations;
                    for id in &candidates {
                        d.keys.remove(id);
                    }
                    for entry in &mut d.roles {
                        entry.keyids.retain(|k| !candidates.contains(k));
                        if (entry.keyids.len() as i64) < entry.threshold {
                            warnings.push(format!(
                                "role {} has fewer keys than its threshold of {}; it will not be usable until keys are added to it",
                                entry.name, entry.threshold
                            ));
                        }
                    }
                    t.touch();
                    self.dirty.insert(name.clone());
                }
            }
            let t = self.targets.get(&name).expect("looked up above");
            queue.extend(t.signed.valid_delegations(&r));
        }
        Ok(warnings)
    }

    /// Notary's `DeleteDelegation`.
    pub fn delete_delegation(&mut self, name: &str, has_key: HasKey<'_>) -> Result<()> {
        if !role::is_delegation(name) {
            return Err(invalid_role(name, "not a valid delegated role"));
        }
        let parent = role::parent(name).to_owned();
        self.verify_can_sign(&parent, has_key)?;
        self.targets.remove(name);
        self.dirty.remove(name);
        if let Some(s) = self.snapshot.as_mut()
            && s.signed.meta.remove(name).is_some()
        {
            s.touch();
            self.dirty.insert(role::SNAPSHOT.to_owned());
        }
        if let Some(p) = self.targets.get_mut(&parent)
            && let Some(i) = p
                .signed
                .delegations
                .roles
                .iter()
                .position(|r| r.name == name)
        {
            p.signed.delegations.roles.remove(i);
            remove_unused_keys(&mut p.signed.delegations);
            p.touch();
            self.dirty.insert(parent);
        }
        Ok(())
    }

    /// Notary's `AddTargets`: each target goes to the first role under `name` whose paths
    /// cover it; an identical existing entry is left alone.
    pub fn add_targets(
        &mut self,
        name: &str,
        targets: &BTreeMap<String, FileMeta>,
        has_key: HasKey<'_>,
        expires: DateTime<FixedOffset>,
    ) -> Result<()> {
        let cant_sign = self.verify_can_sign(name, has_key);
        if let Err(e @ Error::InvalidRole { .. }) = cant_sign {
            return Err(e);
        }
        if !self.targets.contains_key(name) {
            self.init_targets(name, expires)?;
        }
        for (path, meta) in targets {
            let mut into: Option<(String, bool)> = None;
            self.walk_targets(path, name, &[], |t, r| {
                let same = t.signed.targets.get(path).is_some_and(|m| m.same_as(meta));
                into = Some((r.base.name.clone(), same));
                Ok(Walk::Stop)
            })?;
            match into {
                Some((_, true)) => {}
                Some((role_name, false)) => {
                    cant_sign.clone()?;
                    let t = self.targets.get_mut(&role_name).expect("walked");
                    t.signed.targets.insert(path.clone(), meta.clone());
                    t.touch();
                    self.dirty.insert(role_name);
                }
                None => {
                    return Err(Error::InvalidBuilderInput(
                        "Could not add all targets".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Notary's `RemoveTargets`.
    pub fn remove_targets(
        &mut self,
        name: &str,
        paths: &[String],
        has_key: HasKey<'_>,
    ) -> Result<()> {
        let cant_sign = self.verify_can_sign(name, has_key);
        if let Err(e @ Error::InvalidRole { .. }) = cant_sign {
            return Err(e);
        }
        if !self.targets.contains_key(name) {
            return Ok(());
        }
        for path in paths {
            let mut found: Option<String> = None;
            self.walk_targets("", name, &[], |t, r| {
                if t.signed.targets.contains_key(path) {
                    found = Some(r.base.name.clone());
                }
                Ok(Walk::Stop)
            })?;
            if let Some(role_name) = found {
                cant_sign.clone()?;
                let t = self.targets.get_mut(&role_name).expect("walked");
                t.signed.targets.remove(path);
                t.touch();
                self.dirty.insert(role_name);
            }
        }
        Ok(())
    }

    /// Notary's publish-side signing (`signRootIfNecessary`, `signTargets`, the snapshot
    /// step of `publish`): signs every role that changed, with the keys `signers_for` says the
    /// caller holds for each role, and returns the files to upload in Notary's order (root,
    /// targets roles by name, snapshot).
    ///
    /// - Root is re-signed when it changed, when it is within six months of expiry (so a
    ///   repository in use never lets its root lapse), or when `legacy_root_keys` (Notary's
    ///   `extraSigningKeys`, from `key rotate -l`) must sign too; it is signed by the current
    ///   root role and, after a rotation, by the role it was loaded with. On an `initial`
    ///   publish (a repository made offline, now going online) an unchanged root is uploaded as
    ///   it is.
    /// - `targets` is signed on an `initial` publish even when unchanged; other targets roles
    ///   when they changed.
    /// - Snapshot is signed only when the caller holds one of its keys (otherwise the server
    ///   signs it, Docker's default); it is made first if the repository has none.
    pub fn sign_changed<E, F>(
        &mut self,
        now: chrono::DateTime<chrono::Utc>,
        legacy_root_keys: &[PublicKey],
        initial: bool,
        mut signers_for: F,
    ) -> std::result::Result<Vec<(String, Vec<u8>)>, E>
    where
        E: From<Error>,
        F: FnMut(&BaseRole) -> std::result::Result<Vec<Box<dyn Signer>>, E>,
    {
        use crate::time::{ROOT_EXPIRY, SNAPSHOT_EXPIRY, TARGETS_EXPIRY};
        let local = now.fixed_offset();
        fn refs(v: &[Box<dyn Signer>]) -> Vec<&dyn Signer> {
            v.iter().map(|k| k.as_ref()).collect()
        }
        let mut files = Vec::new();
        if !legacy_root_keys.is_empty()
            || self
                .root
                .as_ref()
                .is_some_and(|r| crate::update::near_expiry(&r.signed.expires, now))
        {
            self.dirty.insert(role::ROOT.to_owned());
        }
        if self.dirty.contains(role::ROOT) {
            let mut roles = vec![self.get_base_role(role::ROOT)?];
            roles.extend(self.original_root_role.clone());
            roles.push(BaseRole {
                name: role::ROOT.to_owned(),
                keys: legacy_root_keys
                    .iter()
                    .map(|k| (k.id().to_owned(), k.clone()))
                    .collect(),
                threshold: 0,
            });
            let mut keys = Vec::new();
            for r in &roles {
                keys.extend(signers_for(r)?);
            }
            let bytes = self.sign_root(local + ROOT_EXPIRY, &refs(&keys), legacy_root_keys)?;
            files.push((role::ROOT.to_owned(), bytes));
        } else if initial {
            let root = self.root.as_ref().ok_or_else(|| not_loaded(role::ROOT))?;
            files.push((role::ROOT.to_owned(), root.to_bytes()?));
        }
        if initial && self.targets.contains_key(role::TARGETS) {
            self.dirty.insert(role::TARGETS.to_owned());
        }
        let dirty_targets: Vec<String> = self
            .dirty
            .iter()
            .filter(|r| r.as_str() == role::TARGETS || role::is_delegation(r))
            .cloned()
            .collect();
        for name in dirty_targets {
            let r = if name == role::TARGETS {
                self.get_base_role(&name)?
            } else {
                self.get_delegation_role(&name)?.base
            };
            let keys = signers_for(&r)?;
            let bytes = self.sign_targets(&name, local + TARGETS_EXPIRY, &refs(&keys))?;
            files.push((name, bytes));
        }
        let keys = signers_for(&self.get_base_role(role::SNAPSHOT)?)?;
        if !keys.is_empty() {
            if self.snapshot.is_none() {
                self.init_snapshot(local + SNAPSHOT_EXPIRY)?;
            }
            let bytes = self.sign_snapshot(local + SNAPSHOT_EXPIRY, &refs(&keys))?;
            files.push((role::SNAPSHOT.to_owned(), bytes));
        }
        Ok(files)
    }

    /// Notary's `witnessTargets`: a role that verified is re-signed as it is (a new version
    /// and expiry); a delegation that failed verification (`invalid`, e.g. expired) is taken
    /// back from there when its keys can still meet its threshold.
    pub fn witness(&mut self, invalid: &mut Repo, role_name: &str) -> Result<()> {
        if self.targets.contains_key(role_name) {
            self.dirty.insert(role_name.to_owned());
            return Ok(());
        }
        if let Ok(d) = self.get_delegation_role(role_name) {
            if d.base.threshold > d.base.keys.len() as i64 {
                return Err(invalid_role(
                    role_name,
                    "role does not specify enough valid signing keys to meet its required threshold",
                ));
            }
            if let Some(t) = invalid.targets.remove(role_name) {
                self.targets.insert(role_name.to_owned(), t);
                self.dirty.insert(role_name.to_owned());
                return Ok(());
            }
        }
        Err(invalid_role(role_name, "this role is not known"))
    }

    /// Notary's `SignRoot`: version + 1, new expiry, signed by the current root role and, after
    /// a rotation, by the root role the repository was loaded with.
    pub fn sign_root(
        &mut self,
        expires: DateTime<FixedOffset>,
        signers: &[&dyn Signer],
        extra_keys: &[PublicKey],
    ) -> Result<Vec<u8>> {
        let current = self.get_base_role(role::ROOT)?;
        let mut roles: Vec<BaseRole> = Vec::new();
        if let Some(orig) = &self.original_root_role
            && *orig != current
        {
            roles.push(orig.clone());
        }
        roles.push(current.clone());
        let mut root = self.root.clone().ok_or_else(|| not_loaded(role::ROOT))?;
        root.signed.expires = expires;
        root.signed.version = next_version(root.signed.version, role::ROOT)?;
        let refs: Vec<&BaseRole> = roles.iter().collect();
        sign_with_roles(&mut root, &refs, signers)?;
        crate::sign::sign_optional(&mut root, extra_keys, signers)?;
        let bytes = root.to_bytes()?;
        root.raw = Some(bytes.clone());
        self.root = Some(root);
        self.original_root_role = Some(current);
        self.dirty.remove(role::ROOT);
        Ok(bytes)
    }

    /// Notary's `SignTargets` for `targets` or a delegation.
    pub fn sign_targets(
        &mut self,
        name: &str,
        expires: DateTime<FixedOffset>,
        signers: &[&dyn Signer],
    ) -> Result<Vec<u8>> {
        let r = if name == role::TARGETS {
            self.get_base_role(name)?
        } else {
            self.get_delegation_role(name)?.base
        };
        let mut t = self.targets.get(name).cloned().ok_or_else(|| {
            invalid_role(name, "SignTargets called with non-existent targets role")
        })?;
        t.signed.expires = expires;
        t.signed.version = next_version(t.signed.version, name)?;
        sign_with_roles(&mut t, &[&r], signers)?;
        let bytes = t.to_bytes()?;
        t.raw = Some(bytes.clone());
        self.targets.insert(name.to_owned(), t);
        self.dirty.remove(name);
        Ok(bytes)
    }

    /// Notary's `SignSnapshot`: records the current root and every targets file, then signs.
    pub fn sign_snapshot(
        &mut self,
        expires: DateTime<FixedOffset>,
        signers: &[&dyn Signer],
    ) -> Result<Vec<u8>> {
        let r = self.get_base_role(role::SNAPSHOT)?;
        let mut s = self
            .snapshot
            .clone()
            .ok_or_else(|| not_loaded(role::SNAPSHOT))?;
        let root = self
            .root
            .as_ref()
            .ok_or_else(|| not_loaded(role::ROOT))?
            .to_bytes()?;
        s.signed
            .meta
            .insert(role::ROOT.to_owned(), FileMeta::from_bytes(&root));
        for (name, t) in &self.targets {
            s.signed
                .meta
                .insert(name.clone(), FileMeta::from_bytes(&t.to_bytes()?));
        }
        s.signed.expires = expires;
        s.signed.version = next_version(s.signed.version, role::SNAPSHOT)?;
        sign_with_roles(&mut s, &[&r], signers)?;
        let bytes = s.to_bytes()?;
        s.raw = Some(bytes.clone());
        self.snapshot = Some(s);
        self.dirty.remove(role::SNAPSHOT);
        Ok(bytes)
    }

    /// Notary's `SignTimestamp`.
    pub fn sign_timestamp(
        &mut self,
        expires: DateTime<FixedOffset>,
        signers: &[&dyn Signer],
    ) -> Result<Vec<u8>> {
        let r = self.get_base_role(role::TIMESTAMP)?;
        let snap = self
            .snapshot
            .as_ref()
            .ok_or_else(|| not_loaded(role::SNAPSHOT))?
            .to_bytes()?;
        let mut t = self
            .timestamp
            .clone()
            .ok_or_else(|| not_loaded(role::TIMESTAMP))?;
        t.signed
            .meta
            .insert(role::SNAPSHOT.to_owned(), FileMeta::from_bytes(&snap));
        t.signed.expires = expires;
        t.signed.version = next_version(t.signed.version, role::TIMESTAMP)?;
        sign_with_roles(&mut t, &[&r], signers)?;
        let bytes = t.to_bytes()?;
        t.raw = Some(bytes.clone());
        self.timestamp = Some(t);
        self.dirty.remove(role::TIMESTAMP);
        Ok(bytes)
    }
}

/// Notary's `RemoveUnusedKeys`: keys no delegation lists leave `delegations.keys`.
fn remove_unused_keys(d: &mut Delegations) {
    let used: BTreeSet<&String> = d.roles.iter().flat_map(|r| r.keyids.iter()).collect();
    let unused: Vec<String> = d
        .keys
        .keys()
        .filter(|k| !used.contains(k))
        .cloned()
        .collect();
    for k in unused {
        d.keys.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::testing::TestKey;
    use crate::store::MemoryStore;
    use crate::update::{UpdateOptions, load_tuf_repo};
    use chrono::{Duration, Utc};

    const GUN: &str = "example.com/app";

    fn base(name: &str, k: &TestKey) -> BaseRole {
        BaseRole {
            name: name.into(),
            keys: [(k.public_key().id().to_owned(), k.public_key().clone())].into(),
            threshold: 1,
        }
    }

    struct Keys {
        root: TestKey,
        targets: TestKey,
        snapshot: TestKey,
        timestamp: TestKey,
        deleg: TestKey,
    }

    fn publish(repo: &mut Repo, k: &Keys, server: &mut MemoryStore) {
        let exp = (Utc::now() + Duration::days(30)).fixed_offset();
        let all: [&dyn Signer; 5] = [&k.root, &k.targets, &k.snapshot, &k.timestamp, &k.deleg];
        let mut files = Vec::new();
        if repo.dirty.contains(role::ROOT) {
            files.push((
                role::ROOT.to_owned(),
                repo.sign_root(exp, &all, &[]).unwrap(),
            ));
            let v = repo.root.as_ref().unwrap().signed.version;
            server
                .files
                .insert(format!("{v}.root"), files.last().unwrap().1.clone());
        }
        let dirty_targets: Vec<String> = repo
            .dirty
            .iter()
            .filter(|r| r.starts_with("targets"))
            .cloned()
            .collect();
        for t in dirty_targets {
            files.push((t.clone(), repo.sign_targets(&t, exp, &all).unwrap()));
        }
        files.push((
            role::SNAPSHOT.to_owned(),
            repo.sign_snapshot(exp, &all).unwrap(),
        ));
        files.push((
            role::TIMESTAMP.to_owned(),
            repo.sign_timestamp(exp, &all).unwrap(),
        ));
        for (name, bytes) in files {
            let sha = hex::encode(crate::metadata::sha256(&bytes));
            server.files.insert(format!("{name}.{sha}"), bytes.clone());
            server.files.insert(name, bytes);
        }
    }

    fn read(server: &MemoryStore) -> crate::update::Updated {
        let opts = UpdateOptions {
            gun: GUN.into(),
            trust_pinning: Default::default(),
            always_check_initialized: false,
            now: Utc::now(),
        };
        load_tuf_repo(&opts, &mut server.clone(), &mut MemoryStore::default()).unwrap()
    }

    #[test]
    fn a_repository_built_from_scratch_is_read_back_by_the_update_loop() {
        let k = Keys {
            root: TestKey::root(GUN),
            targets: TestKey::ecdsa(),
            snapshot: TestKey::ecdsa(),
            timestamp: TestKey::ed25519(),
            deleg: TestKey::ecdsa(),
        };
        let exp = (Utc::now() + Duration::days(30)).fixed_offset();
        let mut repo = Repo::default();
        repo.init_root(
            [
                &base("root", &k.root),
                &base("targets", &k.targets),
                &base("snapshot", &k.snapshot),
                &base("timestamp", &k.timestamp),
            ],
            false,
            exp,
        );
        repo.init_targets(role::TARGETS, exp).unwrap();
        repo.init_snapshot(exp).unwrap();
        repo.init_timestamp(exp).unwrap();
        // Which keys are held is tested below; here every edit is allowed.
        let holds = |_: &str| true;
        repo.add_targets(
            role::TARGETS,
            &[("v1".to_owned(), FileMeta::from_bytes(b"one"))].into(),
            &holds,
            exp,
        )
        .unwrap();
        let mut server = MemoryStore::default();
        publish(&mut repo, &k, &mut server);
        let u = read(&server);
        assert_eq!(u.repo.root.as_ref().unwrap().signed.version, 1);
        assert_eq!(
            u.repo.targets[role::TARGETS]
                .signed
                .targets
                .keys()
                .collect::<Vec<_>>(),
            ["v1"]
        );

        // A delegation with a path, and a target placed through it.
        let upd = DelegationUpdate {
            add_keys: vec![k.deleg.public_key().clone()],
            add_paths: vec!["rel/".into()],
            threshold: 1,
            ..Default::default()
        };
        repo.update_delegation("targets/releases", &upd, &holds, exp)
            .unwrap();
        repo.add_targets(
            "targets/releases",
            &[("rel/1".to_owned(), FileMeta::from_bytes(b"r1"))].into(),
            &holds,
            exp,
        )
        .unwrap();
        assert!(
            repo.add_targets(
                "targets/releases",
                &[("other".to_owned(), FileMeta::from_bytes(b"x"))].into(),
                &holds,
                exp
            )
            .is_err(),
            "outside the delegation's paths"
        );
        publish(&mut repo, &k, &mut server);
        let u = read(&server);
        assert!(
            u.repo.targets["targets/releases"]
                .signed
                .targets
                .contains_key("rel/1")
        );
        assert_eq!(u.repo.targets[role::TARGETS].signed.version, 2);

        // Threshold above the key count is refused (stricter than Notary).
        let bad = DelegationUpdate {
            add_keys: vec![TestKey::ecdsa().public_key().clone()],
            threshold: 3,
            ..Default::default()
        };
        assert!(
            repo.update_delegation("targets/qa", &bad, &holds, exp)
                .is_err()
        );

        // Rotate the targets key: root is re-signed, the old key leaves root.keys.
        let old_targets = k.targets.public_key().id().to_owned();
        let new_targets = TestKey::ecdsa();
        repo.replace_base_keys(role::TARGETS, &[new_targets.public_key().clone()])
            .unwrap();
        assert!(
            !repo
                .root
                .as_ref()
                .unwrap()
                .signed
                .keys
                .contains_key(&old_targets)
        );
        let k2 = Keys {
            targets: new_targets,
            ..k
        };
        repo.dirty.insert(role::TARGETS.to_owned());
        publish(&mut repo, &k2, &mut server);
        let u = read(&server);
        assert_eq!(u.repo.root.as_ref().unwrap().signed.version, 2);

        // Removing targets and the delegation.
        repo.remove_targets("targets/releases", &["rel/1".to_owned()], &holds)
            .unwrap();
        repo.delete_delegation("targets/releases", &holds).unwrap();
        publish(&mut repo, &k2, &mut server);
        let u = read(&server);
        assert!(!u.repo.targets.contains_key("targets/releases"));
    }

    #[test]
    fn edits_need_a_key_of_the_role() {
        let (root, t) = (TestKey::root(GUN), TestKey::ecdsa());
        let exp = (Utc::now() + Duration::days(30)).fixed_offset();
        let mut repo = Repo::default();
        repo.init_root(
            [
                &base("root", &root),
                &base("targets", &t),
                &base("snapshot", &t),
                &base("timestamp", &t),
            ],
            false,
            exp,
        );
        repo.init_targets(role::TARGETS, exp).unwrap();
        let none = |_: &str| false;
        let e = repo
            .add_targets(
                role::TARGETS,
                &[("v".to_owned(), FileMeta::from_bytes(b"v"))].into(),
                &none,
                exp,
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("could not find necessary signing keys"),
            "{e}"
        );
        let s = repo.sign_targets(role::TARGETS, exp, &[&root]).unwrap_err();
        assert!(
            s.to_string()
                .starts_with("signing keys not available: need 1 keys from 1 possible keys"),
            "{s}"
        );
    }

    #[test]
    fn purge_removes_a_key_from_every_delegation_it_can_sign() {
        let (root, t) = (TestKey::root(GUN), TestKey::ecdsa());
        let (a, b, c) = (TestKey::ecdsa(), TestKey::ecdsa(), TestKey::ecdsa());
        let exp = (Utc::now() + Duration::days(30)).fixed_offset();
        let mut repo = Repo::default();
        repo.init_root(
            [
                &base("root", &root),
                &base("targets", &t),
                &base("snapshot", &t),
                &base("timestamp", &t),
            ],
            false,
            exp,
        );
        repo.init_targets(role::TARGETS, exp).unwrap();
        let all = |_: &str| true;
        let with = |keys: Vec<PublicKey>| DelegationUpdate {
            add_keys: keys,
            add_paths: vec![String::new()],
            threshold: 1,
            ..Default::default()
        };
        let (pa, pb, pc) = (
            a.public_key().clone(),
            b.public_key().clone(),
            c.public_key().clone(),
        );
        repo.update_delegation(
            "targets/one",
            &with(vec![pa.clone(), pb.clone()]),
            &all,
            exp,
        )
        .unwrap();
        repo.update_delegation("targets/two", &with(vec![pa.clone()]), &all, exp)
            .unwrap();
        repo.update_delegation(
            "targets/one/sub",
            &with(vec![pa.clone(), pc.clone()]),
            &all,
            exp,
        )
        .unwrap();
        repo.dirty.clear();
        assert!(
            repo.purge_delegation_keys("targets/one", &[], &all)
                .is_err()
        );

        // Without a key of targets/one, only the top-level file is purged.
        let no_one = |id: &str| id == t.public_key().id();
        let warnings = repo
            .purge_delegation_keys("targets/*", &[pa.canonical_id().to_owned()], &no_one)
            .unwrap();
        let top = &repo.targets[role::TARGETS].signed.delegations;
        assert!(!top.keys.contains_key(pa.id()));
        let keyids =
            |d: &Delegations, n: &str| d.roles.iter().find(|r| r.name == n).unwrap().keyids.clone();
        assert_eq!(keyids(top, "targets/one"), [pb.id().to_owned()]);
        assert!(keyids(top, "targets/two").is_empty());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("role targets/two has fewer keys than its threshold of 1"));
        assert!(warnings[1].starts_with("role targets/one contains keys being purged"));
        assert!(
            keyids(
                &repo.targets["targets/one"].signed.delegations,
                "targets/one/sub"
            )
            .contains(&pa.id().to_owned())
        );
        assert_eq!(repo.dirty.iter().collect::<Vec<_>>(), ["targets"]);

        // With every key, the nested file too.
        repo.purge_delegation_keys("targets/*", &[pa.canonical_id().to_owned()], &all)
            .unwrap();
        let sub = &repo.targets["targets/one"].signed.delegations;
        assert_eq!(keyids(sub, "targets/one/sub"), [pc.id().to_owned()]);
        assert!(repo.dirty.contains("targets/one"));
    }
}
