//! Staged changes, in Notary's on-disk format, so that `notary` and `notarius` can share a trust
//! directory: `tuf/<gun>/changelist/<%020d unix-nanos>_<uuid>.change`, applied in file-name order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use notarius_tuf::role::Gun;

use crate::fsutil;

mod change;

pub use change::{Change, RawChange, TufDelegation};

/// Why the changelist could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ChangelistError {
    #[error("changelist {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("change index {0} is out of range")]
    BadIndex(usize),
    #[error("the change could not be encoded: {0}")]
    Encode(String),
}

/// The changelist directory of one GUN.
#[derive(Debug, Clone)]
pub struct FileChangelist {
    dir: PathBuf,
}

/// A change together with the file it lives in.
#[derive(Debug, Clone)]
pub struct StoredChange {
    pub file: String,
    pub raw: RawChange,
}

impl FileChangelist {
    pub fn new(trust_dir: &Path, gun: &Gun) -> FileChangelist {
        FileChangelist {
            dir: trust_dir.join("tuf").join(gun.as_str()).join("changelist"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self, source: io::Error) -> ChangelistError {
        ChangelistError::Io {
            path: self.dir.clone(),
            source,
        }
    }

    /// Change file names in application order.
    fn file_names(&self) -> Result<Vec<String>, ChangelistError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        let mut names = Vec::new();
        for e in entries {
            let e = e.map_err(|e| self.io(e))?;
            if e.file_type().map_err(|e| self.io(e))?.is_file() {
                names.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Every change, in order. Like Notary, a file that does not parse is skipped (and
    /// reported in the second list) rather than blocking the others.
    pub fn list(&self) -> Result<(Vec<StoredChange>, Vec<String>), ChangelistError> {
        let mut changes = Vec::new();
        let mut unreadable = Vec::new();
        for name in self.file_names()? {
            let bytes = fs::read(self.dir.join(&name)).map_err(|e| self.io(e))?;
            match serde_json::from_slice::<RawChange>(&bytes) {
                Ok(raw) => changes.push(StoredChange { file: name, raw }),
                Err(e) => unreadable.push(format!("{name}: {e}")),
            }
        }
        Ok((changes, unreadable))
    }

    /// Stages a change; `now_nanos` and `uuid` name the file (passed in so tests are
    /// deterministic).
    pub fn add_named(
        &self,
        change: &Change,
        now_nanos: u128,
        uuid: &str,
    ) -> Result<String, ChangelistError> {
        let name = format!("{now_nanos:020}_{uuid}.change");
        let raw = change
            .to_raw()
            .map_err(|e| ChangelistError::Encode(e.to_string()))?;
        fsutil::write_private_atomic_unsynced(&self.dir.join(&name), &raw.to_go_json())
            .map_err(|e| self.io(e))?;
        Ok(name)
    }

    /// Stages a change named by the current time and a random UUID, as Notary does.
    pub fn add(&self, change: &Change) -> Result<String, ChangelistError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        self.add_named(change, nanos, &uuid_v4())
    }

    /// Removes the changes at the given positions of [`list`](Self::list)'s order.
    pub fn remove(&self, indexes: &[usize]) -> Result<(), ChangelistError> {
        let names = self.file_names()?;
        if let Some(bad) = indexes.iter().find(|i| **i >= names.len()) {
            return Err(ChangelistError::BadIndex(*bad));
        }
        for i in indexes {
            fs::remove_file(self.dir.join(&names[*i])).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Removes exactly the given change files (those a publish applied), leaving any staged
    /// meanwhile.
    pub fn remove_files(&self, files: &[String]) -> Result<(), ChangelistError> {
        for f in files {
            match fs::remove_file(self.dir.join(f)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        Ok(())
    }

    /// Removes every change.
    pub fn clear(&self) -> Result<(), ChangelistError> {
        let names = self.file_names()?;
        self.remove_files(&names)
    }
}

/// A random RFC 4122 version 4 UUID.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .expect("system randomness");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use notarius_tuf::metadata::FileMeta;

    fn target_change(path: &str) -> Change {
        let meta: FileMeta =
            serde_json::from_str(r#"{"length":1,"hashes":{"sha256":"AA=="}}"#).unwrap();
        Change::add_target(None, path, meta)
    }

    #[test]
    fn ordered_by_file_name_and_removable() {
        let t = tempfile::tempdir().unwrap();
        let cl = FileChangelist::new(t.path(), &Gun::new("example.com/app").unwrap());
        assert!(cl.list().unwrap().0.is_empty());
        cl.add_named(&target_change("b"), 2, "u2").unwrap();
        cl.add_named(&target_change("a"), 1, "u1").unwrap();
        cl.add(&target_change("c")).unwrap();
        fs::write(cl.dir().join("00000000000000000003_bad.change"), b"{").unwrap();
        let (list, bad) = cl.list().unwrap();
        let paths: Vec<&str> = list.iter().map(|c| c.raw.path()).collect();
        assert_eq!(paths, ["a", "b", "c"]);
        assert_eq!(bad.len(), 1);
        assert_eq!(list[0].file, "00000000000000000001_u1.change");
        assert!(matches!(cl.remove(&[9]), Err(ChangelistError::BadIndex(9))));
        cl.remove(&[0]).unwrap();
        assert_eq!(cl.list().unwrap().0[0].raw.path(), "b");
        cl.clear().unwrap();
        assert!(cl.list().unwrap().0.is_empty());
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
