//! The HTTP API itself: Notary's response shapes and headers, every kind of bad upload
//! (answered with Notary's error codes, and changing nothing), and server-side re-signing of
//! an expired timestamp and snapshot.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::{Backend, TestDb, TestServer, notary, ok, require_notary};
use notarius_server::{Config, StartOptions};
use serde_json::Value;

const GUN: &str = "example.com/http/api";

struct Fixture {
    srv: TestServer,
    _db: TestDb,
    trust: tempfile::TempDir,
    payload: std::path::PathBuf,
}

/// A server with one repository published by the real notary CLI.
fn fixture(opts: StartOptions) -> Option<Fixture> {
    if !require_notary() {
        return None;
    }
    let db = TestDb::new(Backend::Sqlite);
    let data = tempfile::tempdir().unwrap();
    let mut cfg = Config::embedded(data.path());
    cfg.server.http_addr = "127.0.0.1:0".into();
    cfg.storage.db_url = db.url.clone();
    let mut opts = opts;
    opts.passphrase = Some("pw".into());
    let srv = TestServer::start_with(cfg, data, opts);
    let trust = tempfile::tempdir().unwrap();
    let payload = trust.path().join("payload");
    std::fs::write(&payload, b"bits").unwrap();
    ok(notary(trust.path(), &srv, &["init", "-p", GUN]), "init");
    ok(
        notary(
            trust.path(),
            &srv,
            &["add", "-p", GUN, "v1", payload.to_str().unwrap()],
        ),
        "add",
    );
    Some(Fixture {
        srv,
        _db: db,
        trust,
        payload,
    })
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

fn read(r: ureq::http::Response<ureq::Body>) -> Resp {
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = r.into_body().read_to_vec().unwrap();
    Resp {
        status,
        headers,
        body,
    }
}

fn get(srv: &TestServer, path: &str) -> Resp {
    read(
        srv.agent()
            .get(format!("{}{path}", srv.url))
            .call()
            .unwrap(),
    )
}

fn post_raw(srv: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
    try_post(srv, path, content_type, body).unwrap()
}

fn try_post(
    srv: &TestServer,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Resp, ureq::Error> {
    srv.agent()
        .post(format!("{}{path}", srv.url))
        .header("Content-Type", content_type)
        .send(&body[..])
        .map(read)
}

/// A multipart update as Notary's client sends it: field `files`, file name = role.
fn post_files(srv: &TestServer, gun: &str, files: &[(&str, &[u8])]) -> Resp {
    let boundary = "xXnotariusTestBoundaryXx";
    let mut body = Vec::new();
    for (name, data) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    post_raw(
        srv,
        &format!("/v2/{gun}/_trust/tuf/"),
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
}

fn tuf(gun: &str, file: &str) -> String {
    format!("/v2/{gun}/_trust/tuf/{file}")
}

#[test]
fn responses_have_notarys_shapes() {
    let Some(f) = fixture(StartOptions::default()) else {
        return;
    };
    let srv = &f.srv;

    let base = get(srv, "/v2/");
    assert_eq!((base.status, &base.body[..]), (200, &b"{}"[..]));
    assert_eq!(
        base.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let health = get(srv, "/_notary_server/health");
    assert_eq!((health.status, &health.body[..]), (200, &b"{}"[..]));

    let root = get(srv, &tuf(GUN, "root.json"));
    assert_eq!(root.status, 200);
    assert_eq!(
        root.header("cache-control"),
        Some("public, max-age=300, s-maxage=300, must-revalidate")
    );
    let lm = root.header("last-modified").unwrap();
    assert!(lm.ends_with(" UTC") && lm.len() == 29, "{lm}");
    let sum = hex::encode(notarius_tuf::metadata::sha256(&root.body));
    let by_sum = get(srv, &tuf(GUN, &format!("root.{sum}.json")));
    assert_eq!(by_sum.body, root.body);
    assert_eq!(
        by_sum.header("cache-control"),
        Some("public, max-age=2592000, s-maxage=2592000")
    );
    assert_eq!(get(srv, &tuf(GUN, "1.root.json")).body, root.body);

    // The consistent view: the targets named by the snapshot named by the timestamp.
    let ts = get(srv, &tuf(GUN, "timestamp.json")).json();
    let snap = get(srv, &tuf(GUN, "snapshot.json"));
    let snap_sum = ts["signed"]["meta"]["snapshot"]["hashes"]["sha256"]
        .as_str()
        .unwrap();
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(snap_sum)
            .unwrap(),
        notarius_tuf::metadata::sha256(&snap.body).to_vec()
    );

    for path in [
        tuf(GUN, "targets/nope.json"),
        tuf("example.com/none", "root.json"),
        tuf(GUN, &format!("root.{}.json", "a".repeat(63))),
        tuf(GUN, &format!("root.{}.json", "g".repeat(64))),
        tuf(GUN, "0.root.json"),
        tuf(GUN, "99999999999999999999.root.json"),
        "/v2/../../etc/_trust/tuf/root.json".into(),
        "/v2/a/%2e%2e/b/_trust/tuf/root.json".into(),
        "/v2/a%00b/_trust/tuf/root.json".into(),
        "/nothing/here".into(),
    ] {
        let r = get(srv, &path);
        assert_eq!(
            (r.status, r.code()),
            (404, "METADATA_NOT_FOUND".into()),
            "{path}"
        );
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert!(r.header("cache-control").is_none(), "{path}");
    }

    // Keys: the one in root is handed out again; a rotation makes another.
    let k1 = get(srv, &tuf(GUN, "timestamp.key"));
    let k2 = get(srv, &tuf(GUN, "timestamp.key"));
    assert_eq!(k1.body, k2.body);
    let key = k1.json();
    assert_eq!(key["keytype"], "ecdsa");
    assert!(key["keyval"]["private"].is_null());
    let root_json = root.json();
    let ts_ids = root_json["signed"]["roles"]["timestamp"]["keyids"]
        .as_array()
        .unwrap();
    let id = hex::encode(notarius_tuf::metadata::sha256(
        &notarius_tuf::cjson::to_canonical(&key).unwrap(),
    ));
    assert!(
        ts_ids.iter().any(|i| i == &Value::String(id.clone())),
        "{id}"
    );
    let rotated = post_raw(srv, &tuf(GUN, "timestamp.key"), "text/plain", vec![]);
    assert_eq!(rotated.status, 200);
    assert_ne!(rotated.body, k1.body);

    // Changefeed: one row per new timestamp.
    let feed = get(srv, &format!("/v2/{GUN}/_trust/changefeed?records=10"));
    let feed = feed.json();
    assert_eq!(feed["count"], 2, "{feed}");
    assert_eq!(feed["records"][0]["GUN"], GUN);
    assert_eq!(feed["records"][0]["Category"], "update");
    assert_eq!(feed["records"][1]["Version"], 2);
    let last = get(srv, "/v2/_trust/changefeed?records=-1").json();
    assert_eq!(last["count"], 1);
    assert_eq!(last["records"][0]["Version"], 2);
    let after = get(
        srv,
        &format!(
            "/v2/_trust/changefeed?records=10&change_id={}",
            feed["records"][1]["ID"].as_str().unwrap()
        ),
    )
    .json();
    assert_eq!(after, serde_json::json!({"count": 0, "records": null}));
    for q in [
        "",
        "?records=abc",
        "?records=10&change_id=x",
        "?records=99999999999",
    ] {
        let r = get(srv, &format!("/v2/_trust/changefeed{q}"));
        assert_eq!(
            (r.status, r.code()),
            (400, "INVALID_PARAMETERS".into()),
            "{q}"
        );
    }

    let metrics = String::from_utf8(get(srv, "/metrics").body).unwrap();
    assert!(
        metrics.contains("notary_server_http_requests_total{code=\"200\",operation=\"GetRole\"}"),
        "{metrics}"
    );
}

/// Takes a stored file, changes its `signed` part, and serialises it again (the signatures
/// no longer match).
fn tampered(bytes: &[u8], edit: impl Fn(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    edit(&mut v["signed"]);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn bad_uploads_get_notarys_errors_and_change_nothing() {
    let Some(f) = fixture(StartOptions {
        max_update_bytes: Some(64 << 10),
        ..Default::default()
    }) else {
        return;
    };
    let srv = &f.srv;
    let ts_before = get(srv, &tuf(GUN, "timestamp.json")).body;
    let root = get(srv, &tuf(GUN, "root.json")).body;
    let targets = get(srv, &tuf(GUN, "targets.json")).body;
    let snapshot = get(srv, &tuf(GUN, "snapshot.json")).body;
    let bumped_unsigned = tampered(&targets, |s| {
        s["version"] = Value::from(s["version"].as_i64().unwrap() + 1)
    });
    let root_jump = tampered(&root, |s| s["version"] = Value::from(6));
    let mut trailing = targets.clone();
    trailing.extend_from_slice(b"{}");
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(&targets);
    let huge_version = tampered(&targets, |s| s["version"] = Value::from(1u64 << 63));
    let deleg = tampered(&targets, |s| s["version"] = Value::from(1));
    let big = vec![b' '; 100 << 10];

    let cases: Vec<(&str, Resp, u16, &str, Option<&str>)> = vec![
        (
            "not multipart",
            post_raw(srv, &tuf(GUN, ""), "application/json", b"{}".to_vec()),
            400,
            "MALFORMED_UPLOAD",
            None,
        ),
        (
            "empty file name",
            post_files(srv, GUN, &[("", &targets)]),
            400,
            "NO_FILENAME",
            None,
        ),
        (
            "../root",
            post_files(srv, GUN, &[("../root", &root)]),
            400,
            "INVALID_ROLE",
            None,
        ),
        (
            "targets/../snapshot",
            post_files(srv, GUN, &[("targets/../snapshot", &targets)]),
            400,
            "INVALID_ROLE",
            None,
        ),
        (
            "foo",
            post_files(srv, GUN, &[("foo", &targets)]),
            400,
            "INVALID_ROLE",
            None,
        ),
        (
            "not JSON",
            post_files(srv, GUN, &[("targets", b"not json")]),
            400,
            "MALFORMED_JSON",
            None,
        ),
        (
            "a UTF-8 BOM",
            post_files(srv, GUN, &[("targets", &bom)]),
            400,
            "MALFORMED_JSON",
            None,
        ),
        (
            "the current targets and snapshot again",
            post_files(srv, GUN, &[("targets", &targets), ("snapshot", &snapshot)]),
            400,
            "VERSION",
            None,
        ),
        (
            "targets without the snapshot only the client can sign",
            post_files(srv, GUN, &[("targets", &targets)]),
            400,
            "INVALID_UPDATE",
            Some("ErrBadHierarchy"),
        ),
        (
            "targets whose signature no longer matches",
            post_files(srv, GUN, &[("targets.json", &bumped_unsigned)]),
            400,
            "INVALID_UPDATE",
            Some("ErrBadTargets"),
        ),
        (
            "trailing bytes after the JSON value",
            post_files(srv, GUN, &[("targets", &trailing)]),
            400,
            "INVALID_UPDATE",
            Some("ErrBadTargets"),
        ),
        (
            "root that skips versions",
            post_files(srv, GUN, &[("root", &root_jump)]),
            400,
            "INVALID_UPDATE",
            Some("ErrBadRoot"),
        ),
        (
            "a delegation nobody delegated",
            post_files(srv, GUN, &[("targets/a", &deleg)]),
            400,
            "INVALID_UPDATE",
            Some("ErrBadTargets"),
        ),
        (
            "the same role twice",
            post_files(
                srv,
                GUN,
                &[("targets", &bumped_unsigned), ("targets", &targets)],
            ),
            400,
            "INVALID_UPDATE",
            Some("ErrValidation"),
        ),
        (
            "a version beyond 64 bits",
            post_files(srv, GUN, &[("targets", &huge_version)]),
            400,
            "MALFORMED_JSON",
            None,
        ),
        (
            "a GUN with '..'",
            post_files(srv, "a/../b", &[("root", &root)]),
            400,
            "INVALID_GUN",
            None,
        ),
        (
            "a GUN of 256 bytes",
            post_files(srv, &"g".repeat(256), &[("root", &root)]),
            400,
            "INVALID_GUN",
            None,
        ),
        (
            "a new GUN without root",
            post_files(srv, "example.com/new", &[("targets", &targets)]),
            400,
            "INVALID_UPDATE",
            Some("ErrValidation"),
        ),
        (
            "another GUN's root",
            post_files(
                srv,
                "example.com/other",
                &[("root", &root), ("targets", &targets)],
            ),
            400,
            "INVALID_UPDATE",
            Some("ErrBadRoot"),
        ),
    ];
    for (what, r, status, code, name) in cases {
        assert_eq!(
            (r.status, r.code()),
            (status, code.to_owned()),
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        if let Some(n) = name {
            assert_eq!(
                r.json()["errors"][0]["detail"]["Name"],
                n,
                "{what}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
    }
    // Over the limit the server answers 413 without reading the rest, so a client still
    // sending may see the connection close instead; either way nothing is stored.
    let boundary = "b";
    let mut over = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"targets\"\r\n\r\n"
    )
    .into_bytes();
    over.extend_from_slice(&big);
    match try_post(
        srv,
        &tuf(GUN, ""),
        &format!("multipart/form-data; boundary={boundary}"),
        over.clone(),
    ) {
        Ok(r) => assert_eq!((r.status, r.code()), (413, "MALFORMED_UPLOAD".to_owned())),
        Err(e) => assert!(matches!(e, ureq::Error::Io(_)), "{e}"),
    }
    // The same without a Content-Length (chunked): cut off while it streams.
    let chunked = srv
        .agent()
        .post(format!("{}{}", srv.url, tuf(GUN, "")))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(ureq::SendBody::from_reader(&mut &over[..]));
    match chunked.map(read) {
        Ok(r) => assert_eq!((r.status, r.code()), (413, "MALFORMED_UPLOAD".to_owned())),
        Err(e) => assert!(matches!(e, ureq::Error::Io(_)), "{e}"),
    }
    let del = read(
        srv.agent()
            .delete(format!("{}{}", srv.url, tuf("a/../b", "")))
            .call()
            .unwrap(),
    );
    assert_eq!(del.code(), "INVALID_GUN");

    // Nothing changed, and the next real publish goes through.
    assert_eq!(get(srv, &tuf(GUN, "timestamp.json")).body, ts_before);
    assert_eq!(get(srv, &tuf("example.com/other", "root.json")).status, 404);
    ok(
        notary(
            f.trust.path(),
            srv,
            &["add", "-p", GUN, "v2", f.payload.to_str().unwrap()],
        ),
        "publish after the bad uploads",
    );
    let list = ok(notary(f.trust.path(), srv, &["list", GUN]), "list");
    assert!(list.contains("v1") && list.contains("v2"), "{list}");
}

#[test]
fn an_expired_timestamp_and_snapshot_are_re_signed_on_read() {
    let skew = Arc::new(AtomicI64::new(0));
    let clock_skew = skew.clone();
    let Some(f) = fixture(StartOptions {
        clock: Some(Arc::new(move || {
            chrono::Utc::now() + chrono::Duration::seconds(clock_skew.load(Ordering::SeqCst))
        })),
        ..Default::default()
    }) else {
        return;
    };
    let srv = &f.srv;
    let version = |r: &Resp| r.json()["signed"]["version"].as_i64().unwrap();
    ok(
        notary(
            f.trust.path(),
            srv,
            &["key", "rotate", GUN, "snapshot", "-r"],
        ),
        "snapshot to the server",
    );
    let ts0 = get(srv, &tuf(GUN, "timestamp.json"));
    let snap0 = get(srv, &tuf(GUN, "snapshot.json"));
    assert_eq!(
        get(srv, &tuf(GUN, "timestamp.json")).body,
        ts0.body,
        "fresh: served as stored"
    );

    // 20 days on: the timestamp (14 days) has expired, the snapshot (3 years) has not.
    skew.store(20 * 86_400, Ordering::SeqCst);
    // Many readers at once: one re-signing, and all of them get its result.
    let seen: Vec<Vec<u8>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..16)
            .map(|_| s.spawn(|| get(srv, &tuf(GUN, "timestamp.json")).body))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "every reader sees the same timestamp"
    );
    let ts1 = get(srv, &tuf(GUN, "timestamp.json"));
    assert_eq!(ts1.body, seen[0]);
    assert_eq!(version(&ts1), version(&ts0) + 1);
    assert_eq!(
        get(srv, &tuf(GUN, "timestamp.json")).body,
        ts1.body,
        "signed once"
    );
    assert_eq!(get(srv, &tuf(GUN, "snapshot.json")).body, snap0.body);

    // 4 years on: both are re-signed, and the timestamp names the new snapshot.
    skew.store(4 * 365 * 86_400, Ordering::SeqCst);
    let snap2 = get(srv, &tuf(GUN, "snapshot.json"));
    assert_eq!(version(&snap2), version(&snap0) + 1);
    let ts2 = get(srv, &tuf(GUN, "timestamp.json"));
    assert_eq!(version(&ts2), version(&ts1) + 1);
    use base64::Engine as _;
    let named = ts2.json()["signed"]["meta"]["snapshot"]["hashes"]["sha256"]
        .as_str()
        .map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap())
        .unwrap();
    assert_eq!(named, notarius_tuf::metadata::sha256(&snap2.body).to_vec());
    let feed = get(srv, "/v2/_trust/changefeed?records=100").json();
    assert_eq!(feed["count"], 5, "{feed}");
}
