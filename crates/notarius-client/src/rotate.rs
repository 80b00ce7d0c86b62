//! Key rotation (Notary's `RotateKey`): a new key for a base role, put into root and
//! published at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use notarius_crypto::cert::root_certificate;
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_crypto::service::CryptoService;
use notarius_tuf::keys::PublicKey;
use notarius_tuf::repo::Repo;
use notarius_tuf::role::{self, Gun};
use notarius_tuf::store::MetadataCache;
use notarius_tuf::trust::TrustPinConfig;

use crate::cache::OverlayCache;
use crate::error::{Error, Result};
use crate::publish::{
    Loaded, WhenNew, go_time, load_for_publish, parse_server_key, sign_and_upload,
};
use crate::remote::Remote;

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
