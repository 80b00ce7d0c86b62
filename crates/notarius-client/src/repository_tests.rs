//! The publish paths (first publish, later publishes, rotations, witness, delegations, and
//! failures), against the in-memory trust server: no server process, and every file checked.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::Utc;
use notarius_crypto::keystore::FileKeyStore;
use notarius_crypto::passphrase::ConstantRetriever;
use notarius_crypto::service::CryptoService;
use notarius_tuf::metadata::FileMeta;
use notarius_tuf::role::{self, Gun};
use notarius_tuf::store::StoreError;

use crate::Repository;
use crate::changelist::{Change, TufDelegation};
use crate::publish::Rotation;
use crate::remote::{MemoryRemote, Remote as _};

const GUN: &str = "example.com/app";

fn gun() -> Gun {
    Gun::new(GUN).unwrap()
}

fn keys(dir: &Path) -> CryptoService {
    CryptoService::new(
        vec![Box::new(FileKeyStore::open(dir).unwrap())],
        Box::new(ConstantRetriever(zeroize::Zeroizing::new(
            "correct horse battery".into(),
        ))),
    )
}

/// A publisher's trust directory and key service on `server`.
struct Publisher {
    /// Kept for the test's length: the trust directory is removed when it drops.
    _dir: tempfile::TempDir,
    cs: CryptoService,
    repo: Repository<MemoryRemote>,
}

fn publisher(server: &MemoryRemote) -> Publisher {
    let dir = tempfile::tempdir().unwrap();
    let cs = keys(dir.path());
    let repo = Repository::new(dir.path(), gun(), server.clone(), Default::default());
    Publisher {
        _dir: dir,
        cs,
        repo,
    }
}

impl Publisher {
    fn stage(&self, c: Change) {
        self.repo.changelist().add(&c).unwrap();
    }

    fn add(&self, name: &str, content: &[u8]) {
        self.stage(Change::add_target(
            None,
            name,
            FileMeta::from_bytes(content),
        ));
    }

    fn publish(&mut self) -> crate::Published {
        self.repo.publish(&mut self.cs, Utc::now()).unwrap()
    }

    fn staged(&self) -> usize {
        self.repo.changelist().list().unwrap().0.len()
    }
}

/// What a consumer starting from nothing (or from `dir`'s trust) reads: target name → length.
fn consumer_reads(server: &MemoryRemote, dir: &Path) -> BTreeMap<String, i64> {
    let mut repo = Repository::new(dir, gun(), server.clone(), Default::default());
    let read = repo.read(Utc::now()).unwrap();
    let mut out = BTreeMap::new();
    read.repo
        .walk_targets("", "", &[], |t, _| {
            for (name, meta) in &t.signed.targets {
                out.insert(name.clone(), meta.length);
            }
            Ok(notarius_tuf::repo::Walk::Continue)
        })
        .unwrap();
    out
}

/// Every file under `dir`, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn root_key_ids(server: &MemoryRemote, role_name: &str) -> Vec<String> {
    let bytes = server.file(role::ROOT).unwrap();
    let (root, _) = notarius_tuf::metadata::Signed::<notarius_tuf::metadata::Root>::from_bytes(
        role::ROOT,
        &bytes,
    )
    .unwrap();
    root.signed
        .base_role(role_name)
        .unwrap()
        .keys
        .values()
        .map(|k| k.canonical_id().to_owned())
        .collect()
}

#[test]
fn the_first_publish_creates_the_repository_a_consumer_verifies() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    let published = p.publish();
    assert_eq!(published.applied, 1);
    assert_eq!(p.staged(), 0, "what was published is no longer staged");
    // Root, targets and (client-held by default) snapshot uploaded; the server added the
    // timestamp signed with the key it made.
    assert_eq!(
        server.uploads(),
        [vec!["root", "targets", "snapshot", "timestamp"]]
    );
    for r in ["root", "targets", "snapshot", "timestamp"] {
        assert_eq!(server.version(r), 1, "{r}");
    }
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(
        consumer_reads(&server, fresh.path()),
        BTreeMap::from([("v1".to_owned(), 3)])
    );
    // The publisher made root, targets and snapshot keys here, not a timestamp key.
    let held: Vec<String> =
        p.cs.list_all_keys()
            .unwrap()
            .into_values()
            .map(|(i, _)| i.role)
            .collect();
    assert_eq!(held.len(), 3, "{held:?}");
    assert!(!held.iter().any(|r| r == "timestamp"));
    // The root made here is cached as the trust anchor (Notary's `Initialize` saves it).
    assert_eq!(
        std::fs::read(
            p._dir
                .path()
                .join("tuf")
                .join(GUN)
                .join("metadata/root.json")
        )
        .ok(),
        server.file("root")
    );
}

/// After the first publish the publisher trusts the root it made, not whatever root the
/// server serves next: a server that swaps in another root (a compromise, or a different
/// repository restored over this one) is refused, and nothing cached changes.
#[test]
fn a_root_swapped_after_the_first_publish_is_refused() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    let other_server = MemoryRemote::new(GUN);
    let mut other = publisher(&other_server);
    other.add("v1", b"evil");
    other.publish();
    for r in ["root", "targets", "snapshot", "timestamp"] {
        server.put_raw(r, &other_server.file(r).unwrap());
    }
    let before = tree(p._dir.path());
    let e = p.repo.read(Utc::now()).unwrap_err();
    assert!(
        matches!(
            e,
            crate::Error::Tuf(
                notarius_tuf::Error::RoleThreshold { .. }
                    | notarius_tuf::Error::RootRotationFail(_)
                    | notarius_tuf::Error::ValidationFail(_)
            )
        ),
        "{e:?}"
    );
    assert_eq!(tree(p._dir.path()), before);
}

#[test]
fn later_publishes_apply_on_top_and_removals_remove() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    p.add("v2", b"two!");
    p.stage(Change::remove_target(None, "v1"));
    p.publish();
    assert_eq!(server.version("targets"), 2);
    assert_eq!(
        server.version("root"),
        1,
        "root is not re-signed without need"
    );
    assert_eq!(server.uploads()[1], ["targets", "snapshot", "timestamp"]);
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(
        consumer_reads(&server, fresh.path()),
        BTreeMap::from([("v2".to_owned(), 4)])
    );
}

#[test]
fn a_failed_upload_keeps_the_changes_and_the_cache_as_they_were() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    p.add("v2", b"two");
    let before = tree(&p.repo.dir());
    server.fail_next_upload(StoreError::Closed("connection reset".into()));
    let e = p.repo.publish(&mut p.cs, Utc::now()).unwrap_err();
    assert!(e.to_string().contains("closed the connection"), "{e}");
    assert_eq!(tree(&p.repo.dir()), before, "trust directory unchanged");
    assert_eq!(p.staged(), 1);
    assert_eq!(server.version("targets"), 1);
    // And the next publish works.
    p.publish();
    assert_eq!(server.version("targets"), 2);
    assert_eq!(p.staged(), 0);
}

#[test]
fn a_refused_upload_keeps_the_changes() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    // Another publisher with no targets key here cannot sign targets: the server refuses.
    let mut other = publisher(&server);
    other.add("theirs", b"x");
    let e = other.repo.publish(&mut other.cs, Utc::now()).unwrap_err();
    assert!(
        e.to_string()
            .contains("valid signatures did not meet threshold")
            || e.to_string().contains("signing keys"),
        "{e}"
    );
    assert_eq!(other.staged(), 1);
    assert_eq!(server.version("targets"), 1);
}

#[test]
fn witness_re_signs_a_role_as_it_is() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    let before = server.file("targets").unwrap();
    p.stage(Change::Witness {
        role: "targets".into(),
    });
    p.publish();
    assert_eq!(server.version("targets"), 2);
    assert_ne!(server.file("targets").unwrap(), before);
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(consumer_reads(&server, fresh.path()).len(), 1);
}

#[test]
fn a_delegation_signs_its_paths_without_the_targets_key() {
    let server = MemoryRemote::new(GUN);
    let mut owner = publisher(&server);
    // The delegate's key, made in its own trust directory.
    let delegate_dir = tempfile::tempdir().unwrap();
    let mut delegate_cs = keys(delegate_dir.path());
    let delegate_key = delegate_cs
        .create(
            "targets/releases",
            "",
            notarius_crypto::private::Algorithm::Ecdsa,
        )
        .unwrap();
    owner.add("v1", b"one");
    owner.stage(Change::Delegation {
        role: "targets/releases".into(),
        create: true,
        edit: TufDelegation {
            threshold: 1,
            add_keys: vec![delegate_key],
            add_paths: vec!["releases/".into()],
            ..Default::default()
        },
    });
    owner.publish();
    assert_eq!(
        server.uploads()[0],
        ["root", "targets", "snapshot", "timestamp"]
    );

    // The snapshot key is the owner's: the delegate's publish needs the server to sign the
    // snapshot, so hand it over first (`key rotate snapshot -r`).
    let warnings = owner
        .repo
        .rotate_key(
            &mut owner.cs,
            &Rotation {
                role: "snapshot".into(),
                server_managed: true,
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");

    let mut delegate = Repository::new(
        delegate_dir.path(),
        gun(),
        server.clone(),
        Default::default(),
    );
    delegate
        .changelist()
        .add(&Change::add_target(
            Some("targets/releases"),
            "releases/1.0",
            FileMeta::from_bytes(b"release"),
        ))
        .unwrap();
    delegate.publish(&mut delegate_cs, Utc::now()).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let seen = consumer_reads(&server, fresh.path());
    assert_eq!(seen.get("releases/1.0"), Some(&7), "{seen:?}");
    assert_eq!(seen.get("v1"), Some(&3));

    // Outside its paths the delegation cannot sign: nothing is uploaded.
    delegate
        .changelist()
        .add(&Change::add_target(
            Some("targets/releases"),
            "elsewhere",
            FileMeta::from_bytes(b"x"),
        ))
        .unwrap();
    let uploads = server.uploads().len();
    assert!(delegate.publish(&mut delegate_cs, Utc::now()).is_err());
    assert_eq!(server.uploads().len(), uploads);
}

#[test]
fn rotating_the_targets_key_re_signs_targets_and_forgets_the_old_key() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    let old = root_key_ids(&server, "targets");
    p.repo
        .rotate_key(
            &mut p.cs,
            &Rotation {
                role: "targets".into(),
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap();
    let new = root_key_ids(&server, "targets");
    assert_ne!(old, new);
    assert_eq!(server.version("root"), 2);
    assert_eq!(
        server.version("targets"),
        2,
        "targets signed by its new key"
    );
    let held = p.cs.list_all_keys().unwrap();
    assert!(!held.contains_key(&old[0]), "the replaced key is deleted");
    assert!(held.contains_key(&new[0]));
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(consumer_reads(&server, fresh.path()).len(), 1);
}

#[test]
fn a_root_rotation_is_followed_by_a_consumer_that_trusted_the_old_root() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    let consumer = tempfile::tempdir().unwrap();
    consumer_reads(&server, consumer.path());
    let old_root = root_key_ids(&server, "root");
    p.repo
        .rotate_key(
            &mut p.cs,
            &Rotation {
                role: "root".into(),
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap();
    assert_ne!(root_key_ids(&server, "root"), old_root);
    assert_eq!(server.version("root"), 2);
    assert!(server.file("1.root").is_some() && server.file("2.root").is_some());
    // The consumer's cached root is version 1: it walks to 2, signed by old and new keys.
    assert_eq!(consumer_reads(&server, consumer.path()).len(), 1);
    // The old root key is kept (it signs nothing more, but Notary keeps root keys).
    assert!(p.cs.list_all_keys().unwrap().contains_key(&old_root[0]));
}

#[test]
fn a_rotation_that_fails_to_upload_changes_nothing() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    let before = tree(&p.repo.dir());
    let held_before = p.cs.list_all_keys().unwrap().len();
    server.fail_next_upload(StoreError::Closed("reset".into()));
    assert!(
        p.repo
            .rotate_key(
                &mut p.cs,
                &Rotation {
                    role: "targets".into(),
                    ..Default::default()
                },
                Utc::now(),
            )
            .is_err()
    );
    assert_eq!(tree(&p.repo.dir()), before);
    assert_eq!(server.version("root"), 1);
    // The old key stays (the new one was made, as Notary makes it, before the upload).
    assert!(p.cs.list_all_keys().unwrap().len() >= held_before);
    assert_eq!(root_key_ids(&server, "targets").len(), 1);
}

#[test]
fn a_repository_only_in_the_trust_directory_goes_online_with_a_timestamp_rotation() {
    // What `notary init` without -p leaves: root, targets and snapshot in the cache, signed
    // with keys here, and a timestamp key the server made; no repository on the server.
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.add("v1", b"one");
    p.publish();
    let metadata = p.repo.dir().join("metadata");
    std::fs::create_dir_all(&metadata).unwrap();
    for r in ["root", "targets", "snapshot"] {
        std::fs::write(metadata.join(format!("{r}.json")), server.file(r).unwrap()).unwrap();
    }
    let _ = std::fs::remove_file(metadata.join("timestamp.json"));
    server.delete_all().unwrap();
    let old_timestamp_key = {
        let (root, _) = notarius_tuf::metadata::Signed::<notarius_tuf::metadata::Root>::from_bytes(
            role::ROOT,
            &std::fs::read(metadata.join("root.json")).unwrap(),
        )
        .unwrap();
        root.signed.roles["timestamp"].keyids.clone()
    };
    p.repo
        .rotate_key(
            &mut p.cs,
            &Rotation {
                role: "timestamp".into(),
                server_managed: true,
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap();
    // Published with the rotation: root (re-signed), targets and snapshot from the trust
    // directory, and the server's timestamp under its new key.
    assert_eq!(
        server.uploads().last().unwrap(),
        &["root", "targets", "snapshot", "timestamp"]
    );
    assert_eq!(server.version("root"), 2);
    assert_ne!(root_key_ids(&server, "timestamp"), old_timestamp_key);
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(
        consumer_reads(&server, fresh.path()),
        BTreeMap::from([("v1".to_owned(), 3)])
    );
}

#[test]
fn a_rotation_of_a_repository_that_is_nowhere_says_so() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    let e = p
        .repo
        .rotate_key(
            &mut p.cs,
            &Rotation {
                role: "targets".into(),
                ..Default::default()
            },
            Utc::now(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("does not have trust data"), "{e}");
    assert!(server.uploads().is_empty());
}

#[test]
fn a_server_managed_rotation_of_a_client_only_role_is_refused_before_anything_happens() {
    let server = MemoryRemote::new(GUN);
    let mut p = publisher(&server);
    p.publish();
    for (role_name, managed, msg) in [
        (
            "targets",
            true,
            "does not permit the server managing the targets key",
        ),
        (
            "timestamp",
            false,
            "does not permit the client managing the timestamp key",
        ),
        (
            "targets/x",
            false,
            "does not currently permit rotating the targets/x key",
        ),
    ] {
        let e = p
            .repo
            .rotate_key(
                &mut p.cs,
                &Rotation {
                    role: role_name.into(),
                    server_managed: managed,
                    ..Default::default()
                },
                Utc::now(),
            )
            .unwrap_err();
        assert!(e.to_string().contains(msg), "{role_name}: {e}");
    }
    assert_eq!(server.uploads().len(), 1);
}
