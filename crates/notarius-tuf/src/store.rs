//! The two narrow doors through which metadata enters and leaves the update state machine: a
//! remote (the trust server) and a cache (the trust directory). Implementations with I/O live in
//! the client crate; the in-memory store here serves tests and offline use.

use std::collections::BTreeMap;

/// No size limit (Notary's `NoSizeLimit`); readers still cap at [`MAX_DOWNLOAD_SIZE`].
pub const NO_SIZE_LIMIT: Option<u64> = None;
/// Notary's `MaxDownloadSize`: 100 MiB.
pub const MAX_DOWNLOAD_SIZE: u64 = 100 << 20;
/// The most a reader takes for a file the metadata declares `size` bytes long: the declared
/// size, but never more than [`MAX_DOWNLOAD_SIZE`]. Notary reads a declared size without bound,
/// so a snapshot declaring a 2^62-byte targets file had it read until memory ran out
/// (catalogue DOS-03; QUIRKS).
pub fn read_limit(size: Option<u64>) -> u64 {
    size.map_or(MAX_DOWNLOAD_SIZE, |s| s.min(MAX_DOWNLOAD_SIZE))
}

/// Notary's `MaxTimestampSize`: 1 MiB.
pub const MAX_TIMESTAMP_SIZE: u64 = 1 << 20;

/// Why a store could not deliver. The kinds matter: some make the client fall back to its cache.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{resource} trust data unavailable.  Has a notary repository been initialized?")]
    MetaNotFound { resource: String },
    #[error("{}", unavailable_msg(*.code))]
    ServerUnavailable { code: u16 },
    #[error("client is offline")]
    Offline,
    #[error("{0}")]
    Network(String),
    /// The server closed the connection before it answered (it stopped, or a proxy cut it):
    /// whether an upload arrived is not known, so a publish keeps its changes staged.
    #[error("the trust server closed the connection before it answered ({0})")]
    Closed(String),
    /// More bytes than allowed: Notary's `ErrMaliciousServer`.
    #[error("trust server returned a bad response.")]
    MaliciousServer,
    #[error("{}", invalid_op_msg(.0))]
    InvalidOperation(String),
    /// A local storage failure (disk full, permissions).
    #[error("{0}")]
    Io(String),
}

fn unavailable_msg(code: u16) -> String {
    if code == 401 {
        "you are not authorized to perform this operation: server returned 401.".to_owned()
    } else {
        format!("unable to reach trust server at this time: {code}.")
    }
}

fn invalid_op_msg(msg: &str) -> String {
    if msg.is_empty() {
        "trust server rejected operation.".to_owned()
    } else {
        format!("trust server rejected operation: {msg}")
    }
}

impl StoreError {
    /// Errors after which Notary falls back to a cached timestamp.
    pub fn allows_cache_fallback(&self) -> bool {
        matches!(
            self,
            StoreError::MetaNotFound { .. }
                | StoreError::ServerUnavailable { .. }
                | StoreError::Offline
                | StoreError::Network(_)
                | StoreError::Closed(_)
        )
    }
}

/// Where metadata is read from: the trust server, by (consistent) file name without `.json`
/// (`root`, `2.root`, `snapshot.<sha256>`, `targets/releases.<sha256>`).
pub trait RemoteStore {
    /// The bytes of `name`, refusing more than `size` bytes (or [`MAX_DOWNLOAD_SIZE`] when
    /// `None`).
    fn get_sized(&mut self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError>;
    /// A human-readable location (`host:port`) for messages.
    fn location(&self) -> String;
}

/// The local cache of verified metadata, by role name (`root`, `targets/releases`).
pub trait MetadataCache {
    fn get_sized(&self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError>;
    fn set(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError>;
    fn remove(&mut self, name: &str) -> Result<(), StoreError>;
}

/// Metadata held in memory, usable as a remote or a cache.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl MemoryStore {
    fn get(&self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        let bytes = self
            .files
            .get(name)
            .ok_or_else(|| StoreError::MetaNotFound {
                resource: name.to_owned(),
            })?;
        let limit = read_limit(size);
        if bytes.len() as u64 > limit {
            return Err(StoreError::MaliciousServer);
        }
        Ok(bytes.clone())
    }
}

impl RemoteStore for MemoryStore {
    fn get_sized(&mut self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        self.get(name, size)
    }
    fn location(&self) -> String {
        "memory".to_owned()
    }
}

impl MetadataCache for MemoryStore {
    fn get_sized(&self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        self.get(name, size)
    }
    fn set(&mut self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.files.insert(name.to_owned(), bytes.to_vec());
        Ok(())
    }
    fn remove(&mut self, name: &str) -> Result<(), StoreError> {
        self.files.remove(name);
        Ok(())
    }
}

/// A remote that is not there: every read fails with [`StoreError::Offline`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineStore;

impl RemoteStore for OfflineStore {
    fn get_sized(&mut self, _name: &str, _size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        Err(StoreError::Offline)
    }
    fn location(&self) -> String {
        "offline".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_enforces_size_limits() {
        let mut m = MemoryStore::default();
        MetadataCache::set(&mut m, "timestamp", &[0u8; 10]).unwrap();
        assert_eq!(
            RemoteStore::get_sized(&mut m, "timestamp", Some(10))
                .unwrap()
                .len(),
            10
        );
        assert_eq!(
            RemoteStore::get_sized(&mut m, "timestamp", Some(9)),
            Err(StoreError::MaliciousServer)
        );
        assert_eq!(
            RemoteStore::get_sized(&mut m, "root", None)
                .unwrap_err()
                .to_string(),
            "root trust data unavailable.  Has a notary repository been initialized?"
        );
        assert_eq!(
            OfflineStore.get_sized("root", None),
            Err(StoreError::Offline)
        );
        assert!(StoreError::ServerUnavailable { code: 503 }.allows_cache_fallback());
        assert!(!StoreError::MaliciousServer.allows_cache_fallback());
    }
}
