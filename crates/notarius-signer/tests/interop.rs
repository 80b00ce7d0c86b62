//! Interop with the real Notary 0.7 (Debian package `notary`) through `shared/peer/start.sh`:
//! the four server/signer pairings driven by the real `notary` CLI, a notary-signer database
//! taken over (and handed back), and notarius-server with its signer down.
//!
//! The notarius-server binary comes from another crate, so `cargo` cannot hand its path to this
//! test: [`notarius_server_bin`] runs `cargo build -p notarius-server` (a no-op when it is
//! fresh; `scripts/test.sh` builds the whole workspace first anyway) and uses
//! `target/<profile>/notarius-server`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use notarius_testpeer::{Peer, text};

const GUN: &str = "example.com/interop";

fn notarius_signer_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_notarius-signer"))
}

/// The newest modification time of the sources notarius-server is built from.
fn newest_source() -> std::time::SystemTime {
    fn walk(p: &Path, newest: &mut std::time::SystemTime) {
        let Ok(meta) = std::fs::metadata(p) else {
            return;
        };
        if meta.is_dir() {
            for e in std::fs::read_dir(p).unwrap().flatten() {
                walk(&e.path(), newest);
            }
        } else if let Ok(m) = meta.modified() {
            *newest = (*newest).max(m);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    walk(&root.join("Cargo.lock"), &mut newest);
    for c in [
        "notarius-server",
        "notarius-signer",
        "notarius-tuf",
        "notarius-crypto",
    ] {
        for part in ["src", "proto", "build.rs", "Cargo.toml"] {
            walk(&root.join("crates").join(c).join(part), &mut newest);
        }
    }
    newest
}

/// target/<profile>/notarius-server, built now if it is missing or older than its sources
/// (a workspace build, as `scripts/test.sh` does, leaves it fresh; building it again with
/// `-p` would resolve features differently and relink it for nothing).
fn notarius_server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = notarius_signer_bin().parent().unwrap().to_owned();
        let path = dir.join("notarius-server");
        if std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m >= newest_source())
        {
            return path;
        }
        eprintln!("building notarius-server (missing or older than its sources)");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "notarius-server", "--bin", "notarius-server"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let mut child = cmd.spawn().unwrap();
        // `cargo test` (unlike nextest) holds the build lock while tests run: a nested build
        // would wait forever. Then the binary built by `cargo test --workspace` is used.
        // Under nextest, other tests' builds may hold the lock for a while: that is waited for.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("Blocking waiting for file lock") {
                    let _ = tx.send(());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                assert!(s.success(), "cargo build -p notarius-server failed");
                break;
            }
            // Under nextest the lock holder is a build like this one (another test): wait.
            let locked = rx.try_recv().is_ok() && std::env::var_os("NEXTEST_RUN_ID").is_none();
            if locked || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                assert!(
                    path.is_file(),
                    "{} is missing and cannot be built while cargo holds the build lock: run \
                     `cargo build -p notarius-server` first (or use cargo nextest)",
                    path.display()
                );
                eprintln!(
                    "note: using the existing {} (build lock held)",
                    path.display()
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        path
    })
    .clone()
}

fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

/// The real notary, its server and signer, and the peer scripts; or a skip (a failure in CI).
fn require() -> Option<PathBuf> {
    let scripts = notarius_testpeer::require_peer()?;
    if !notarius_testpeer::have("notary-signer") {
        assert!(!common::ci(), "notary-signer is needed");
        return None;
    }
    Some(scripts)
}

fn start_peer(scripts: &Path, server: Option<&Path>, signer: Option<&Path>) -> Peer {
    let server = server.map(|p| p.display().to_string());
    let signer = signer.map(|p| p.display().to_string());
    let sp = free_port();
    let pp = free_port();
    let mut env = vec![
        ("NOTARY_PEER_STORAGE", "postgres"),
        ("NOTARY_PEER_SIGNER_PORT", sp.as_str()),
        ("NOTARY_PEER_PG_PORT", pp.as_str()),
    ];
    if let Some(s) = &server {
        env.push(("NOTARY_PEER_SERVER_BIN", s));
    }
    if let Some(s) = &signer {
        env.push(("NOTARY_PEER_SIGNER_BIN", s));
    }
    Peer::start_env(scripts, &env)
}

fn notary(trust: &Path, peer: &Peer, args: &[&str]) -> std::process::Output {
    notarius_testpeer::notary(trust, args, Some(peer))
}

fn ok(o: std::process::Output, what: &str) -> String {
    let t = text(&o);
    assert!(o.status.success(), "{what} failed: {t}");
    t
}

/// Retries a command while the server's connection to a restarted signer comes back (gRPC
/// clients back off between reconnects).
fn ok_retrying(trust: &Path, peer: &Peer, args: &[&str], what: &str) -> String {
    let mut last = String::new();
    for _ in 0..30 {
        let o = notary(trust, peer, args);
        if o.status.success() {
            return text(&o);
        }
        last = text(&o);
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("{what} kept failing: {last}");
}

fn target_file(dir: &Path, name: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("content of {name}\n")).unwrap();
    p.display().to_string()
}

/// What a client that never saw the repository lists (every signature checked from scratch).
fn cold_list(peer: &Peer) -> String {
    let cold = tempfile::tempdir().unwrap();
    ok(notary(cold.path(), peer, &["list", GUN]), "cold list")
}

/// Rows of Notary's signer table and their encryption, read from the peer's PostgreSQL.
fn signer_rows(peer: &Peer) -> Vec<(String, String, String, String)> {
    use sqlx::{Connection as _, Row as _};
    let port = peer.env("NOTARY_PEER_PG_PORT").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("postgres://signer@127.0.0.1:{port}/notarysigner");
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(
            "SELECT key_id, keywrap_alg, encryption_alg, passphrase_alias FROM private_keys \
             WHERE deleted_at IS NULL ORDER BY id",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
    })
}

/// init -p, publish, snapshot and timestamp rotation to the server, publish again: a cold
/// client sees both targets, and the server-managed keys are in the signer's table.
fn drive(peer: &Peer, trust: &Path, files: &Path) {
    ok(notary(trust, peer, &["init", "-p", GUN]), "init -p");
    ok(
        notary(
            trust,
            peer,
            &["add", "-p", GUN, "v1", &target_file(files, "v1")],
        ),
        "add v1",
    );
    ok(
        notary(trust, peer, &["key", "rotate", GUN, "snapshot", "-r"]),
        "rotate snapshot -r",
    );
    ok(
        notary(trust, peer, &["key", "rotate", GUN, "timestamp", "-r"]),
        "rotate timestamp -r",
    );
    ok(
        notary(
            trust,
            peer,
            &["add", "-p", GUN, "v2", &target_file(files, "v2")],
        ),
        "add v2",
    );
    let list = cold_list(peer);
    assert!(list.contains("v1") && list.contains("v2"), "{list}");
    let rows = signer_rows(peer);
    // The first timestamp key, the server-managed snapshot key, the rotated timestamp key.
    assert!(rows.len() >= 3, "{rows:?}");
    for (id, wrap, enc, alias) in &rows {
        assert_eq!(
            (wrap.as_str(), enc.as_str(), alias.as_str()),
            ("PBES2-HS256+A128KW", "A256GCM", "peeralias"),
            "{id}"
        );
    }
}

fn pairing(server: Option<PathBuf>, signer: Option<PathBuf>) {
    let Some(scripts) = require() else { return };
    let peer = start_peer(&scripts, server.as_deref(), signer.as_deref());

    let trust = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    drive(&peer, trust.path(), files.path());
}

#[test]
fn notary_server_with_notarius_signer() {
    pairing(None, Some(notarius_signer_bin()));
}

#[test]
fn notarius_server_with_notary_signer() {
    pairing(Some(notarius_server_bin()), None);
}

#[test]
fn notarius_server_with_notarius_signer() {
    pairing(Some(notarius_server_bin()), Some(notarius_signer_bin()));
}

#[test]
fn notary_server_with_notary_signer() {
    pairing(None, None);
}

/// A signer process of the test's own, stopped when dropped.
struct Owned(Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
        assert!(Instant::now() < deadline, "signer did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops the signer start.sh started (by its recorded pid).
fn stop_peer_signer(peer: &Peer) {
    let pidfile = peer.dir.path().join("signer.pid");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let pid = rustix::process::Pid::from_raw(pid).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Path::new(&format!("/proc/{}", pid.as_raw_nonzero())).exists() {
        assert!(Instant::now() < deadline, "signer did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_file(pidfile).unwrap();
}

fn spawn_signer(program: &Path, peer: &Peer, extra: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(program)
        .arg("-config")
        .arg(peer.dir.path().join("signer-config.json"))
        .args(extra)
        .current_dir(peer.dir.path())
        .env("NOTARY_SIGNER_PEERALIAS", "peer-signer-passphrase")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A database the real notary-signer wrote (through the real notary-server and notary CLI) is
/// taken over by notarius-signer as it is: its keys decrypt and sign, publishing goes on. Then
/// notarius-signer re-encrypts everything under a new alias, and the real notary-signer takes
/// the database back: it decrypts what we wrote (re-encrypted keys and a key we created).
#[test]
fn notary_signer_database_taken_over_and_handed_back() {
    let Some(scripts) = require() else { return };
    let peer = start_peer(&scripts, None, None);
    let trust = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let t = trust.path();
    drive(&peer, t, files.path());
    let notary_keys = signer_rows(&peer);
    let port = peer.env("NOTARY_PEER_SIGNER_PORT").unwrap();

    // notarius-signer on notary-signer's database.
    stop_peer_signer(&peer);
    let ours = Owned(spawn_signer(&notarius_signer_bin(), &peer, &[], &[]));
    wait_port(&port);
    ok_retrying(
        t,
        &peer,
        &["add", "-p", GUN, "v3", &target_file(files.path(), "v3")],
        "add v3 via notarius-signer",
    );
    let list = cold_list(&peer);
    assert!(list.contains("v3"), "{list}");
    // A key of our own making too.
    ok(
        notary(t, &peer, &["key", "rotate", GUN, "timestamp", "-r"]),
        "rotate timestamp -r via notarius-signer",
    );
    ok(
        notary(
            t,
            &peer,
            &["add", "-p", GUN, "v4", &target_file(files.path(), "v4")],
        ),
        "add v4",
    );
    drop(ours);
    let rows = signer_rows(&peer);
    assert_eq!(rows.len(), notary_keys.len() + 1, "{rows:?}");

    // Re-encrypt under a new alias (Notary has no such command).
    let out = Command::new(notarius_signer_bin())
        .arg("-config")
        .arg(peer.dir.path().join("signer-config.json"))
        .args(["-reencrypt", "newalias"])
        .env("NOTARY_SIGNER_PEERALIAS", "peer-signer-passphrase")
        .env("NOTARY_SIGNER_NEWALIAS", "a-new-passphrase")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("re-encrypted {} keys", rows.len())),
        "{}",
        text(&out)
    );
    assert!(signer_rows(&peer).iter().all(|r| r.3 == "newalias"));

    // The real notary-signer reads it all back (per-row alias: only the new passphrase matters).
    let theirs = Owned(spawn_signer(
        Path::new("notary-signer"),
        &peer,
        &[],
        &[("NOTARY_SIGNER_NEWALIAS", "a-new-passphrase")],
    ));
    wait_port(&port);
    ok_retrying(
        t,
        &peer,
        &["add", "-p", GUN, "v5", &target_file(files.path(), "v5")],
        "add v5 via notary-signer",
    );
    ok(
        notary(t, &peer, &["key", "rotate", GUN, "snapshot", "-r"]),
        "rotate snapshot -r via notary-signer",
    );
    ok(
        notary(
            t,
            &peer,
            &["add", "-p", GUN, "v6", &target_file(files.path(), "v6")],
        ),
        "add v6",
    );
    let list = cold_list(&peer);
    for v in ["v1", "v2", "v3", "v4", "v5", "v6"] {
        assert!(list.contains(v), "{v}: {list}");
    }
    drop(theirs);
}

fn health_code(peer: &Peer) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "20",
            "--cacert",
        ])
        .arg(peer.ca())
        .arg(format!("{}/_notary_server/health", peer.url))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// notarius-server with its signer down: health fails ("Trust operational", 503), reads keep
/// working, an update fails and stores nothing; with the signer back, publishing goes on.
#[test]
fn notarius_server_with_its_signer_down() {
    let Some(scripts) = require() else { return };
    let peer = start_peer(
        &scripts,
        Some(&notarius_server_bin()),
        Some(&notarius_signer_bin()),
    );
    let trust = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let t = trust.path();
    ok(notary(t, &peer, &["init", "-p", GUN]), "init -p");
    ok(
        notary(
            t,
            &peer,
            &["add", "-p", GUN, "v1", &target_file(files.path(), "v1")],
        ),
        "add v1",
    );
    assert_eq!(health_code(&peer), "200");
    let port = peer.env("NOTARY_PEER_SIGNER_PORT").unwrap();

    stop_peer_signer(&peer);
    assert_eq!(health_code(&peer), "503");
    let list = cold_list(&peer);
    assert!(list.contains("v1"), "{list}");
    let o = notary(
        t,
        &peer,
        &["add", "-p", GUN, "v2", &target_file(files.path(), "v2")],
    );
    assert!(
        !o.status.success(),
        "publish without a signer: {}",
        text(&o)
    );
    let list = cold_list(&peer);
    assert!(
        !list.contains("v2"),
        "a failed update stored something: {list}"
    );

    let _back = Owned(spawn_signer(&notarius_signer_bin(), &peer, &[], &[]));
    wait_port(&port);
    // The change is still staged in the client: publishing now succeeds.
    ok_retrying(t, &peer, &["publish", GUN], "publish with the signer back");
    assert_eq!(health_code(&peer), "200");
    assert!(cold_list(&peer).contains("v2"));
}
