//! The signing service the server asks for timestamp and snapshot keys and signatures
//! (Notary's `signed.CryptoService` as the server uses it). The built-in one keeps keys in the
//! server's own database, each encrypted with a passphrase from the environment; a remote
//! notary-signer sits behind the same trait.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use notarius_crypto::pkcs8::{decrypt_pkcs8, encrypt_pkcs8};
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_tuf::keys::{KeyType, PublicKey};
use notarius_tuf::sign::Signer;
use zeroize::Zeroizing;

use crate::storage::{KeyRow, StorageError, Store};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A signer the TUF core can use, shareable across the blocking validation step.
pub type SharedSigner = Arc<dyn Signer + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("{0}")]
    Algorithm(String),
    #[error("key {0} not found")]
    NotFound(String),
    /// The stored key does not decrypt: wrong passphrase or damaged row.
    #[error("server key {key_id} cannot be decrypted with the configured passphrase")]
    Decrypt { key_id: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("signing service unavailable: {0}")]
    Unavailable(String),
}

pub trait TrustService: Send + Sync + 'static {
    /// A key for `role` of `gun`: a new one, or one made earlier that has never signed.
    fn create<'a>(
        &'a self,
        gun: &'a str,
        role: &'a str,
        algorithm: &'a str,
    ) -> BoxFuture<'a, Result<PublicKey, SignerError>>;

    /// The public key, if this service holds its private half.
    fn get_key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<PublicKey>, SignerError>>;

    /// Signers for those of `keys` this service holds (possibly none).
    fn signers<'a>(
        &'a self,
        keys: &'a [PublicKey],
    ) -> BoxFuture<'a, Result<Vec<SharedSigner>, SignerError>>;

    fn health(&self) -> BoxFuture<'_, Result<(), SignerError>>;
}

/// The built-in signing service: keys encrypted (PKCS#8, PBES2/AES-256-CBC) in the server's
/// database under one passphrase.
pub struct LocalSigner {
    store: Arc<Store>,
    passphrase: Zeroizing<String>,
    cache: Mutex<HashMap<String, Arc<PrivateKey>>>,
}

impl LocalSigner {
    pub fn new(store: Arc<Store>, passphrase: Zeroizing<String>) -> LocalSigner {
        LocalSigner {
            store,
            passphrase,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn public_of(row: &KeyRow) -> PublicKey {
        PublicKey::new(KeyType::parse(&row.keytype), row.public_key.clone())
    }

    async fn private(&self, key_id: &str) -> Result<Option<Arc<PrivateKey>>, SignerError> {
        if let Some(k) = self.cache.lock().expect("not poisoned").get(key_id) {
            return Ok(Some(k.clone()));
        }
        let Some(row) = self.store.key_by_id(key_id).await? else {
            return Ok(None);
        };
        let raw = decrypt_pkcs8(&row.private_key, self.passphrase.as_bytes()).map_err(|_| {
            SignerError::Decrypt {
                key_id: key_id.to_owned(),
            }
        })?;
        let key = PrivateKey::from_raw(raw).map_err(|_| SignerError::Decrypt {
            key_id: key_id.to_owned(),
        })?;
        if key.public_key().id() != key_id {
            return Err(SignerError::Decrypt {
                key_id: key_id.to_owned(),
            });
        }
        let key = Arc::new(key);
        self.cache
            .lock()
            .expect("not poisoned")
            .insert(key_id.to_owned(), key.clone());
        Ok(Some(key))
    }
}

struct Held(Arc<PrivateKey>);

impl Signer for Held {
    fn public_key(&self) -> &PublicKey {
        self.0.public_key()
    }
    fn sign(&self, msg: &[u8]) -> notarius_tuf::Result<(String, Vec<u8>)> {
        self.0.sign(msg)
    }
}

impl TrustService for LocalSigner {
    fn create<'a>(
        &'a self,
        gun: &'a str,
        role: &'a str,
        algorithm: &'a str,
    ) -> BoxFuture<'a, Result<PublicKey, SignerError>> {
        Box::pin(async move {
            let alg = Algorithm::for_creation(algorithm)
                .map_err(|e| SignerError::Algorithm(e.to_string()))?;
            if let Some(row) = self.store.pending_key(gun, role, algorithm).await? {
                return Ok(Self::public_of(&row));
            }
            let key =
                PrivateKey::generate(alg).map_err(|e| SignerError::Algorithm(e.to_string()))?;
            let public = key.public_key().clone();
            let row = KeyRow {
                key_id: public.id().to_owned(),
                gun: gun.to_owned(),
                role: role.to_owned(),
                algorithm: algorithm.to_owned(),
                keytype: public.keytype().as_str().to_owned(),
                public_key: public.public().to_vec(),
                private_key: encrypt_pkcs8(key.raw(), self.passphrase.as_bytes()),
            };
            self.store.insert_key(&row).await?;
            self.cache
                .lock()
                .expect("not poisoned")
                .insert(row.key_id.clone(), Arc::new(key));
            Ok(public)
        })
    }

    fn get_key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<PublicKey>, SignerError>> {
        Box::pin(async move {
            Ok(self
                .store
                .key_by_id(key_id)
                .await?
                .map(|row| Self::public_of(&row)))
        })
    }

    fn signers<'a>(
        &'a self,
        keys: &'a [PublicKey],
    ) -> BoxFuture<'a, Result<Vec<SharedSigner>, SignerError>> {
        Box::pin(async move {
            let mut out: Vec<SharedSigner> = Vec::new();
            for k in keys {
                if let Some(p) = self.private(k.id()).await? {
                    self.store.mark_key_used(k.id()).await?;
                    out.push(Arc::new(Held(p)));
                }
            }
            Ok(out)
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), SignerError>> {
        Box::pin(async move { Ok(self.store.health().await?) })
    }
}
