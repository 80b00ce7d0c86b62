//! Helpers shared by the CLI interop tests: run `notarius` or `notary` on a trust directory
//! against the test peer, with input on stdin and extra environment.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use notarius_testpeer::{Peer, client, text};

pub mod server;

pub const NOTARIUS: &str = env!("CARGO_BIN_EXE_notarius");

pub fn notarius(trust: &Path, args: &[&str], peer: &Peer) -> Output {
    client(NOTARIUS, trust, args, Some(peer))
}

/// The command's stdout; panics (with everything it printed) when it failed.
pub fn ok(o: Output, what: &str) -> String {
    let t = text(&o);
    assert!(o.status.success(), "{what}: {t}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `program` like `notarius_testpeer::client`, with `stdin` as standard input and `env`
/// overriding (or, with `None`, removing) variables.
pub fn run_with(
    program: &str,
    trust: &Path,
    args: &[&str],
    peer: Option<&Peer>,
    stdin: &[u8],
    env: &[(&str, Option<&str>)],
) -> Output {
    let mut c = Command::new(program);
    c.arg("-d").arg(trust).env("HOME", trust);
    if let Some(p) = peer {
        c.arg("-s").arg(&p.url).arg("--tlscacert").arg(p.ca());
    }
    c.args(args);
    spawn(c, stdin, env)
}

/// Runs `program args` with the test passphrases, `stdin` as standard input and `env`
/// overriding (or removing) variables.
pub fn run_raw(program: &str, args: &[&str], stdin: &[u8], env: &[(&str, Option<&str>)]) -> Output {
    let mut c = Command::new(program);
    c.args(args);
    spawn(c, stdin, env)
}

fn spawn(mut c: Command, stdin: &[u8], env: &[(&str, Option<&str>)]) -> Output {
    c.env("NOTARY_ROOT_PASSPHRASE", "ourrootpass")
        .env("NOTARY_TARGETS_PASSPHRASE", "ourtargetspass")
        .env("NOTARY_SNAPSHOT_PASSPHRASE", "oursnapshotpass")
        .env("NOTARY_DELEGATION_PASSPHRASE", "ourdelegationpass");
    for (k, v) in env {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = child.stdin.take().unwrap();
    let _ = i.write_all(stdin);
    drop(i);
    child.wait_with_output().unwrap()
}

/// An ECDSA P-256 key pair made by openssl: (private PEM, public PEM) under `dir`.
pub fn openssl_key(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub"));
    let run = |args: &[&str]| {
        let o = Command::new("openssl").args(args).output().unwrap();
        assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
    };
    run(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        key.to_str().unwrap(),
    ]);
    run(&[
        "ec",
        "-in",
        key.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    (key, public)
}

/// The contents of the staged change files of `gun`, in application order.
pub fn changes(trust: &Path, gun: &str) -> Vec<String> {
    let dir = trust.join("tuf").join(gun).join("changelist");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Every file under `dir` with its bytes, for "nothing changed" checks.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let b = std::fs::read(&p).unwrap_or_default();
                out.push((p.strip_prefix(dir).unwrap().to_owned(), b));
            }
        }
    }
    out.sort();
    out
}

/// `cp -a src dst`: a second trust directory in the same state.
pub fn copy_dir(src: &Path, dst: &Path) {
    let o = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(dst)
        .output()
        .unwrap();
    assert!(o.status.success(), "cp: {}", text(&o));
}

/// The key IDs in a `delegation add` output line ("… with keys [<id> <id>], …").
pub fn added_key_ids(out: &str) -> Vec<String> {
    let start = out.find("with keys [").expect("keys in the output") + "with keys [".len();
    let end = start + out[start..].find(']').unwrap();
    out[start..end].split(' ').map(str::to_owned).collect()
}
