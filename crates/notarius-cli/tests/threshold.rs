//! A read that fails because metadata is not signed by enough of its role's keys keeps Notary's
//! first line (`valid signatures did not meet threshold for <role>`, compared with the real
//! `notary`) and then says which keys signed, which were needed and what to do next.
//!
//! The repository is published to the real notary-server; a small HTTP server in this test then
//! serves the same files with the timestamp's signature damaged, or re-labelled as another
//! key's, to both clients.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use notarius_testpeer::{Peer, require_peer, text};

/// Serves `files` under `/v2/<gun>/_trust/tuf/`, 404 for anything else but `/v2/`; stopped
/// when dropped.
struct FakeServer {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    fn start(gun: &str, files: BTreeMap<String, Vec<u8>>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let prefix = format!("/v2/{gun}/_trust/tuf/");
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                let path = request.split(' ').nth(1).unwrap_or("").to_owned();
                let body = if path == "/v2/" {
                    Some(b"{}".to_vec())
                } else {
                    path.strip_prefix(&prefix)
                        .and_then(|name| files.get(name.trim_end_matches(".json")).cloned())
                };
                let (status, body) = match body {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", b"{}".to_vec()),
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            }
        });
        FakeServer {
            url: format!("http://{addr}"),
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn sha256_hex(b: &[u8]) -> String {
    notarius_tuf::metadata::sha256(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Runs `program` (notarius or notary) against `server` (plain HTTP) on a fresh trust dir.
fn read_from(program: &str, server: &str, gun: &str) -> std::process::Output {
    let trust = tempfile::tempdir().unwrap();
    run_raw(
        program,
        &[
            "-d",
            trust.path().to_str().unwrap(),
            "-s",
            server,
            "list",
            gun,
        ],
        b"",
        &[("HOME", Some(trust.path().to_str().unwrap()))],
    )
}

#[test]
fn threshold_failures_keep_notarys_line_and_say_who_signed() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun = "example.com/cli-threshold";
    let trust = tempfile::tempdir().unwrap();
    let t = trust.path();
    ok(notarius(t, &["init", "-p", gun], &peer), "init");
    let f = t.join("payload");
    std::fs::write(&f, b"bits").unwrap();
    ok(
        notarius(t, &["add", gun, "v1", f.to_str().unwrap(), "-p"], &peer),
        "add",
    );
    // What the server serves, as a fresh reader caches it.
    let reader = tempfile::tempdir().unwrap();
    ok(notarius(reader.path(), &["list", gun], &peer), "list");
    let meta = reader.path().join("tuf").join(gun).join("metadata");
    let mut files = BTreeMap::new();
    for role in ["root", "targets", "snapshot", "timestamp"] {
        let b = std::fs::read(meta.join(format!("{role}.json"))).unwrap();
        files.insert(format!("{role}.{}", sha256_hex(&b)), b.clone());
        files.insert(role.to_owned(), b);
    }
    let ts: serde_json::Value = serde_json::from_slice(&files["timestamp"]).unwrap();
    let ts_key = ts["signatures"][0]["keyid"].as_str().unwrap().to_owned();

    // The untouched files read fine through the fake server (so it serves what clients need).
    let server = FakeServer::start(gun, files.clone());
    let o = read_from(NOTARIUS, &server.url, gun);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("v1"));
    drop(server);

    let tamper = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = ts.clone();
        f(&mut v);
        let mut files = files.clone();
        let bytes = serde_json::to_vec(&v).unwrap();
        files.insert("timestamp".into(), bytes);
        files
    };
    let flipped = tamper(&|v| {
        let s = v["signatures"][0]["sig"].as_str().unwrap().to_owned();
        let first = if s.starts_with('A') { "B" } else { "A" };
        v["signatures"][0]["sig"] = format!("{first}{}", &s[1..]).into();
    });
    let stranger = "1".repeat(64);
    let relabelled = tamper(&|v| {
        v["signatures"][0]["keyid"] = stranger.clone().into();
    });

    for (what, files, expect) in [
        (
            "damaged signature",
            flipped,
            format!("  signatures that did not verify, from listed keys: {ts_key}"),
        ),
        (
            "unknown key",
            relabelled,
            format!("  signatures from keys timestamp does not list: {stranger}"),
        ),
    ] {
        let server = FakeServer::start(gun, files);
        let ours = read_from(NOTARIUS, &server.url, gun);
        let theirs = read_from("notary", &server.url, gun);
        drop(server);
        assert!(!ours.status.success(), "{what}: {}", text(&ours));
        assert!(!theirs.status.success(), "{what}: {}", text(&theirs));
        let ours_out = String::from_utf8_lossy(&ours.stdout).into_owned();
        let theirs_out = String::from_utf8_lossy(&theirs.stdout).into_owned();
        // notary's exact first line, as scripts grep for it.
        let line = "* fatal: valid signatures did not meet threshold for timestamp";
        assert!(
            theirs_out.contains(&format!("\n{line}\n")),
            "{what}: {theirs_out}"
        );
        assert!(
            ours_out.starts_with(&format!("\n{line}\n")),
            "{what}: {ours_out}"
        );
        let more: Vec<&str> = ours_out.lines().skip(2).collect();
        assert_eq!(
            more[0],
            format!(
                "  needed: 1 valid signature from the timestamp key the trusted metadata lists: {ts_key}"
            ),
            "{what}: {ours_out}"
        );
        assert_eq!(more[1], "  valid signatures from: none", "{what}");
        assert_eq!(more[2], expect, "{what}: {ours_out}");
        assert!(more[3].starts_with("  next: "), "{what}: {ours_out}");
    }
    drop(peer);
}
