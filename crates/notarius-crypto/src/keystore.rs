//! The on-disk key store: `<trust_dir>/private/<canonical key ID>.key`, shared with `notary` and
//! Docker (Notary's `trustmanager.GenericKeyStore` over a file store, with its import and export
//! in `trustmanager/keys.go` and the 0.4 layout migration in `storage/filestore.go`).
//!
//! Where Notary would write outside the store or lose a key, this store refuses instead: file
//! names are key IDs and nothing else, symbolic links are never followed, every write is atomic
//! and private, and an import is checked completely before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use notarius_tuf::role::{self, Gun, InvalidGun};

use crate::fsutil;
use crate::gopem::{self, Block};
use crate::keyfile::{KeyFile, MAX_KEY_FILE, encode_key_file};
use crate::passphrase::{GiveUp, Passphrase, PassphraseRetriever};
use crate::pkcs8::{self, KeyError};
use crate::private::PrivateKey;
use zeroize::Zeroizing;

/// Notary gives up after this many wrong passphrases for one key (its loops stop once the
/// attempt counter passes 10).
pub const MAX_ATTEMPTS: u32 = 10;

/// The largest bundle `import` reads; an export of a few hundred keys is well below this.
pub const MAX_IMPORT: u64 = 4 << 20;

/// The role Notary gives an imported key that names none (`notary.DefaultImportRole`).
pub const DEFAULT_IMPORT_ROLE: &str = "delegation";

/// The legacy (Notary ≤ 0.3) sub-directories of `private/`.
const ROOT_KEYS_SUBDIR: &str = "root_keys";
const NON_ROOT_KEYS_SUBDIR: &str = "tuf_keys";

/// Role and GUN of a stored key, read from its PEM headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub role: String,
    pub gun: String,
}

/// Why the key store could not do what was asked. Messages follow Notary's.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("signing key not found: {0}")]
    NotFound(String),
    #[error("password invalid, operation has failed.")]
    PasswordInvalid,
    #[error("maximum number of passphrase attempts exceeded")]
    AttemptsExceeded,
    #[error("{0}")]
    GiveUp(#[from] GiveUp),
    #[error("key file {path}: {source}")]
    Key { path: PathBuf, source: KeyError },
    #[error("key file {path} holds key {found}, not the key its name says")]
    IdMismatch { path: PathBuf, found: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0:?} is not a key ID")]
    BadKeyId(String),
    #[error("key with same ID already exists for role: {0}")]
    ExistsForRole(String),
    #[error(transparent)]
    InvalidGun(#[from] InvalidGun),
    #[error("{0:?} cannot be written as a key file header")]
    BadHeader(String),
    #[error("key {id} is stored for role {stored:?}, not for {wanted:?}")]
    WrongRole {
        id: String,
        stored: String,
        wanted: String,
    },
    #[error("key {id} is stored for repository {stored:?}, not for {wanted:?}")]
    WrongGun {
        id: String,
        stored: String,
        wanted: String,
    },
    #[error("failed to import all keys: {}", .0.join(", "))]
    Import(Vec<String>),
    /// A hardware token failed (PIN refused or nearly blocked, token removed, object missing).
    /// Final: no other store is asked for the key.
    #[error("{0}")]
    Token(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The key is on a hardware token, which signs with it but never gives it out.
    #[error("key {0} is on a hardware token: its private key cannot be read")]
    OnToken(String),
    /// The store does not take this key (a token takes only root keys).
    #[error("{0}")]
    Refused(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyStoreError + '_ {
    move |source| KeyStoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A key ID is 64 lower-case hex characters; nothing else may become a file name.
pub fn is_key_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_id(id: &str) -> Result<(), KeyStoreError> {
    if is_key_id(id) {
        Ok(())
    } else {
        Err(KeyStoreError::BadKeyId(id.chars().take(80).collect()))
    }
}

/// A header value must stay one PEM header line, and a GUN must be one Notary could use.
fn check_header(value: &str) -> Result<(), KeyStoreError> {
    if value.chars().any(char::is_control) || value.trim() != value {
        return Err(KeyStoreError::BadHeader(value.chars().take(80).collect()));
    }
    Ok(())
}

fn check_gun(gun: &str) -> Result<(), KeyStoreError> {
    if !gun.is_empty() {
        Gun::new(gun)?;
    }
    Ok(())
}

/// Notary keeps a GUN only on targets, snapshot and timestamp keys; root, delegation and
/// unknown-role keys are shared across repositories.
pub fn keeps_gun(role_name: &str) -> bool {
    !(role_name == role::ROOT || role::is_delegation(role_name) || !role::is_valid_role(role_name))
}

/// May key `id`, filed under `stored`, sign for `wanted_role` of `wanted_gun` (KS-07)? The same
/// role, or a key imported without a role (Notary files it as `delegation`) for a delegation;
/// and no GUN, or the same GUN.
pub fn check_key_use(
    id: &str,
    stored: &KeyInfo,
    wanted_role: &str,
    wanted_gun: &str,
) -> Result<(), KeyStoreError> {
    let role_ok = stored.role == wanted_role
        || (stored.role == DEFAULT_IMPORT_ROLE && role::is_delegation(wanted_role));
    if !role_ok {
        return Err(KeyStoreError::WrongRole {
            id: id.to_owned(),
            stored: stored.role.clone(),
            wanted: wanted_role.to_owned(),
        });
    }
    if !stored.gun.is_empty() && stored.gun != wanted_gun {
        return Err(KeyStoreError::WrongGun {
            id: id.to_owned(),
            stored: stored.gun.clone(),
            wanted: wanted_gun.to_owned(),
        });
    }
    Ok(())
}

/// Notary's passphrase loop for a new key (`AddKey`, `ImportKeys`): a refusal that says to give
/// up ends it, anything else is asked again until the attempt counter passes 10.
fn new_passphrase(
    retriever: &mut dyn PassphraseRetriever,
    name: &str,
    alias: &str,
) -> Result<Passphrase, KeyStoreError> {
    let mut attempt = 0;
    loop {
        match retriever.passphrase(name, alias, true, attempt) {
            Ok(p) => return Ok(p),
            // Asking again cannot help; say where a passphrase can come from.
            Err(GiveUp::NoInput) => return Err(KeyStoreError::GiveUp(GiveUp::NoInput)),
            Err(GiveUp::TooManyAttempts) => return Err(KeyStoreError::AttemptsExceeded),
            Err(GiveUp::Other(_)) if attempt <= MAX_ATTEMPTS => attempt += 1,
            Err(GiveUp::Other(_)) => return Err(KeyStoreError::AttemptsExceeded),
        }
    }
}

/// Why [`read_key_to_import`] failed, in Notary's words.
#[derive(Debug, thiserror::Error)]
pub enum ReadKeyError {
    #[error("only encrypted root keys may be imported")]
    RootKeyNotEncrypted,
    #[error("password invalid, operation has failed.")]
    PasswordInvalid,
    #[error("maximum number of passphrase attempts exceeded")]
    AttemptsExceeded,
    #[error("{0}")]
    GiveUp(GiveUp),
    #[error("{0}")]
    Key(#[from] KeyError),
}

/// Notary's `readKey` (`init --rootkey`, `key rotate -k`): the first PEM block of a key file
/// the user names. A root key must be encrypted (`only encrypted root keys may be imported`);
/// other roles may be plain. An encrypted key is decrypted as `GetPasswdDecryptBytes` does:
/// with the *root* passphrase whatever the role, any failure to decrypt asked again, a
/// retriever that gives up is `password invalid`, more than ten attempts the attempts error.
pub fn read_key_to_import(
    pem: &[u8],
    role_name: &str,
    retriever: &mut dyn PassphraseRetriever,
) -> Result<PrivateKey, ReadKeyError> {
    read_key_file_as(pem, role_name, role::ROOT, retriever)
}

/// As [`read_key_to_import`], asking for an encrypted key's passphrase under `alias`
/// (Docker's `trust key load` asks under `encrypted`, which its repository passphrase
/// answers).
pub fn read_key_file_as(
    pem: &[u8],
    role_name: &str,
    alias: &str,
    retriever: &mut dyn PassphraseRetriever,
) -> Result<PrivateKey, ReadKeyError> {
    let file = KeyFile::parse(pem)?;
    if !file.is_encrypted() {
        if role_name == role::ROOT {
            return Err(ReadKeyError::RootKeyNotEncrypted);
        }
        return Ok(file.decrypt("")?);
    }
    let mut attempt = 0;
    loop {
        if attempt > MAX_ATTEMPTS {
            return Err(ReadKeyError::AttemptsExceeded);
        }
        let pass = retriever
            .passphrase("", alias, false, attempt)
            .map_err(|e| match e {
                GiveUp::NoInput => ReadKeyError::GiveUp(GiveUp::NoInput),
                _ => ReadKeyError::PasswordInvalid,
            })?;
        match file.decrypt(&pass) {
            Ok(k) => return Ok(k),
            // Only a refused passphrase is worth another try; a format we do not read is
            // said as such.
            Err(KeyError::IncorrectPassword | KeyError::LegacyDecrypt) => attempt += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// What an import did: the key IDs written, and the blocks skipped with the reason for each
/// (Notary reports skipped blocks only when nothing at all was imported).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: Vec<String>,
    pub skipped: Vec<String>,
}

/// Keys stored as files in `<trust_dir>/private`. A clone is another handle on the same store:
/// it shares what the store remembers (so a hardware token's backup store and the file store
/// of one process never disagree).
#[derive(Clone)]
pub struct FileKeyStore {
    dir: PathBuf,
    /// Keys this process has decrypted or written, by ID, with the file bytes they came from:
    /// Notary's key store caches decrypted keys too, so a passphrase is asked once per process,
    /// and each decryption is thousands of HMACs. A file changed on disk since is read again.
    /// Off unless [`FileKeyStore::remembering_keys`]: the store itself (and its tests of wrong
    /// passphrases) always decrypts.
    decrypted:
        Option<std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Decrypted>>>>,
    /// With `decrypted`: the listing, read once and kept until this store writes or removes
    /// a key, as Notary's key file store keeps its `keyInfoMap` (a command lists the keys
    /// several times, and a trust directory can hold hundreds of key files).
    listed: std::sync::Arc<std::sync::Mutex<Option<BTreeMap<String, KeyInfo>>>>,
}

struct Decrypted {
    file: Vec<u8>,
    raw: crate::pkcs8::RawKey,
    role: String,
}

impl FileKeyStore {
    /// Opens (creating with mode 0700) the key store of `trust_dir`, migrating Notary 0.1/0.3
    /// layouts (`root_keys/`, `tuf_keys/<gun>/`) as Notary 0.4+ does.
    pub fn open(trust_dir: &Path) -> Result<FileKeyStore, KeyStoreError> {
        let dir = trust_dir.join("private");
        fsutil::create_private_dir(&dir).map_err(io_err(&dir))?;
        let store = FileKeyStore {
            dir,
            decrypted: None,
            listed: Default::default(),
        };
        store.migrate_legacy()?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, KeyStoreError> {
        check_id(id)?;
        Ok(self.dir.join(format!("{id}.key")))
    }

    fn read_file(path: &Path) -> Result<Vec<u8>, KeyStoreError> {
        fsutil::read_private(path, MAX_KEY_FILE).map_err(|e| {
            if e.kind() == io::ErrorKind::InvalidData {
                KeyStoreError::Key {
                    path: path.to_owned(),
                    source: KeyError::Invalid("key file is larger than 1 MiB".into()),
                }
            } else {
                io_err(path)(e)
            }
        })
    }

    /// The stored file of key `id`, or `NotFound`.
    fn read_key(&self, id: &str) -> Result<(PathBuf, Vec<u8>), KeyStoreError> {
        let path = self.path_of(id)?;
        match Self::read_file(&path) {
            Err(KeyStoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                Err(KeyStoreError::NotFound(id.to_owned()))
            }
            other => Ok((path, other?)),
        }
    }

    /// IDs of the key files, in file-name order, without reading them. Symbolic links and
    /// names that are not key IDs are left out.
    fn ids(&self) -> Result<Vec<String>, KeyStoreError> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let e = e.map_err(io_err(&self.dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".key") else {
                continue;
            };
            if is_key_id(id) && e.file_type().map_err(io_err(&self.dir))?.is_file() {
                out.push(id.to_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every key with its role and GUN, without decrypting. Files Notary could not read as a
    /// key (not PEM, not a private-key block) are skipped, as Notary skips them.
    pub fn list(&self) -> Result<BTreeMap<String, KeyInfo>, KeyStoreError> {
        let remembering = self.decrypted.is_some();
        if remembering && let Some(l) = &*self.listed.lock().expect("not poisoned") {
            return Ok(l.clone());
        }
        let mut out = BTreeMap::new();
        for id in self.ids()? {
            if let Ok(info) = self.info(&id) {
                out.insert(id, info);
            }
        }
        if remembering {
            *self.listed.lock().expect("not poisoned") = Some(out.clone());
        }
        Ok(out)
    }

    /// This store wrote or removed key file `id`: the remembered listing follows (Notary
    /// updates its key info map the same way), re-reading only that file.
    fn changed(&self, id: &str) {
        let mut listed = self.listed.lock().expect("not poisoned");
        if let Some(l) = listed.as_mut() {
            l.remove(id);
            if let Ok(info) = self.info(id) {
                l.insert(id.to_owned(), info);
            }
        }
    }

    /// Role and GUN of key `id`, from its headers.
    pub fn info(&self, id: &str) -> Result<KeyInfo, KeyStoreError> {
        let (path, bytes) = self.read_key(id)?;
        let f = KeyFile::parse(&bytes).map_err(|source| KeyStoreError::Key {
            path: path.clone(),
            source,
        })?;
        if !f.is_private_key() {
            return Err(KeyStoreError::Key {
                path,
                source: KeyError::UnsupportedType(f.label),
            });
        }
        Ok(KeyInfo {
            role: f.role().to_owned(),
            gun: f.gun().to_owned(),
        })
    }

    /// Stores `key` for `role`/`gun`, encrypted with a passphrase chosen through `retriever`.
    /// Root, delegation and unknown-role keys never carry a GUN (Notary's rule).
    pub fn add(
        &self,
        key: &PrivateKey,
        role_name: &str,
        gun: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(), KeyStoreError> {
        check_header(role_name)?;
        let gun = if keeps_gun(role_name) { gun } else { "" };
        check_gun(gun)?;
        let path = self.path_of(key.id())?;
        let passphrase = new_passphrase(retriever, key.id(), role_name)?;
        let pem = encode_key_file(key, role_name, gun, &passphrase);
        fsutil::write_private_atomic(&path, pem.as_bytes()).map_err(io_err(&path))?;
        self.changed(key.id());
        self.remember(key.id(), pem.as_bytes(), key.raw(), role_name);
        Ok(())
    }

    /// Keeps keys decrypted or written by this store for the rest of its life, as Notary's
    /// `cachedKeys` does: for a command-line process, which asks each passphrase once.
    pub fn remembering_keys(mut self) -> FileKeyStore {
        self.decrypted = Some(Default::default());
        self
    }

    fn remember(&self, id: &str, file: &[u8], raw: &crate::pkcs8::RawKey, role_name: &str) {
        let Some(cache) = &self.decrypted else { return };
        cache.lock().expect("not poisoned").insert(
            id.to_owned(),
            Decrypted {
                file: file.to_vec(),
                raw: raw.clone(),
                role: role_name.to_owned(),
            },
        );
    }

    fn recall(&self, id: &str, file: &[u8]) -> Option<(PrivateKey, String)> {
        let cache = self.decrypted.as_ref()?.lock().expect("not poisoned");
        let d = cache.get(id).filter(|d| d.file == file)?;
        let key = PrivateKey::from_raw(d.raw.clone()).ok()?;
        Some((key, d.role.clone()))
    }

    /// Writes an already-encoded key file under `id` (an imported encrypted key keeps its
    /// passphrase, as Notary does).
    pub fn add_raw(&self, id: &str, pem: &[u8]) -> Result<(), KeyStoreError> {
        let path = self.path_of(id)?;
        fsutil::write_private_atomic(&path, pem).map_err(io_err(&path))?;
        self.changed(id);
        Ok(())
    }

    /// The decrypted key and its role. A wrong passphrase is asked again up to Notary's limit;
    /// a key that does not match its file name is refused.
    pub fn get(
        &self,
        id: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(PrivateKey, String), KeyStoreError> {
        let (path, bytes) = self.read_key(id)?;
        if let Some(found) = self.recall(id, &bytes) {
            return Ok(found);
        }
        let file = KeyFile::parse(&bytes).map_err(|source| KeyStoreError::Key {
            path: path.clone(),
            source,
        })?;
        let role_name = file.role().to_owned();
        let key = if file.is_encrypted() {
            let mut attempt = 0;
            loop {
                if attempt > MAX_ATTEMPTS {
                    return Err(KeyStoreError::AttemptsExceeded);
                }
                let pass = retriever
                    .passphrase(id, &role_name, false, attempt)
                    .map_err(|e| match e {
                        GiveUp::NoInput => KeyStoreError::GiveUp(GiveUp::NoInput),
                        _ => KeyStoreError::PasswordInvalid,
                    })?;
                match file.decrypt(&pass) {
                    Ok(k) => break k,
                    Err(KeyError::IncorrectPassword | KeyError::LegacyDecrypt) => attempt += 1,
                    Err(source) => return Err(KeyStoreError::Key { path, source }),
                }
            }
        } else {
            file.decrypt("").map_err(|source| KeyStoreError::Key {
                path: path.clone(),
                source,
            })?
        };
        if !key.matches_id(id) {
            return Err(KeyStoreError::IdMismatch {
                path,
                found: key.id().to_owned(),
            });
        }
        self.remember(id, &bytes, key.raw(), &role_name);
        Ok((key, role_name))
    }

    /// Deletes a key file.
    pub fn remove(&self, id: &str) -> Result<(), KeyStoreError> {
        let path = self.path_of(id)?;
        if let Some(cache) = &self.decrypted {
            cache.lock().expect("not poisoned").remove(id);
        }
        let removed = fs::remove_file(&path);
        self.changed(id);
        match removed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(KeyStoreError::NotFound(id.to_owned()))
            }
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Key files whose mode lets anyone but the owner read them (KS-05: a reason to warn).
    /// Nothing is changed; files this store writes are always 0600.
    pub fn loose_permissions(&self) -> Result<Vec<PathBuf>, KeyStoreError> {
        let mut out = Vec::new();
        for id in self.ids()? {
            let p = self.dir.join(format!("{id}.key"));
            let meta = fs::symlink_metadata(&p).map_err(io_err(&p))?;
            if meta.permissions().mode() & 0o077 != 0 {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Notary's `ExportKeys` for one key: every PEM block of its file with a `path: <id>` header
    /// added. The key stays encrypted as it is stored.
    pub fn export(&self, id: &str) -> Result<Zeroizing<String>, KeyStoreError> {
        let (path, bytes) = self.read_key(id)?;
        let blocks = gopem::decode_all(&bytes);
        if blocks.is_empty() {
            return Err(KeyStoreError::Key {
                path,
                source: KeyError::NoPrivateKey,
            });
        }
        let mut out = Zeroizing::new(String::new());
        for mut b in blocks {
            b.headers.insert("path".into(), id.to_owned());
            out.push_str(&b.encode());
        }
        Ok(out)
    }

    /// `notary key export`: every key, in file-name order.
    pub fn export_all(&self) -> Result<Zeroizing<String>, KeyStoreError> {
        let mut out = Zeroizing::new(String::new());
        for id in self.ids()? {
            out.push_str(&self.export(&id)?);
        }
        Ok(out)
    }

    /// `notary key export --gun`: the keys whose `gun` header is exactly `gun`.
    pub fn export_gun(&self, gun: &str) -> Result<Zeroizing<String>, KeyStoreError> {
        let mut out = Zeroizing::new(String::new());
        for id in self.ids()? {
            let (_, bytes) = self.read_key(&id)?;
            if gopem::decode(&bytes)
                .is_some_and(|(b, _)| b.headers.get("gun").map(String::as_str) == Some(gun))
            {
                out.push_str(&self.export(&id)?);
            }
        }
        Ok(out)
    }

    /// `notary key export --key`: the keys with these IDs, in file-name order (as Notary
    /// walks the store, whatever order they were asked in). Unknown IDs are left out.
    pub fn export_ids(&self, ids: &[&str]) -> Result<Zeroizing<String>, KeyStoreError> {
        let want: BTreeSet<&str> = ids.iter().copied().collect();
        let mut out = Zeroizing::new(String::new());
        for id in self.ids()? {
            if want.contains(id.as_str()) {
                out.push_str(&self.export(&id)?);
            }
        }
        Ok(out)
    }

    /// `notary key import` of one bundle (Notary's `ImportKeys`): each PEM block is filed under
    /// its `path` header (or, unencrypted, its key ID); missing `gun`/`role` headers come from
    /// `fallback_gun`/`fallback_role` (role `delegation` by default); targets, snapshot and
    /// timestamp keys need a GUN, other keys lose theirs. Unencrypted keys are encrypted with a
    /// new passphrase for their role; encrypted ones are stored as they are. Adjacent blocks
    /// with the same path share one file.
    ///
    /// Beyond Notary, a block whose path is not a key ID, whose key does not match its path,
    /// or whose encryption we would refuse to decrypt is skipped, and nothing is written until
    /// every block has been checked.
    pub fn import(
        &self,
        data: &[u8],
        fallback_role: &str,
        fallback_gun: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<ImportReport, KeyStoreError> {
        if data.len() as u64 > MAX_IMPORT {
            return Err(KeyStoreError::Import(vec![format!(
                "the key bundle is larger than {MAX_IMPORT} bytes"
            )]));
        }
        check_header(fallback_role)?;
        check_header(fallback_gun)?;
        let mut report = ImportReport::default();
        let mut files: Vec<(String, Zeroizing<String>)> = Vec::new();
        for mut block in gopem::decode_all(data) {
            let (id, plain) = match import_block(&mut block, fallback_role, fallback_gun) {
                Ok(found) => found,
                Err(reason) => {
                    report.skipped.push(reason);
                    continue;
                }
            };
            let text = match plain {
                None => block.encode(),
                Some(key) => {
                    let role_name = block.headers.get("role").cloned().unwrap_or_default();
                    let gun = block.headers.get("gun").cloned().unwrap_or_default();
                    let pass = new_passphrase(retriever, &id, &role_name)?;
                    encode_key_file(&key, &role_name, &gun, &pass)
                }
            };
            match files.last_mut() {
                Some((last, content)) if *last == id => content.push_str(&text),
                _ => files.push((id.clone(), text)),
            }
            if !report.imported.contains(&id) {
                report.imported.push(id);
            }
        }
        if report.imported.is_empty() && !report.skipped.is_empty() {
            return Err(KeyStoreError::Import(report.skipped));
        }
        for (id, content) in &files {
            self.add_raw(id, content.as_bytes())?;
        }
        Ok(report)
    }

    /// [`import`](Self::import) of a file, read without following links and refused (before
    /// reading) when larger than [`MAX_IMPORT`].
    pub fn import_file(
        &self,
        path: &Path,
        fallback_role: &str,
        fallback_gun: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<ImportReport, KeyStoreError> {
        let data =
            zeroize::Zeroizing::new(fsutil::read_private(path, MAX_IMPORT).map_err(io_err(path))?);
        self.import(&data, fallback_role, fallback_gun, retriever)
    }

    /// Notary's `migrateTo0Dot4`: each `*.key` under `root_keys/` and `tuf_keys/` is rewritten
    /// as `private/<id>.key` (first PEM block only, body unchanged) with a `gun` header from its
    /// sub-directory and a `role` header from an `_<role>` name suffix; the old directories and
    /// `trusted_certificates/` are then deleted.
    ///
    /// Unlike Notary, links are not followed, a file whose name is not a key ID is not written
    /// elsewhere, and a directory with a key that could not be moved is kept rather than lost.
    fn migrate_legacy(&self) -> Result<(), KeyStoreError> {
        for sub in [ROOT_KEYS_SUBDIR, NON_ROOT_KEYS_SUBDIR] {
            let base = self.dir.join(sub);
            if !fs::symlink_metadata(&base).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let mut complete = true;
            for rel in legacy_key_files(&base)? {
                let file = format!("{sub}/{rel}");
                let path = self.dir.join(format!("{file}.key"));
                match Self::read_file(&path)
                    .ok()
                    .and_then(|bytes| migrated_block(&file, &bytes))
                {
                    Some((id, block)) => self.add_raw(&id, block.encode().as_bytes())?,
                    None => complete = false,
                }
            }
            if complete {
                fs::remove_dir_all(&base).map_err(io_err(&base))?;
            }
        }
        let certs = self.dir.join("trusted_certificates");
        if fs::symlink_metadata(&certs).is_ok_and(|m| m.is_dir()) {
            fs::remove_dir_all(&certs).map_err(io_err(&certs))?;
        }
        Ok(())
    }
}

fn is_encrypted_block(b: &Block) -> bool {
    b.label == "ENCRYPTED PRIVATE KEY"
        || b.headers
            .get("Proc-Type")
            .is_some_and(|v| v.contains("ENCRYPTED"))
}

/// Go's `filepath.Base` and `filepath.Dir` for the slash-separated paths of PEM headers.
fn go_base(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { "." } else { "/" };
    }
    t.rsplit('/').next().unwrap_or(t)
}

fn go_dir(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => p[..i].trim_end_matches('/'),
        None => ".",
    }
}

/// Notary's `handleLegacyPath`, `setFallbacks` and `checkValidity` for one import block, plus
/// our checks. The block's headers end as they will be stored; the result is the key ID to file
/// it under with the key itself when it is not encrypted, or why the block is skipped.
fn import_block(
    block: &mut Block,
    fallback_role: &str,
    fallback_gun: &str,
) -> Result<(String, Option<PrivateKey>), String> {
    const INVALID: &str = "invalid key pem block";
    if !crate::keyfile::PRIVATE_KEY_LABELS.contains(&block.label.as_str()) {
        return Err(format!("{INVALID} (a {} block)", block.label));
    }
    // A path from an old export (`tuf_keys/<gun>/<id>`) carries the GUN.
    let raw_path = block.headers.get("path").cloned().unwrap_or_default();
    if !raw_path.is_empty() && raw_path != go_base(&raw_path) {
        let dir = go_dir(&raw_path);
        if let Some(gun) = dir.strip_prefix(NON_ROOT_KEYS_SUBDIR) {
            let gun = gun.trim_matches('/');
            if !gun.is_empty() {
                block.headers.insert("gun".into(), gun.to_owned());
            }
        }
        block
            .headers
            .insert("path".into(), go_base(&raw_path).to_owned());
    }
    // A legacy `<id>_<role>` name says the role when no header does.
    let mut path = block.headers.remove("path").unwrap_or_default();
    if let Some((id, role_name)) = path.split_once('_')
        && is_key_id(id)
    {
        if block.headers.get("role").is_none_or(String::is_empty) {
            block.headers.insert("role".into(), role_name.to_owned());
        }
        path = id.to_owned();
    }
    if block.headers.get("gun").is_none_or(String::is_empty) && !fallback_gun.is_empty() {
        block.headers.insert("gun".into(), fallback_gun.to_owned());
    }
    if block.headers.get("role").is_none_or(String::is_empty) {
        let r = if fallback_role.is_empty() {
            DEFAULT_IMPORT_ROLE
        } else {
            fallback_role
        };
        block.headers.insert("role".into(), r.to_owned());
    }
    let role_name = block.headers["role"].clone();
    if keeps_gun(&role_name) {
        let gun = block.headers.get("gun").cloned().unwrap_or_default();
        if gun.is_empty() {
            return Err(INVALID.to_owned());
        }
        Gun::new(&gun).map_err(|e| e.to_string())?;
    } else {
        block.headers.remove("gun");
    }

    if is_encrypted_block(block) {
        if path.is_empty() {
            // Encrypted and unnamed: there is no way to know its ID (Notary's warning says so).
            return Err(format!(
                "{INVALID} (key may be encrypted and does not contain path header)"
            ));
        }
        if !is_key_id(&path) {
            return Err(format!("{INVALID} (path {path:?} is not a key ID)"));
        }
        match block.headers.get("DEK-Info") {
            Some(dek) if block.label != "ENCRYPTED PRIVATE KEY" => {
                pkcs8::check_legacy(&block.bytes, dek)
            }
            None if block.label != "ENCRYPTED PRIVATE KEY" => Err(KeyError::LegacyDecrypt),
            _ => pkcs8::check_encrypted_pkcs8(&block.bytes),
        }
        .map_err(|e| format!("{INVALID} ({e})"))?;
        return Ok((path, None));
    }
    let key = KeyFile::from(block.clone())
        .decrypt("")
        .map_err(|e| format!("{INVALID} ({e})"))?;
    if !path.is_empty() && path != key.id() {
        return Err(format!(
            "{INVALID} (path {path:?} names another key than the one it holds)"
        ));
    }
    Ok((key.id().to_owned(), Some(key)))
}

/// `*.key` files under `base`, as paths relative to it without the extension, in Go's walk
/// order; links are not followed.
fn legacy_key_files(base: &Path) -> Result<Vec<String>, KeyStoreError> {
    let mut out = Vec::new();
    let mut stack = vec![(base.to_owned(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .map_err(io_err(&dir))?
            .collect::<Result<_, _>>()
            .map_err(io_err(&dir))?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let ft = e.file_type().map_err(io_err(&dir))?;
            if ft.is_dir() {
                subdirs.push((e.path(), format!("{prefix}{name}/")));
            } else if ft.is_file()
                && let Some(stem) = name.strip_suffix(".key")
            {
                out.push(format!("{prefix}{stem}"));
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    out.sort();
    Ok(out)
}

/// Notary's `moveKeyTo0Dot4Location` for `file` (`root_keys/...` or `tuf_keys/...`, no
/// extension): the key ID and the block to store, or `None` when Notary would not move it or
/// its name is not a key ID.
fn migrated_block(file: &str, bytes: &[u8]) -> Option<(String, Block)> {
    let (mut block, _) = gopem::decode(bytes)?;
    let mut key_id = go_base(file).to_owned();
    let dir = go_dir(file);
    let dir = dir.strip_prefix(ROOT_KEYS_SUBDIR).unwrap_or(dir);
    let dir = dir.strip_prefix(NON_ROOT_KEYS_SUBDIR).unwrap_or(dir);
    if !dir.is_empty() {
        // Go drops the first character, the separator.
        let gun = dir.strip_prefix('/').unwrap_or(dir);
        block.headers.insert("gun".into(), gun.to_owned());
    }
    if key_id.contains('_') {
        let role_name = key_id.split('_').nth(1).unwrap_or_default().to_owned();
        if let Some(id) = key_id.strip_suffix(&format!("_{role_name}")) {
            key_id = id.to_owned();
        }
        block.headers.insert("role".into(), role_name);
    }
    is_key_id(&key_id).then_some((key_id, block))
}
