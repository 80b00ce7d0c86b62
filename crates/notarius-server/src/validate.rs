//! What the server checks and signs, without I/O: an upload is validated against what storage
//! holds (Notary's `handlers/validation.go`), and an expired timestamp or snapshot is re-signed
//! on read (`server/timestamp`, `server/snapshot`). The caller fetches the stored files and the
//! signers first; everything here is deterministic given those and `now`.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::FixedOffset;
use notarius_tuf::Error as TufError;
use notarius_tuf::builder::RepoBuilder;
use notarius_tuf::keys::PublicKey;
use notarius_tuf::metadata::{Root, Signed, Snapshot, Timestamp, check_hashes};
use notarius_tuf::role;
use notarius_tuf::sign::Signer;
use notarius_tuf::time::{Instant, SNAPSHOT_EXPIRY, TIMESTAMP_EXPIRY};
use notarius_tuf::trust::TrustPinConfig;

use crate::errors::Validation;
use crate::signer::SharedSigner;
use crate::storage::MetaUpdate;

/// Stored files an update may be checked against (the consistent current view).
#[derive(Debug, Default, Clone)]
pub struct Stored {
    pub root: Option<Bytes>,
    /// Targets and delegation roles, by name.
    pub targets: BTreeMap<String, Bytes>,
    pub snapshot: Option<Bytes>,
    pub timestamp: Option<Bytes>,
}

/// Roles whose stored files a validation of `updates` may read: every ancestor of each
/// uploaded targets role (the uploaded roles themselves are read from the upload).
pub fn ancestors_needed(updates: &[MetaUpdate]) -> Vec<String> {
    let mut out = Vec::new();
    for u in updates {
        if u.role == role::TARGETS || role::is_delegation(&u.role) {
            let mut r = u.role.as_str();
            while r != role::TARGETS {
                r = role::parent(r);
                if !out.iter().any(|o: &String| o == r) {
                    out.push(r.to_owned());
                }
            }
        }
    }
    out
}

/// The root an update will be judged by: the uploaded one, else the stored one.
pub fn governing_root(updates: &[MetaUpdate], stored_root: Option<&[u8]>) -> Option<Root> {
    let bytes = updates
        .iter()
        .rev()
        .find(|u| u.role == role::ROOT)
        .map(|u| u.data.as_slice())
        .or(stored_root)?;
    Signed::<Root>::from_bytes(role::ROOT, bytes)
        .ok()
        .map(|(s, _)| s.signed)
}

/// Public keys of the snapshot and timestamp roles of `root`: what to ask the signing
/// service for.
pub fn server_role_keys(root: &Root) -> Vec<PublicKey> {
    let mut keys = Vec::new();
    for r in [role::SNAPSHOT, role::TIMESTAMP] {
        if let Ok(b) = root.base_role(r) {
            keys.extend(b.keys.into_values());
        }
    }
    keys
}

fn utc_plus(now: Instant, d: chrono::Duration) -> chrono::DateTime<FixedOffset> {
    (now + d).fixed_offset()
}

fn signer_refs(signers: &[SharedSigner]) -> Vec<&dyn Signer> {
    signers.iter().map(|s| s.as_ref() as &dyn Signer).collect()
}

/// Notary's `RoleList` order: fewer path segments first, then by name.
fn role_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (sa, sb) = (a.split('/').count(), b.split('/').count());
    sa.cmp(&sb).then_with(|| a.cmp(b))
}

fn validation(e: impl std::fmt::Display) -> Validation {
    Validation::Validation(e.to_string())
}

/// Checks an upload and completes it with the server-signed snapshot (when none was
/// uploaded) and timestamp. Returns the files to store, in order.
/// A builder with the GUN's stored root loaded (verified, expiry aside, as Notary's server
/// loads it), or an empty one when none is stored: where every update's validation starts.
pub fn root_builder(
    gun: &str,
    stored_root: Option<&[u8]>,
    now: Instant,
) -> Result<RepoBuilder, Validation> {
    let mut builder = RepoBuilder::new(gun, TrustPinConfig::default());
    if let Some(root) = stored_root {
        builder
            .load(role::ROOT, root, 1, true, now)
            .map_err(validation)?;
    }
    Ok(builder)
}

/// `builder` is [`root_builder`]'s for the stored root (`roots.rs` may hand out a kept one).
pub fn validate_update(
    mut builder: RepoBuilder,
    updates: &[MetaUpdate],
    stored: &Stored,
    signers: &[SharedSigner],
    now: Instant,
) -> Result<Vec<MetaUpdate>, Validation> {
    // A later part for the same role replaces an earlier one, as in Notary's map.
    let mut roles: BTreeMap<&str, &MetaUpdate> = BTreeMap::new();
    for u in updates {
        roles.insert(u.role.as_str(), u);
    }
    let mut apply: Vec<MetaUpdate> = Vec::new();

    if let Some(root_update) = roles.get(role::ROOT) {
        let current = builder.get_loaded_version(role::ROOT);
        if root_update.version != current && root_update.version != current + 1 {
            return Err(Validation::BadRoot(format!(
                "Root modifications must increment the version. Current {current}, new {}",
                root_update.version
            )));
        }
        builder = builder.bootstrap_new_builder();
        builder
            .load(role::ROOT, &root_update.data, current, false, now)
            .map_err(|e| Validation::BadRoot(e.to_string()))?;
        // A base role that needs more signatures than it has keys can never be signed again:
        // the repository would be locked (Notary checks only the timestamp, by trying to sign
        // it; catalogue SV-12).
        if let Some(root) = builder.loaded_root() {
            for (name, r) in &root.roles {
                let mut keys: Vec<&String> = r
                    .keyids
                    .iter()
                    .filter(|id| root.keys.contains_key(*id))
                    .collect();
                keys.sort();
                keys.dedup();
                if r.threshold > keys.len() as i64 {
                    return Err(Validation::BadRoot(format!(
                        "the {name} role needs {} signatures but lists {} keys",
                        r.threshold,
                        keys.len()
                    )));
                }
            }
        }
        apply.push((*root_update).clone());
    } else if !builder.is_loaded(role::ROOT) {
        return Err(Validation::Validation(
            "no pre-existing root and no root provided in update.".into(),
        ));
    }

    let mut targets_roles: Vec<&str> = roles
        .keys()
        .copied()
        .filter(|r| *r == role::TARGETS || role::is_delegation(r))
        .collect();
    targets_roles.sort_by(|a, b| role_order(a, b));
    for name in targets_roles {
        let mut to_load = Vec::new();
        let mut ancestor = name;
        while ancestor != role::TARGETS {
            ancestor = role::parent(ancestor);
            if !builder.is_loaded(ancestor) {
                to_load.push(ancestor);
            }
        }
        for a in to_load.into_iter().rev() {
            // A missing parent is not an error here: loading the child fails instead.
            if let Some(bytes) = stored.targets.get(a) {
                builder.load(a, bytes, 1, true, now).map_err(validation)?;
            }
        }
        builder
            .load(name, &roles[name].data, 1, false, now)
            .map_err(|e| Validation::BadTargets(e.to_string()))?;
        apply.push(roles[name].clone());
    }

    let refs = signer_refs(signers);
    if let Some(snap) = roles.get(role::SNAPSHOT) {
        builder
            .load(role::SNAPSHOT, &snap.data, 1, false, now)
            .map_err(|e| Validation::BadSnapshot(e.to_string()))?;
        apply.push((*snap).clone());
    } else {
        let prev = match &stored.snapshot {
            Some(b) => Some(
                Signed::<Snapshot>::from_bytes(role::SNAPSHOT, b)
                    .map_err(validation)?
                    .0,
            ),
            None => None,
        };
        match builder.generate_snapshot(prev, &refs, utc_plus(now, SNAPSHOT_EXPIRY)) {
            Ok((data, version)) => apply.push(MetaUpdate {
                role: role::SNAPSHOT.into(),
                version,
                data,
            }),
            Err(
                TufError::InsufficientSignatures { .. }
                | TufError::NoKeys(_)
                | TufError::RoleThreshold { .. },
            ) => {
                return Err(Validation::BadHierarchy {
                    missing: role::SNAPSHOT.into(),
                    msg: "no snapshot was included in update and server does not hold current \
                          snapshot key for repository"
                        .into(),
                });
            }
            Err(e) => return Err(validation(e)),
        }
    }

    apply.push(generate_timestamp(
        &mut builder,
        stored.timestamp.as_deref(),
        &refs,
        now,
    )?);
    Ok(apply)
}

fn generate_timestamp(
    builder: &mut RepoBuilder,
    prev: Option<&[u8]>,
    signers: &[&dyn Signer],
    now: Instant,
) -> Result<MetaUpdate, Validation> {
    let prev = match prev {
        Some(b) => Some(
            Signed::<Timestamp>::from_bytes(role::TIMESTAMP, b)
                .map_err(validation)?
                .0,
        ),
        None => None,
    };
    match builder.generate_timestamp(prev, signers, utc_plus(now, TIMESTAMP_EXPIRY)) {
        Ok((data, version)) => Ok(MetaUpdate {
            role: role::TIMESTAMP.into(),
            version,
            data,
        }),
        // Two spaces: Notary's message, kept for anyone matching on it.
        Err(TufError::InsufficientSignatures { .. } | TufError::NoKeys(_)) => Err(
            Validation::BadRoot("no  timestamp keys exist on the server".into()),
        ),
        Err(e) => Err(validation(e)),
    }
}

/// What a read of the timestamp found, and what must be stored before answering.
#[derive(Debug)]
pub struct Fresh {
    /// Files to store (a re-signed snapshot, a new timestamp), empty when nothing changed.
    pub updates: Vec<MetaUpdate>,
    /// The timestamp to serve.
    pub timestamp: Vec<u8>,
    /// The snapshot the served timestamp names.
    pub snapshot: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FreshError {
    /// The data cannot be refreshed (no key held, unparsable data): Notary answers 404.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

/// Notary's `GetOrCreateTimestamp`: the stored timestamp, unless it (or the snapshot it names)
/// has expired, in which case a new snapshot and/or timestamp are signed with the server's keys.
pub fn fresh_timestamp(
    gun: &str,
    root: &[u8],
    timestamp: &[u8],
    snapshot: &[u8],
    signers: &[SharedSigner],
    now: Instant,
) -> Result<Fresh, FreshError> {
    let other = |e: TufError| FreshError::Other(e.to_string());
    let (prev_ts, _) =
        Signed::<Timestamp>::from_bytes(role::TIMESTAMP, timestamp).map_err(other)?;
    let (prev_snap, _) = Signed::<Snapshot>::from_bytes(role::SNAPSHOT, snapshot).map_err(other)?;
    let refs = signer_refs(signers);
    let mut updates = Vec::new();

    let mut snapshot_bytes = snapshot.to_vec();
    if prev_snap.signed.expires < now {
        let mut b = RepoBuilder::new(gun, TrustPinConfig::default());
        b.load(role::ROOT, root, 1, false, now).map_err(other)?;
        let (data, version) = b
            .generate_snapshot(Some(prev_snap), &refs, utc_plus(now, SNAPSHOT_EXPIRY))
            .map_err(|e| FreshError::NotFound(e.to_string()))?;
        updates.push(MetaUpdate {
            role: role::SNAPSHOT.into(),
            version,
            data: data.clone(),
        });
        snapshot_bytes = data;
    }

    let ts_expired = prev_ts.signed.expires < now;
    let snap_changed = match prev_ts.signed.meta.get(role::SNAPSHOT) {
        Some(m) => check_hashes(&snapshot_bytes, role::SNAPSHOT, &m.hashes).is_err(),
        None => true,
    };
    if !ts_expired && !snap_changed {
        return Ok(Fresh {
            updates,
            timestamp: timestamp.to_vec(),
            snapshot: snapshot_bytes,
        });
    }

    let mut b = RepoBuilder::new(gun, TrustPinConfig::default());
    b.load(role::ROOT, root, 1, false, now).map_err(other)?;
    b.load(role::SNAPSHOT, &snapshot_bytes, 1, false, now)
        .map_err(other)?;
    let (data, version) = b
        .generate_timestamp(Some(prev_ts), &refs, utc_plus(now, TIMESTAMP_EXPIRY))
        .map_err(|e| FreshError::NotFound(e.to_string()))?;
    updates.push(MetaUpdate {
        role: role::TIMESTAMP.into(),
        version,
        data: data.clone(),
    });
    Ok(Fresh {
        updates,
        timestamp: data,
        snapshot: snapshot_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notarius_tuf::testrepo::TestRepo;

    #[test]
    fn tampered_targets_are_refused() {
        let now = chrono::Utc::now();
        let repo = TestRepo::new("g", now);
        let targets = repo.current[role::TARGETS].clone();
        let mut v: serde_json::Value = serde_json::from_slice(&targets).unwrap();
        v["signed"]["version"] = serde_json::Value::from(3);
        let data = serde_json::to_vec(&v).unwrap();
        let stored = Stored {
            root: Some(repo.current[role::ROOT].clone().into()),
            ..Default::default()
        };
        let up = vec![MetaUpdate {
            role: "targets".into(),
            version: 3,
            data,
        }];
        let builder = root_builder("g", stored.root.as_deref(), now).unwrap();
        let e = validate_update(builder, &up, &stored, &[], now).unwrap_err();
        assert!(matches!(e, Validation::BadTargets(_)), "{e:?}");
    }
}
