//! A repository's metadata held in memory (Notary's `tuf.Repo`), with the walks over its
//! targets tree that reading and editing both need.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::metadata::{BaseRole, DelegationRole, Root, Signed, Snapshot, Targets, Timestamp};
use crate::role;
use crate::trust::load_cert_bundle;

/// What a walk visitor asks for next.
pub enum Walk {
    /// Keep walking, into this role's delegations.
    Continue,
    /// Stop the walk successfully.
    Stop,
}

/// Verified (or locally built) metadata of one repository.
#[derive(Debug, Clone, Default)]
pub struct Repo {
    pub(crate) root: Option<Signed<Root>>,
    /// `targets` and every delegation, by role name.
    pub(crate) targets: BTreeMap<String, Signed<Targets>>,
    pub(crate) snapshot: Option<Signed<Snapshot>>,
    pub(crate) timestamp: Option<Signed<Timestamp>>,
    /// The root role as it was when root was loaded, before any edit: a changed root role
    /// means a rotation, which the old keys must also sign.
    pub(crate) original_root_role: Option<BaseRole>,
    /// Roles edited since they were loaded or last signed.
    pub(crate) dirty: std::collections::BTreeSet<String>,
}

fn not_loaded(role_name: &str) -> Error {
    Error::InvalidBuilderInput(format!("{role_name} role has not been loaded"))
}

impl Repo {
    /// The root, when loaded.
    pub fn root(&self) -> Option<&Signed<Root>> {
        self.root.as_ref()
    }

    /// `targets` or a delegation, when loaded.
    pub fn targets_role(&self, name: &str) -> Option<&Signed<Targets>> {
        self.targets.get(name)
    }

    /// Every loaded targets role (`targets` and delegations), by name.
    pub fn targets_roles(&self) -> &BTreeMap<String, Signed<Targets>> {
        &self.targets
    }

    /// The snapshot, when loaded or made.
    pub fn snapshot(&self) -> Option<&Signed<Snapshot>> {
        self.snapshot.as_ref()
    }

    /// The timestamp, when loaded or made.
    pub fn timestamp(&self) -> Option<&Signed<Timestamp>> {
        self.timestamp.as_ref()
    }

    /// The root role as it was loaded, before any edit (set once root was loaded or signed).
    pub fn original_root_role(&self) -> Option<&BaseRole> {
        self.original_root_role.as_ref()
    }

    /// Whether `role_name` was edited since it was loaded or last signed.
    pub fn is_dirty(&self, role_name: &str) -> bool {
        self.dirty.contains(role_name)
    }

    /// The roles edited since they were loaded or last signed, in name order.
    pub fn dirty_roles(&self) -> impl Iterator<Item = &str> {
        self.dirty.iter().map(String::as_str)
    }

    /// Marks `role_name` to be signed again at the next publish, even if unchanged (a root
    /// near expiry, the first publish of a repository made offline, a key rotation).
    pub fn mark_dirty(&mut self, role_name: &str) {
        self.dirty.insert(role_name.to_owned());
    }

    /// Notary's `GetBaseRole`.
    pub fn get_base_role(&self, name: &str) -> Result<BaseRole> {
        if !role::is_valid_role(name) {
            return Err(Error::InvalidRole {
                role: name.to_owned(),
                reason: "invalid base role name".into(),
            });
        }
        let root = self.root.as_ref().ok_or_else(|| not_loaded(role::ROOT))?;
        root.signed.base_role(name)
    }

    /// Notary's `GetDelegationRole`: the delegation as its parent describes it, found by walking
    /// from `targets` to the parent. Certificates among its keys must be well formed (their
    /// expiry is not checked: the role's own expiry governs).
    pub fn get_delegation_role(&self, name: &str) -> Result<DelegationRole> {
        if !role::is_delegation(name) {
            return Err(Error::InvalidRole {
                role: name.to_owned(),
                reason: "invalid delegation name".into(),
            });
        }
        let root = self.root.as_ref().ok_or_else(|| not_loaded(role::ROOT))?;
        if !root.signed.roles.contains_key(role::TARGETS)
            || !self.targets.contains_key(role::TARGETS)
        {
            return Err(not_loaded(role::TARGETS));
        }
        let mut found: Option<DelegationRole> = None;
        self.walk_targets("", role::parent(name), &[], |t, _| {
            if t.signed.delegations.roles.iter().any(|d| d.name == name) {
                let d = t.signed.delegation_role(name)?;
                for key in d.base.keys.values() {
                    if let Ok(certs) = load_cert_bundle(key.public()) {
                        certs[0].validate(false, chrono::DateTime::UNIX_EPOCH)?;
                    }
                }
                found = Some(d);
                return Ok(Walk::Stop);
            }
            Ok(Walk::Continue)
        })?;
        found.ok_or_else(|| Error::InvalidRole {
            role: name.to_owned(),
            reason: "delegation does not exist".into(),
        })
    }

    /// Notary's `WalkTargets`: breadth first from `targets`, visiting each role whose paths
    /// cover `target_path` (`""` for any) inside the subtree of `role_path` (`""` for all),
    /// skipping `skip` roles. Children enter the walk restricted to their parent's paths.
    pub fn walk_targets<'s, F>(
        &'s self,
        target_path: &str,
        role_path: &str,
        skip: &[&str],
        mut visit: F,
    ) -> Result<()>
    where
        F: FnMut(&'s Signed<Targets>, &DelegationRole) -> Result<Walk>,
    {
        let top = self.get_base_role(role::TARGETS)?;
        let mut queue = std::collections::VecDeque::from([DelegationRole::top(top)]);
        while let Some(r) = queue.pop_front() {
            let Some(t) = self.targets.get(&r.base.name) else {
                continue;
            };
            if role_path.starts_with(&format!("{}/", r.base.name)) {
                queue.extend(t.signed.valid_delegations(&r));
                continue;
            }
            let path_ok = target_path.is_empty() || r.check_paths(target_path);
            let in_subtree = role_path.is_empty()
                || role_path == r.base.name
                || r.base.name.starts_with(&format!("{role_path}/"));
            if path_ok && in_subtree && !skip.contains(&r.base.name.as_str()) {
                match visit(t, &r)? {
                    Walk::Stop => return Ok(()),
                    Walk::Continue => queue.extend(t.signed.valid_delegations(&r)),
                }
            }
        }
        Ok(())
    }
}
