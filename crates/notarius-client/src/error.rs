//! The client library's error: one enum at its boundary, a variant per layer it calls (the TUF
//! core, the key store, the trust server, the trust directory) plus the failures of its own.
//! `Display` is Notary's text where Notary has one, because scripts match on it; the binary
//! adds what to do next (see `notarius-cli`'s `error.rs`).

use std::path::PathBuf;

use notarius_crypto::keystore::KeyStoreError;
use notarius_tuf::store::StoreError;

use crate::changelist::ChangelistError;
use crate::remote::RemoteSetupError;

/// Why an operation of the client library failed. Unless a variant says otherwise, nothing was
/// uploaded and the trust directory is as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The metadata did not verify, or an edit is not allowed (threshold, role, version).
    #[error("{0}")]
    Tuf(#[from] notarius_tuf::Error),
    /// A key could not be read, made or stored.
    #[error("{0}")]
    Keys(#[from] KeyStoreError),
    /// The trust server (or the cache behind it) failed or refused.
    #[error("{0}")]
    Remote(#[from] StoreError),
    /// The connection to the trust server could not be set up (a CA file, a client key).
    #[error("{0}")]
    Setup(#[from] RemoteSetupError),
    /// The staged changes could not be read or written.
    #[error("{0}")]
    Changelist(#[from] ChangelistError),
    /// A key in PEM or PKCS#8 form could not be decoded.
    #[error("{0}")]
    Key(#[from] notarius_crypto::pkcs8::KeyError),
    /// The server's answer for a server-held key was not a key.
    #[error("the server's {role} key could not be read: {msg}")]
    ServerKey { role: String, msg: String },
    /// A staged change this client cannot apply (or cannot read).
    #[error("not supported yet: {0}")]
    Unsupported(String),
    /// A rotation's new key could not be had (Notary's `unable to …` messages), or the
    /// rotation is not allowed for this role.
    #[error("{0}")]
    Rotate(String),
    /// None of a role's keys could be used: Notary's `ErrNoKeys` line, and (for the binary's
    /// explanation) why each key that is here could not be opened.
    #[error(
        "could not find necessary signing keys, at least one of these keys must be available: {}",
        ids.join(", ")
    )]
    SigningKeysUnavailable {
        /// The role whose keys were needed.
        role: String,
        /// The canonical IDs of the role's keys.
        ids: Vec<String>,
        /// Keys present in a key store but not usable.
        unusable: Vec<UnusableKey>,
    },
    /// The hardware token could not be used.
    #[error("{0}")]
    Token(String),
    /// The server could not make the new key of a rotation to the server.
    #[error("unable to rotate remote key: {0}")]
    RotateRemote(StoreError),
    /// The root certificate chosen at `init` cannot be used.
    #[error("{0}")]
    RootCertificate(String),
    /// A file of the trust directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file of the trust directory holds something it should not.
    #[error("{}: {msg}", path.display())]
    BadFile { path: PathBuf, msg: String },
}

/// A key that is in a key store but could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusableKey {
    pub id: String,
    /// The role its file says it is for.
    pub role: String,
    /// Why it could not be opened (a refused passphrase, a damaged file, a token).
    pub why: String,
    /// It was a passphrase that failed.
    pub passphrase: bool,
}

impl Error {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// The client library's result.
pub type Result<T> = std::result::Result<T, Error>;
