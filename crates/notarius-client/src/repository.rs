//! One trusted collection, as a command sees it: its trust directory (the metadata cache, the
//! staged changes, the root choice `init` kept) and its trust server, behind any [`Remote`].
//! Reading, publishing, rotating and deleting go through here, so the same code runs against
//! notary-server, notarius-server and the in-memory server of the tests.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use notarius_crypto::service::CryptoService;
use notarius_tuf::repo::Repo;
use notarius_tuf::role::{self, Gun};
use notarius_tuf::store::MetadataCache as _;
use notarius_tuf::trust::TrustPinConfig;
use notarius_tuf::update::{UpdateOptions, load_tuf_repo};

use crate::cache::FileCache;
use crate::cache::OverlayCache;
use crate::changelist::FileChangelist;
use crate::error::{Error, Result};
use crate::publish::{self, RootChoice, Rotation, WhenNew};
use crate::remote::Remote;

/// The file where `init --rootkey/--rootcert` keeps its choice until the first publish.
const ROOT_CHOICE_FILE: &str = "notarius_root_choice.json";

/// A trusted collection: a GUN, its trust directory and its trust server.
pub struct Repository<R: Remote> {
    gun: Gun,
    trust_dir: PathBuf,
    remote: R,
    trust_pinning: TrustPinConfig,
    server_snapshot: bool,
}

/// What a read verified.
#[derive(Debug)]
pub struct Read {
    /// The verified repository (delegations that failed verification left out).
    pub repo: Repo,
    /// What the user should know (roles near expiry, delegations that did not verify).
    pub warnings: Vec<String>,
    /// The delegations left out (expired or under-signed), with why.
    pub skipped: Vec<(String, notarius_tuf::Error)>,
}

/// What a publish did.
#[derive(Debug, Default)]
pub struct Published {
    /// The staged changes applied (and cleared).
    pub applied: usize,
    /// What the user should know (keys a purge could not remove, thin thresholds).
    pub warnings: Vec<String>,
}

impl<R: Remote> Repository<R> {
    /// The collection `gun` of `trust_dir` on `remote`.
    pub fn new(
        trust_dir: impl Into<PathBuf>,
        gun: Gun,
        remote: R,
        trust_pinning: TrustPinConfig,
    ) -> Repository<R> {
        Repository {
            gun,
            trust_dir: trust_dir.into(),
            remote,
            trust_pinning,
            server_snapshot: false,
        }
    }

    /// A new repository made by a publish gets a server-held snapshot key (as `docker trust`
    /// makes them, so that signers publish without the owner's snapshot key), not one here.
    pub fn with_server_snapshot(mut self) -> Repository<R> {
        self.server_snapshot = true;
        self
    }

    pub fn gun(&self) -> &Gun {
        &self.gun
    }

    pub fn remote(&self) -> &R {
        &self.remote
    }

    /// The staged changes of this collection.
    pub fn changelist(&self) -> FileChangelist {
        FileChangelist::new(&self.trust_dir, &self.gun)
    }

    /// The verified metadata last read, in the trust directory.
    pub fn cache(&self) -> FileCache {
        FileCache::new(&self.trust_dir, &self.gun)
    }

    /// This collection's folder of the trust directory (`tuf/<gun>`).
    pub fn dir(&self) -> PathBuf {
        self.trust_dir.join("tuf").join(self.gun.as_str())
    }

    fn root_choice_path(&self) -> PathBuf {
        self.dir().join(ROOT_CHOICE_FILE)
    }

    /// Notary's update before a read: the server's metadata, verified against what the trust
    /// directory trusted (or trust pinning, on first use), the cache updated.
    pub fn read(&mut self, now: DateTime<Utc>) -> Result<Read> {
        let opts = UpdateOptions {
            gun: self.gun.to_string(),
            trust_pinning: self.trust_pinning.clone(),
            always_check_initialized: false,
            now,
        };
        let mut cache = self.cache();
        let u = load_tuf_repo(&opts, &mut self.remote, &mut cache)?;
        Ok(Read {
            repo: u.repo,
            warnings: u.warnings,
            skipped: u.skipped,
        })
    }

    /// Keeps what `init --rootkey/--rootcert` chose for the first publish (`None`: a plain
    /// `init`, which starts over with the first root key).
    pub fn set_root_choice(&self, choice: Option<&RootChoice>) -> Result<()> {
        let path = self.root_choice_path();
        match choice {
            Some(c) => {
                let json = serde_json::to_vec(c).map_err(|e| Error::BadFile {
                    path: path.clone(),
                    msg: e.to_string(),
                })?;
                crate::fsutil::write_private_atomic(&path, &json).map_err(Error::io(&path))
            }
            None => remove_if_present(&path),
        }
    }

    fn root_choice(&self) -> Result<Option<RootChoice>> {
        let path = self.root_choice_path();
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| Error::BadFile {
                    path,
                    msg: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    /// Notary's `Publish`: the staged changes applied to the server's current repository (or
    /// to the one `notary init` left here, or to a new one), signed with the keys `cs` holds,
    /// uploaded in one request; then exactly the changes applied are cleared (one staged
    /// meanwhile stays). On failure nothing is cleared and the cache is as it was.
    pub fn publish(&mut self, cs: &mut CryptoService, now: DateTime<Utc>) -> Result<Published> {
        let cl = self.changelist();
        let (changes, unreadable) = cl.list()?;
        let mut warnings: Vec<String> = unreadable
            .into_iter()
            .map(|u| format!("skipping a change file that does not parse: {u}"))
            .collect();
        let choice = self.root_choice()?;
        let mut cache = self.cache();
        let mut overlay = OverlayCache::new(&mut cache);
        let mut loaded = publish::load_for_publish(
            &mut self.remote,
            &mut overlay,
            &self.gun,
            cs,
            WhenNew::Create {
                root_choice: choice.as_ref(),
                server_snapshot: self.server_snapshot,
            },
            &self.trust_pinning,
            now,
        )?;
        warnings.append(&mut loaded.warnings);
        let (applied, mut more) =
            publish::apply_changes(&mut loaded.repo, &mut loaded.invalid, &changes, cs, now)?;
        warnings.append(&mut more);
        let uploaded =
            publish::sign_and_upload(&mut loaded.repo, cs, &self.remote, &[], loaded.initial, now)?;
        if loaded.initial {
            // The root made here is the trust anchor from now on, as Notary's `Initialize`
            // saves it: the next read verifies the server against it instead of trusting the
            // server's root on first use.
            if let Some((_, bytes)) = uploaded.iter().find(|(r, _)| r == role::ROOT) {
                overlay.set(role::ROOT, bytes)?;
            }
        }
        overlay.commit();
        cl.remove_files(&applied)?;
        // The repository exists now; its root is what the server has.
        remove_if_present(&self.root_choice_path())?;
        Ok(Published {
            applied: applied.len(),
            warnings,
        })
    }

    /// Notary's `RotateKey` (see [`Rotation`]): published at once, staged changes left staged.
    /// Returns warnings.
    pub fn rotate_key(
        &mut self,
        cs: &mut CryptoService,
        rotation: &Rotation,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let mut cache = self.cache();
        crate::rotate::rotate_key(
            &mut self.remote,
            &mut cache,
            &self.gun,
            cs,
            rotation,
            &self.trust_pinning,
            now,
        )
    }

    /// Notary's `DeleteTrustData`: the server's copy first (with `remote`), then this trust
    /// directory's (metadata, staged changes; the keys stay).
    pub fn delete(&mut self, remote: bool) -> Result<()> {
        if remote {
            self.remote.delete_all()?;
        }
        let dir = self.dir();
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Io {
                path: dir,
                source: e,
            }),
        }
    }
}

fn remove_if_present(p: &Path) -> Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Io {
            path: p.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}
