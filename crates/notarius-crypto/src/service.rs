//! One door to every private key, whichever store holds it (Notary's `CryptoService`): a
//! hardware token can be put in front of the key files and wins for the keys it holds.

use std::collections::BTreeMap;

use notarius_tuf::keys::PublicKey;

use crate::handle::KeyHandle;
use crate::keystore::{FileKeyStore, KeyInfo, KeyStoreError, check_key_use};
use crate::passphrase::PassphraseRetriever;
use crate::private::{Algorithm, PrivateKey};

/// A place private keys live.
pub trait KeyStore {
    /// Where it is, for listings (`<trust_dir>/private`, `yubikey`).
    fn location(&self) -> String;
    fn list(&self) -> Result<BTreeMap<String, KeyInfo>, KeyStoreError>;
    /// Role and GUN of one key, without decrypting it.
    fn info(&self, id: &str) -> Result<KeyInfo, KeyStoreError> {
        self.list()?
            .remove(id)
            .ok_or_else(|| KeyStoreError::NotFound(id.to_owned()))
    }
    fn add(
        &self,
        key: &PrivateKey,
        role: &str,
        gun: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(), KeyStoreError>;
    fn get(
        &self,
        id: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(PrivateKey, String), KeyStoreError>;
    fn remove(&self, id: &str) -> Result<(), KeyStoreError>;
    /// [`remove`](Self::remove) for stores that need a PIN to remove a key (a hardware token).
    fn remove_with(
        &self,
        id: &str,
        _retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(), KeyStoreError> {
        self.remove(id)
    }
    /// The key `id` ready to sign, and its role: decrypted by a file store, a handle that signs
    /// on the device for a hardware token.
    fn signing_key(
        &self,
        id: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(KeyHandle, String), KeyStoreError> {
        self.get(id, retriever)
            .map(|(k, role)| (KeyHandle::Software(k), role))
    }
}

impl KeyStore for FileKeyStore {
    fn location(&self) -> String {
        self.dir().display().to_string()
    }
    fn list(&self) -> Result<BTreeMap<String, KeyInfo>, KeyStoreError> {
        FileKeyStore::list(self)
    }
    fn info(&self, id: &str) -> Result<KeyInfo, KeyStoreError> {
        FileKeyStore::info(self, id)
    }
    fn add(
        &self,
        key: &PrivateKey,
        role: &str,
        gun: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(), KeyStoreError> {
        FileKeyStore::add(self, key, role, gun, retriever)
    }
    fn get(
        &self,
        id: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(PrivateKey, String), KeyStoreError> {
        FileKeyStore::get(self, id, retriever)
    }
    fn remove(&self, id: &str) -> Result<(), KeyStoreError> {
        FileKeyStore::remove(self, id)
    }
}

/// Errors after which another store is not asked: the key was found and the passphrase
/// failed (Notary's `ErrPasswordInvalid`, `ErrAttemptsExceeded`), or there is no one to ask.
fn is_final(e: &KeyStoreError) -> bool {
    matches!(
        e,
        KeyStoreError::PasswordInvalid
            | KeyStoreError::AttemptsExceeded
            | KeyStoreError::GiveUp(_)
            | KeyStoreError::Token(_)
    )
}

/// A store's location and its keys.
pub type StoreListing = (String, BTreeMap<String, KeyInfo>);

/// Key stores in priority order plus the passphrase source.
pub struct CryptoService {
    stores: Vec<Box<dyn KeyStore>>,
    retriever: Box<dyn PassphraseRetriever>,
}

impl CryptoService {
    pub fn new(
        stores: Vec<Box<dyn KeyStore>>,
        retriever: Box<dyn PassphraseRetriever>,
    ) -> CryptoService {
        CryptoService { stores, retriever }
    }

    /// Makes a key for `role` and stores it in the first store that takes it.
    pub fn create(
        &mut self,
        role: &str,
        gun: &str,
        alg: Algorithm,
    ) -> Result<PublicKey, KeyStoreError> {
        let key = PrivateKey::generate(alg).map_err(|source| KeyStoreError::Key {
            path: "<new key>".into(),
            source,
        })?;
        self.add_key(role, gun, &key)?;
        Ok(key.public_key().clone())
    }

    /// Stores `key`, trying each store in order. A key some store already holds for the same
    /// role is left as it is; for another role it is refused (Notary's `AddKey`).
    pub fn add_key(
        &mut self,
        role: &str,
        gun: &str,
        key: &PrivateKey,
    ) -> Result<(), KeyStoreError> {
        if let Some(info) = self.get_key_info(key.id()) {
            return if info.role == role {
                Ok(())
            } else {
                Err(KeyStoreError::ExistsForRole(info.role))
            };
        }
        let mut last = None;
        for s in &self.stores {
            match s.add(key, role, gun, self.retriever.as_mut()) {
                Ok(()) => return Ok(()),
                // A token that is there but failed (PIN, backup) is not quietly replaced by
                // a key file (SG-11).
                Err(e) if is_final(&e) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| KeyStoreError::NotFound(key.id().to_owned())))
    }

    /// The private key with canonical ID `id` and its role, from the first store that can give
    /// it. A wrong passphrase ends the search; a store that cannot read the key does not, but
    /// its error is what is reported if no other store has the key.
    pub fn get_private_key(&mut self, id: &str) -> Result<(PrivateKey, String), KeyStoreError> {
        let mut first_error = None;
        for s in &self.stores {
            match s.get(id, self.retriever.as_mut()) {
                Ok(found) => return Ok(found),
                Err(e) if is_final(&e) => return Err(e),
                Err(KeyStoreError::NotFound(_)) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| KeyStoreError::NotFound(id.to_owned())))
    }

    /// The key `id` for signing as `role` of `gun`: refused, before any passphrase is asked,
    /// when its file says it belongs to another role or repository (KS-07).
    pub fn get_signing_key(
        &mut self,
        id: &str,
        role: &str,
        gun: &str,
    ) -> Result<PrivateKey, KeyStoreError> {
        let mut first_error = None;
        for s in &self.stores {
            let info = match s.info(id) {
                Ok(info) => info,
                Err(KeyStoreError::NotFound(_)) => continue,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            check_key_use(id, &info, role, gun)?;
            match s.get(id, self.retriever.as_mut()) {
                Ok((key, _)) => return Ok(key),
                Err(e) if is_final(&e) => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| KeyStoreError::NotFound(id.to_owned())))
    }

    /// The key `id` ready to sign, from the first store that lists it: a key on a hardware
    /// token signs there, and a failure of the token is the answer, never a copy of the key
    /// found elsewhere (SG-11).
    pub fn signing_key(&mut self, id: &str) -> Result<(KeyHandle, String), KeyStoreError> {
        for s in &self.stores {
            match s.info(id) {
                Ok(_) => return s.signing_key(id, self.retriever.as_mut()),
                Err(KeyStoreError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(KeyStoreError::NotFound(id.to_owned()))
    }

    /// Every store's keys with its location, store by store, as `notary key list` shows them (a
    /// token's key appears again under its file backup).
    pub fn list_by_store(&self) -> Result<Vec<StoreListing>, KeyStoreError> {
        self.stores
            .iter()
            .map(|s| Ok((s.location(), s.list()?)))
            .collect()
    }

    /// The public key of `id` (Notary's `GetKey`, which decrypts the private key to find it).
    pub fn get_key(&mut self, id: &str) -> Option<PublicKey> {
        self.get_private_key(id)
            .ok()
            .map(|(k, _)| k.public_key().clone())
    }

    /// Role and GUN of `id` from the first store that holds it, without decrypting.
    pub fn get_key_info(&self, id: &str) -> Option<KeyInfo> {
        self.stores.iter().find_map(|s| s.info(id).ok())
    }

    /// Every key and where it is, the first store winning for a key several hold.
    pub fn list_all_keys(&self) -> Result<BTreeMap<String, (KeyInfo, String)>, KeyStoreError> {
        let mut out = BTreeMap::new();
        for s in &self.stores {
            for (id, info) in s.list()? {
                out.entry(id).or_insert((info, s.location()));
            }
        }
        Ok(out)
    }

    /// IDs of the keys held for `role`.
    pub fn list_keys(&self, role: &str) -> Result<Vec<String>, KeyStoreError> {
        Ok(self
            .list_all_keys()?
            .into_iter()
            .filter(|(_, (i, _))| i.role == role)
            .map(|(id, _)| id)
            .collect())
    }

    /// Removes the key from every store that holds it.
    pub fn remove_key(&mut self, id: &str) -> Result<(), KeyStoreError> {
        let mut removed = false;
        for s in &self.stores {
            match s.remove_with(id, self.retriever.as_mut()) {
                Ok(()) => removed = true,
                Err(KeyStoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if removed {
            Ok(())
        } else {
            Err(KeyStoreError::NotFound(id.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passphrase::ConstantRetriever;
    use notarius_tuf::sign::Signer;
    use zeroize::Zeroizing;

    #[test]
    fn first_store_wins_and_keys_sign() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut cs = CryptoService::new(
            vec![
                Box::new(FileKeyStore::open(a.path()).unwrap()),
                Box::new(FileKeyStore::open(b.path()).unwrap()),
            ],
            Box::new(ConstantRetriever(Zeroizing::new("passphrase1".into()))),
        );
        let pk = cs
            .create("targets", "example.com/app", Algorithm::Ecdsa)
            .unwrap();
        assert!(a.path().join(format!("private/{}.key", pk.id())).is_file());
        assert!(!b.path().join(format!("private/{}.key", pk.id())).exists());
        let (key, role) = cs.get_private_key(pk.id()).unwrap();
        assert_eq!(role, "targets");
        let (m, sig) = key.sign(b"hello").unwrap();
        pk.verify(&m, &sig, b"hello").unwrap();
        assert_eq!(cs.list_keys("targets").unwrap(), [pk.id().to_owned()]);
        cs.remove_key(pk.id()).unwrap();
        assert!(matches!(
            cs.get_private_key(pk.id()),
            Err(KeyStoreError::NotFound(_))
        ));
    }
}
