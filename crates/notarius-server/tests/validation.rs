//! Server-side validation of properly signed uploads (security catalog SV rows): repositories
//! built with the TUF core's test fixtures, whose keys the test holds, uploaded as a client
//! would, with the timestamp key the server holds. Every refusal leaves the GUN as it was.

mod common;

use base64::Engine as _;
use chrono::{Duration, Utc};
use common::{Backend, TestDb, TestServer};
use notarius_tuf::keys::{KeyType, PublicKey};
use notarius_tuf::metadata::FileMeta;
use notarius_tuf::sign::testing::TestKey;
use notarius_tuf::testrepo::TestRepo;
use serde_json::Value;

fn agent_get(srv: &TestServer, path: &str) -> (u16, Vec<u8>) {
    let r = srv
        .agent()
        .get(format!("{}{path}", srv.url))
        .call()
        .unwrap();
    (r.status().as_u16(), r.into_body().read_to_vec().unwrap())
}

fn post(srv: &TestServer, gun: &str, files: &[(&str, &[u8])]) -> (u16, Value) {
    let boundary = "validationBoundary";
    let mut body = Vec::new();
    for (name, data) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = srv
        .agent()
        .post(format!("{}/v2/{gun}/_trust/tuf/", srv.url))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .unwrap();
    let status = r.status().as_u16();
    let v = serde_json::from_slice(&r.into_body().read_to_vec().unwrap()).unwrap_or(Value::Null);
    (status, v)
}

/// The server's timestamp key for `gun`.
fn server_key(srv: &TestServer, gun: &str) -> PublicKey {
    let (s, body) = agent_get(srv, &format!("/v2/{gun}/_trust/tuf/timestamp.key"));
    assert_eq!(s, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    PublicKey::new(
        KeyType::parse(v["keytype"].as_str().unwrap()),
        base64::engine::general_purpose::STANDARD
            .decode(v["keyval"]["public"].as_str().unwrap())
            .unwrap(),
    )
}

/// Points root's timestamp role at `key` (the test's own timestamp key is dropped).
fn use_timestamp_key(r: &mut TestRepo, key: &PublicKey) {
    let old: Vec<String> = r.root.roles["timestamp"].keyids.clone();
    for id in old {
        r.root.keys.remove(&id);
    }
    r.root.keys.insert(key.id().to_owned(), key.clone());
    r.root.roles.get_mut("timestamp").unwrap().keyids = vec![key.id().to_owned()];
}

/// A repository published to the server: root, targets and snapshot from the test, timestamp
/// from the server.
fn published(srv: &TestServer, gun: &str) -> TestRepo {
    let mut r = TestRepo::new(gun, Utc::now());
    use_timestamp_key(&mut r, &server_key(srv, gun));
    r.publish_root();
    r.publish_targets("targets");
    r.publish_snapshot();
    let (s, v) = post(
        srv,
        gun,
        &[
            ("root", &r.current["root"]),
            ("targets", &r.current["targets"]),
            ("snapshot", &r.current["snapshot"]),
        ],
    );
    assert_eq!(s, 200, "{v}");
    r
}

fn refused(
    srv: &TestServer,
    gun: &str,
    files: &[(&str, &[u8])],
    code: &str,
    name: Option<&str>,
) -> String {
    let before = agent_get(srv, &format!("/v2/{gun}/_trust/tuf/timestamp.json"));
    let (s, v) = post(srv, gun, files);
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["errors"][0]["code"], code, "{v}");
    if let Some(n) = name {
        assert_eq!(v["errors"][0]["detail"]["Name"], n, "{v}");
    }
    assert_eq!(
        agent_get(srv, &format!("/v2/{gun}/_trust/tuf/timestamp.json")),
        before,
        "a refused update changes nothing"
    );
    v.to_string()
}

/// Publishes a new version of targets (and the snapshot over it); returns both files.
fn next_targets(r: &mut TestRepo) -> (Vec<u8>, Vec<u8>) {
    r.targets.get_mut("targets").unwrap().version += 1;
    let t = r.publish_targets("targets");
    r.snapshot.version += 1;
    let s = r.publish_snapshot();
    (t, s)
}

#[test]
fn properly_signed_but_wrong_updates_are_refused() {
    let db = TestDb::new(Backend::Sqlite);
    let srv = TestServer::start(&db);

    // Accepted: a new target, the server signs the timestamp with its key.
    let gun = "example.com/sv/base";
    let mut r = published(&srv, gun);
    r.add_target("targets", "v1", b"one");
    let (t, s) = next_targets(&mut r);
    assert_eq!(post(&srv, gun, &[("targets", &t), ("snapshot", &s)]).0, 200);
    let (_, ts) = agent_get(&srv, &format!("/v2/{gun}/_trust/tuf/timestamp.json"));
    let ts: Value = serde_json::from_slice(&ts).unwrap();
    assert_eq!(ts["signed"]["version"], 2);
    let old_targets = t.clone();

    // SV-04 / SV-19: the same version again, or a captured older body replayed.
    refused(
        &srv,
        gun,
        &[("targets", &t), ("snapshot", &s)],
        "VERSION",
        None,
    );

    // SV-07: targets signed by a key root does not list.
    let real = std::mem::replace(&mut r.targets_key, TestKey::ecdsa());
    let (t, s) = next_targets(&mut r);
    let msg = refused(
        &srv,
        gun,
        &[("targets", &t), ("snapshot", &s)],
        "INVALID_UPDATE",
        Some("ErrBadTargets"),
    );
    assert!(msg.contains("threshold"), "{msg}");
    r.targets_key = real;

    // Expired targets, properly signed.
    r.targets.get_mut("targets").unwrap().expires = (Utc::now() - Duration::days(1)).fixed_offset();
    let (t, s) = next_targets(&mut r);
    let msg = refused(
        &srv,
        gun,
        &[("targets", &t), ("snapshot", &s)],
        "INVALID_UPDATE",
        Some("ErrBadTargets"),
    );
    assert!(msg.contains("expired"), "{msg}");
    r.targets.get_mut("targets").unwrap().expires =
        (Utc::now() + Duration::days(30)).fixed_offset();

    // SV-09: a snapshot whose targets hash is not the uploaded targets'.
    let (t, _) = next_targets(&mut r);
    let saved = r
        .current
        .insert("targets".into(), b"something else".to_vec())
        .unwrap();
    r.snapshot.version += 1;
    let bad_snapshot = r.publish_snapshot();
    r.current.insert("targets".into(), saved);
    refused(
        &srv,
        gun,
        &[("targets", &t), ("snapshot", &bad_snapshot)],
        "INVALID_UPDATE",
        Some("ErrBadSnapshot"),
    );

    // A rolled-back targets with a snapshot that names it.
    r.snapshot
        .meta
        .insert("targets".into(), FileMeta::from_bytes(&old_targets));
    let rolled = {
        let saved = r
            .current
            .insert("targets".into(), old_targets.clone())
            .unwrap();
        r.snapshot.version += 1;
        let s = r.publish_snapshot();
        r.current.insert("targets".into(), saved);
        s
    };
    let (st, v) = post(
        &srv,
        gun,
        &[("targets", &old_targets), ("snapshot", &rolled)],
    );
    assert_eq!(st, 400, "{v}");

    // SV-08: a delegation nobody delegated, though properly signed by some key.
    r.add_delegation("targets/rogue", &[""]);
    let rogue = r.publish_targets("targets/rogue");
    refused(
        &srv,
        gun,
        &[("targets/rogue", &rogue)],
        "INVALID_UPDATE",
        Some("ErrBadTargets"),
    );

    // SV-01: a root that skips a version; SV-02: a rotation signed only by the new key.
    r.root.version += 2;
    let skip = r.publish_root();
    refused(
        &srv,
        gun,
        &[("root", &skip)],
        "INVALID_UPDATE",
        Some("ErrBadRoot"),
    );
    r.root.version -= 1;
    let new_root_key = TestKey::root(gun);
    let _old = std::mem::replace(&mut r.root_keys, vec![new_root_key]);
    r.set_root_roles();
    use_timestamp_key(&mut r, &server_key(&srv, gun));
    let uncross = r.publish_root();
    refused(
        &srv,
        gun,
        &[("root", &uncross)],
        "INVALID_UPDATE",
        Some("ErrBadRoot"),
    );

    // A later, valid update still goes through.
    let mut r2 = published(&srv, "example.com/sv/again");
    r2.add_target("targets", "ok", b"ok");
    let (t, s) = next_targets(&mut r2);
    assert_eq!(
        post(
            &srv,
            "example.com/sv/again",
            &[("targets", &t), ("snapshot", &s)]
        )
        .0,
        200
    );
}

/// SV-05: targets versions past 32 bits are accepted over HTTP and served (2^31-1, 2^31, 2^62:
/// one upload at 2^31-1 used to lock the role); a version past i64 is malformed JSON, 400,
/// and the repository stays as it was.
#[test]
fn sv05_versions_past_32_bits_are_accepted() {
    let db = TestDb::new(Backend::Sqlite);
    let srv = TestServer::start(&db);
    let gun = "example.com/sv/big";
    let mut r = published(&srv, gun);
    for v in [i64::from(i32::MAX), 1 << 31, 1 << 62] {
        r.targets.get_mut("targets").unwrap().version = v;
        let t = r.publish_targets("targets");
        r.snapshot.version += 1;
        let sn = r.publish_snapshot();
        let (s, body) = post(&srv, gun, &[("targets", &t), ("snapshot", &sn)]);
        assert_eq!(s, 200, "version {v}: {body}");
        assert_eq!(
            agent_get(&srv, &format!("/v2/{gun}/_trust/tuf/targets.json")).1,
            t,
            "version {v} is served"
        );
    }
    let t = String::from_utf8(r.current["targets"].clone())
        .unwrap()
        .replace(
            &format!("\"version\":{}", 1i64 << 62),
            "\"version\":9223372036854775808",
        );
    assert!(t.contains("9223372036854775808"));
    refused(
        &srv,
        gun,
        &[("targets", t.as_bytes())],
        "MALFORMED_JSON",
        None,
    );
}

#[test]
fn bad_roots_never_create_a_repository() {
    let db = TestDb::new(Backend::Sqlite);
    let srv = TestServer::start(&db);

    // SV-03: a root certificate for another GUN.
    let gun = "example.com/sv/mine";
    let mut other = TestRepo::new("example.com/sv/theirs", Utc::now());
    use_timestamp_key(&mut other, &server_key(&srv, gun));
    other.publish_root();
    other.publish_targets("targets");
    other.publish_snapshot();
    refused(
        &srv,
        gun,
        &[
            ("root", &other.current["root"]),
            ("targets", &other.current["targets"]),
            ("snapshot", &other.current["snapshot"]),
        ],
        "INVALID_UPDATE",
        Some("ErrBadRoot"),
    );

    // SV-12: a timestamp threshold the server's single key cannot meet.
    let mut r = TestRepo::new(gun, Utc::now());
    use_timestamp_key(&mut r, &server_key(&srv, gun));
    r.root.roles.get_mut("timestamp").unwrap().threshold = 2;
    r.publish_root();
    r.publish_targets("targets");
    r.publish_snapshot();
    refused(
        &srv,
        gun,
        &[
            ("root", &r.current["root"]),
            ("targets", &r.current["targets"]),
            ("snapshot", &r.current["snapshot"]),
        ],
        "INVALID_UPDATE",
        None,
    );

    // SV-12 on a repository that exists: a new root (and the snapshot over it), properly
    // signed, that would lock
    // targets (threshold 2, one key) is refused, and the stored root stays.
    let live = "example.com/sv/live";
    let mut r = published(&srv, live);
    let root_before = agent_get(&srv, &format!("/v2/{live}/_trust/tuf/root.json"));
    r.root.version += 1;
    r.root.roles.get_mut("targets").unwrap().threshold = 2;
    let root = r.publish_root();
    r.snapshot.version += 1;
    let snapshot = r.publish_snapshot();
    refused(
        &srv,
        live,
        &[("root", &root), ("snapshot", &snapshot)],
        "INVALID_UPDATE",
        Some("ErrBadRoot"),
    );
    assert_eq!(
        agent_get(&srv, &format!("/v2/{live}/_trust/tuf/root.json")),
        root_before
    );

    // SV-12: a targets or snapshot threshold above its key count (the files themselves
    // signed by the one key there is).
    for role_name in ["targets", "snapshot"] {
        let mut r = TestRepo::new(gun, Utc::now());
        use_timestamp_key(&mut r, &server_key(&srv, gun));
        r.root.roles.get_mut(role_name).unwrap().threshold = 2;
        r.publish_root();
        r.publish_targets("targets");
        r.publish_snapshot();
        let msg = refused(
            &srv,
            gun,
            &[
                ("root", &r.current["root"]),
                ("targets", &r.current["targets"]),
                ("snapshot", &r.current["snapshot"]),
            ],
            "INVALID_UPDATE",
            Some("ErrBadRoot"),
        );
        assert!(
            msg.contains(&format!(
                "the {role_name} role needs 2 signatures but lists 1 keys"
            )),
            "{msg}"
        );
    }

    // SV-25: a timestamp key the server does not hold.
    let mut r = TestRepo::new(gun, Utc::now());
    r.publish_root();
    r.publish_targets("targets");
    r.publish_snapshot();
    let msg = refused(
        &srv,
        gun,
        &[
            ("root", &r.current["root"]),
            ("targets", &r.current["targets"]),
            ("snapshot", &r.current["snapshot"]),
        ],
        "INVALID_UPDATE",
        Some("ErrBadRoot"),
    );
    assert!(
        msg.contains("no  timestamp keys exist on the server"),
        "{msg}"
    );
    assert_eq!(
        agent_get(&srv, &format!("/v2/{gun}/_trust/tuf/root.json")).0,
        404
    );
}
