//! The real Notary 0.7 for interop tests: `notary-server` (and `notary-signer`) started on
//! loopback by the `shared/peer` scripts and stopped when dropped, and the `notary` CLI run
//! against them.
//!
//! Without the Debian `notary` package or the scripts a test may skip, except under `CI=true`,
//! where a missing peer is a failure.

pub mod db;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn peer_scripts() -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        std::env::var_os("NOTARY_PEER_SCRIPTS").map(PathBuf::from),
        Some(repo.join("../shared/peer")),
        Some(PathBuf::from("/work/shared/peer")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("start.sh").is_file())
}

/// Skips (or, in CI, fails) when the reference is not installed.
pub fn require_peer() -> Option<PathBuf> {
    let scripts = peer_scripts();
    if have("notary") && have("notary-server") && scripts.is_some() {
        return scripts;
    }
    let msg = "the real notary (Debian package `notary`) and shared/peer scripts are needed";
    assert!(!ci(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    None
}

/// A notary-server on loopback, stopped when dropped.
pub struct Peer {
    pub dir: tempfile::TempDir,
    scripts: PathBuf,
    pub url: String,
}

impl Peer {
    pub fn start(scripts: &Path) -> Peer {
        Peer::start_env(
            scripts,
            &[
                ("NOTARY_PEER_STORAGE", "memory"),
                ("NOTARY_PEER_TRUST", "local"),
            ],
        )
    }

    /// As [`start`](Self::start) with other `start.sh` settings (storage, signer, ports).
    pub fn start_env(scripts: &Path, env: &[(&str, &str)]) -> Peer {
        // start.sh takes the first free port from 4443, which races with tests running in
        // parallel; an ephemeral port chosen here (and a retry) avoids that.
        let mut last = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let out = Command::new("bash")
                .arg(scripts.join("start.sh"))
                .arg(dir.path())
                .envs(env.iter().copied())
                .env("NOTARY_PEER_SERVER_PORT", port.to_string())
                .output()
                .unwrap();
            let mut peer = Peer {
                dir,
                scripts: scripts.to_owned(),
                url: String::new(),
            };
            if !out.status.success() {
                last = String::from_utf8_lossy(&out.stderr).into_owned();
                continue;
            }
            let env = std::fs::read_to_string(peer.dir.path().join("peer.env")).unwrap();
            peer.url = env
                .lines()
                .find_map(|l| l.strip_prefix("NOTARY_PEER_URL="))
                .unwrap()
                .trim()
                .to_owned();
            return peer;
        }
        panic!("start.sh failed three times: {last}");
    }

    /// A value `start.sh` wrote to `peer.env`.
    pub fn env(&self, key: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.path().join("peer.env")).ok()?;
        text.lines().find_map(|l| {
            l.strip_prefix(&format!("{key}="))
                .map(|v| v.trim().to_owned())
        })
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("certs/ca.crt")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(self.scripts.join("stop.sh"))
            .arg(self.dir.path())
            .output();
    }
}

pub fn notary(trust: &Path, args: &[&str], peer: Option<&Peer>) -> Output {
    client("notary", trust, args, peer)
}

/// Runs a `notary`-compatible client (`notary` itself or `notarius`) on `trust` against `peer`,
/// with the fixed passphrases the interop tests use.
pub fn client(program: &str, trust: &Path, args: &[&str], peer: Option<&Peer>) -> Output {
    match peer {
        Some(p) => client_at(program, trust, args, Some((&p.url, &p.ca()))),
        None => client_at(program, trust, args, None),
    }
}

/// As [`client`], against any trust server: its URL and the CA certificate to trust.
pub fn client_at(
    program: &str,
    trust: &Path,
    args: &[&str],
    server: Option<(&str, &Path)>,
) -> Output {
    let mut c = Command::new(program);
    c.arg("-d").arg(trust);
    if let Some((url, ca)) = server {
        c.arg("-s").arg(url).arg("--tlscacert").arg(ca);
    }
    c.args(args)
        .env("NOTARY_ROOT_PASSPHRASE", "ourrootpass")
        .env("NOTARY_TARGETS_PASSPHRASE", "ourtargetspass")
        .env("NOTARY_SNAPSHOT_PASSPHRASE", "oursnapshotpass")
        .env("NOTARY_DELEGATION_PASSPHRASE", "ourdelegationpass")
        .env("HOME", trust)
        .output()
        .unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
