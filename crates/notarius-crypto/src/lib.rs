//! Private keys and their storage, compatible with Notary 0.7's key files.

pub mod der;
pub mod pkcs8;
