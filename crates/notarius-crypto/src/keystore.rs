//! The on-disk key store: `<trust_dir>/private/<canonical key ID>.key`, shared with `notary` and
//! Docker (Notary's `trustmanager.GenericKeyStore` over a file store).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use notarius_tuf::role;

use crate::fsutil;
use crate::keyfile::{KeyFile, MAX_KEY_FILE, encode_key_file, go_pem_encode};
use crate::passphrase::{GiveUp, PassphraseRetriever};
use crate::pkcs8::KeyError;
use crate::private::PrivateKey;

/// Notary gives up after this many wrong passphrases for one key.
pub const MAX_ATTEMPTS: u32 = 10;

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
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyStoreError + '_ {
    move |source| KeyStoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A key ID is 64 lower-case hex characters; nothing else may become a file name.
fn check_id(id: &str) -> Result<(), KeyStoreError> {
    if id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(KeyStoreError::BadKeyId(id.chars().take(80).collect()))
    }
}

/// Keys stored as files in `<trust_dir>/private`.
pub struct FileKeyStore {
    dir: PathBuf,
}

impl FileKeyStore {
    /// Opens (creating with mode 0700) the key store of `trust_dir`, migrating Notary 0.1/0.3
    /// layouts (`root_keys/`, `tuf_keys/<gun>/`) as Notary 0.4+ does.
    pub fn open(trust_dir: &Path) -> Result<FileKeyStore, KeyStoreError> {
        let dir = trust_dir.join("private");
        fsutil::create_private_dir(&dir).map_err(io_err(&dir))?;
        let store = FileKeyStore { dir };
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
        let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
        if meta.file_type().is_symlink() {
            return Err(KeyStoreError::Io {
                path: path.to_owned(),
                source: io::Error::other("refusing to follow a symbolic link"),
            });
        }
        if meta.len() > MAX_KEY_FILE {
            return Err(KeyStoreError::Key {
                path: path.to_owned(),
                source: KeyError::Invalid("key file is larger than 1 MiB".into()),
            });
        }
        fs::read(path).map_err(io_err(path))
    }

    /// Every key with its role and GUN, without decrypting. Unreadable files are skipped, as
    /// Notary skips them.
    pub fn list(&self) -> Result<BTreeMap<String, KeyInfo>, KeyStoreError> {
        let mut out = BTreeMap::new();
        for e in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let e = e.map_err(io_err(&self.dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".key") else {
                continue;
            };
            if check_id(id).is_err() || !e.file_type().map_err(io_err(&self.dir))?.is_file() {
                continue;
            }
            let Ok(bytes) = Self::read_file(&e.path()) else {
                continue;
            };
            let Ok(f) = KeyFile::parse(&bytes) else {
                continue;
            };
            out.insert(
                id.to_owned(),
                KeyInfo {
                    role: f.role().to_owned(),
                    gun: f.gun().to_owned(),
                },
            );
        }
        Ok(out)
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
        let gun = if role_name == role::ROOT
            || role::is_delegation(role_name)
            || !role::is_valid_role(role_name)
        {
            ""
        } else {
            gun
        };
        let mut attempt = 0;
        let passphrase = loop {
            match retriever.passphrase(key.id(), role_name, true, attempt) {
                Ok(p) => break p,
                // Asking again cannot help; say where a passphrase can come from.
                Err(GiveUp::NoInput) => return Err(KeyStoreError::GiveUp(GiveUp::NoInput)),
                Err(_) if attempt < MAX_ATTEMPTS => attempt += 1,
                Err(_) => return Err(KeyStoreError::AttemptsExceeded),
            }
        };
        let pem = encode_key_file(key, role_name, gun, &passphrase);
        let path = self.path_of(key.id())?;
        fsutil::write_private_atomic(&path, pem.as_bytes()).map_err(io_err(&path))
    }

    /// Writes an already-encoded key file under `id` (import of an encrypted key keeps its
    /// passphrase, as Notary does).
    pub fn add_raw(&self, id: &str, pem: &[u8]) -> Result<(), KeyStoreError> {
        let path = self.path_of(id)?;
        fsutil::write_private_atomic(&path, pem).map_err(io_err(&path))
    }

    /// The decrypted key and its role. A wrong passphrase is asked again up to Notary's limit;
    /// a key that does not match its file name is refused.
    pub fn get(
        &self,
        id: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(PrivateKey, String), KeyStoreError> {
        let path = self.path_of(id)?;
        let bytes = match Self::read_file(&path) {
            Err(KeyStoreError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                return Err(KeyStoreError::NotFound(id.to_owned()));
            }
            other => other?,
        };
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
        Ok((key, role_name))
    }

    /// Deletes a key file.
    pub fn remove(&self, id: &str) -> Result<(), KeyStoreError> {
        let path = self.path_of(id)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(KeyStoreError::NotFound(id.to_owned()))
            }
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// A key as `notary key export` writes it: the stored PEM block with a `path` header.
    pub fn export(&self, id: &str) -> Result<String, KeyStoreError> {
        let path = self.path_of(id)?;
        let bytes = Self::read_file(&path)?;
        let f = KeyFile::parse(&bytes).map_err(|source| KeyStoreError::Key { path, source })?;
        let mut headers: Vec<(&str, &str)> = f
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        headers.push(("path", id));
        Ok(go_pem_encode(&f.label, &headers, f.body()))
    }

    /// Notary's `migrateTo0Dot4`: keys under `root_keys/` and `tuf_keys/<gun>/` move to
    /// `private/<id>.key` with `gun`/`role` headers; `trusted_certificates/` is dropped.
    fn migrate_legacy(&self) -> Result<(), KeyStoreError> {
        for sub in ["root_keys", "tuf_keys"] {
            let base = self.dir.join(sub);
            if !base.is_dir() {
                continue;
            }
            let mut stack = vec![base.clone()];
            while let Some(d) = stack.pop() {
                for e in fs::read_dir(&d).map_err(io_err(&d))? {
                    let p = e.map_err(io_err(&d))?.path();
                    if p.is_dir() {
                        stack.push(p);
                        continue;
                    }
                    let Some(stem) = p
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.strip_suffix(".key"))
                    else {
                        continue;
                    };
                    let Ok(bytes) = Self::read_file(&p) else {
                        continue;
                    };
                    let Ok(f) = KeyFile::parse(&bytes) else {
                        continue;
                    };
                    let (id, role_from_name) = match stem.split_once('_') {
                        Some((id, r)) => (id, Some(r)),
                        None => (stem, None),
                    };
                    if check_id(id).is_err() {
                        continue;
                    }
                    let mut headers: Vec<(String, String)> = f.headers.clone();
                    let gun = p
                        .parent()
                        .and_then(|par| par.strip_prefix(&base).ok())
                        .map(|g| g.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if !gun.is_empty() {
                        headers.retain(|(k, _)| k != "gun");
                        headers.push(("gun".into(), gun));
                    }
                    if let Some(r) = role_from_name {
                        headers.retain(|(k, _)| k != "role");
                        headers.push(("role".into(), r.to_owned()));
                    }
                    let refs: Vec<(&str, &str)> = headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    self.add_raw(id, go_pem_encode(&f.label, &refs, f.body()).as_bytes())?;
                }
            }
            fs::remove_dir_all(&base).map_err(io_err(&base))?;
        }
        let certs = self.dir.join("trusted_certificates");
        if certs.is_dir() {
            fs::remove_dir_all(&certs).map_err(io_err(&certs))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passphrase::ConstantRetriever;
    use crate::private::Algorithm;
    use std::os::unix::fs::PermissionsExt;
    use zeroize::Zeroizing;

    fn pw(s: &str) -> ConstantRetriever {
        ConstantRetriever(Zeroizing::new(s.to_owned()))
    }

    /// Counts how often it was asked, always giving the same wrong answer.
    struct Wrong(u32);
    impl PassphraseRetriever for Wrong {
        fn passphrase(
            &mut self,
            _: &str,
            _: &str,
            _: bool,
            _: u32,
        ) -> Result<crate::passphrase::Passphrase, GiveUp> {
            self.0 += 1;
            Ok(Zeroizing::new("wrong passphrase".into()))
        }
    }

    fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
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
                } else {
                    Vec::new()
                };
                out.insert(p, (content, m.permissions().mode()));
            }
        }
        out
    }

    #[test]
    fn add_list_get_remove() {
        let t = tempfile::tempdir().unwrap();
        let ks = FileKeyStore::open(t.path()).unwrap();
        let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        ks.add(&k, "targets", "example.com/app", &mut pw("secret12"))
            .unwrap();
        let r = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        ks.add(&r, "root", "example.com/app", &mut pw("secret12"))
            .unwrap();
        let list = ks.list().unwrap();
        assert_eq!(
            list[k.id()],
            KeyInfo {
                role: "targets".into(),
                gun: "example.com/app".into()
            }
        );
        assert_eq!(
            list[r.id()],
            KeyInfo {
                role: "root".into(),
                gun: String::new()
            },
            "root keys carry no GUN"
        );
        let (got, role_name) = ks.get(k.id(), &mut pw("secret12")).unwrap();
        assert_eq!(
            (got.public_key(), role_name.as_str()),
            (k.public_key(), "targets")
        );
        let path = ks.dir().join(format!("{}.key", k.id()));
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(ks.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(
            ks.export(k.id())
                .unwrap()
                .contains(&format!("path: {}\n", k.id()))
        );
        ks.remove(k.id()).unwrap();
        assert!(matches!(
            ks.get(k.id(), &mut pw("x")),
            Err(KeyStoreError::NotFound(_))
        ));
    }

    #[test]
    fn ks01_wrong_passphrase_gives_up_after_notarys_limit_and_touches_nothing() {
        let t = tempfile::tempdir().unwrap();
        let ks = FileKeyStore::open(t.path()).unwrap();
        let k = PrivateKey::generate(Algorithm::Ed25519).unwrap();
        ks.add(&k, "targets/releases", "", &mut pw("secret12"))
            .unwrap();
        let before = snapshot(t.path());
        let mut wrong = Wrong(0);
        let e = ks.get(k.id(), &mut wrong).unwrap_err();
        assert_eq!(
            e.to_string(),
            "maximum number of passphrase attempts exceeded"
        );
        assert_eq!(wrong.0, MAX_ATTEMPTS + 1);
        assert_eq!(snapshot(t.path()), before, "INV-K");
    }

    #[test]
    fn ks02_ks03_ks07_damaged_or_swapped_files_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let ks = FileKeyStore::open(t.path()).unwrap();
        let a = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        let b = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        ks.add(&a, "targets", "g", &mut pw("secret12")).unwrap();
        ks.add(&b, "snapshot", "g", &mut pw("secret12")).unwrap();
        let pa = ks.dir().join(format!("{}.key", a.id()));
        let pb = ks.dir().join(format!("{}.key", b.id()));
        let (ba, bb) = (fs::read(&pa).unwrap(), fs::read(&pb).unwrap());
        // Swapped names: the key inside is not the one the name claims.
        fs::write(&pa, &bb).unwrap();
        assert!(matches!(
            ks.get(a.id(), &mut pw("secret12")),
            Err(KeyStoreError::IdMismatch { .. })
        ));
        // Truncated in the middle of the base64, and empty.
        fs::write(&pa, &ba[..ba.len() / 2]).unwrap();
        assert!(matches!(
            ks.get(a.id(), &mut pw("secret12")),
            Err(KeyStoreError::Key { .. })
        ));
        fs::write(&pa, b"").unwrap();
        assert!(ks.get(a.id(), &mut pw("secret12")).is_err());
        // One flipped ciphertext bit (CBC has no MAC): never a wrong key.
        let text = String::from_utf8(ba.clone()).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mid = lines.len() / 2;
        let flipped: String = lines[mid]
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 10 {
                    if c == 'A' { 'B' } else { 'A' }
                } else {
                    c
                }
            })
            .collect();
        lines[mid] = flipped;
        fs::write(&pa, lines.join("\n") + "\n").unwrap();
        // Either refused or, if the garbage still parses, the very same key: never another one.
        if let Ok((k, _)) = ks.get(a.id(), &mut pw("secret12")) {
            assert_eq!(k.public_key(), a.public_key());
        }
        assert!(matches!(
            ks.get("../../etc/passwd", &mut pw("x")),
            Err(KeyStoreError::BadKeyId(_))
        ));
    }

    #[test]
    fn no_passphrase_source_says_where_one_can_come_from() {
        struct Nothing;
        impl PassphraseRetriever for Nothing {
            fn passphrase(
                &mut self,
                _: &str,
                _: &str,
                _: bool,
                _: u32,
            ) -> Result<crate::passphrase::Passphrase, GiveUp> {
                Err(GiveUp::NoInput)
            }
        }
        let t = tempfile::tempdir().unwrap();
        let ks = FileKeyStore::open(t.path()).unwrap();
        let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        let e = ks.add(&k, "targets", "g", &mut Nothing).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Please either use environment variables"),
            "{e}"
        );
        assert_eq!(
            fs::read_dir(ks.dir()).unwrap().count(),
            0,
            "nothing written"
        );
        ks.add(&k, "targets", "g", &mut pw("secret12")).unwrap();
        let e = ks.get(k.id(), &mut Nothing).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Please either use environment variables"),
            "{e}"
        );
    }

    #[test]
    fn ks05_modes_are_tightened_whatever_the_umask() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("private")).unwrap();
        fs::set_permissions(t.path().join("private"), fs::Permissions::from_mode(0o755)).unwrap();
        let ks = FileKeyStore::open(t.path()).unwrap();
        assert_eq!(
            fs::metadata(ks.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn ks06_planted_symlinks_are_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let ks = FileKeyStore::open(t.path()).unwrap();
        let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        let victim = t.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, ks.dir().join(format!("{}.key", k.id()))).unwrap();
        assert!(ks.add(&k, "targets", "g", &mut pw("secret12")).is_err());
        assert!(ks.get(k.id(), &mut pw("secret12")).is_err());
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        // A symlinked private directory is refused too.
        let t2 = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(t.path(), t2.path().join("private")).unwrap();
        assert!(FileKeyStore::open(t2.path()).is_err());
    }

    #[test]
    fn ks09_legacy_layouts_migrate_like_notary() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/go-notary/compatibility/notary0.3/private");
        let t = tempfile::tempdir().unwrap();
        let priv_dir = t.path().join("private");
        copy_dir(&src, &priv_dir);
        let ks = FileKeyStore::open(t.path()).unwrap();
        assert!(!priv_dir.join("root_keys").exists() && !priv_dir.join("tuf_keys").exists());
        let list = ks.list().unwrap();
        assert_eq!(list.len(), 4, "{list:?}");
        let tuf = list
            .values()
            .filter(|i| i.gun == "docker.com/notary0.3/tst")
            .count();
        assert!(tuf >= 2, "{list:?}");
        for id in list.keys() {
            ks.get(id, &mut pw("password"))
                .unwrap_or_else(|e| panic!("{id}: {e}"));
        }
        // What Notary 0.7 itself made of the same files.
        let notary = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/notary-0.7/keys/legacy-migrated/notary0.3/private");
        if notary.is_dir() {
            let theirs: std::collections::BTreeSet<String> = fs::read_dir(&notary)
                .unwrap()
                .map(|e| {
                    e.unwrap()
                        .file_name()
                        .to_string_lossy()
                        .trim_end_matches(".key")
                        .to_owned()
                })
                .collect();
            let ours: std::collections::BTreeSet<String> = list.keys().cloned().collect();
            assert_eq!(ours, theirs);
            for id in &ours {
                let a =
                    KeyFile::parse(&fs::read(notary.join(format!("{id}.key"))).unwrap()).unwrap();
                let b =
                    KeyFile::parse(&fs::read(ks.dir().join(format!("{id}.key"))).unwrap()).unwrap();
                assert_eq!((a.role(), a.gun()), (b.role(), b.gun()), "{id}");
            }
        }
    }

    fn copy_dir(src: &Path, dst: &Path) {
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
}
