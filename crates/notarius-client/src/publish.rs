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
    /// A rotation's new key could not be had (Notary's `unable to …` messages).
    #[error("{0}")]
    Rotate(String),
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

/// The root key, and the certificate for it, that `init --rootkey`/`--rootcert` chose for a
/// repository the server does not have yet (Notary's `InitializeWithCertificate`); used when the
/// first publish creates the repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RootChoice {
    /// Canonical ID of the root private key.
    pub key_id: String,
    /// The certificate (PEM) to list for it in root.json; `None` makes one as `init` does.
    pub certificate: Option<String>,
}

impl RootChoice {
    /// The root role's public key: the given certificate, or a new one for the key.
    fn public_key(
        &self,
        key: &KeyHandle,
        gun: &Gun,
        now: DateTime<Utc>,
    ) -> Result<PublicKey, PublishError> {
        match &self.certificate {
            Some(pem) => root_cert_key(pem.as_bytes()).map_err(PublishError::Unsupported),
            None => Ok(root_certificate(key, gun.as_str(), go_time(now))?),
        }
    }
}

/// Notary's `importRootCert` from the bytes of a certificate file: the first PEM block, parsed
/// as an X.509 certificate, as an `ecdsa-x509`/`rsa-x509` key (`CertToKey`).
pub fn root_cert_key(pem: &[u8]) -> Result<PublicKey, String> {
    let Some((block, _)) = notarius_crypto::gopem::decode(pem) else {
        return Err("the provided file does not contain a valid PEM certificate <nil>".into());
    };
    let cert = notarius_tuf::trust::Cert::parse(&block.bytes)
        .map_err(|e| format!("Parsing certificate PEM bytes to x509 certificate: {e}"))?;
    notarius_tuf::trust::cert_bundle_to_key(&cert, &[])
        .ok_or_else(|| "certificate key type is not supported for root keys".to_owned())
}

fn go_time(now: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(now.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
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
    let mut repo = new_repo(remote, gun, cs, None, &Default::default(), now)?;
    let all = |_: &str| true;
    repo.add_targets(
        role::TARGETS,
        targets,
        &all,
        now.fixed_offset() + TARGETS_EXPIRY,
    )?;
    sign_dirty_and_upload(&mut repo, cs, remote, &[], now)
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
/// `root_choice` is what `init --rootkey/--rootcert` chose for a repository not yet created.
#[allow(
    clippy::too_many_arguments,
    reason = "the stores, the key service, the changes and the init choice"
)]
pub fn publish(
    remote: &mut HttpRemote,
    cache: &mut dyn notarius_tuf::store::MetadataCache,
    gun: &Gun,
    cs: &mut CryptoService,
    changes: &[crate::changelist::StoredChange],
    root_choice: Option<&RootChoice>,
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
                // The server (and its signer) make the timestamp key while the keys here are
                // made; the connection that just fetched `root.json` is idle for it.
                remote.prefetch_key(role::TIMESTAMP);
                let repo = new_repo(remote, gun, cs, root_choice, &opts.trust_pinning, now)?;
                (repo, Repo::default())
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

    sign_dirty_and_upload(&mut repo, cs, remote, &[], now)?;
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
    root_choice: Option<&RootChoice>,
    trust_pinning: &notarius_tuf::trust::TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<Repo, PublishError> {
    let cert = match root_choice {
        Some(choice) => {
            let (root, _) = cs.signing_key(&choice.key_id)?;
            let cert = choice.public_key(&root, gun, now)?;
            check_root_certificate(&cert, root, gun, trust_pinning, now)?;
            cert
        }
        None => root_certificate(&root_key(cs)?, gun.as_str(), go_time(now))?,
    };
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

/// Validates the root certificate a new repository would publish as a client will (Notary
/// loads the root `init` cached through its builder before the first publish): it must be a
/// usable leaf for the GUN and satisfy trust pinning. Checked before any key is made.
fn check_root_certificate(
    cert: &PublicKey,
    key: KeyHandle,
    gun: &Gun,
    pin: &notarius_tuf::trust::TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<(), PublishError> {
    let local = now.fixed_offset();
    let mut probe = Repo::default();
    let roles =
        [role::ROOT, role::TARGETS, role::SNAPSHOT, role::TIMESTAMP].map(|r| single(r, cert));
    probe.init_root(
        [&roles[0], &roles[1], &roles[2], &roles[3]],
        false,
        local + ROOT_EXPIRY,
    );
    let held = HeldKey {
        key,
        public: cert.clone(),
    };
    let bytes = probe.sign_root(local + ROOT_EXPIRY, &[&held], &[])?;
    let env = notarius_tuf::metadata::Envelope::parse(role::ROOT, &bytes)?;
    notarius_tuf::trust::validate_root(None, &env, gun.as_str(), pin, now)?;
    Ok(())
}

/// Signs every role the edits touched (root, targets roles, and snapshot when the client holds
/// its key) with the keys held, and uploads them in one request. Returns what was uploaded.
/// `legacy_root_keys` (Notary's `extraSigningKeys`) also sign root, where held, and make it
/// dirty when there are any.
fn sign_dirty_and_upload(
    repo: &mut Repo,
    cs: &mut CryptoService,
    remote: &HttpRemote,
    legacy_root_keys: &[PublicKey],
    now: DateTime<Utc>,
) -> Result<Vec<(String, Vec<u8>)>, PublishError> {
    let local = now.fixed_offset();
    if !legacy_root_keys.is_empty() {
        repo.dirty.insert(role::ROOT.to_owned());
    }
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
        roles.push(BaseRole {
            name: role::ROOT.to_owned(),
            keys: legacy_root_keys
                .iter()
                .map(|k| (k.id().to_owned(), k.clone()))
                .collect(),
            threshold: 0,
        });
        let mut keys: Vec<HeldKey> = Vec::new();
        for r in &roles {
            keys.extend(held_keys(cs, r)?);
        }
        let signers: Vec<&dyn Signer> = keys.iter().map(|k| k as &dyn Signer).collect();
        files.push((
            role::ROOT.to_owned(),
            repo.sign_root(local + ROOT_EXPIRY, &signers, legacy_root_keys)?,
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

/// Notary's `RotateKey`: new keys for `role` — `new_keys` (from `key rotate -k`; the caller has
/// put them in the key store), else one made here, or by the server when `server_managed` — put
/// into root and published at once (only the rotation, not staged changes). Root keys are listed
/// under new certificates (`pubKeysToCerts`); root rotations are signed by the old and the new
/// root keys, and with `legacy_versions` (`-l`) also by the root keys of that many earlier root
/// versions (Notary's `oldKeysForLegacyClientSupport`; -1 for all).
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
    new_keys: &[PrivateKey],
    legacy_versions: i64,
    trust_pinning: notarius_tuf::trust::TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<(), PublishError> {
    check_rotation(role_name, server_managed)?;
    let opts = notarius_tuf::update::UpdateOptions {
        gun: gun.to_string(),
        trust_pinning,
        always_check_initialized: true,
        now,
    };
    // Notary asks the server for its new key before it updates (`pubKeyListForRotation`).
    let server_key = if server_managed {
        let bytes = remote
            .rotate_key(role_name)
            .map_err(|e| PublishError::Rotate(format!("unable to rotate remote key: {e}")))?;
        Some(parse_server_key(role_name, &bytes)?)
    } else {
        None
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
    let new_public: Vec<PublicKey> = if let Some(key) = server_key {
        vec![key]
    } else if !new_keys.is_empty() {
        new_keys
            .iter()
            .map(|k| public_for_role(k, role_name, gun, now))
            .collect::<Result<_, _>>()?
    } else if role_name == role::ROOT {
        let key = PrivateKey::generate(Algorithm::Ecdsa)?;
        cs.add_key(role::ROOT, "", &key)
            .map_err(|e| PublishError::Rotate(format!("unable to generate key: {e}")))?;
        vec![public_for_role(&key, role_name, gun, now)?]
    } else {
        vec![
            cs.create(role_name, gun.as_str(), Algorithm::Ecdsa)
                .map_err(|e| PublishError::Rotate(format!("unable to generate key: {e}")))?,
        ]
    };
    let legacy = legacy_root_keys(remote, &repo, legacy_versions)?;
    repo.replace_base_keys(role_name, &new_public)?;
    if role_name == role::TARGETS {
        // The targets file must be signed by its new key.
        repo.dirty.insert(role::TARGETS.to_owned());
    }
    sign_dirty_and_upload(&mut repo, cs, remote, &legacy, now)?;
    overlay.commit();
    // Notary's `RemoveBaseKeys`: a replaced key that no role lists any more is deleted, except
    // root keys (they sign the next rotation). Notary deletes it before publishing; we wait for
    // the publish to succeed.
    if role_name != role::ROOT {
        let still_used: Vec<String> = [role::ROOT, role::TARGETS, role::SNAPSHOT, role::TIMESTAMP]
            .iter()
            .filter_map(|r| repo.get_base_role(r).ok())
            .flat_map(|r| r.keys.into_values())
            .map(|k| k.canonical_id().to_owned())
            .collect();
        for id in old_ids.iter().filter(|id| !still_used.contains(id)) {
            let _ = cs.remove_key(id);
        }
    }
    Ok(())
}

/// Notary's `checkRotationInput`.
pub fn check_rotation(role_name: &str, server_managed: bool) -> Result<(), PublishError> {
    let remote_ok = matches!(role_name, role::TIMESTAMP | role::SNAPSHOT);
    let local_ok = matches!(role_name, role::SNAPSHOT | role::TARGETS | role::ROOT);
    let msg = if !(remote_ok || local_ok) {
        format!("notary does not currently permit rotating the {role_name} key")
    } else if server_managed && !remote_ok {
        format!("notary does not permit the server managing the {role_name} key")
    } else if !server_managed && !local_ok {
        format!("notary does not permit the client managing the {role_name} key")
    } else {
        return Ok(());
    };
    Err(PublishError::Rotate(msg))
}

/// The key a role lists for `key`: for root a new certificate (`rootCertKey`), else the key.
fn public_for_role(
    key: &PrivateKey,
    role_name: &str,
    gun: &Gun,
    now: DateTime<Utc>,
) -> Result<PublicKey, PublishError> {
    if role_name == role::ROOT {
        Ok(root_certificate(key, gun.as_str(), go_time(now))?)
    } else {
        Ok(key.public_key().clone())
    }
}

/// Notary's `oldKeysForLegacyClientSupport`: the root keys of versions `current` down to
/// `current - legacy_versions` (all with -1, never below 1), each fetched as `<v>.root.json`;
/// a version the server cannot give is skipped, one that does not parse is an error. Nothing
/// when the current root is version 1 or `legacy_versions` is 0.
fn legacy_root_keys(
    remote: &mut HttpRemote,
    repo: &Repo,
    legacy_versions: i64,
) -> Result<Vec<PublicKey>, PublishError> {
    use notarius_tuf::store::RemoteStore as _;
    let prev = repo.root.as_ref().map_or(0, |r| r.signed.version);
    let oldest = if legacy_versions == -1 {
        1
    } else {
        prev.saturating_sub(legacy_versions).max(1)
    };
    if prev <= 1 || oldest == prev {
        return Ok(Vec::new());
    }
    let mut keys: BTreeMap<String, PublicKey> = BTreeMap::new();
    let mut v = prev;
    while v >= oldest {
        let name = format!("{v}.{}", role::ROOT);
        v -= 1;
        let Ok(raw) = remote.get_sized(&name, None) else {
            continue;
        };
        let env = notarius_tuf::metadata::Envelope::parse(role::ROOT, &raw)?;
        let old: notarius_tuf::metadata::Root = env.decode(role::ROOT)?;
        if let Ok(r) = old.base_role(role::ROOT) {
            keys.extend(r.keys);
        }
    }
    Ok(keys.into_values().collect())
}
