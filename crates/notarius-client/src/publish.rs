//! Creating and publishing a new repository, as `notary init -p` does: root and targets (and by
//! default snapshot) keys made on the client, the timestamp key fetched from the server, version 1
//! of root, targets and snapshot signed locally and uploaded in one request.
//!
//! [`publish`] applies staged changes (targets, delegations including purges, witnesses) to an
//! existing (or new) repository, signs what changed with the keys the caller holds and uploads
//! it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use notarius_crypto::cert::root_certificate;
use notarius_crypto::handle::KeyHandle;
use notarius_crypto::keystore::KeyStoreError;
use notarius_crypto::private::{Algorithm, PrivateKey};
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
    #[error("not supported yet: {0}")]
    Unsupported(String),
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
/// new one. A key on a hardware token is listed first and signs there.
pub fn root_key(cs: &mut CryptoService) -> Result<KeyHandle, PublishError> {
    if let Some(id) = cs.list_keys(role::ROOT)?.into_iter().next() {
        return Ok(cs.signing_key(&id)?.0);
    }
    let pk = cs.create(role::ROOT, "", Algorithm::Ecdsa)?;
    Ok(cs.signing_key(pk.id())?.0)
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
    let mut repo = new_repo(remote, gun, cs, now)?;
    let all = |_: &str| true;
    repo.add_targets(
        role::TARGETS,
        targets,
        &all,
        now.fixed_offset() + TARGETS_EXPIRY,
    )?;
    sign_dirty_and_upload(&mut repo, cs, remote, now)
}

/// A private key (in memory or on a token) presented under the public key its role lists (a
/// root key under its certificate, any other key under itself).
pub struct HeldKey {
    pub key: KeyHandle,
    pub public: PublicKey,
}

impl Signer for HeldKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign(&self, msg: &[u8]) -> notarius_tuf::Result<(String, Vec<u8>)> {
        self.key.sign(msg)
    }
}

/// The keys of `role` that the caller holds. A key that cannot be had is left out, except when
/// a hardware token that lists it fails: that is the error (SG-11).
fn held_keys(cs: &mut CryptoService, role: &BaseRole) -> Result<Vec<HeldKey>, PublishError> {
    let mut held = Vec::new();
    for pk in role.keys.values() {
        match cs.signing_key(pk.canonical_id()) {
            Ok((key, _)) => held.push(HeldKey {
                key,
                public: pk.clone(),
            }),
            Err(e @ KeyStoreError::Token(_)) => return Err(e.into()),
            Err(_) => {}
        }
    }
    Ok(held)
}

/// Applies `changes` (target additions and removals) to the repository of `gun` and publishes
/// the result. A repository the server does not know is created first, as Notary does. Returns
/// the change files that were applied, for the caller to clear once it has the result.
pub fn publish(
    remote: &mut HttpRemote,
    cache: &mut dyn notarius_tuf::store::MetadataCache,
    gun: &Gun,
    cs: &mut CryptoService,
    changes: &[crate::changelist::StoredChange],
    trust_pinning: notarius_tuf::trust::TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<Vec<String>, PublishError> {
    use crate::changelist::{
        ACTION_CREATE, ACTION_DELETE, ACTION_UPDATE, TYPE_DELEGATION, TYPE_TARGET,
    };
    let opts = notarius_tuf::update::UpdateOptions {
        gun: gun.to_string(),
        trust_pinning,
        always_check_initialized: true,
        now,
    };
    let local = now.fixed_offset();
    // What the update verifies is written to the cache only once the publish succeeded: a
    // failed publish leaves the trust directory exactly as it was.
    let mut overlay = OverlayCache {
        base: cache,
        pending: BTreeMap::new(),
    };
    let (mut repo, mut invalid) =
        match notarius_tuf::update::load_tuf_repo(&opts, remote, &mut overlay) {
            Ok(u) => (u.repo, u.invalid),
            Err(notarius_tuf::Error::RepositoryNotExist { .. }) => {
                (new_repo(remote, gun, cs, now)?, Repo::default())
            }
            Err(e) => return Err(e.into()),
        };
    let held: Vec<String> = cs.list_all_keys()?.into_keys().collect();
    let has_key = |id: &str| held.iter().any(|h| h == id);
    let mut applied = Vec::new();
    for c in changes {
        let ch = &c.change;
        match (ch.change_type.as_str(), ch.action.as_str()) {
            (TYPE_TARGET, ACTION_CREATE) => {
                let meta: FileMeta = serde_json::from_slice(ch.data.as_deref().unwrap_or_default())
                    .map_err(|e| PublishError::Unsupported(format!("change {}: {e}", c.file)))?;
                repo.add_targets(
                    &ch.role,
                    &BTreeMap::from([(ch.path.clone(), meta)]),
                    &has_key,
                    local + TARGETS_EXPIRY,
                )?;
            }
            (TYPE_TARGET, ACTION_DELETE) => {
                repo.remove_targets(&ch.role, std::slice::from_ref(&ch.path), &has_key)?
            }
            (TYPE_DELEGATION, ACTION_CREATE | ACTION_UPDATE) => {
                let td: crate::changelist::TufDelegation = serde_json::from_slice(
                    ch.data.as_deref().unwrap_or_default(),
                )
                .map_err(|e| PublishError::Unsupported(format!("change {}: {e}", c.file)))?;
                if ch.action == ACTION_UPDATE && role::is_wild_delegation(&ch.role) {
                    for w in repo.purge_delegation_keys(&ch.role, &td.remove_keys, &has_key)? {
                        eprintln!("{w}");
                    }
                    applied.push(c.file.clone());
                    continue;
                }
                if ch.action == ACTION_UPDATE {
                    // Notary's update needs the role to exist already.
                    repo.get_delegation_role(&ch.role)?;
                }
                let update = notarius_tuf::repo_edit::DelegationUpdate {
                    add_keys: td.add_keys,
                    remove_keys: td.remove_keys,
                    add_paths: td.add_paths,
                    remove_paths: td.remove_paths,
                    clear_paths: td.clear_paths,
                    threshold: if td.threshold == 0 { 1 } else { td.threshold },
                };
                repo.update_delegation(&ch.role, &update, &has_key, local + TARGETS_EXPIRY)?;
                if let Ok(d) = repo.get_delegation_role(&ch.role)
                    && (d.base.keys.len() as i64) < d.base.threshold
                {
                    eprintln!(
                        "role {} has fewer keys than its threshold of {}; it will not be usable until keys are added to it",
                        ch.role, d.base.threshold
                    );
                }
            }
            (TYPE_DELEGATION, ACTION_DELETE) => repo.delete_delegation(&ch.role, &has_key)?,
            (crate::changelist::TYPE_WITNESS, _) => witness(&mut repo, &mut invalid, &ch.role)?,
            (t, a) => return Err(PublishError::Unsupported(format!("{a} of {t} changes"))),
        }
        applied.push(c.file.clone());
    }

    sign_dirty_and_upload(&mut repo, cs, remote, now)?;
    overlay.commit();
    Ok(applied)
}

/// Notary's `witnessTargets`: a valid role is re-signed as it is (new version, new expiry); a
/// delegation that failed verification (expired, say) is taken back if its keys can meet its
/// threshold.
fn witness(repo: &mut Repo, invalid: &mut Repo, role_name: &str) -> Result<(), PublishError> {
    if repo.targets.contains_key(role_name) {
        repo.dirty.insert(role_name.to_owned());
        return Ok(());
    }
    if let Ok(d) = repo.get_delegation_role(role_name) {
        if d.base.threshold > d.base.keys.len() as i64 {
            return Err(notarius_tuf::Error::InvalidRole {
                role: role_name.to_owned(),
                reason:
                    "role does not specify enough valid signing keys to meet its required threshold"
                        .into(),
            }
            .into());
        }
        if let Some(t) = invalid.targets.remove(role_name) {
            repo.targets.insert(role_name.to_owned(), t);
            repo.dirty.insert(role_name.to_owned());
            return Ok(());
        }
    }
    Err(notarius_tuf::Error::InvalidRole {
        role: role_name.to_owned(),
        reason: "this role is not known".into(),
    }
    .into())
}

/// A cache whose writes wait in memory until [`commit`](Self::commit).
struct OverlayCache<'a> {
    base: &'a mut dyn notarius_tuf::store::MetadataCache,
    /// `None` marks a removal.
    pending: BTreeMap<String, Option<Vec<u8>>>,
}

impl OverlayCache<'_> {
    /// Writes what is pending; a failed write only loses a cache entry, which the next update
    /// fetches again.
    fn commit(self) {
        for (name, v) in self.pending {
            let _ = match v {
                Some(b) => self.base.set(&name, &b),
                None => self.base.remove(&name),
            };
        }
    }
}

impl notarius_tuf::store::MetadataCache for OverlayCache<'_> {
    fn get_sized(&self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        match self.pending.get(name) {
            Some(Some(b))
                if b.len() as u64 > size.unwrap_or(notarius_tuf::store::MAX_DOWNLOAD_SIZE) =>
            {
                Err(StoreError::MaliciousServer)
            }
            Some(Some(b)) => Ok(b.clone()),
            Some(None) => Err(StoreError::MetaNotFound {
                resource: name.to_owned(),
            }),
            None => self.base.get_sized(name, size),
        }
    }
    fn set(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.pending.insert(name.to_owned(), Some(bytes.to_vec()));
        Ok(())
    }
    fn remove(&mut self, name: &str) -> Result<(), StoreError> {
        self.pending.insert(name.to_owned(), None);
        Ok(())
    }
}

/// A new repository's metadata, not yet signed: keys as `notary init` makes them.
fn new_repo(
    remote: &HttpRemote,
    gun: &Gun,
    cs: &mut CryptoService,
    now: DateTime<Utc>,
) -> Result<Repo, PublishError> {
    let root = root_key(cs)?;
    let not_before = time::OffsetDateTime::from_unix_timestamp(now.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let cert = root_certificate(&root, gun.as_str(), not_before)?;
    let targets_pub = cs.create(role::TARGETS, gun.as_str(), Algorithm::Ecdsa)?;
    let snapshot_pub = cs.create(role::SNAPSHOT, gun.as_str(), Algorithm::Ecdsa)?;
    let timestamp_pub = parse_server_key(role::TIMESTAMP, &remote.get_key(role::TIMESTAMP)?)?;
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
    Ok(repo)
}

/// Signs every role the edits touched (root, targets roles, and snapshot when the client holds
/// its key) with the keys held, and uploads them in one request. Returns what was uploaded.
fn sign_dirty_and_upload(
    repo: &mut Repo,
    cs: &mut CryptoService,
    remote: &HttpRemote,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Vec<u8>)>, PublishError> {
    let local = now.fixed_offset();
    let mut files = Vec::new();
    // Notary's `signRootIfNecessary`: a root within six months of expiry is re-signed with
    // every publish, so a repository in use never lets its root lapse.
    if repo
        .root
        .as_ref()
        .is_some_and(|r| notarius_tuf::update::near_expiry(&r.signed.expires, now))
    {
        repo.dirty.insert(role::ROOT.to_owned());
    }
    if repo.dirty.contains(role::ROOT) {
        let mut roles = vec![repo.get_base_role(role::ROOT)?];
        roles.extend(repo.original_root_role.clone());
        let mut keys: Vec<HeldKey> = Vec::new();
        for r in &roles {
            keys.extend(held_keys(cs, r)?);
        }
        let signers: Vec<&dyn Signer> = keys.iter().map(|k| k as &dyn Signer).collect();
        files.push((
            role::ROOT.to_owned(),
            repo.sign_root(local + ROOT_EXPIRY, &signers)?,
        ));
    }
    let dirty_targets: Vec<String> = repo
        .dirty
        .iter()
        .filter(|r| r.as_str() == role::TARGETS || role::is_delegation(r))
        .cloned()
        .collect();
    for name in dirty_targets {
        let r = if name == role::TARGETS {
            repo.get_base_role(&name)?
        } else {
            repo.get_delegation_role(&name)?.base
        };
        let keys = held_keys(cs, &r)?;
        let signers: Vec<&dyn Signer> = keys.iter().map(|k| k as &dyn Signer).collect();
        files.push((
            name.clone(),
            repo.sign_targets(&name, local + TARGETS_EXPIRY, &signers)?,
        ));
    }
    // The snapshot is signed here only when the client holds its key; otherwise the server
    // signs it (Docker's default).
    let snapshot_keys = held_keys(cs, &repo.get_base_role(role::SNAPSHOT)?)?;
    if !snapshot_keys.is_empty() {
        if repo.snapshot.is_none() {
            repo.init_snapshot(local + SNAPSHOT_EXPIRY)?;
        }
        let signers: Vec<&dyn Signer> = snapshot_keys.iter().map(|k| k as &dyn Signer).collect();
        files.push((
            role::SNAPSHOT.to_owned(),
            repo.sign_snapshot(local + SNAPSHOT_EXPIRY, &signers)?,
        ));
    }
    remote.set_multi(&files)?;
    Ok(files)
}

/// Notary's `RotateKey`: a new key for `role` — made here, or by the server when
/// `server_managed` — put into root and published at once (only the rotation, not staged
/// changes). Root rotations are signed by the old and the new root key.
#[allow(
    clippy::too_many_arguments,
    reason = "the stores, the key service and the rotation asked for"
)]
pub fn rotate_key(
    remote: &mut HttpRemote,
    cache: &mut dyn notarius_tuf::store::MetadataCache,
    gun: &Gun,
    cs: &mut CryptoService,
    role_name: &str,
    server_managed: bool,
    trust_pinning: notarius_tuf::trust::TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<(), PublishError> {
    match (role_name, server_managed) {
        (role::TIMESTAMP, false) => {
            return Err(PublishError::Unsupported(format!(
                "notary does not permit the client managing the {role_name} key"
            )));
        }
        (role::ROOT | role::TARGETS, true) => {
            return Err(PublishError::Unsupported(format!(
                "notary does not permit the server managing the {role_name} key"
            )));
        }
        (role::ROOT | role::TARGETS | role::SNAPSHOT | role::TIMESTAMP, _) => {}
        _ => {
            return Err(PublishError::Unsupported(format!(
                "invalid role {role_name}"
            )));
        }
    }
    let opts = notarius_tuf::update::UpdateOptions {
        gun: gun.to_string(),
        trust_pinning,
        always_check_initialized: true,
        now,
    };
    let mut overlay = OverlayCache {
        base: cache,
        pending: BTreeMap::new(),
    };
    let mut repo = notarius_tuf::update::load_tuf_repo(&opts, remote, &mut overlay)?.repo;
    let old_ids: Vec<String> = repo
        .get_base_role(role_name)?
        .keys
        .values()
        .map(|k| k.canonical_id().to_owned())
        .collect();
    let new_key = if server_managed {
        parse_server_key(role_name, &remote.rotate_key(role_name)?)?
    } else if role_name == role::ROOT {
        let key = PrivateKey::generate(Algorithm::Ecdsa)?;
        cs.add_key(role::ROOT, "", &key)?;
        let not_before = time::OffsetDateTime::from_unix_timestamp(now.timestamp())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        root_certificate(&key, gun.as_str(), not_before)?
    } else {
        cs.create(role_name, gun.as_str(), Algorithm::Ecdsa)?
    };
    repo.replace_base_keys(role_name, std::slice::from_ref(&new_key))?;
    if role_name == role::TARGETS {
        // The targets file must be signed by its new key.
        repo.dirty.insert(role::TARGETS.to_owned());
    }
    sign_dirty_and_upload(&mut repo, cs, remote, now)?;
    overlay.commit();
    // A key handed to the server is no longer needed here (Notary deletes it too).
    if server_managed {
        for id in old_ids {
            let _ = cs.remove_key(&id);
        }
    }
    Ok(())
}
