//! Differential tests against metadata the real Notary 0.7 wrote (fixtures/notary-0.7, made by
//! scripts/gen-fixtures.sh with the Debian `notary`, `notary-server` and `notary-signer`).
//!
//! A Go signature only verifies if our canonical bytes equal Go's to the last byte, so every
//! signature checked here is a comparison of the two canonical JSON encoders, over target names
//! holding `<>&`, quotes, backslashes, U+2028, decomposed accents and emoji. The wire encoding is
//! compared too: re-encoding a parsed file must give back the server's bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use notarius_tuf::metadata::{
    DelegationRole, Envelope, Root, Snapshot, Targets, Timestamp, check_hashes, verify_signatures,
};
use notarius_tuf::role;
use notarius_tuf::trust::{TrustPinConfig, validate_root};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/notary-0.7")
}

fn scenarios() -> Vec<PathBuf> {
    let dir = fixtures_dir();
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "fixtures missing at {}: {e} (run scripts/gen-fixtures.sh)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("server/root.json").is_file())
        .collect();
    out.sort();
    assert!(
        out.len() >= 4,
        "expected the Notary fixture scenarios, found {out:?}"
    );
    out
}

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The moment the fixture was made: its timestamp was signed for 14 days.
fn fixture_time(server: &Path) -> DateTime<Utc> {
    let ts: Timestamp = Envelope::parse("timestamp", &read(&server.join("timestamp.json")))
        .unwrap()
        .decode("timestamp")
        .unwrap();
    ts.expires.with_timezone(&Utc) - Duration::days(14) + Duration::minutes(1)
}

/// Every targets file of the scenario's server dir, by role name.
fn targets_files(server: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    out.insert(role::TARGETS.to_owned(), read(&server.join("targets.json")));
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                let rel = p
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .trim_end_matches(".json")
                    .to_owned();
                out.insert(rel, read(&p));
            }
        }
    }
    walk(server, &server.join("targets"), &mut out);
    out
}

fn assert_wire_round_trip(what: &str, bytes: &[u8]) {
    let env = Envelope::parse(what, bytes).unwrap();
    let again = env.to_wire_bytes().unwrap();
    assert!(
        again == bytes,
        "{what}: re-encoding differs from Notary's bytes\n ours: {}\n go:   {}",
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn every_notary_signature_verifies_and_every_file_re_encodes_byte_for_byte() {
    for scn in scenarios() {
        let name = scn.file_name().unwrap().to_string_lossy().into_owned();
        let meta: Value = serde_json::from_slice(&read(&scn.join("scenario.json"))).unwrap();
        let gun = meta["gun"].as_str().unwrap().to_owned();
        let server = scn.join("server");
        let now = fixture_time(&server);

        // Root: trusted on first use, and every historical version chains to the next.
        let root_bytes = read(&server.join("root.json"));
        assert_wire_round_trip(&format!("{name}/root"), &root_bytes);
        let mut prev: Option<Root> = None;
        let mut v = 1;
        while server.join(format!("{v}.root.json")).is_file() {
            let b = read(&server.join(format!("{v}.root.json")));
            assert_wire_round_trip(&format!("{name}/{v}.root"), &b);
            let env = Envelope::parse("root", &b).unwrap();
            let r = validate_root(prev.as_ref(), &env, &gun, &TrustPinConfig::default(), now)
                .unwrap_or_else(|e| panic!("{name}: {v}.root.json: {e}"));
            assert_eq!(r.version, v);
            prev = Some(r);
            v += 1;
        }
        let root_env = Envelope::parse("root", &root_bytes).unwrap();
        let root = validate_root(None, &root_env, &gun, &TrustPinConfig::default(), now)
            .unwrap_or_else(|e| panic!("{name}: root.json: {e}"));
        if let Some(last) = prev {
            assert_eq!(last, root, "{name}: root.json is the newest versioned root");
        }

        // Timestamp and snapshot: signatures, and hashes over the exact bytes.
        let ts_bytes = read(&server.join("timestamp.json"));
        let snap_bytes = read(&server.join("snapshot.json"));
        for (r, b) in [("timestamp", &ts_bytes), ("snapshot", &snap_bytes)] {
            assert_wire_round_trip(&format!("{name}/{r}"), b);
            let env = Envelope::parse(r, b).unwrap();
            verify_signatures(&env, &root.base_role(r).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {r}: {e}"));
        }
        let ts: Timestamp = Envelope::parse("timestamp", &ts_bytes)
            .unwrap()
            .decode("timestamp")
            .unwrap();
        ts.meta["snapshot"]
            .check_hashes(&snap_bytes, "snapshot")
            .unwrap();
        let snap: Snapshot = Envelope::parse("snapshot", &snap_bytes)
            .unwrap()
            .decode("snapshot")
            .unwrap();
        check_hashes(&root_bytes, "root", &snap.meta["root"].hashes).unwrap();

        // The targets tree, each role verified by its delegator's keys.
        let files = targets_files(&server);
        let mut parsed: BTreeMap<String, Targets> = BTreeMap::new();
        let mut queue = vec![DelegationRole::top(root.base_role(role::TARGETS).unwrap())];
        let mut found_targets: BTreeMap<String, (String, String, i64)> = BTreeMap::new();
        while let Some(r) = queue.pop() {
            let rn = r.base.name.clone();
            let Some(bytes) = files.get(&rn) else {
                panic!("{name}: delegation {rn} has no file on the server");
            };
            assert_wire_round_trip(&format!("{name}/{rn}"), bytes);
            check_hashes(bytes, &rn, &snap.meta[&rn].hashes)
                .unwrap_or_else(|e| panic!("{name}: {rn}: {e}"));
            let env = Envelope::parse(&rn, bytes).unwrap();
            verify_signatures(&env, &r.base).unwrap_or_else(|e| panic!("{name}: {rn}: {e}"));
            let t: Targets = env.decode(&rn).unwrap();
            for (tn, fm) in &t.targets {
                if r.check_paths(tn) {
                    found_targets.entry(tn.clone()).or_insert((
                        rn.clone(),
                        fm.sha256().map(hex::encode).unwrap_or_default(),
                        fm.length,
                    ));
                }
            }
            queue.extend(t.valid_delegations(&r));
            parsed.insert(rn, t);
        }
        assert_eq!(
            parsed.len(),
            files.len(),
            "{name}: every targets file belongs to the tree"
        );

        // What Notary says the targets are.
        for t in meta["targets"].as_array().unwrap() {
            let tn = t["name"].as_str().unwrap();
            let Some((role_name, sha, len)) = found_targets.get(tn) else {
                // A delegation target outside its paths is not part of the repository's view.
                continue;
            };
            if role_name != t["role"].as_str().unwrap() {
                continue;
            }
            assert_eq!(
                sha.as_str(),
                t["sha256"].as_str().unwrap_or_default(),
                "{name}: {tn:?}"
            );
            assert_eq!(*len, t["length"].as_i64().unwrap(), "{name}: {tn:?}");
        }
        assert!(!found_targets.is_empty(), "{name}: no targets found");
    }
}

#[test]
fn odd_target_names_survive_go_signing() {
    let basic = fixtures_dir().join("basic/server/targets.json");
    let t: Targets = Envelope::parse("targets", &read(&basic))
        .unwrap()
        .decode("targets")
        .unwrap();
    let names: Vec<&String> = t.targets.keys().collect();
    for needle in ["<", "&", "\"", "\\", "\u{2028}", "\u{301}", "é"] {
        assert!(
            names.iter().any(|n| n.contains(needle)),
            "no target name holds {needle:?}: {names:?}"
        );
    }
    assert!(
        names.iter().any(|n| n.chars().any(|c| c as u32 > 0xFFFF)),
        "no emoji target name: {names:?}"
    );
    // Go writes HTML characters escaped on the wire; canonical bytes hold them raw.
    let raw = String::from_utf8(read(&basic)).unwrap();
    assert!(raw.contains("\\u003c") && raw.contains("\\u0026") && !raw.contains('<'));
}

/// The server's files under the names a client asks for (`root`, `2.root`, `timestamp`,
/// `snapshot.<sha256>`, `targets/x.<sha256>`).
fn remote_of(server: &Path) -> notarius_tuf::store::MemoryStore {
    let mut m = notarius_tuf::store::MemoryStore::default();
    fn walk(base: &Path, dir: &Path, m: &mut notarius_tuf::store::MemoryStore) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, m);
                continue;
            }
            let Some(rel) = p
                .strip_prefix(base)
                .unwrap()
                .to_str()
                .and_then(|s| s.strip_suffix(".json"))
            else {
                continue;
            };
            let bytes = read(&p);
            let sha = hex::encode(notarius_tuf::metadata::sha256(&bytes));
            m.files.insert(format!("{rel}.{sha}"), bytes.clone());
            m.files.insert(rel.to_owned(), bytes);
        }
    }
    walk(server, server, &mut m);
    m
}

#[test]
fn the_update_loop_reads_every_notary_repository() {
    use notarius_tuf::store::{MemoryStore, MetadataCache};
    use notarius_tuf::update::{UpdateOptions, load_tuf_repo};
    for scn in scenarios() {
        let name = scn.file_name().unwrap().to_string_lossy().into_owned();
        let meta: Value = serde_json::from_slice(&read(&scn.join("scenario.json"))).unwrap();
        let server = scn.join("server");
        let opts = UpdateOptions {
            gun: meta["gun"].as_str().unwrap().to_owned(),
            trust_pinning: TrustPinConfig::default(),
            always_check_initialized: false,
            now: fixture_time(&server),
        };
        let mut cache = MemoryStore::default();
        let u = load_tuf_repo(&opts, &mut remote_of(&server), &mut cache)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            u.invalid.targets_roles().is_empty(),
            "{name}: invalid roles {:?}",
            u.invalid.targets_roles().keys()
        );
        let files = targets_files(&server);
        assert_eq!(
            u.repo.targets_roles().len(),
            files.len(),
            "{name}: every targets role loaded"
        );
        for (role_name, bytes) in &files {
            assert_eq!(
                &cache.get_sized(role_name, None).unwrap(),
                bytes,
                "{name}: {role_name} cached as served"
            );
        }

        // A client that trusted the first root follows every rotation to the current one.
        if server.join("2.root.json").is_file() {
            let mut cache = MemoryStore::default();
            cache
                .set("root", &read(&server.join("1.root.json")))
                .unwrap();
            let u = load_tuf_repo(&opts, &mut remote_of(&server), &mut cache)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let newest: Root = Envelope::parse("root", &read(&server.join("root.json")))
                .unwrap()
                .decode("root")
                .unwrap();
            assert_eq!(
                u.repo.root().unwrap().signed.version,
                newest.version,
                "{name}"
            );
        }
    }
}

/// Every file Notary wrote: where the signed bytes are found verbatim in the file, they are the
/// bytes we would write out to check its signatures; and most files take that shortcut (those
/// with `<>&` in a name do not: Go escapes them on the wire).
#[test]
fn signed_bytes_found_in_notarys_files_are_the_canonical_ones() {
    let (mut found, mut total) = (0, 0);
    for scenario in scenarios() {
        let mut files: Vec<PathBuf> = Vec::new();
        let mut dirs = vec![scenario.join("server")];
        while let Some(d) = dirs.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    files.push(p);
                }
            }
        }
        for p in files {
            let bytes = read(&p);
            let Ok(env) = Envelope::parse("targets", &bytes) else {
                continue;
            };
            total += 1;
            if let Some(m) = Envelope::canonical_signed_in(&bytes) {
                found += 1;
                assert_eq!(m, &env.canonical_signed().unwrap()[..], "{}", p.display());
            }
        }
    }
    assert!(total > 20 && found * 2 > total, "{found} of {total}");
}
