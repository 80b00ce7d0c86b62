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
use notarius_crypto::private::Algorithm;
use notarius_crypto::service::CryptoService;
use notarius_tuf::builder::RepoBuilder;
use notarius_tuf::keys::PublicKey;
use notarius_tuf::metadata::{BaseRole, FileMeta};
use notarius_tuf::repo::Repo;
use notarius_tuf::role::{self, Gun};
use notarius_tuf::store::{MetadataCache, NO_SIZE_LIMIT, StoreError};
use notarius_tuf::time::{ROOT_EXPIRY, TARGETS_EXPIRY};
use notarius_tuf::trust::TrustPinConfig;
use notarius_tuf::update::{UpdateOptions, load_tuf_repo};

use crate::cache::OverlayCache;
use crate::changelist::{Change, StoredChange};
use crate::error::{Error, Result};
use crate::remote::Remote;
use crate::signers::{HeldKey, Usable, held_signers};

pub use crate::rotate::{Rotation, check_rotation};

/// Parses a key as the server's `.key` endpoints return it (Go's JSON of a `TUFKey`).
pub fn parse_server_key(role: &str, bytes: &[u8]) -> Result<PublicKey> {
    serde_json::from_slice(bytes).map_err(|e| Error::ServerKey {
        role: role.to_owned(),
        msg: e.to_string(),
    })
}

pub(crate) fn single(name: &str, key: &PublicKey) -> BaseRole {
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

pub(crate) fn go_time(now: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(now.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
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
    /// Made here: keys created, the timestamp key asked of the server (a publish); the
    /// snapshot key too when `server_snapshot` (Docker's default, needed for delegations to
    /// publish without the repository owner).
    Create {
        root_choice: Option<&'a RootChoice>,
        server_snapshot: bool,
    },
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
                WhenNew::Create {
                    root_choice,
                    server_snapshot,
                } => {
                    log::info!(
                        "No TUF data found locally or remotely - initializing repository {gun} for the first time"
                    );
                    // The server (and its signer) make the timestamp key while the keys here
                    // are made; the connection that just fetched `root.json` is idle for it.
                    remote.prefetch_key(role::TIMESTAMP);
                    let repo = new_repo(
                        remote,
                        gun,
                        cs,
                        root_choice,
                        server_snapshot,
                        trust_pinning,
                        now,
                    )?;
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
    server_snapshot: bool,
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
    let snapshot_pub = if server_snapshot {
        parse_server_key(role::SNAPSHOT, &remote.get_key(role::SNAPSHOT)?)?
    } else {
        cs.create(role::SNAPSHOT, gun.as_str(), Algorithm::Ecdsa)?
    };
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

/// Reads a target's hashes and length as `notary add` stages them.
pub fn file_meta(bytes: &[u8], custom: Option<serde_json::Value>) -> FileMeta {
    let mut meta = FileMeta::from_bytes(bytes);
    meta.custom = custom;
    meta
}
