//! The key stores a command signs with: a hardware token first when one is present (its new
//! keys backed up to the key files, as Notary's yubikey store does), then the key files of the
//! trust directory.

use std::path::Path;

use notarius_crypto::keystore::FileKeyStore;
use notarius_crypto::passphrase::PassphraseRetriever;
use notarius_crypto::service::{CryptoService, KeyStore};

use crate::error::{Error, Result};

/// The key service over `trust_dir`'s `private/` folder and, when a PKCS#11 module and an
/// initialised token are found, that token; passphrases and PINs come from `retriever`.
pub fn crypto_service(
    trust_dir: &Path,
    retriever: Box<dyn PassphraseRetriever>,
) -> Result<CryptoService> {
    let files = FileKeyStore::open(trust_dir)?.remembering_keys();
    warn_loose_permissions(&files);
    let mut stores: Vec<Box<dyn KeyStore>> = Vec::new();
    match notarius_pkcs11::discover_from_env(Some(files.clone())) {
        Ok(Some(token)) => {
            log::debug!(
                "root keys: hardware token first, then {}",
                files.dir().display()
            );
            stores.push(Box::new(token));
        }
        Ok(None) => log::debug!(
            "no hardware token; keys are files in {}",
            files.dir().display()
        ),
        Err(e) => return Err(Error::Token(e.to_string())),
    }
    stores.push(Box::new(files));
    Ok(CryptoService::new(stores, retriever))
}

/// Says, once per command, which key files other users can read, and the `chmod` that fixes
/// it; the files are left as they are (the folder itself is kept at 0700 by the store).
/// Catalogue KS-05.
fn warn_loose_permissions(files: &FileKeyStore) {
    use std::os::unix::fs::PermissionsExt as _;
    for p in files.loose_permissions().unwrap_or_default() {
        let mode = std::fs::symlink_metadata(&p)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0);
        log::warn!(
            "the private key file {} can be read by other users (mode {mode:04o}): run chmod 600 {}",
            p.display(),
            p.display()
        );
    }
}
