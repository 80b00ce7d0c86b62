//! The pure TUF core of Notarius, byte-compatible with Notary 0.7.
//!
//! No I/O, no async, no clock: every function that needs the time takes it as an argument.
//! Modules:
//! - [`cjson`]: canonical JSON in docker/go's dialect and a strict parser;
//! - [`keys`]: public keys, key IDs, signature verification;
//! - [`metadata`]: root, targets, snapshot, timestamp and their envelope;
//! - [`role`]: role names, GUNs and delegation paths;
//! - [`time`]: Go's time formats.

pub mod builder;
pub mod cjson;
mod decode;
pub mod error;
pub mod keys;
pub mod metadata;
pub mod repo;
pub mod repo_edit;
pub mod role;
pub mod sign;
pub mod store;
pub mod time;
pub mod trust;
pub mod update;

pub use error::{Error, Result};
#[cfg(any(test, feature = "test-support"))]
pub mod testrepo;
