//! `Received` (the loading path that decodes canonical signed bytes straight into their type)
//! against `Envelope` (the strict tree parse): over every file Notary 0.7 wrote in the
//! fixtures, over hand-made edge cases, and over randomly damaged copies, both must accept the
//! same files, decode the same values, check signatures alike and fail with the same message.

use std::fs;
use std::path::{Path, PathBuf};

use notarius_tuf::metadata::{
    BaseRole, Envelope, Received, Root, SignedPart, Snapshot, Targets, Timestamp, verify_signatures,
};
use notarius_tuf::role;
use proptest::prelude::*;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/notary-0.7")
        .join(name)
        .join("server")
}

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("{}: {e} (run scripts/gen-fixtures.sh)", p.display()))
}

fn base_roles(server: &Path) -> Vec<BaseRole> {
    let root: Root = Envelope::parse(role::ROOT, &read(&server.join("root.json")))
        .unwrap()
        .decode(role::ROOT)
        .unwrap();
    role::BASE_ROLES
        .iter()
        .map(|r| root.base_role(r).unwrap())
        .collect()
}

fn same_decode<T: SignedPart + PartialEq + std::fmt::Debug>(
    received: &Received<'_>,
    env: &Envelope,
    role: &str,
    what: &str,
) {
    assert_eq!(
        received.decode::<T>(role).map_err(|e| e.to_string()),
        env.decode::<T>(role).map_err(|e| e.to_string()),
        "{what}: decoding as {role}"
    );
}

/// Both ways agree on `bytes`; returns whether they accepted it.
fn same(bytes: &[u8], roles: &[BaseRole], what: &str) -> bool {
    let received = Received::parse("targets", bytes);
    let env = Envelope::parse("targets", bytes);
    let (received, env) = match (received, env) {
        (Ok(r), Ok(e)) => (r, e),
        (Err(r), Err(e)) => {
            assert_eq!(r.to_string(), e.to_string(), "{what}: parse errors");
            return false;
        }
        (r, e) => panic!("{what}: Received {r:?}, Envelope {e:?}"),
    };
    assert_eq!(received.signatures, env.signatures, "{what}: signatures");
    same_decode::<Targets>(&received, &env, role::TARGETS, what);
    same_decode::<Targets>(&received, &env, "targets/releases", what);
    same_decode::<Snapshot>(&received, &env, role::SNAPSHOT, what);
    same_decode::<Timestamp>(&received, &env, role::TIMESTAMP, what);
    same_decode::<Root>(&received, &env, role::ROOT, what);
    for r in roles {
        assert_eq!(
            received.verify(r).map_err(|e| e.to_string()),
            verify_signatures(&env, r).map_err(|e| e.to_string()),
            "{what}: verified with {}'s keys",
            r.name
        );
    }
    true
}

#[test]
fn every_file_notary_wrote_loads_alike() {
    let mut files = 0;
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/notary-0.7");
    for entry in fs::read_dir(&all).unwrap() {
        let server = entry.unwrap().path().join("server");
        if !server.join("root.json").is_file() {
            continue;
        }
        let roles = base_roles(&server);
        let mut dirs = vec![server.clone()];
        while let Some(d) = dirs.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    assert!(same(&read(&p), &roles, &p.display().to_string()));
                    files += 1;
                }
            }
        }
    }
    assert!(files > 20, "{files} files");
}

#[test]
fn edge_cases_load_alike() {
    let server = scenario("delegations");
    let roles = base_roles(&server);
    let good = String::from_utf8(read(&server.join("targets.json"))).unwrap();
    assert!(
        Envelope::canonical_signed_in(good.as_bytes()).is_some(),
        "the fixture's signed part is canonical, so these cases take the direct path"
    );
    let (signed_end, _) = good.match_indices(",\"signatures\":").last().unwrap();
    let head = &good[..signed_end];
    let sigs = &good[signed_end + 1..good.len() - 1];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("as written", good.clone().into_bytes()),
        ("no signatures member", format!("{head}}}").into_bytes()),
        (
            "signatures null",
            format!("{head},\"signatures\":null}}").into_bytes(),
        ),
        ("trailing comma", format!("{head},}}").into_bytes()),
        (
            "signed twice",
            format!("{head},{sigs},\"signed\":{{}}}}").into_bytes(),
        ),
        (
            "signatures twice",
            format!("{head},{sigs},{sigs}}}").into_bytes(),
        ),
        (
            "another member",
            format!("{head},{sigs},\"x\":1}}").into_bytes(),
        ),
        (
            "trailing whitespace",
            format!("{head},{sigs}}} \n\t").into_bytes(),
        ),
        ("trailing data", format!("{head},{sigs}}} x").into_bytes()),
        ("after no signatures", format!("{head}}}x").into_bytes()),
        (
            "whitespace after signed",
            format!("{head} ,{sigs}}}").into_bytes(),
        ),
        (
            "signatures not a list",
            format!("{head},\"signatures\":{{}}}}").into_bytes(),
        ),
        (
            "case variant",
            good.replacen("\"version\":", "\"Version\":9,\"version\":", 1)
                .into_bytes(),
        ),
        (
            "unknown member",
            good.replacen("\"version\":", "\"x-extra\":[1],\"version\":", 1)
                .into_bytes(),
        ),
        (
            "raw newline in a name",
            good.replacen("\"targets\":{\"", "\"targets\":{\"\n", 1)
                .into_bytes(),
        ),
        (
            "raw tab in a value",
            good.replacen("\"Targets\"", "\"Tar\tgets\"", 1)
                .into_bytes(),
        ),
        (
            "version as text",
            good.replacen("\"version\":", "\"version\":\"1\",\"x\":", 1)
                .into_bytes(),
        ),
        (
            "expires mangled",
            good.replacen("\"expires\":\"", "\"expires\":\"x", 1)
                .into_bytes(),
        ),
    ];
    for (what, bytes) in cases {
        same(&bytes, &roles, what);
    }
    // Invalid UTF-8 inside a name, where the recognizer does not look.
    let mut bytes = good.clone().into_bytes();
    let at = good.find("\"targets\":{\"").unwrap() + "\"targets\":{\"".len();
    bytes.insert(at, 0xff);
    same(&bytes, &roles, "invalid UTF-8");
    let mut bytes = good.into_bytes();
    bytes.insert(at, 0xc3);
    same(&bytes, &roles, "truncated UTF-8");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn damaged_files_load_alike(
        file in prop::sample::select(vec![
            "delegations/server/targets.json",
            "delegations/server/targets/releases.json",
            "basic/server/targets.json",
            "basic/server/snapshot.json",
            "basic/server/timestamp.json",
        ]),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(b"{}[]\",:\\ 0129aAeE-\n\x7f\xc3\xff".to_vec()), 0u8..3),
            1..4,
        ),
    ) {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/notary-0.7").join(file);
        let roles = base_roles(&scenario(file.split('/').next().unwrap()));
        let mut bytes = read(&p);
        for (at, byte, op) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => {
                    bytes.remove(i);
                }
            }
        }
        same(&bytes, &roles, &format!("{file} edited"));
    }
}
