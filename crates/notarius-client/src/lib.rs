//! The Notarius client library: the trust directory (metadata cache, changelist) and, built on
//! the pure core, update and publish.

pub mod backup;
pub mod cache;
pub mod changelist;
pub mod commands;
pub mod listing;
pub use notarius_crypto::fsutil;
pub mod publish;
pub mod remote;
