//! File writes that never leave a half-written file and never widen permissions.
//!
//! Directories are 0700 and files 0600 whatever the umask (NCC CS-DRNT15-7); a file is written
//! to a temporary name in its directory, synced, then renamed over the old one, so a crash
//! leaves either the old or the new content (Notary deletes then writes, which is not atomic).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

// `create_new` (O_CREAT|O_EXCL) refuses an existing path, a planted symlink included.
use std::path::Path;

/// Creates `dir` and its missing parents with mode 0700, and tightens `dir` itself to 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Err(io::Error::other(format!(
            "{} is a symbolic link",
            dir.display()
        )));
    }
    if meta.permissions().mode() & 0o777 != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("path has no parent directory"))?;
    create_private_dir(dir)?;
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(io::Error::other(format!(
            "{} is a symbolic link",
            path.display()
        )));
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("path has no file name"))?
        .to_string_lossy();
    let mut rnd = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut rnd)
        .map_err(|_| io::Error::other("no randomness"))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", hex_lower(&rnd)));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_private_whatever_the_umask() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a/b/c.json");
        write_private_atomic(&p, b"x").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(t.path().join("a/b"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        write_private_atomic(&p, b"yy").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"yy");
        assert_eq!(
            fs::read_dir(t.path().join("a/b")).unwrap().count(),
            1,
            "no temporary files left"
        );
    }

    #[test]
    fn refuses_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("target");
        fs::write(&target, b"keep").unwrap();
        let link = t.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_private_atomic(&link, b"evil").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }
}
