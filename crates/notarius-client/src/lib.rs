//! The Notarius client library: a trusted collection ([`Repository`]) over its trust directory
//! (metadata cache, staged changes) and a trust server ([`remote::Remote`]: Notary's HTTP API,
//! or a whole server in memory), driving the pure core (`notarius-tuf`) for update and publish.
//!
//! Library code returns warnings and typed errors ([`Error`]); what to print, and in which
//! words, is the binary's business.

pub mod backup;
pub mod bulk;
pub mod cache;
pub mod changelist;
mod error;
pub mod keys;
pub mod listing;
pub use notarius_crypto::fsutil;
pub mod publish;
pub mod remote;
mod repository;
#[cfg(test)]
mod repository_tests;
mod rotate;
mod signers;
pub mod trust;

pub use error::{Error, Result, UnusableKey};
pub use repository::{Published, Read, Repository};
