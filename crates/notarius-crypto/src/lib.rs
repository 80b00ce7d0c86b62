//! Private keys and their storage, compatible with Notary 0.7's key files.

pub mod cert;
pub mod der;
pub mod fsutil;
pub mod gopem;
pub mod keyfile;
pub mod keystore;
pub mod passphrase;
pub mod pkcs8;
pub mod private;
pub mod service;
