//! Update-loop scenarios, including the client-verification rows of the security catalog that
//! need several files or a cache (CV-10..CV-25, CV-48..CV-54, DOS-01).

use chrono::{Duration, Utc};

use crate::error::Error;
use crate::role;
use crate::store::{MemoryStore, OfflineStore, StoreError};
use crate::testrepo::TestRepo;
use crate::trust::TrustPinConfig;
use crate::update::{UpdateOptions, Updated, load_tuf_repo};

const GUN: &str = "example.com/app";

fn opts(now: crate::time::Instant) -> UpdateOptions {
    UpdateOptions {
        gun: GUN.into(),
        trust_pinning: TrustPinConfig::default(),
        always_check_initialized: false,
        now,
    }
}

fn repo_with_target() -> TestRepo {
    let mut r = TestRepo::new(GUN, Utc::now());
    r.add_target(role::TARGETS, "v1", b"one");
    r.republish_targets(role::TARGETS);
    r
}

fn update(r: &TestRepo, cache: &mut MemoryStore) -> Result<Updated, Error> {
    let mut remote = r.server.clone();
    load_tuf_repo(&opts(r.now), &mut remote, cache)
}

fn targets_of(u: &Updated) -> Vec<String> {
    u.repo.targets[role::TARGETS]
        .signed
        .targets
        .keys()
        .cloned()
        .collect()
}

#[test]
fn fresh_client_trusts_on_first_use_and_caches_every_role() {
    let r = repo_with_target();
    let mut cache = MemoryStore::default();
    let u = update(&r, &mut cache).unwrap();
    assert_eq!(targets_of(&u), ["v1"]);
    for role_name in [role::ROOT, role::TIMESTAMP, role::SNAPSHOT, role::TARGETS] {
        assert_eq!(
            cache.files[role_name], r.current[role_name],
            "{role_name} cached byte for byte"
        );
    }
}

#[test]
fn cached_client_follows_new_versions() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    r.add_target(role::TARGETS, "v2", b"two");
    r.republish_targets(role::TARGETS);
    let u = update(&r, &mut cache).unwrap();
    assert_eq!(targets_of(&u), ["v1", "v2"]);
    assert_eq!(cache.files[role::TARGETS], r.current[role::TARGETS]);
}

#[test]
fn missing_repository_is_reported_as_such() {
    let mut remote = MemoryStore::default();
    let mut cache = MemoryStore::default();
    let e = load_tuf_repo(&opts(Utc::now()), &mut remote, &mut cache).unwrap_err();
    assert_eq!(
        e.to_string(),
        "memory does not have trust data for example.com/app"
    );
}

#[test]
fn cv10_expired_timestamp_is_refused_and_the_cache_keeps_the_old_one() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    let before = cache.files.clone();
    r.timestamp.expires = (r.now - Duration::hours(1)).fixed_offset();
    r.timestamp.version += 1;
    r.publish_timestamp();
    let e = update(&r, &mut cache).unwrap_err();
    assert!(
        matches!(&e, Error::Expired { role, .. } if role == "timestamp"),
        "{e}"
    );
    assert_eq!(cache.files, before, "INV-C: cache unchanged");
}

#[test]
fn cv11_cv12_expired_snapshot_or_targets_fail_the_update() {
    for which in [role::SNAPSHOT, role::TARGETS] {
        let mut r = repo_with_target();
        let mut cache = MemoryStore::default();
        update(&r, &mut cache).unwrap();
        let past = (r.now - Duration::hours(1)).fixed_offset();
        if which == role::SNAPSHOT {
            r.snapshot.expires = past;
            r.bump_snapshot_and_timestamp();
        } else {
            r.targets.get_mut(role::TARGETS).unwrap().expires = past;
            r.republish_targets(role::TARGETS);
        }
        let e = update(&r, &mut cache).unwrap_err();
        assert!(
            matches!(&e, Error::Expired { role, .. } if role == which),
            "{which}: {e}"
        );
    }
}

#[test]
fn cv13_expired_delegation_is_skipped_with_a_warning() {
    let mut r = repo_with_target();
    r.add_delegation("targets/releases", &[""]);
    r.add_target("targets/releases", "rel", b"r");
    r.targets.get_mut("targets/releases").unwrap().expires =
        (r.now - Duration::hours(1)).fixed_offset();
    r.publish_targets("targets/releases");
    r.republish_targets(role::TARGETS);
    let mut cache = MemoryStore::default();
    let u = update(&r, &mut cache).unwrap();
    assert!(!u.repo.targets.contains_key("targets/releases"));
    assert!(u.invalid.targets.contains_key("targets/releases"));
    assert!(
        u.warnings
            .iter()
            .any(|w| w.starts_with("Error getting targets/releases: targets/releases expired at")),
        "{:?}",
        u.warnings
    );
    assert_eq!(targets_of(&u), ["v1"]);
}

/// CV-19: a new snapshot that omits a delegation the trusted snapshot listed (and targets still
/// delegates to) is refused, as is one naming an older version of it; the cache is unchanged.
#[test]
fn cv19_a_snapshot_that_drops_or_lowers_a_delegation_is_refused() {
    let mut r = repo_with_target();
    r.add_delegation("targets/releases", &[""]);
    r.add_target("targets/releases", "rel", b"r");
    r.targets.get_mut("targets/releases").unwrap().version = 3;
    r.publish_targets("targets/releases");
    let v3 = r.current["targets/releases"].clone();
    r.republish_targets(role::TARGETS);
    let mut cache = MemoryStore::default();
    let u = update(&r, &mut cache).unwrap();
    assert!(u.repo.targets.contains_key("targets/releases"));
    let before = cache.files.clone();

    // Dropped: the next snapshot does not list targets/releases at all.
    r.current.remove("targets/releases");
    r.snapshot.meta.remove("targets/releases");
    r.bump_snapshot_and_timestamp();
    let e = update(&r, &mut cache).unwrap_err();
    assert!(
        e.to_string().contains("no longer lists targets/releases"),
        "{e}"
    );
    assert!(cache.files == before, "INV-C after a dropped delegation");

    // Lowered: the next snapshot names version 2 of it (validly signed).
    r.targets.get_mut("targets/releases").unwrap().version = 2;
    r.publish_targets("targets/releases");
    r.bump_snapshot_and_timestamp();
    let e = update(&r, &mut cache).unwrap_err();
    assert!(matches!(e, Error::LowVersion { .. }), "{e}");
    assert!(cache.files == before, "INV-C after a lowered delegation");

    // Honest again: version 3 listed, the update works.
    r.store("targets/releases", v3);
    r.bump_snapshot_and_timestamp();
    update(&r, &mut cache).unwrap();
}

/// CV-57, CV-58: a timestamp pushed to a huge version (by someone with the timestamp key) is
/// trusted, and the client computes nothing from it that overflows; once the owner rotates the
/// timestamp key in root, the honest timestamp at version 1 under the new key is accepted in
/// the same update (the old timestamp's floor is cleared, as TUF 5.3.11 says), and the old
/// key's signatures no longer count.
#[test]
fn cv57_cv58_a_timestamp_key_rotation_clears_the_fast_forward_floor_at_once() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    // CV-57: fast-forwarded to 2^31-1, then 2^62 (numbers are verified as Go's float64s, as
    // Notary does, so i64::MAX itself has no exact form and is refused: QUIRKS 4, 5).
    for v in [i64::from(i32::MAX), 1 << 62] {
        r.timestamp.version = v;
        r.publish_timestamp();
        update(&r, &mut cache).unwrap();
    }
    let trusted = cache.files.clone();
    r.timestamp.version = i64::MAX;
    r.publish_timestamp();
    assert!(
        update(&r, &mut cache).is_err(),
        "i64::MAX has no float64 form"
    );
    assert!(cache.files == trusted, "INV-C");
    let old_key = std::mem::replace(
        &mut r.timestamp_key,
        crate::sign::testing::TestKey::ed25519(),
    );
    r.set_root_roles();
    r.root.version += 1;
    r.publish_root();
    r.snapshot.version += 1;
    r.publish_snapshot();
    r.timestamp.version = 1;
    r.publish_timestamp();
    let u = update(&r, &mut cache).expect("the honest timestamp under the new key, at once");
    assert_eq!(u.repo.timestamp.as_ref().unwrap().signed.version, 1);
    assert!(cache.files[role::TIMESTAMP] == r.current[role::TIMESTAMP]);
    // The old key's timestamps are refused now, even at a higher version.
    let honest = r.current[role::TIMESTAMP].clone();
    let new_key = std::mem::replace(&mut r.timestamp_key, old_key);
    r.timestamp.version = 5;
    r.publish_timestamp();
    let e = update(&r, &mut cache).unwrap_err();
    assert!(matches!(e, Error::RoleThreshold { .. }), "{e}");
    assert!(cache.files[role::TIMESTAMP] == honest, "INV-C");
    r.timestamp_key = new_key;
}

#[test]
fn cv01_delegation_signed_by_the_wrong_key_is_skipped() {
    let mut r = repo_with_target();
    r.add_delegation("targets/releases", &[""]);
    r.add_target("targets/releases", "rel", b"r");
    // Swap in a key the parent never delegated to.
    r.delegation_keys.insert(
        "targets/releases".into(),
        crate::sign::testing::TestKey::ecdsa(),
    );
    r.publish_targets("targets/releases");
    r.republish_targets(role::TARGETS);
    let u = update(&r, &mut MemoryStore::default()).unwrap();
    assert!(
        u.warnings
            .iter()
            .any(|w| w.contains("valid signatures did not meet threshold for targets/releases")),
        "{:?}",
        u.warnings
    );
    assert!(!u.repo.targets.contains_key("targets/releases"));
}

#[test]
fn cv16_cv54_rollback_to_older_versions_is_refused() {
    let mut r = repo_with_target();
    let old_server = r.server.clone();
    r.add_target(role::TARGETS, "v2", b"two");
    r.republish_targets(role::TARGETS);
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    let before = cache.files.clone();
    // Replay of the whole older, validly signed state.
    let mut remote = old_server;
    let e = load_tuf_repo(&opts(r.now), &mut remote, &mut cache).unwrap_err();
    assert!(matches!(e, Error::LowVersion { .. }), "{e}");
    assert_eq!(cache.files, before);
}

#[test]
fn cv17_timestamp_pointing_to_an_older_snapshot_is_refused() {
    let mut r = repo_with_target();
    let old_snapshot = r.current[role::SNAPSHOT].clone();
    r.bump_snapshot_and_timestamp();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    // A fresh timestamp (higher version, right key) naming the older snapshot.
    r.store(role::SNAPSHOT, old_snapshot);
    r.timestamp.version += 1;
    r.publish_timestamp();
    let before = cache.files.clone();
    let e = update(&r, &mut cache).unwrap_err();
    assert!(matches!(e, Error::LowVersion { .. }), "{e}");
    assert!(
        cache.files == before,
        "INV-C: the refused update moved nothing"
    );
}

/// CV-50: a timestamp that verifies (signature, expiry, version) but names a snapshot that
/// does not is not persisted, so the cache still holds the old timestamp's bytes; the next
/// honest update works.
#[test]
fn cv50_a_verified_timestamp_of_a_failed_update_is_not_persisted() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    let before = cache.files.clone();
    let honest_snapshot = r.current[role::SNAPSHOT].clone();
    // A new snapshot whose signature is broken, named by a properly signed new timestamp.
    r.bump_snapshot_and_timestamp();
    let good_new_snapshot = r.current[role::SNAPSHOT].clone();
    let mut forged: serde_json::Value = serde_json::from_slice(&good_new_snapshot).unwrap();
    forged["signatures"][0]["sig"] = serde_json::Value::String("AAAA".into());
    let forged = serde_json::to_vec(&forged).unwrap();
    r.store(role::SNAPSHOT, forged);
    r.publish_timestamp();
    let e = update(&r, &mut cache).unwrap_err();
    assert!(
        matches!(e, Error::RoleThreshold { .. } | Error::ValidationFail(_)),
        "{e}"
    );
    assert!(
        cache.files == before,
        "INV-C: the new timestamp was not written"
    );
    assert!(cache.files[role::SNAPSHOT] != good_new_snapshot);
    assert!(cache.files[role::SNAPSHOT] == honest_snapshot);
    // The server heals: the same (honest) new snapshot under a new timestamp.
    r.store(role::SNAPSHOT, good_new_snapshot.clone());
    r.publish_timestamp();
    update(&r, &mut cache).unwrap();
    assert!(cache.files[role::SNAPSHOT] == good_new_snapshot);
}

#[test]
fn cv27_snapshot_bytes_that_differ_from_the_timestamp_hash_are_refused() {
    let mut r = repo_with_target();
    let snap = r.current[role::SNAPSHOT].clone();
    let sha = hex::encode(crate::metadata::sha256(&snap));
    let mut tampered = snap.clone();
    tampered.insert(1, b' ');
    r.server.files.insert(format!("snapshot.{sha}"), tampered);
    let e = update(&r, &mut MemoryStore::default()).unwrap_err();
    assert!(
        matches!(e, Error::Store(StoreError::MaliciousServer)),
        "longer than declared: {e}"
    );
    let mut same_len = snap.clone();
    let last = same_len.len() - 3;
    same_len[last] ^= 0x01;
    r.server.files.insert(format!("snapshot.{sha}"), same_len);
    let e = update(&r, &mut MemoryStore::default()).unwrap_err();
    assert!(matches!(e, Error::MismatchedChecksum { .. }), "{e}");
}

#[test]
fn dos01_oversized_timestamp_is_refused() {
    let mut r = repo_with_target();
    r.server
        .files
        .insert(role::TIMESTAMP.into(), vec![b' '; (1 << 20) + 1]);
    let e = update(&r, &mut MemoryStore::default()).unwrap_err();
    assert!(
        matches!(e, Error::Store(StoreError::MaliciousServer)),
        "{e}"
    );
}

#[test]
fn cv51_unreachable_server_falls_back_to_an_unexpired_cached_timestamp() {
    let r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    let u = load_tuf_repo(&opts(r.now), &mut OfflineStore, &mut cache).unwrap();
    assert_eq!(targets_of(&u), ["v1"]);
    assert!(
        u.warnings[0]
            .starts_with("Error while downloading remote metadata, using cached timestamp")
    );
    // With the cached timestamp expired there is nothing to fall back on.
    let later = r.now + Duration::days(15);
    let e = load_tuf_repo(&opts(later), &mut OfflineStore, &mut cache).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Expired { .. } | Error::Store(StoreError::Offline)
        ),
        "{e}"
    );
}

#[test]
fn root_rotation_walks_every_intermediate_version() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    r.rotate_root_key(true);
    r.rotate_root_key(true);
    assert_eq!(r.root.version, 3);
    let u = update(&r, &mut cache).unwrap();
    assert_eq!(u.repo.root.as_ref().unwrap().signed.version, 3);
    assert_eq!(cache.files[role::ROOT], r.current[role::ROOT]);
}

#[test]
fn cv21_rotation_without_the_old_key_signature_is_refused() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    let before = cache.files[role::ROOT].clone();
    r.rotate_root_key(false);
    let e = update(&r, &mut cache).unwrap_err();
    assert!(matches!(e, Error::RootRotationFail(_)), "{e}");
    assert_eq!(
        cache.files[role::ROOT],
        before,
        "the old root stays trusted"
    );
}

#[test]
fn cv23_missing_intermediate_root_is_refused() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    r.rotate_root_key(true);
    r.rotate_root_key(true);
    r.server.files.remove("2.root");
    let e = update(&r, &mut cache).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Store(StoreError::MetaNotFound { .. }) | Error::RepositoryNotExist { .. }
        ),
        "{e}"
    );
}

/// CV-23: each step of a root walk must be exactly one version: a `2.root.json` that says it
/// is version 3 (validly signed by the trusted root's key and its own) is refused, where
/// Notary checks only that it is at least 2.
#[test]
fn cv23_an_intermediate_root_of_the_wrong_version_is_refused() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    let before = cache.files.clone();
    let key1 = r.rotate_root_key(true);
    let mut v2 = r.root.clone();
    let key2 = r.rotate_root_key(true);
    v2.version = 3;
    let forged = TestRepo::sign(&v2, &[&key1, &key2]);
    r.server.files.insert("2.root".into(), forged);
    let e = update(&r, &mut cache).unwrap_err();
    assert!(
        matches!(&e, Error::RootRotationFail(m) if m.contains("2.root.json") && m.contains("version 3")),
        "{e}"
    );
    assert!(cache.files == before, "INV-C");
}

#[test]
fn cv25_absurd_root_version_jump_is_refused() {
    let mut r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    r.rotate_root_key(true);
    // Re-sign root 2 claiming a version far ahead, cross-signed so only the walk length fails.
    r.root.version = 1_000_000;
    let bytes = r.publish_root();
    r.server.files.insert(role::ROOT.into(), bytes);
    r.bump_snapshot_and_timestamp();
    let e = update(&r, &mut cache).unwrap_err();
    assert!(
        matches!(&e, Error::RootRotationFail(m) if m.contains("versions ahead")),
        "{e}"
    );
}

#[test]
fn cv14_expired_root_with_nothing_newer_fails() {
    let mut r = TestRepo::new(GUN, Utc::now());
    r.root.expires = (r.now + Duration::days(30)).fixed_offset();
    r.publish_root();
    r.bump_snapshot_and_timestamp();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    // Timestamp, snapshot and targets are all still fresh at that time; only root expired.
    r.timestamp.expires = (r.now + Duration::days(60)).fixed_offset();
    r.bump_snapshot_and_timestamp();
    let later = r.now + Duration::days(31);
    let mut remote = r.server.clone();
    let e = load_tuf_repo(&opts(later), &mut remote, &mut cache).unwrap_err();
    assert!(
        matches!(&e, Error::Expired { role, .. } if role == "root"),
        "{e}"
    );
}

#[test]
fn cv48_corrupt_cached_targets_is_replaced_from_the_server() {
    let r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    cache
        .files
        .insert(role::TARGETS.into(), b"{\"signed\":".to_vec());
    let u = update(&r, &mut cache).unwrap();
    assert_eq!(targets_of(&u), ["v1"]);
    assert_eq!(cache.files[role::TARGETS], r.current[role::TARGETS]);
}

#[test]
fn cv49_corrupt_cached_root_fails_closed() {
    let r = repo_with_target();
    let mut cache = MemoryStore::default();
    update(&r, &mut cache).unwrap();
    cache.files.insert(role::ROOT.into(), b"garbage".to_vec());
    let e = update(&r, &mut cache).unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    assert_eq!(
        cache.files[role::ROOT],
        b"garbage",
        "no silent re-trust on first use"
    );
}

#[test]
fn cv53_another_guns_repository_is_refused() {
    let other = TestRepo::new("example.com/other", Utc::now());
    let mut remote = other.server.clone();
    let e = load_tuf_repo(&opts(other.now), &mut remote, &mut MemoryStore::default()).unwrap_err();
    assert!(matches!(e, Error::ValidationFail(_)), "{e}");
}

#[test]
fn roles_within_six_months_of_expiry_are_warned_about() {
    let mut r = repo_with_target();
    let u = update(&r, &mut MemoryStore::default()).unwrap();
    assert!(u.warnings.is_empty(), "{:?}", u.warnings);

    // Root in five months, targets in seven: only root is near.
    r.root.expires = (r.now + Duration::days(150)).fixed_offset();
    r.root.version += 1;
    r.publish_root();
    r.targets.get_mut(role::TARGETS).unwrap().expires =
        (r.now + Duration::days(210)).fixed_offset();
    r.republish_targets(role::TARGETS);
    let u = update(&r, &mut MemoryStore::default()).unwrap();
    assert_eq!(
        u.warnings,
        ["root is nearing expiry, you should re-sign the role metadata"]
    );
    assert!(crate::update::near_expiry(&r.root.expires, r.now));
    assert!(!crate::update::near_expiry(
        &(r.now + Duration::days(190)).fixed_offset(),
        r.now
    ));
}
