//! The trust server, as the client's write paths need it. The read half is the core's
//! [`RemoteStore`] (metadata by name, within a size limit); [`Remote`] adds what only a
//! publisher asks for: the keys the server holds, the one upload that publishes, and the
//! delete. [`HttpRemote`] speaks Notary's HTTP API; [`MemoryRemote`] is a whole trust server in
//! memory (it validates uploads and signs snapshot and timestamp as notary-server does), so
//! that publish, rotation, witness and delegation edits are tested without a server.

mod http;
mod memory;
mod response;
mod token;

pub use http::{HttpRemote, RemoteSetupError, TlsFiles};
pub use memory::MemoryRemote;
pub use response::{MAX_ERROR_SIZE, MAX_KEY_SIZE, server_error_detail};
pub use token::{CredentialPrompt, Permission};

use notarius_tuf::store::{RemoteStore, StoreError};

/// A trust server that can be published to.
pub trait Remote: RemoteStore {
    /// The public key the server holds for `role` (`timestamp`, or `snapshot` when the server
    /// signs it), made on first request: Go's JSON of a `TUFKey`, as Notary's `.key` endpoint
    /// returns it.
    fn get_key(&self, role: &str) -> Result<Vec<u8>, StoreError>;
    /// A new server-held key for `role` (a rotation to the server), in the same form.
    fn rotate_key(&self, role: &str) -> Result<Vec<u8>, StoreError>;
    /// Publishes `files` (role name, bytes) in one atomic update: all of them or none.
    fn set_multi(&self, files: &[(String, Vec<u8>)]) -> Result<(), StoreError>;
    /// Deletes every file of the repository on the server.
    fn delete_all(&self) -> Result<(), StoreError>;
    /// Asks for `role`'s key ahead of need, so that the server makes it while the client
    /// works; the next [`get_key`](Remote::get_key) for `role` takes the answer. A hint only.
    fn prefetch_key(&self, _role: &str) {}
}
