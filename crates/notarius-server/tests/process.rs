//! The `notarius-server` process itself: it runs with one glibc malloc arena (docs/QUIRKS.md
//! 116) unless the environment chooses another value.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Starts the binary on embedded defaults and returns what its `/proc/<pid>/environ` says of
/// `MALLOC_ARENA_MAX` once it listens.
fn arena_setting_of_started_server(env: Option<&str>) -> Option<String> {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_notarius-server"));
    cmd.arg("-data-dir")
        .arg(data.path())
        .arg("-http-addr")
        .arg("127.0.0.1:0")
        .env_remove("MALLOC_ARENA_MAX")
        .env("NOTARIUS_SERVER_KEY_PASSPHRASE", "process-test-passphrase")
        .stderr(Stdio::piped());
    if let Some(v) = env {
        cmd.env("MALLOC_ARENA_MAX", v);
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let started = loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("listening on") => break true,
            Some(Ok(l)) => seen.push(l),
            _ => break false,
        }
    };
    // The PID the parent knows is the server's: the re-exec keeps it.
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        started,
        "notarius-server did not start:\n{}",
        seen.join("\n")
    );
    environ
        .split(|b| *b == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok())
        .find_map(|kv| kv.strip_prefix("MALLOC_ARENA_MAX=").map(str::to_owned))
}

#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_server_runs_with_one_malloc_arena_unless_told_otherwise() {
    assert_eq!(arena_setting_of_started_server(None).as_deref(), Some("1"));
    assert_eq!(
        arena_setting_of_started_server(Some("4")).as_deref(),
        Some("4")
    );
}
