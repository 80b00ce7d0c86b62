//! A fresh SoftHSM2 token in a temporary directory, for tests. SoftHSM reads its configuration
//! from `SOFTHSM2_CONF` when the module is initialised, so a test that loads the module in its
//! own process runs its body in a child process of the test binary (see [`in_token_process`]).
#![allow(dead_code, reason = "each test file uses part of it")]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const LABEL: &str = "notarius-test";
pub const USER_PIN: &str = "1234";
pub const SO_PIN: &str = "123456";

const CHILD_ENV: &str = "NOTARIUS_TEST_SOFTHSM_CHILD";
const MODULE_ENV: &str = "NOTARIUS_TEST_SOFTHSM_MODULE";

/// The SoftHSM2 module, as Debian installs it.
pub fn module_path() -> Option<PathBuf> {
    if let Ok(out) = Command::new("dpkg").args(["-L", "libsofthsm2"]).output() {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.ends_with("/libsofthsm2.so") && Path::new(line).is_file() {
                return Some(PathBuf::from(line));
            }
        }
    }
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// A token directory and the configuration pointing at it.
pub struct SoftHsm {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub module: PathBuf,
}

impl SoftHsm {
    /// A configuration with no token yet; `None` (with a note) when SoftHSM2 is not installed,
    /// which fails the test under `CI=true`.
    pub fn empty() -> Option<SoftHsm> {
        let module = module_path();
        let util = Command::new("softhsm2-util")
            .arg("--version")
            .output()
            .is_ok();
        let (Some(module), true) = (module, util) else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("SoftHSM2 is missing (apt-get install softhsm2); required under CI=true");
            }
            eprintln!("note: SoftHSM2 not installed; skipping the hardware-token test");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        Some(SoftHsm { dir, conf, module })
    }

    /// A configuration with one initialised token ([`LABEL`], PINs [`USER_PIN`]/[`SO_PIN`]).
    pub fn with_token() -> Option<SoftHsm> {
        let hsm = SoftHsm::empty()?;
        hsm.util(&[
            "--init-token",
            "--free",
            "--label",
            LABEL,
            "--pin",
            USER_PIN,
            "--so-pin",
            SO_PIN,
        ]);
        Some(hsm)
    }

    /// Runs `softhsm2-util` on this configuration.
    pub fn util(&self, args: &[&str]) {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "softhsm2-util {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs `body` with the SoftHSM module path in a child process of this test binary whose
/// `SOFTHSM2_CONF` points at `hsm` (made by `make` in the parent). `test` is the test's name.
/// Returns without running anything when SoftHSM2 is missing (outside CI).
pub fn in_token_process(
    test: &str,
    make: impl FnOnce() -> Option<SoftHsm>,
    body: impl FnOnce(&Path),
) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(test) {
        let module = PathBuf::from(std::env::var(MODULE_ENV).unwrap());
        body(&module);
        return;
    }
    let Some(hsm) = make() else { return };
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &hsm.conf)
        .env(CHILD_ENV, test)
        .env(MODULE_ENV, &hsm.module)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child test {test} failed:\n{text}");
    // The child must really have run the test (a filter matching nothing also succeeds).
    assert!(
        text.contains("1 passed"),
        "child test {test} did not run:\n{text}"
    );
}
