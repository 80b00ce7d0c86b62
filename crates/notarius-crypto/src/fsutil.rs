//! File writes that never leave a half-written file and never widen permissions.
//!
//! Directories are 0700 and files 0600 whatever the umask (NCC CS-DRNT15-7); a file is written
//! to a temporary name in its directory, synced, then renamed over the old one, so a crash
//! leaves either the old or the new content (Notary deletes then writes, which is not atomic).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Read, Write};
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
    write_private_atomic_with(path, bytes, true)
}

/// As [`write_private_atomic`], without waiting for the disk: still never half a file, but a
/// crash may lose the write. For files that are cheap to lose and written by the thousand
/// (staged changes: Notary does not sync them either).
pub fn write_private_atomic_unsynced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_private_atomic_with(path, bytes, false)
}

/// Writes a file the user named (an export, a backup, a generated key): atomically, mode 0600,
/// into a folder that must exist and is left exactly as it is. Only folders of the trust
/// directory are made private; tightening `/tmp` or a project folder because a backup was
/// written there would change it for every other user. A bare name is a file in the current
/// directory.
pub fn write_user_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = containing_dir(path);
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the folder {} does not exist", dir.display()),
        ));
    }
    write_atomic_in(dir, path, bytes, true)
}

/// The folder a path names its file in: `.` for a bare name.
pub fn containing_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn write_private_atomic_with(path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
    let dir = containing_dir(path);
    create_private_dir(dir)?;
    write_atomic_in(dir, path, bytes, durable)
}

fn write_atomic_in(dir: &Path, path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
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
        if durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if durable && let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads at most `limit` bytes of the regular file at `path`, never through a symbolic link
/// (`O_NOFOLLOW`, so there is no window between a check and the open) and never blocking on a
/// planted FIFO. A larger file is refused without reading it.
pub fn read_private(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::other("refusing to follow a symbolic link")
            } else {
                e
            }
        })?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    if meta.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file is larger than {limit} bytes"),
        ));
    }
    let mut out = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow after the check; never read past the limit.
    f.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("file is larger than {limit} bytes"),
        ));
    }
    Ok(out)
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KS-05: under `umask 000` files are still 0600 and folders 0700. The test runs itself
    /// again through `sh` with that umask (so no other test of this process sees it), and the
    /// second run checks.
    #[test]
    fn modes_are_private_whatever_the_umask() {
        if std::env::var_os("NOTARIUS_UMASK_CHILD").is_none() {
            let exe = std::env::current_exe().unwrap();
            let out = std::process::Command::new("sh")
                .args([
                    "-c",
                    "umask 000 && exec \"$0\" --exact --nocapture fsutil::tests::modes_are_private_whatever_the_umask",
                ])
                .arg(&exe)
                .env("NOTARIUS_UMASK_CHILD", "1")
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "{text}");
            assert!(text.contains("umask child: umask was 000"), "{text}");
            assert!(text.contains("1 passed"), "the child ran: {text}");
            return;
        }
        // The umask, seen from a file made without our mode handling.
        let probe = tempfile::tempdir().unwrap();
        let plain = probe.path().join("plain");
        fs::write(&plain, b"").unwrap();
        let plain_mode = fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        assert_eq!(plain_mode, 0o666, "the parent set umask 000");
        println!("umask child: umask was 000");
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
    fn bounded_reads_refuse_links_fifos_and_large_files() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("k");
        fs::write(&p, b"12345").unwrap();
        assert_eq!(read_private(&p, 5).unwrap(), b"12345");
        assert_eq!(
            read_private(&p, 4).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let link = t.path().join("l");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(
            read_private(&link, 100)
                .unwrap_err()
                .to_string()
                .contains("symbolic link")
        );
        let fifo = t.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(
            read_private(&fifo, 100).is_err(),
            "returns instead of blocking"
        );
        assert!(read_private(t.path(), 100).is_err());
        assert_eq!(
            read_private(&t.path().join("missing"), 1)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn user_files_leave_their_folder_as_it_was() {
        let t = tempfile::tempdir().unwrap();
        for mode in [0o755, 0o1777] {
            let d = t.path().join(format!("d{mode:o}"));
            fs::create_dir(&d).unwrap();
            fs::set_permissions(&d, fs::Permissions::from_mode(mode)).unwrap();
            let f = d.join("out.pem");
            write_user_file(&f, b"x").unwrap();
            assert_eq!(
                fs::metadata(&d).unwrap().permissions().mode() & 0o7777,
                mode
            );
            assert_eq!(
                fs::metadata(&f).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(
            write_user_file(&t.path().join("missing/out"), b"x")
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(containing_dir(Path::new("bare")), Path::new("."));
        assert_eq!(containing_dir(Path::new("./bare")), Path::new("."));
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
