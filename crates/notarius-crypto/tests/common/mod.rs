//! Helpers shared by the integration tests: fixture paths, passphrase sources, copies and
//! byte-for-byte snapshots of trust directories.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use notarius_crypto::passphrase::{ConstantRetriever, GiveUp, Passphrase, PassphraseRetriever};
use zeroize::Zeroizing;

/// `tests/data/<name>`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `fixtures/notary-0.7/<name>` (made by the real Notary; another engineer regenerates them, so
/// IDs are read from their `scenario.json`, never written here). `None`, with a note, when the
/// fixtures are not there; under `CI=true` that is a failure.
pub fn notary_fixture(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/notary-0.7")
        .join(name);
    if p.exists() {
        return Some(p);
    }
    assert!(!ci(), "fixture {} is missing", p.display());
    eprintln!("SKIPPED: fixture {} is missing", p.display());
    None
}

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

pub fn pw(s: &str) -> ConstantRetriever {
    ConstantRetriever(Zeroizing::new(s.to_owned()))
}

/// Answers by role (alias), as Notary's environment variables do, and counts the questions.
pub struct ByRole {
    pub passphrases: BTreeMap<String, String>,
    pub asked: Vec<(String, String, bool, u32)>,
}

impl ByRole {
    pub fn new(pairs: &[(&str, &str)]) -> ByRole {
        ByRole {
            passphrases: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            asked: Vec::new(),
        }
    }

    /// The passphrases the Notary 0.7 fixtures were made with.
    pub fn notary_fixtures() -> ByRole {
        ByRole::new(&[
            ("root", "rootpassphrase"),
            ("targets", "targetspassphrase"),
            ("snapshot", "snapshotpassphrase"),
            ("delegation", "delegationpassphrase"),
        ])
    }
}

impl PassphraseRetriever for ByRole {
    fn passphrase(
        &mut self,
        key_name: &str,
        alias: &str,
        create_new: bool,
        attempt: u32,
    ) -> Result<Passphrase, GiveUp> {
        self.asked
            .push((key_name.to_owned(), alias.to_owned(), create_new, attempt));
        let base = ["root", "targets", "snapshot", "timestamp"];
        let p = self.passphrases.get(alias).or_else(|| {
            (!base.contains(&alias))
                .then(|| self.passphrases.get("delegation"))
                .flatten()
        });
        match p {
            Some(p) => Ok(Zeroizing::new(p.clone())),
            None => Err(GiveUp::NoInput),
        }
    }
}

/// Always the same wrong answer, counting the questions.
pub struct Wrong(pub u32);

impl PassphraseRetriever for Wrong {
    fn passphrase(&mut self, _: &str, _: &str, _: bool, _: u32) -> Result<Passphrase, GiveUp> {
        self.0 += 1;
        Ok(Zeroizing::new("a wrong passphrase".into()))
    }
}

/// Every path under `dir` (links not followed) with its bytes (files only) and mode.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            let content = if m.is_file() {
                fs::read(&p).unwrap()
            } else if m.file_type().is_symlink() {
                fs::read_link(&p)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
                    .into_bytes()
            } else {
                Vec::new()
            };
            out.insert(p, (content, m.permissions().mode()));
        }
    }
    out
}

pub fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let to = dst.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &to);
        } else {
            fs::copy(&p, &to).unwrap();
        }
    }
}

/// Names of the files directly in `dir`.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
