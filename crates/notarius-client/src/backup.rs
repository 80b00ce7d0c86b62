//! `notarius backup` and `notarius restore` (beyond Notary): the key files of `private/` in a tar
//! archive, gzip-compressed when the name ends in `.gz` or `.tgz`. Keys stay encrypted as they
//! are stored.
//!
//! A restore reads the whole archive first and refuses it, writing nothing, unless every entry
//! is the `private` directory or a regular file `private/<key ID>.key` (no absolute paths, no
//! `..`, no links or devices) and every key in it parses, decrypts with its passphrase (from the
//! usual environment variables or the terminal) and is the key its name says. Only then are the
//! files written: each to a temporary name first, then all renamed into place.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};

use notarius_crypto::fsutil;
use notarius_crypto::keyfile::{KeyFile, MAX_KEY_FILE};
use notarius_crypto::keystore::{FileKeyStore, MAX_ATTEMPTS, is_key_id};
use notarius_crypto::passphrase::{GiveUp, PassphraseRetriever};
use notarius_crypto::pkcs8::KeyError;

/// The largest archive `restore` reads (compressed size; the unpacked keys are bounded by
/// [`MAX_ENTRIES`] files of at most [`MAX_KEY_FILE`] bytes).
pub const MAX_ARCHIVE: u64 = 64 << 20;
/// The most entries an archive may have.
pub const MAX_ENTRIES: usize = 10_000;

/// Why a backup or restore failed. Nothing was written when it is returned by `restore`.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the archive could not be read: {0}")]
    Archive(String),
    #[error("the archive entry {entry:?} is refused: {reason}")]
    Entry { entry: String, reason: String },
    #[error("key {id} in the archive: {reason}")]
    Key { id: String, reason: String },
    #[error(transparent)]
    Store(#[from] notarius_crypto::keystore::KeyStoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn gzipped_name(file: &Path) -> bool {
    let name = file.to_string_lossy();
    name.ends_with(".gz") || name.ends_with(".tgz")
}

/// Archives the key files of `trust_dir/private` into `file` (written atomically, mode 0600).
/// Returns the key IDs archived. Symbolic links and files that are not key files are left
/// out, with a note in the second list.
pub fn backup(trust_dir: &Path, file: &Path) -> Result<(Vec<String>, Vec<String>), BackupError> {
    let ks = FileKeyStore::open(trust_dir)?;
    let dir = ks.dir().to_owned();
    let mut names: Vec<(String, std::fs::Metadata)> = Vec::new();
    let mut skipped = Vec::new();
    for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
        let e = e.map_err(io(&dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(e.path()).map_err(io(&e.path()))?;
        let is_key = name.strip_suffix(".key").is_some_and(is_key_id);
        if meta.is_file() && is_key {
            names.push((name, meta));
        } else if !name.starts_with('.') {
            skipped.push(name);
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));

    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o700);
    header.set_size(0);
    header.set_mtime(0);
    builder
        .append_data(&mut header, "private/", std::io::empty())
        .map_err(|e| BackupError::Archive(e.to_string()))?;
    let mut ids = Vec::new();
    for (name, meta) in &names {
        let path = dir.join(name);
        let bytes =
            zeroize::Zeroizing::new(fsutil::read_private(&path, MAX_KEY_FILE).map_err(io(&path))?);
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o600);
        header.set_size(bytes.len() as u64);
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        header.set_mtime(mtime);
        builder
            .append_data(&mut header, format!("private/{name}"), bytes.as_slice())
            .map_err(|e| BackupError::Archive(e.to_string()))?;
        ids.push(name.trim_end_matches(".key").to_owned());
    }
    let tar_bytes = zeroize::Zeroizing::new(
        builder
            .into_inner()
            .map_err(|e| BackupError::Archive(e.to_string()))?,
    );
    let out = if gzipped_name(file) {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar_bytes).map_err(io(file))?;
        zeroize::Zeroizing::new(gz.finish().map_err(io(file))?)
    } else {
        tar_bytes
    };
    fsutil::write_user_file(file, &out).map_err(io(file))?;
    Ok((ids, skipped))
}

/// What a restore did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// Keys written that the store did not have.
    pub added: Vec<String>,
    /// Keys whose stored file was replaced by the archive's (a different encryption).
    pub replaced: Vec<String>,
    /// Keys already stored with exactly the archive's bytes.
    pub unchanged: Vec<String>,
}

/// One key file from the archive, checked.
fn check_entry(path_bytes: &[u8], kind: tar::EntryType) -> Result<Option<String>, String> {
    let path = std::str::from_utf8(path_bytes).map_err(|_| "the name is not UTF-8".to_owned())?;
    if path.starts_with('/') {
        return Err("absolute path".into());
    }
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::CurDir => {}
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => return Err("\"..\" in the path".into()),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path".into()),
        }
    }
    let is_dir = kind == tar::EntryType::Directory;
    if !is_dir && kind != tar::EntryType::Regular {
        return Err(format!(
            "only regular files and directories are restored, not {}",
            entry_kind(kind)
        ));
    }
    match (parts.as_slice(), is_dir) {
        ([p], true) if p == "private" => Ok(None),
        ([p, name], false) if p == "private" => match name.strip_suffix(".key") {
            Some(id) if is_key_id(id) => Ok(Some(id.to_owned())),
            _ => Err("not a key file (private/<key ID>.key)".into()),
        },
        _ => Err("outside private/ or not a key file".into()),
    }
}

fn entry_kind(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        tar::EntryType::Fifo => "a FIFO",
        _ => "this kind of entry",
    }
}

/// Decrypts a key file with a passphrase from `retriever`, as the key store does (Notary's
/// retry limits), and checks it is key `id`.
fn check_key(
    id: &str,
    bytes: &[u8],
    retriever: &mut dyn PassphraseRetriever,
) -> Result<(), BackupError> {
    let bad = |reason: String| BackupError::Key {
        id: id.to_owned(),
        reason,
    };
    let file = KeyFile::parse(bytes).map_err(|e| bad(e.to_string()))?;
    if !file.is_private_key() {
        return Err(bad(format!("a {} block is not a private key", file.label)));
    }
    let role = file.role().to_owned();
    let key = if file.is_encrypted() {
        let mut attempt = 0;
        loop {
            if attempt > MAX_ATTEMPTS {
                return Err(bad("maximum number of passphrase attempts exceeded".into()));
            }
            let pass = retriever
                .passphrase(id, &role, false, attempt)
                .map_err(|e| match e {
                    GiveUp::NoInput => bad(e.to_string()),
                    _ => bad("password invalid, operation has failed.".into()),
                })?;
            match file.decrypt(&pass) {
                Ok(k) => break k,
                Err(KeyError::IncorrectPassword | KeyError::LegacyDecrypt) => attempt += 1,
                Err(e) => return Err(bad(e.to_string())),
            }
        }
    } else {
        file.decrypt("").map_err(|e| bad(e.to_string()))?
    };
    if !key.matches_id(id) {
        return Err(bad(format!("the file holds key {}", key.id())));
    }
    Ok(())
}

/// Restores the key files archived in `file` into `trust_dir/private` (see the module docs).
pub fn restore(
    trust_dir: &Path,
    file: &Path,
    retriever: &mut dyn PassphraseRetriever,
) -> Result<Restored, BackupError> {
    let raw = zeroize::Zeroizing::new(fsutil::read_private(file, MAX_ARCHIVE).map_err(io(file))?);
    let tar_bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // Bounded: a gzip bomb stops at the limit.
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_ARCHIVE + 1)
            .read_to_end(&mut out)
            .map_err(|e| BackupError::Archive(format!("gzip: {e}")))?;
        if out.len() as u64 > MAX_ARCHIVE {
            return Err(BackupError::Archive(format!(
                "more than {MAX_ARCHIVE} bytes unpacked"
            )));
        }
        zeroize::Zeroizing::new(out)
    } else {
        raw
    };

    // 1. Read and check every entry; keep the key files in memory.
    let mut keys: BTreeMap<String, zeroize::Zeroizing<Vec<u8>>> = BTreeMap::new();
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let entries = archive
        .entries()
        .map_err(|e| BackupError::Archive(e.to_string()))?;
    for (n, entry) in entries.enumerate() {
        if n >= MAX_ENTRIES {
            return Err(BackupError::Archive(format!(
                "more than {MAX_ENTRIES} entries"
            )));
        }
        let mut entry = entry.map_err(|e| BackupError::Archive(e.to_string()))?;
        let name_bytes = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let refuse = |reason: String| BackupError::Entry {
            entry: name.clone(),
            reason,
        };
        let kind = entry.header().entry_type();
        // GNU and PAX metadata entries describe the next entry; its name is what counts.
        if matches!(
            kind,
            tar::EntryType::XHeader | tar::EntryType::XGlobalHeader
        ) {
            continue;
        }
        let Some(id) = check_entry(&name_bytes, kind).map_err(refuse)? else {
            continue;
        };
        if entry.link_name_bytes().is_some_and(|l| !l.is_empty()) {
            return Err(refuse("a link".into()));
        }
        if entry.size() > MAX_KEY_FILE {
            return Err(refuse(format!("larger than {MAX_KEY_FILE} bytes")));
        }
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        (&mut entry)
            .take(MAX_KEY_FILE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| BackupError::Archive(e.to_string()))?;
        if keys.insert(id, bytes).is_some() {
            return Err(refuse("the archive has this key twice".into()));
        }
    }
    if keys.is_empty() {
        return Err(BackupError::Archive("no key files in private/".into()));
    }

    // 2. Every key must open with its passphrase.
    for (id, bytes) in &keys {
        check_key(id, bytes, retriever)?;
    }

    // 3. Write: temporary files first, then renames.
    let ks = FileKeyStore::open(trust_dir)?;
    let dir = ks.dir().to_owned();
    let mut result = Restored::default();
    let mut staged: Vec<(std::path::PathBuf, std::path::PathBuf)> = Vec::new();
    let cleanup = |staged: &[(std::path::PathBuf, std::path::PathBuf)]| {
        for (tmp, _) in staged {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for (id, bytes) in &keys {
        let dest = dir.join(format!("{id}.key"));
        match fsutil::read_private(&dest, MAX_KEY_FILE) {
            Ok(existing) if existing == bytes.as_slice() => {
                result.unchanged.push(id.clone());
                continue;
            }
            Ok(_) => result.replaced.push(id.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => result.added.push(id.clone()),
            Err(e) => {
                cleanup(&staged);
                return Err(io(&dest)(e));
            }
        }
        let tmp = dir.join(format!(".{id}.key.restore"));
        if let Err(e) = fsutil::write_private_atomic(&tmp, bytes) {
            cleanup(&staged);
            return Err(io(&tmp)(e));
        }
        staged.push((tmp, dest));
    }
    for (i, (tmp, dest)) in staged.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, dest) {
            cleanup(&staged[i..]);
            return Err(io(dest)(e));
        }
    }
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(result)
}
