//! Publishing (Notary's `publish` and `RotateKey`), over any [`Remote`]: load the current
//! repository (or, for one the server does not have, the one `notary init` left in the trust
//! directory, or a new one), apply the staged changes, sign what changed with the keys held and
//! upload it in one request. What the update verified reaches the cache only once the upload
//! succeeded, so a failed publish leaves the trust directory as it was.
//!
//! [`Repository`](crate::Repository) is the way in; these functions are its steps, generic over
//! the remote so the in-memory server tests them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use notarius_crypto::cert::root_certificate;
use notarius_crypto::handle::KeyHandle;
use notarius_crypto::keystore::KeyStoreError;
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_crypto::service::CryptoService;
use notarius_tuf::builder::RepoBuilder;
use notarius_tuf::keys::PublicKey;
use notarius_tuf::metadata::{BaseRole, FileMeta};
use notarius_tuf::repo::Repo;
use notarius_tuf::role::{self, Gun};
use notarius_tuf::sign::Signer;
use notarius_tuf::store::{MetadataCache, NO_SIZE_LIMIT, StoreError};
use notarius_tuf::time::{ROOT_EXPIRY, TARGETS_EXPIRY};
use notarius_tuf::trust::TrustPinConfig;
use notarius_tuf::update::{UpdateOptions, load_tuf_repo};

use crate::changelist::{Change, StoredChange};
use crate::error::{Error, Result};
use crate::remote::Remote;

/// Parses a key as the server's `.key` endpoints return it (Go's JSON of a `TUFKey`).
pub fn parse_server_key(role: &str, bytes: &[u8]) -> Result<PublicKey> {
    serde_json::from_slice(bytes).map_err(|e| Error::ServerKey {
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
pub fn root_key(cs: &mut CryptoService) -> Result<KeyHandle> {
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
    fn public_key(&self, key: &KeyHandle, gun: &Gun, now: DateTime<Utc>) -> Result<PublicKey> {
        match &self.certificate {
            Some(pem) => root_cert_key(pem.as_bytes()).map_err(Error::RootCertificate),
            None => Ok(root_certificate(key, gun.as_str(), go_time(now))?),
        }
    }
}

/// Notary's `importRootCert` from the bytes of a certificate file: the first PEM block, parsed
/// as an X.509 certificate, as an `ecdsa-x509`/`rsa-x509` key (`CertToKey`).
pub fn root_cert_key(pem: &[u8]) -> std::result::Result<PublicKey, String> {
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

/// The keys of `role` that the caller holds, as signers. A key that cannot be had is left out
/// (the threshold check then says what is missing), except when a hardware token that lists it
/// fails: that is the error (SG-11).
///
/// A role none of whose keys could be used although one of them is here (a wrong passphrase,
/// a damaged file) is an error that says so, rather than a signature quietly left out (Notary
/// would then leave the snapshot to a server that does not hold its key, and say that).
fn held_signers(cs: &mut CryptoService, role: &BaseRole) -> Result<Vec<Box<dyn Signer>>> {
    let mut held: Vec<Box<dyn Signer>> = Vec::new();
    let mut unusable = Vec::new();
    for pk in role.keys.values() {
        match cs.signing_key(pk.canonical_id()) {
            Ok((key, _)) => {
                log::debug!("signing {} with key {}", role.name, pk.canonical_id());
                held.push(Box::new(HeldKey {
                    key,
                    public: pk.clone(),
                }))
            }
            Err(e @ KeyStoreError::Token(_)) => return Err(e.into()),
            Err(KeyStoreError::NotFound(_)) => {
                log::debug!("key {} of {} is not here", pk.canonical_id(), role.name)
            }
            Err(e) => {
                log::debug!(
                    "key {} of {} cannot be used: {e}",
                    pk.canonical_id(),
                    role.name
                );
                unusable.push(unusable_key(cs, pk.canonical_id(), &e));
            }
        }
    }
    if held.is_empty() && !unusable.is_empty() && role.threshold > 0 {
        return Err(Error::SigningKeysUnavailable {
            role: role.name.clone(),
            ids: role
                .keys
                .values()
                .map(|k| k.canonical_id().to_owned())
                .collect(),
            unusable,
        });
    }
    Ok(held)
}

fn unusable_key(cs: &CryptoService, id: &str, e: &KeyStoreError) -> crate::UnusableKey {
    crate::UnusableKey {
        id: id.to_owned(),
        role: cs.get_key_info(id).map(|i| i.role).unwrap_or_default(),
        why: e.to_string(),
        passphrase: matches!(
            e,
            KeyStoreError::PasswordInvalid
                | KeyStoreError::AttemptsExceeded
                | KeyStoreError::GiveUp(_)
        ),
    }
}

/// Notary's `VerifyCanSign` predicate: a key this client holds and can open (the passphrase is
/// asked for here, once, as Notary does before it edits). Keys that are here but cannot be
/// opened are recorded for the error.
struct Usable<'a> {
    cs: std::cell::RefCell<&'a mut CryptoService>,
    held: Vec<String>,
    seen: std::cell::RefCell<BTreeMap<String, Option<crate::UnusableKey>>>,
}

impl<'a> Usable<'a> {
    fn new(cs: &'a mut CryptoService) -> Result<Usable<'a>> {
        let held = cs.list_all_keys()?.into_keys().collect();
        Ok(Usable {
            cs: std::cell::RefCell::new(cs),
            held,
            seen: Default::default(),
        })
    }

    fn has(&self, id: &str) -> bool {
        if !self.held.iter().any(|h| h == id) {
            return false;
        }
        let mut seen = self.seen.borrow_mut();
        seen.entry(id.to_owned())
            .or_insert_with(|| {
                let mut cs = self.cs.borrow_mut();
                match cs.signing_key(id) {
                    Ok(_) => None,
                    Err(e) => Some(unusable_key(&cs, id, &e)),
                }
            })
            .is_none()
    }

    /// Notary's `ErrNoKeys`, with what was found out about the keys that are here.
    fn explain(&self, e: notarius_tuf::Error) -> Error {
        match e {
            notarius_tuf::Error::NoKeys(ids) => {
                let seen = self.seen.borrow();
                let unusable = ids
                    .iter()
                    .filter_map(|id| seen.get(id).cloned().flatten())
                    .collect();
                Error::SigningKeysUnavailable {
                    role: String::new(),
                    ids,
                    unusable,
                }
            }
            other => other.into(),
        }
    }
}

/// A cache whose writes wait in memory until [`commit`](Self::commit).
pub(crate) struct OverlayCache<'a> {
    base: &'a mut dyn MetadataCache,
    /// `None` marks a removal.
    pending: BTreeMap<String, Option<Vec<u8>>>,
}

impl<'a> OverlayCache<'a> {
    pub(crate) fn new(base: &'a mut dyn MetadataCache) -> OverlayCache<'a> {
        OverlayCache {
            base,
            pending: BTreeMap::new(),
        }
    }

    /// Writes what is pending; a failed write only loses a cache entry, which the next update
    /// fetches again.
    pub(crate) fn commit(self) {
        for (name, v) in self.pending {
            let _ = match v {
                Some(b) => self.base.set(&name, &b),
                None => self.base.remove(&name),
            };
        }
    }
}

impl MetadataCache for OverlayCache<'_> {
    fn get_sized(&self, name: &str, size: Option<u64>) -> std::result::Result<Vec<u8>, StoreError> {
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
    fn set(&mut self, name: &str, bytes: &[u8]) -> std::result::Result<(), StoreError> {
        self.pending.insert(name.to_owned(), Some(bytes.to_vec()));
        Ok(())
    }
    fn remove(&mut self, name: &str) -> std::result::Result<(), StoreError> {
        self.pending.insert(name.to_owned(), None);
        Ok(())
    }
}

/// The repository a publish starts from.
pub(crate) struct Loaded {
    pub repo: Repo,
    /// Delegations that failed verification (witness may take them back).
    pub invalid: Repo,
    /// The server does not have the repository yet: this publish creates it.
    pub initial: bool,
    pub warnings: Vec<String>,
}

/// Where a repository the server does not have comes from.
pub(crate) enum WhenNew<'a> {
    /// Made here: keys created, the timestamp key asked of the server (a publish).
    Create(Option<&'a RootChoice>),
    /// Only what `notary init` left in the trust directory will do (a rotation).
    CacheOnly,
}

/// Notary's `updateTUF(true)` and, when the server has no such repository, its
/// `bootstrapRepo` from the trust directory, else `Initialize`.
pub(crate) fn load_for_publish<R: Remote>(
    remote: &mut R,
    cache: &mut OverlayCache<'_>,
    gun: &Gun,
    cs: &mut CryptoService,
    when_new: WhenNew<'_>,
    trust_pinning: &TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<Loaded> {
    let opts = UpdateOptions {
        gun: gun.to_string(),
        trust_pinning: trust_pinning.clone(),
        always_check_initialized: true,
        now,
    };
    match load_tuf_repo(&opts, remote, cache) {
        Ok(u) => Ok(Loaded {
            repo: u.repo,
            invalid: u.invalid,
            initial: false,
            warnings: u.warnings,
        }),
        Err(not_there @ notarius_tuf::Error::RepositoryNotExist { .. }) => {
            if let Some(repo) = bootstrap_from_cache(&*cache, gun, trust_pinning, now)? {
                log::info!(
                    "{gun} is not on the server yet: publishing the copy in the trust directory"
                );
                return Ok(Loaded {
                    repo,
                    invalid: Repo::default(),
                    initial: true,
                    warnings: Vec::new(),
                });
            }
            match when_new {
                WhenNew::CacheOnly => Err(not_there.into()),
                WhenNew::Create(choice) => {
                    log::info!(
                        "No TUF data found locally or remotely - initializing repository {gun} for the first time"
                    );
                    // The server (and its signer) make the timestamp key while the keys here
                    // are made; the connection that just fetched `root.json` is idle for it.
                    remote.prefetch_key(role::TIMESTAMP);
                    let repo = new_repo(remote, gun, cs, choice, trust_pinning, now)?;
                    Ok(Loaded {
                        repo,
                        invalid: Repo::default(),
                        initial: true,
                        warnings: Vec::new(),
                    })
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Notary's `bootstrapRepo`: the base roles `notary init` (without `-p`) wrote to the trust
/// directory, loaded as a client loads them (expiry aside). `None` when root or targets is
/// missing: there is nothing to bootstrap from.
fn bootstrap_from_cache(
    cache: &dyn MetadataCache,
    gun: &Gun,
    trust_pinning: &TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<Option<Repo>> {
    let mut b = RepoBuilder::new(gun.as_str(), trust_pinning.clone());
    for r in [role::ROOT, role::TARGETS, role::SNAPSHOT, role::TIMESTAMP] {
        match cache.get_sized(r, NO_SIZE_LIMIT) {
            Ok(bytes) => b.load(r, &bytes, 1, true, now)?,
            // Snapshot and timestamp may be the server's to make.
            Err(StoreError::MetaNotFound { .. })
                if matches!(r, role::SNAPSHOT | role::TIMESTAMP) => {}
            Err(StoreError::MetaNotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(b.finish()?.0))
}

/// Applies staged `changes` to `repo` (Notary's `applyChangelist`), with the keys `cs` holds.
/// Returns the change files applied and any warnings.
pub(crate) fn apply_changes(
    repo: &mut Repo,
    invalid: &mut Repo,
    changes: &[StoredChange],
    cs: &mut CryptoService,
    now: DateTime<Utc>,
) -> Result<(Vec<String>, Vec<String>)> {
    let usable = Usable::new(cs)?;
    let has_key = |id: &str| usable.has(id);
    let expires = now.fixed_offset() + TARGETS_EXPIRY;
    let mut applied = Vec::new();
    let mut warnings = Vec::new();
    for c in changes {
        let bad = |e: String| Error::Unsupported(format!("change {}: {e}", c.file));
        apply_one(
            repo,
            invalid,
            &c.raw.decode().map_err(bad)?,
            &has_key,
            expires,
            &mut warnings,
        )
        .map_err(|e| match e {
            Error::Tuf(t) => usable.explain(t),
            other => other,
        })?;
        applied.push(c.file.clone());
    }
    Ok((applied, warnings))
}

/// One staged change applied to `repo`.
fn apply_one(
    repo: &mut Repo,
    invalid: &mut Repo,
    change: &Change,
    has_key: notarius_tuf::repo_edit::HasKey<'_>,
    expires: chrono::DateTime<chrono::FixedOffset>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    {
        match change.clone() {
            Change::AddTarget {
                scope, name, meta, ..
            } => repo.add_targets(&scope, &BTreeMap::from([(name, meta)]), &has_key, expires)?,
            Change::RemoveTarget { scope, name } => {
                repo.remove_targets(&scope, std::slice::from_ref(&name), &has_key)?
            }
            Change::PurgeKeys { scope, key_ids } => {
                warnings.extend(repo.purge_delegation_keys(&scope, &key_ids, &has_key)?);
            }
            Change::Delegation {
                role: name,
                edit,
                create,
            } => {
                if !create {
                    // Notary's update needs the role to exist already.
                    repo.get_delegation_role(&name)?;
                }
                repo.update_delegation(&name, &edit.to_update(), has_key, expires)?;
                if let Ok(d) = repo.get_delegation_role(&name)
                    && (d.base.keys.len() as i64) < d.base.threshold
                {
                    warnings.push(format!(
                        "role {name} has fewer keys than its threshold of {}; it will not be usable until keys are added to it",
                        d.base.threshold
                    ));
                }
            }
            Change::DeleteDelegation { role: name } => repo.delete_delegation(&name, has_key)?,
            Change::Witness { role: name } => repo.witness(invalid, &name)?,
        }
    }
    Ok(())
}

/// A new repository's metadata, not yet signed: keys as `notary init` makes them.
fn new_repo<R: Remote>(
    remote: &R,
    gun: &Gun,
    cs: &mut CryptoService,
    root_choice: Option<&RootChoice>,
    trust_pinning: &TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<Repo> {
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
    pin: &TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<()> {
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

/// Signs what changed ([`Repo::sign_changed`]) with the keys `cs` holds and uploads it in one
/// request. Returns what was uploaded.
pub(crate) fn sign_and_upload<R: Remote>(
    repo: &mut Repo,
    cs: &mut CryptoService,
    remote: &R,
    legacy_root_keys: &[PublicKey],
    initial: bool,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let files = repo.sign_changed(now, legacy_root_keys, initial, |r| held_signers(cs, r))?;
    log::info!(
        "uploading {}",
        files
            .iter()
            .map(|(r, b)| format!("{r} ({} bytes)", b.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    remote.set_multi(&files)?;
    Ok(files)
}

/// What `key rotate` asked for.
#[derive(Default)]
pub struct Rotation {
    /// `root`, `targets`, `snapshot` or `timestamp`.
    pub role: String,
    /// `-r`: the server makes and holds the new key.
    pub server_managed: bool,
    /// `-k`: the new keys (already in the key store); none means one is made.
    pub new_keys: Vec<PrivateKey>,
    /// `-l`: how many earlier root versions' keys also sign a root rotation (-1: all).
    pub legacy_versions: i64,
}

/// Notary's `RotateKey`: new keys for the role — the given ones, else one made here, or by the
/// server when server-managed — put into root and published at once (only the rotation, not
/// staged changes). Root keys are listed under new certificates (`pubKeysToCerts`); root
/// rotations are signed by the old and the new root keys, and with `legacy_versions` also by
/// the root keys of that many earlier root versions (`oldKeysForLegacyClientSupport`). A
/// repository that exists only in the trust directory (made by `notary init`, never
/// published) is published with the rotation, as Notary does. Returns warnings.
pub(crate) fn rotate_key<R: Remote>(
    remote: &mut R,
    cache: &mut dyn MetadataCache,
    gun: &Gun,
    cs: &mut CryptoService,
    rotation: &Rotation,
    trust_pinning: &TrustPinConfig,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let role_name = rotation.role.as_str();
    check_rotation(role_name, rotation.server_managed)?;
    // Notary asks the server for its new key before it updates (`pubKeyListForRotation`).
    let server_key = if rotation.server_managed {
        let bytes = remote.rotate_key(role_name).map_err(Error::RotateRemote)?;
        Some(parse_server_key(role_name, &bytes)?)
    } else {
        None
    };
    let mut overlay = OverlayCache::new(cache);
    let Loaded {
        mut repo,
        initial,
        warnings,
        ..
    } = load_for_publish(
        remote,
        &mut overlay,
        gun,
        cs,
        WhenNew::CacheOnly,
        trust_pinning,
        now,
    )?;
    let old_ids: Vec<String> = repo
        .get_base_role(role_name)?
        .keys
        .values()
        .map(|k| k.canonical_id().to_owned())
        .collect();
    let new_public: Vec<PublicKey> = if let Some(key) = server_key {
        vec![key]
    } else if !rotation.new_keys.is_empty() {
        rotation
            .new_keys
            .iter()
            .map(|k| public_for_role(k, role_name, gun, now))
            .collect::<Result<_>>()?
    } else if role_name == role::ROOT {
        let key = PrivateKey::generate(Algorithm::Ecdsa)?;
        cs.add_key(role::ROOT, "", &key)
            .map_err(|e| Error::Rotate(format!("unable to generate key: {e}")))?;
        vec![public_for_role(&key, role_name, gun, now)?]
    } else {
        vec![
            cs.create(role_name, gun.as_str(), Algorithm::Ecdsa)
                .map_err(|e| Error::Rotate(format!("unable to generate key: {e}")))?,
        ]
    };
    let legacy = if initial {
        Vec::new()
    } else {
        legacy_root_keys(remote, &repo, rotation.legacy_versions)?
    };
    repo.replace_base_keys(role_name, &new_public)?;
    if role_name == role::TARGETS {
        // The targets file must be signed by its new key.
        repo.mark_dirty(role::TARGETS);
    }
    sign_and_upload(&mut repo, cs, remote, &legacy, initial, now)?;
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
    Ok(warnings)
}

/// Notary's `checkRotationInput`.
pub fn check_rotation(role_name: &str, server_managed: bool) -> Result<()> {
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
    Err(Error::Rotate(msg))
}

/// The key a role lists for `key`: for root a new certificate (`rootCertKey`), else the key.
fn public_for_role(
    key: &PrivateKey,
    role_name: &str,
    gun: &Gun,
    now: DateTime<Utc>,
) -> Result<PublicKey> {
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
fn legacy_root_keys<R: Remote>(
    remote: &mut R,
    repo: &Repo,
    legacy_versions: i64,
) -> Result<Vec<PublicKey>> {
    let prev = repo.root().map_or(0, |r| r.signed.version);
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

/// Reads a target's hashes and length as `notary add` stages them.
pub fn file_meta(bytes: &[u8], custom: Option<serde_json::Value>) -> FileMeta {
    let mut meta = FileMeta::from_bytes(bytes);
    meta.custom = custom;
    meta
}
