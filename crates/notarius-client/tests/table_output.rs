//! Our tables against what the real `notary` printed for the same repositories and key stores
//! (fixtures/notary-0.7/*/cli), byte for byte.

use std::fs;
use std::path::{Path, PathBuf};

use notarius_client::listing::{KeyRow, list_targets, pretty_keys, pretty_targets};
use notarius_crypto::keystore::FileKeyStore;
use notarius_tuf::metadata::{Envelope, Timestamp};
use notarius_tuf::store::MemoryStore;
use notarius_tuf::update::{UpdateOptions, load_tuf_repo};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/notary-0.7")
}

fn remote_of(server: &Path) -> MemoryStore {
    let mut m = MemoryStore::default();
    let mut stack = vec![server.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Some(rel) = p
                .strip_prefix(server)
                .unwrap()
                .to_str()
                .and_then(|s| s.strip_suffix(".json"))
            else {
                continue;
            };
            let bytes = fs::read(&p).unwrap();
            m.files.insert(
                format!(
                    "{rel}.{}",
                    hex::encode(notarius_tuf::metadata::sha256(&bytes))
                ),
                bytes.clone(),
            );
            m.files.insert(rel.to_owned(), bytes);
        }
    }
    m
}

fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("cli/list.txt").is_file())
        .collect();
    v.sort();
    assert!(v.len() >= 5);
    v
}

#[test]
fn notary_list_output_is_reproduced() {
    for scn in scenarios() {
        let meta: Value =
            serde_json::from_slice(&fs::read(scn.join("scenario.json")).unwrap()).unwrap();
        let server = scn.join("server");
        let ts: Timestamp = Envelope::parse(
            "timestamp",
            &fs::read(server.join("timestamp.json")).unwrap(),
        )
        .unwrap()
        .decode("timestamp")
        .unwrap();
        let opts = UpdateOptions {
            gun: meta["gun"].as_str().unwrap().to_owned(),
            trust_pinning: Default::default(),
            always_check_initialized: false,
            now: ts.expires.with_timezone(&chrono::Utc) - chrono::Duration::days(13),
        };
        let u = load_tuf_repo(&opts, &mut remote_of(&server), &mut MemoryStore::default()).unwrap();
        let ours = pretty_targets(list_targets(&u.repo, &[]).unwrap());
        let theirs = fs::read_to_string(scn.join("cli/list.txt")).unwrap();
        assert_eq!(ours, theirs, "{}", scn.display());
        if scn.join("cli/list-role-releases-qa.txt").is_file() {
            let ours =
                pretty_targets(list_targets(&u.repo, &["targets/releases/qa".to_owned()]).unwrap());
            assert_eq!(
                ours,
                fs::read_to_string(scn.join("cli/list-role-releases-qa.txt")).unwrap()
            );
        }
    }
}

#[test]
fn notary_key_list_output_is_reproduced() {
    for scn in scenarios() {
        let theirs = fs::read_to_string(scn.join("cli/key-list.txt")).unwrap();
        // Copy the key store: opening it may migrate or tighten modes.
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("private")).unwrap();
        for e in fs::read_dir(scn.join("trust/private")).unwrap() {
            let p = e.unwrap().path();
            fs::copy(&p, t.path().join("private").join(p.file_name().unwrap())).unwrap();
        }
        let ks = FileKeyStore::open(t.path()).unwrap();
        // notary ran with its trust dir at /tmp/notarius-fixtures/<scenario>/trust.
        let location = format!(
            "/tmp/notarius-fixtures/{}/trust/private",
            scn.file_name().unwrap().to_string_lossy()
        );
        let rows = ks
            .list()
            .unwrap()
            .into_iter()
            .map(|(id, i)| KeyRow {
                role: i.role,
                gun: i.gun,
                key_id: id,
                location: location.clone(),
            })
            .collect();
        let ours = format!("\n{}\n", pretty_keys(rows));
        assert_eq!(ours, theirs, "{}", scn.display());
    }
}
