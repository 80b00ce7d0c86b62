//! The trust directory's metadata cache: `<trust_dir>/tuf/<gun>/metadata/<role>.json`, the exact
//! bytes last verified for each role (the rollback baseline of the next update).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use notarius_tuf::role::{self, Gun};
use notarius_tuf::store::{MetadataCache, StoreError};

use crate::fsutil;

/// The metadata cache of one GUN.
#[derive(Debug, Clone)]
pub struct FileCache {
    dir: PathBuf,
}

impl FileCache {
    /// The cache of `gun` under `trust_dir`. The GUN is validated before it becomes a path.
    pub fn new(trust_dir: &Path, gun: &Gun) -> FileCache {
        FileCache {
            dir: trust_dir.join("tuf").join(gun.as_str()).join("metadata"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Only role names may become file names: they cannot climb out of the directory.
    fn path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if !role::is_valid_role(name) {
            return Err(StoreError::Io(format!(
                "refusing to cache metadata under the name {name:?}"
            )));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }
}

fn io_err(e: io::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

impl MetadataCache for FileCache {
    fn get_sized(&self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        let path = self.path(name)?;
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::MetaNotFound {
                    resource: name.to_owned(),
                });
            }
            Err(e) => return Err(io_err(e)),
        };
        let limit = notarius_tuf::store::read_limit(size);
        if file.metadata().map_err(io_err)?.len() > limit {
            return Err(StoreError::MaliciousServer);
        }
        let mut out = Vec::new();
        file.take(limit + 1).read_to_end(&mut out).map_err(io_err)?;
        if out.len() as u64 > limit {
            return Err(StoreError::MaliciousServer);
        }
        Ok(out)
    }

    fn set(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(name)?;
        // Only root is the trust anchor: losing it in a crash would mean trusting on first use
        // again. The other roles are re-fetched and re-verified against it if a crash loses them,
        // so they are written atomically but not synced (Notary syncs none of them), which keeps
        // a cold read from waiting on the disk four times over.
        if name == role::ROOT {
            fsutil::write_private_atomic(&path, bytes).map_err(io_err)
        } else {
            fsutil::write_private_atomic_unsynced(&path, bytes).map_err(io_err)
        }
    }

    fn remove(&mut self, name: &str) -> Result<(), StoreError> {
        let path = self.path(name)?;
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(e)),
        }
    }
}

/// A cache whose writes wait in memory until [`commit`](Self::commit).
pub(crate) struct OverlayCache<'a> {
    base: &'a mut dyn MetadataCache,
    /// `None` marks a removal.
    pending: BTreeMap<String, Option<Vec<u8>>>,
}

impl<'a> OverlayCache<'a> {
    pub(crate) fn new(base: &'a mut dyn MetadataCache) -> OverlayCache<'a> {
        OverlayCache {
            base,
            pending: BTreeMap::new(),
        }
    }

    /// Writes what is pending; a failed write only loses a cache entry, which the next update
    /// fetches again.
    pub(crate) fn commit(self) {
        for (name, v) in self.pending {
            let _ = match v {
                Some(b) => self.base.set(&name, &b),
                None => self.base.remove(&name),
            };
        }
    }
}

impl MetadataCache for OverlayCache<'_> {
    fn get_sized(&self, name: &str, size: Option<u64>) -> std::result::Result<Vec<u8>, StoreError> {
        match self.pending.get(name) {
            Some(Some(b)) if b.len() as u64 > notarius_tuf::store::read_limit(size) => {
                Err(StoreError::MaliciousServer)
            }
            Some(Some(b)) => Ok(b.clone()),
            Some(None) => Err(StoreError::MetaNotFound {
                resource: name.to_owned(),
            }),
            None => self.base.get_sized(name, size),
        }
    }
    fn set(&mut self, name: &str, bytes: &[u8]) -> std::result::Result<(), StoreError> {
        self.pending.insert(name.to_owned(), Some(bytes.to_vec()));
        Ok(())
    }
    fn remove(&mut self, name: &str) -> std::result::Result<(), StoreError> {
        self.pending.insert(name.to_owned(), None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_roles_and_delegations_under_the_gun() {
        let t = tempfile::tempdir().unwrap();
        let gun = Gun::new("example.com/app").unwrap();
        let mut c = FileCache::new(t.path(), &gun);
        c.set("root", b"r").unwrap();
        c.set("targets/releases", b"d").unwrap();
        assert_eq!(c.get_sized("root", None).unwrap(), b"r");
        assert_eq!(
            fs::read(
                t.path()
                    .join("tuf/example.com/app/metadata/targets/releases.json")
            )
            .unwrap(),
            b"d"
        );
        assert_eq!(
            c.get_sized("root", Some(0)),
            Err(StoreError::MaliciousServer)
        );
        assert!(matches!(
            c.get_sized("snapshot", None),
            Err(StoreError::MetaNotFound { .. })
        ));
        c.remove("root").unwrap();
        c.remove("root").unwrap();
        assert!(matches!(
            c.get_sized("root", None),
            Err(StoreError::MetaNotFound { .. })
        ));
    }

    #[test]
    fn refuses_names_that_are_not_roles() {
        let t = tempfile::tempdir().unwrap();
        let gun = Gun::new("example.com/app").unwrap();
        let mut c = FileCache::new(t.path(), &gun);
        for bad in [
            "../../../evil",
            "targets/../../x",
            "/etc/passwd",
            "targets/A",
        ] {
            assert!(c.set(bad, b"x").is_err(), "{bad}");
        }
        assert_eq!(
            fs::read_dir(t.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }
}
