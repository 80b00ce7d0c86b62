//! The client's update: from a cached state and a remote, reach a verified repository
//! (Notary's `client/tufclient.go`).
//!
//! The order and the fallbacks are Notary's: bootstrap the root (cache, else remote with trust
//! pinning), then timestamp (falling back to an unexpired cached one when the server cannot be
//! reached), snapshot and the targets tree (cache when its hashes match, else download by
//! checksum), and on any failure refresh the root — walking `N.root.json` one version at a time
//! when it rotated — and try once more. Beyond Notary, a root walk longer than
//! [`MAX_ROOT_ROTATIONS`] versions and a targets walk of more than [`MAX_TARGETS_ROLES`] roles
//! are refused, so a hostile server cannot keep a client busy forever.

use std::collections::BTreeMap;

use crate::builder::RepoBuilder;
use crate::error::{Error, Result};
use crate::metadata::{DelegationRole, Envelope, Root, Targets};
use crate::repo::Repo;
use crate::role;
use crate::store::{MAX_TIMESTAMP_SIZE, MetadataCache, NO_SIZE_LIMIT, RemoteStore, StoreError};
use crate::time::Instant;
use crate::trust::TrustPinConfig;

/// The most root versions one update will walk through.
pub const MAX_ROOT_ROTATIONS: i64 = 1024;
/// The most targets roles (top-level plus delegations) one update will load.
pub const MAX_TARGETS_ROLES: usize = 100_000;

/// What an update needs besides the stores.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    pub gun: String,
    pub trust_pinning: TrustPinConfig,
    /// Fetch the remote root even when a cached one is usable (publishing checks that the
    /// repository exists remotely).
    pub always_check_initialized: bool,
    /// The time every expiry is judged against.
    pub now: Instant,
}

/// The outcome of an update: the verified repository, the delegations that were skipped
/// because they were invalid, and warnings to show the user.
#[derive(Debug)]
pub struct Updated {
    pub repo: Repo,
    pub invalid: Repo,
    pub warnings: Vec<String>,
    /// The delegations left out because they were expired or under-signed, with why: a
    /// caller that finds nothing where it looked can say which role failed instead.
    pub skipped: Vec<(String, Error)>,
}

struct Client<'a> {
    remote: &'a mut dyn RemoteStore,
    cache: &'a mut dyn MetadataCache,
    old_builder: RepoBuilder,
    new_builder: RepoBuilder,
    now: Instant,
    warnings: Vec<String>,
    skipped: Vec<(String, Error)>,
    /// The roles the snapshot this trust dir held before the update listed: one of them that
    /// is still delegated may not vanish from the new snapshot.
    /// The new root changed the timestamp or snapshot keys: the cached timestamp and snapshot
    /// set no rollback floor (TUF 5.3.11: they are deleted), so a timestamp fast-forwarded by
    /// the old key does not lock the role out.
    keys_rotated: bool,
    /// Read once: a retry after a root refresh sees this update's own new snapshot.
    trusted_snapshot_roles: Option<std::collections::BTreeSet<String>>,
    /// The bytes of the last download that failed to load (Go returns them with the error).
    last_download: Option<Vec<u8>>,
}

/// Notary's `LoadTUFRepo`, all or nothing for the cache: what the update verified is written to
/// `cache` only once the whole update has verified. Notary writes each file as it is verified,
/// so an update that then fails (a rolled-back snapshot after a new timestamp, a bad signature
/// further down) has already moved the trust directory (QUIRKS; catalogue CV-17, CV-50, INV-C).
pub fn load_tuf_repo(
    opts: &UpdateOptions,
    remote: &mut dyn RemoteStore,
    cache: &mut dyn MetadataCache,
) -> Result<Updated> {
    let mut staged = Staged {
        base: cache,
        pending: BTreeMap::new(),
    };
    let updated = load_tuf_repo_staged(opts, remote, &mut staged)?;
    // Notary only logs a failed cache write; so do we (the data is verified either way, and
    // the next update fetches what did not land).
    for (name, bytes) in staged.pending {
        let _ = match bytes {
            Some(b) => staged.base.set(&name, &b),
            None => staged.base.remove(&name),
        };
    }
    Ok(updated)
}

/// The `signed.version` of a cached file (0 when it has none).
fn cached_version(bytes: &[u8]) -> i64 {
    #[derive(serde::Deserialize)]
    struct Signed {
        version: i64,
    }
    #[derive(serde::Deserialize)]
    struct File {
        signed: Signed,
    }
    serde_json::from_slice::<File>(bytes).map_or(0, |f| f.signed.version)
}

/// The update's view of the cache: reads see its own pending writes first.
struct Staged<'a> {
    base: &'a mut dyn MetadataCache,
    /// `None` marks a removal.
    pending: BTreeMap<String, Option<Vec<u8>>>,
}

impl MetadataCache for Staged<'_> {
    fn get_sized(&self, name: &str, size: Option<u64>) -> std::result::Result<Vec<u8>, StoreError> {
        match self.pending.get(name) {
            Some(Some(b)) if b.len() as u64 > crate::store::read_limit(size) => {
                Err(StoreError::MaliciousServer)
            }
            Some(Some(b)) => Ok(b.clone()),
            Some(None) => Err(StoreError::MetaNotFound {
                resource: name.to_owned(),
            }),
            None => self.base.get_sized(name, size),
        }
    }
    fn set(&mut self, name: &str, bytes: &[u8]) -> std::result::Result<(), StoreError> {
        self.pending.insert(name.to_owned(), Some(bytes.to_vec()));
        Ok(())
    }
    fn remove(&mut self, name: &str) -> std::result::Result<(), StoreError> {
        self.pending.insert(name.to_owned(), None);
        Ok(())
    }
}

fn load_tuf_repo_staged(
    opts: &UpdateOptions,
    remote: &mut dyn RemoteStore,
    cache: &mut dyn MetadataCache,
) -> Result<Updated> {
    let location = remote.location();
    let not_exist = |gun: &str| Error::RepositoryNotExist {
        remote: location.clone(),
        gun: gun.to_owned(),
    };
    let mut client = match bootstrap(opts, remote, cache) {
        Ok(c) => c,
        Err(Error::Store(StoreError::MetaNotFound { .. })) => return Err(not_exist(&opts.gun)),
        Err(e) => return Err(e),
    };
    match client.update() {
        Ok(()) => {}
        Err(Error::Store(StoreError::MetaNotFound { resource })) if is_root_resource(&resource) => {
            return Err(not_exist(&opts.gun));
        }
        Err(e) => return Err(e),
    }
    let (repo, invalid) = client.new_builder.finish()?;
    let mut warnings = client.warnings;
    warnings.extend(near_expiry_warnings(&repo, opts.now));
    Ok(Updated {
        repo,
        invalid,
        warnings,
        skipped: client.skipped,
    })
}

/// Notary's `nearExpiry`: expires within six months of `now`.
pub fn near_expiry(expires: &chrono::DateTime<chrono::FixedOffset>, now: Instant) -> bool {
    let plus6mo = now
        .checked_add_months(chrono::Months::new(6))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    *expires < plus6mo
}

/// Notary's `warnRolesNearExpiry`, after every update (timestamp is the server's business).
pub fn near_expiry_warnings(repo: &Repo, now: Instant) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = &repo.root
        && near_expiry(&r.signed.expires, now)
    {
        out.push("root is nearing expiry, you should re-sign the role metadata".to_owned());
    }
    for (name, t) in &repo.targets {
        if near_expiry(&t.signed.expires, now) {
            out.push(format!(
                "{name} metadata is nearing expiry, you should re-sign the role metadata"
            ));
        }
    }
    if let Some(s) = &repo.snapshot
        && near_expiry(&s.signed.expires, now)
    {
        out.push("snapshot is nearing expiry, you should re-sign the role metadata".to_owned());
    }
    out
}

/// Go matches `\.?root\.?` against the resource name.
fn is_root_resource(resource: &str) -> bool {
    resource.contains("root")
}

fn bootstrap<'a>(
    opts: &UpdateOptions,
    remote: &'a mut dyn RemoteStore,
    cache: &'a mut dyn MetadataCache,
) -> Result<Client<'a>> {
    let now = opts.now;
    let mut min_version = 1;
    let mut old_builder = RepoBuilder::new(&opts.gun, TrustPinConfig::default());
    let mut new_builder = RepoBuilder::new(&opts.gun, opts.trust_pinning.clone());

    if let Ok(root_json) = cache.get_sized(role::ROOT, NO_SIZE_LIMIT) {
        // A cached root that cannot even be parsed and verified is fatal: silently going back to
        // trust on first use would defeat pinning (CV-49).
        old_builder.load(role::ROOT, &root_json, min_version, true, now)?;
        // A trusted, unexpired cached root needs no pinning; an expired one becomes the
        // previous root for a rotation check under the configured pinning.
        new_builder = RepoBuilder::new(&opts.gun, TrustPinConfig::default());
        if new_builder
            .load(role::ROOT, &root_json, min_version, false, now)
            .is_err()
        {
            min_version = old_builder.get_loaded_version(role::ROOT);
            new_builder =
                old_builder.bootstrap_new_builder_with_new_trustpin(opts.trust_pinning.clone());
        }
    }

    if !new_builder.is_loaded(role::ROOT) || opts.always_check_initialized {
        let tmp = remote.get_sized(role::ROOT, NO_SIZE_LIMIT)?;
        if !new_builder.is_loaded(role::ROOT) {
            new_builder.load(role::ROOT, &tmp, min_version, false, now)?;
            // Notary only logs a failed cache write; so do we (the data is verified either way).
            let _ = cache.set(role::ROOT, &tmp);
        }
    }
    if !new_builder.is_loaded(role::ROOT) {
        return Err(Error::RepoNotInitialized);
    }
    Ok(Client {
        remote,
        cache,
        old_builder,
        new_builder,
        now,
        warnings: Vec::new(),
        skipped: Vec::new(),
        trusted_snapshot_roles: None,
        keys_rotated: false,
        last_download: None,
    })
}

impl Client<'_> {
    fn update(&mut self) -> Result<()> {
        if self.update_once().is_err() {
            self.new_builder = self.new_builder.bootstrap_new_builder();
            self.update_root()?;
            self.update_once()?;
        }
        Ok(())
    }

    fn update_once(&mut self) -> Result<()> {
        self.download_timestamp()?;
        self.download_snapshot()?;
        self.download_targets()
    }

    fn update_root(&mut self) -> Result<()> {
        self.walk_root()?;
        let keys = |b: &RepoBuilder, r: &str| {
            b.loaded_root()
                .and_then(|root| root.roles.get(r))
                .map(|role| {
                    let mut ids = role.keyids.clone();
                    ids.sort();
                    ids
                })
        };
        self.keys_rotated = [role::TIMESTAMP, role::SNAPSHOT]
            .iter()
            .any(|r| keys(&self.old_builder, r) != keys(&self.new_builder, r));
        Ok(())
    }

    fn walk_root(&mut self) -> Result<()> {
        let current_version = self.old_builder.get_loaded_version(role::ROOT);
        let raw = match self.download_root() {
            (_, Ok(())) => return Ok(()),
            (Some(raw), Err(Error::RootRotationFail(_))) => raw,
            (_, Err(e)) => return Err(e),
        };
        let current_raw = self.cache.get_sized(role::ROOT, NO_SIZE_LIMIT)?;
        self.new_builder
            .load_root_for_update(&current_raw, current_version, false, self.now)?;

        let newest: Root = Envelope::parse(role::ROOT, &raw)?.decode(role::ROOT)?;
        let newest_version = newest.version;
        if newest_version.saturating_sub(current_version) > MAX_ROOT_ROTATIONS {
            return Err(Error::RootRotationFail(format!(
                "root version {newest_version} is more than {MAX_ROOT_ROTATIONS} versions ahead of trusted version {current_version}"
            )));
        }
        for v in (current_version + 1)..newest_version {
            let name = format!("{v}.{}", role::ROOT);
            let bytes = self.remote.get_sized(&name, NO_SIZE_LIMIT)?;
            // Each step exactly one version on (Notary checks only "at least v", so a file that
            // skips ahead would shorten the walk past roots that were never checked).
            let step: Root = Envelope::parse(role::ROOT, &bytes)?.decode(role::ROOT)?;
            if step.version != v {
                return Err(Error::RootRotationFail(format!(
                    "{name}.json says it is root version {}, not {v}",
                    step.version
                )));
            }
            self.new_builder
                .load_root_for_update(&bytes, v, false, self.now)?;
        }
        self.new_builder
            .load_root_for_update(&raw, newest_version, true, self.now)?;
        let _ = self.cache.set(role::ROOT, &raw);
        Ok(())
    }

    fn download_timestamp(&mut self) -> Result<()> {
        let r = role::TIMESTAMP;
        let cached = self.cache.get_sized(r, Some(MAX_TIMESTAMP_SIZE));
        let remote_err = match self
            .try_load_remote(r, cached.as_ref().ok().map(Vec::as_slice))
            .1
        {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let fallback = matches!(&remote_err, Error::Store(s) if s.allows_cache_fallback());
        if !fallback {
            return Err(remote_err);
        }
        let Ok(cached) = cached else {
            return Err(remote_err);
        };
        self.warnings.push(
            "Error while downloading remote metadata, using cached timestamp - this might not be the latest version available remotely"
                .to_owned(),
        );
        self.new_builder.load(r, &cached, 1, false, self.now)
    }

    fn download_snapshot(&mut self) -> Result<()> {
        // What the cached snapshot (verified when it was cached) listed, before the new one
        // replaces it in this update's view of the cache.
        if self.trusted_snapshot_roles.is_none() {
            self.trusted_snapshot_roles = Some(
                self.cache
                    .get_sized(role::SNAPSHOT, NO_SIZE_LIMIT)
                    .ok()
                    .and_then(|b| {
                        Envelope::parse(role::SNAPSHOT, &b)
                            .and_then(|e| e.decode::<crate::metadata::Snapshot>(role::SNAPSHOT))
                            .ok()
                    })
                    .map(|old| old.meta.into_keys().collect())
                    .unwrap_or_default(),
            );
        }
        self.try_load_cache_then_remote(role::SNAPSHOT).map(|_| ())
    }

    fn download_targets(&mut self) -> Result<()> {
        let mut to_download: std::collections::VecDeque<DelegationRole> =
            std::collections::VecDeque::new();
        to_download.push_back(DelegationRole {
            base: crate::metadata::BaseRole {
                name: role::TARGETS.to_owned(),
                keys: Default::default(),
                threshold: 0,
            },
            paths: vec![String::new()],
        });
        let mut visited = 0usize;
        while let Some(r) = to_download.pop_front() {
            visited += 1;
            if visited > MAX_TARGETS_ROLES {
                return Err(Error::InvalidMetadata {
                    role: role::TARGETS.to_owned(),
                    msg: format!("more than {MAX_TARGETS_ROLES} targets roles to load"),
                });
            }
            let info = self.new_builder.get_consistent_info(&r.base.name);
            if !info.checksum_known() {
                // Never published (Notary skips it); but a role the trusted snapshot listed
                // and its parent still delegates to cannot silently drop out: that is a
                // rollback of the snapshot hiding it (catalogue CV-19).
                if self
                    .trusted_snapshot_roles
                    .as_ref()
                    .is_some_and(|t| t.contains(&r.base.name))
                {
                    return Err(Error::InvalidMetadata {
                        role: role::SNAPSHOT.to_owned(),
                        msg: format!(
                            "it no longer lists {}, which the trusted snapshot listed and {} still delegates to",
                            r.base.name,
                            role::parent(&r.base.name)
                        ),
                    });
                }
                continue;
            }
            match self.get_targets_file(&r) {
                Ok(children) => {
                    // Depth first: children go in front, in the order they are listed.
                    for c in children.into_iter().rev() {
                        to_download.push_front(c);
                    }
                }
                Err(e @ (Error::Expired { .. } | Error::RoleThreshold { .. })) => {
                    if r.base.name == role::TARGETS {
                        return Err(e);
                    }
                    self.warnings
                        .push(format!("Error getting {}: {e}", r.base.name));
                    self.skipped.push((r.base.name.clone(), e));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn get_targets_file(&mut self, r: &DelegationRole) -> Result<Vec<DelegationRole>> {
        let raw = self.try_load_cache_then_remote(&r.base.name)?;
        // The builder has just loaded and verified these bytes: its copy gives the delegation
        // list without a second parse (which was a third of a cold `list` of 10,000 targets).
        if let Some(t) = self.new_builder.loaded_targets(&r.base.name) {
            return Ok(t.valid_delegations(r));
        }
        let targets: Targets = Envelope::parse(&r.base.name, &raw)?.decode(&r.base.name)?;
        Ok(targets.valid_delegations(r))
    }

    /// The root from the server, and whether it loaded; the bytes come back even when they
    /// failed, because a failed rotation needs them.
    fn download_root(&mut self) -> (Option<Vec<u8>>, Result<()>) {
        let r = role::ROOT;
        let info = self.new_builder.get_consistent_info(r);
        if !info.checksum_known() {
            let cached = self.cache.get_sized(r, NO_SIZE_LIMIT).ok();
            return self.try_load_remote(r, cached.as_deref());
        }
        match self.try_load_cache_then_remote(r) {
            Ok(raw) => (Some(raw), Ok(())),
            Err(e) => (self.last_download.take(), Err(e)),
        }
    }

    fn try_load_cache_then_remote(&mut self, role_name: &str) -> Result<Vec<u8>> {
        let info = self.new_builder.get_consistent_info(role_name);
        let cached = match self.cache.get_sized(role_name, info.length()) {
            Ok(c) => c,
            Err(_) => {
                // Longer than the new snapshot says (or missing): not the current file, but
                // still the rollback floor for the one downloaded.
                let old = self.cache.get_sized(role_name, NO_SIZE_LIMIT).ok();
                return self.remote_bytes(role_name, old.as_deref());
            }
        };
        if self
            .new_builder
            .load(role_name, &cached, 1, false, self.now)
            .is_ok()
        {
            return Ok(cached);
        }
        self.remote_bytes(role_name, Some(&cached))
    }

    fn remote_bytes(&mut self, role_name: &str, old: Option<&[u8]>) -> Result<Vec<u8>> {
        let (raw, result) = self.try_load_remote(role_name, old);
        self.last_download = raw.clone();
        result.map(|()| raw.unwrap_or_default())
    }

    /// Notary's `tryLoadRemote`: download by consistent name within the known length, load with
    /// the cached copy's version as the rollback floor, and cache what verified.
    fn try_load_remote(
        &mut self,
        role_name: &str,
        old: Option<&[u8]>,
    ) -> (Option<Vec<u8>>, Result<()>) {
        let info = self.new_builder.get_consistent_info(role_name);
        let name = info.consistent_name();
        let raw = match self.remote.get_sized(&name, info.length()) {
            Ok(r) => r,
            Err(e) => return (old.map(<[u8]>::to_vec), Err(e.into())),
        };
        // The cached copy, expired or not, sets the rollback floor.
        let floor_cleared =
            self.keys_rotated && (role_name == role::TIMESTAMP || role_name == role::SNAPSHOT);
        let mut min_version = if floor_cleared {
            1
        } else {
            self.old_builder.get_loaded_version(role_name)
        };
        if let Some(old) = old.filter(|_| !floor_cleared) {
            let _ = self.old_builder.load(role_name, old, 1, true, self.now);
            // The old builder cannot load a delegation whose parent it does not hold (the
            // parent came from the cache this time), and Notary's floor is then 1: a server
            // could roll a delegation back. The cached copy was verified when it was written;
            // its version is the floor either way (catalogue CV-19).
            min_version = if self.old_builder.is_loaded(role_name) {
                self.old_builder.get_loaded_version(role_name)
            } else {
                cached_version(old).max(1)
            };
        }
        if let Err(e) = self
            .new_builder
            .load(role_name, &raw, min_version, false, self.now)
        {
            return (Some(raw), Err(e));
        }
        let _ = self.cache.set(role_name, &raw);
        (Some(raw), Ok(()))
    }
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
