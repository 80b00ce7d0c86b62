//! The signing service behind the gRPC API: creates keys (reusing a pending one like Notary),
//! decrypts stored keys on first use and keeps them in memory (zeroized when dropped), signs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use notarius_crypto::pkcs8::{self, RawKey};
use notarius_crypto::private::{Algorithm, PrivateKey};
use zeroize::Zeroizing;

use crate::jwe;
use crate::storage::{KeyRecord, StorageError, Store};

/// How often a signing key's `last_used` is written at most (Notary writes it on every
/// signature; the first signature, which turns a pending key into a used one, always is).
pub const LAST_USED_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("algorithm {0} not supported for create key")]
    Algorithm(String),
    #[error("key {0} not found")]
    NotFound(String),
    /// No passphrase for the row's alias, a token that does not decrypt, or key bytes that do
    /// not match the stored key ID. Never says more than that about the secret.
    #[error("key {key_id} cannot be decrypted: {msg}")]
    Decrypt { key_id: String, msg: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Where passphrases come from: `NOTARY_SIGNER_<ALIAS>` in the process environment, or fixed
/// values (tests, the memory store).
#[derive(Clone)]
pub enum Passphrases {
    Env,
    Fixed(Arc<HashMap<String, Zeroizing<String>>>),
}

impl Passphrases {
    pub fn get(&self, alias: &str) -> Option<Zeroizing<String>> {
        match self {
            Passphrases::Env => std::env::var(crate::config::passphrase_env(alias))
                .ok()
                .filter(|p| !p.is_empty())
                .map(Zeroizing::new),
            Passphrases::Fixed(m) => m.get(alias).cloned(),
        }
    }
}

/// A decrypted key and what Notary returns with it.
pub struct Held {
    pub key: PrivateKey,
    pub role: String,
    last_marked: Mutex<Option<Instant>>,
}

pub struct KeyService {
    store: Arc<Store>,
    alias: String,
    passphrases: Passphrases,
    cache: RwLock<HashMap<String, Arc<Held>>>,
}

/// The raw key bytes as notary-signer stores them (the JWE plaintext) for `algorithm`.
pub fn raw_from_plaintext(algorithm: &str, plain: &[u8]) -> Result<RawKey, String> {
    match algorithm {
        "ecdsa" => pkcs8::ec_from_sec1(plain).map_err(|e| e.to_string()),
        "ed25519" => pkcs8::ed25519_from_notary(plain).map_err(|e| e.to_string()),
        other => Err(format!(
            "key algorithm {other:?} is not served (ecdsa, ed25519)"
        )),
    }
}

fn raw_bytes(raw: &RawKey) -> &[u8] {
    match raw {
        RawKey::Ecdsa(b) | RawKey::Ed25519(b) | RawKey::Rsa(b) => b,
    }
}

/// Decrypts `row` with the passphrase of its alias and checks the key matches the row's key ID
/// and public key; returns the key and the plaintext as stored.
pub fn open_row(
    passphrases: &Passphrases,
    row: &KeyRecord,
) -> Result<(PrivateKey, Zeroizing<Vec<u8>>), KeyError> {
    let err = |msg: String| KeyError::Decrypt {
        key_id: row.key_id.clone(),
        msg,
    };
    let pass = passphrases.get(&row.passphrase_alias).ok_or_else(|| {
        err(format!(
            "expected env variable to not be empty: {}",
            row.passphrase_alias
        ))
    })?;
    let plain = jwe::decrypt(&row.private, pass.as_bytes()).map_err(|e| err(e.to_string()))?;
    let raw = raw_from_plaintext(&row.algorithm, &plain).map_err(err)?;
    let key = PrivateKey::from_raw(raw).map_err(|e| err(e.to_string()))?;
    if key.id() != row.key_id || key.public_key().public() != row.public.as_slice() {
        return Err(err(
            "the key does not match its stored ID and public key".into()
        ));
    }
    Ok((key, plain))
}

impl KeyService {
    pub fn new(store: Arc<Store>, alias: String, passphrases: Passphrases) -> KeyService {
        KeyService {
            store,
            alias,
            passphrases,
            cache: RwLock::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    fn passphrase(&self, key_id: &str, alias: &str) -> Result<Zeroizing<String>, KeyError> {
        self.passphrases
            .get(alias)
            .ok_or_else(|| KeyError::Decrypt {
                key_id: key_id.to_owned(),
                msg: format!("expected env variable to not be empty: {alias}"),
            })
    }

    /// Decrypts a stored row and checks the key against its ID and public part.
    pub fn open(&self, row: &KeyRecord) -> Result<PrivateKey, KeyError> {
        open_row(&self.passphrases, row).map(|(k, _)| k)
    }

    /// The decrypted key, from the cache or the database.
    pub async fn held(&self, key_id: &str) -> Result<Arc<Held>, KeyError> {
        if let Some(h) = self.cache.read().expect("not poisoned").get(key_id) {
            return Ok(h.clone());
        }
        let row = self
            .store
            .get(key_id)
            .await?
            .ok_or_else(|| KeyError::NotFound(key_id.to_owned()))?;
        let key = self.open(&row)?;
        let held = Arc::new(Held {
            key,
            role: row.role,
            last_marked: Mutex::new(None),
        });
        self.cache
            .write()
            .expect("not poisoned")
            .entry(key_id.to_owned())
            .or_insert(held.clone());
        Ok(held)
    }

    /// Notary's `Create`: a pending key for this role, GUN and algorithm, else a new one.
    pub async fn create(
        &self,
        gun: &str,
        role: &str,
        algorithm: &str,
    ) -> Result<notarius_tuf::keys::PublicKey, KeyError> {
        let alg = match algorithm {
            "ecdsa" => Algorithm::Ecdsa,
            "ed25519" => Algorithm::Ed25519,
            other => return Err(KeyError::Algorithm(other.to_owned())),
        };
        if gun.len() > 255 || role.len() > 255 || gun.contains('\0') || role.contains('\0') {
            return Err(KeyError::Invalid(
                "gun and role must be at most 255 bytes without NUL".into(),
            ));
        }
        if let Some(row) = self.store.pending(gun, role, algorithm).await? {
            let key = self.held(&row.key_id).await?;
            return Ok(key.key.public_key().clone());
        }
        let key = PrivateKey::generate(alg).map_err(|e| KeyError::Invalid(e.to_string()))?;
        let pass = self.passphrase(key.id(), &self.alias)?;
        let public = key.public_key().clone();
        let row = KeyRecord {
            key_id: public.id().to_owned(),
            algorithm: algorithm.to_owned(),
            passphrase_alias: self.alias.clone(),
            public: public.public().to_vec(),
            private: jwe::encrypt(raw_bytes(key.raw()), pass.as_bytes()),
            gun: gun.to_owned(),
            role: role.to_owned(),
        };
        self.store.insert(&row).await?;
        self.cache.write().expect("not poisoned").insert(
            row.key_id.clone(),
            Arc::new(Held {
                key,
                role: role.to_owned(),
                last_marked: Mutex::new(None),
            }),
        );
        Ok(public)
    }

    /// Signs `msg` (the whole message: ECDSA hashes it with SHA-256, Ed25519 signs it as is).
    pub async fn sign(
        &self,
        key_id: &str,
        msg: &[u8],
    ) -> Result<(Arc<Held>, String, Vec<u8>), KeyError> {
        let held = self.held(key_id).await?;
        let (method, sig) = held
            .key
            .sign_bytes(msg)
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
        let due = {
            let mut last = held.last_marked.lock().expect("not poisoned");
            let due = last.is_none_or(|t| t.elapsed() >= LAST_USED_INTERVAL);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due && let Err(e) = self.store.mark_used(key_id).await {
            // As Notary: the signature stands, the failure is logged.
            tracing::error!(key_id, error = %e, "key was used to sign, but marking it used failed");
            *held.last_marked.lock().expect("not poisoned") = None;
        }
        Ok((held, method, sig))
    }

    pub async fn delete(&self, key_id: &str) -> Result<(), KeyError> {
        self.cache.write().expect("not poisoned").remove(key_id);
        self.store.delete(key_id).await?;
        Ok(())
    }
}

/// Re-encrypts every key under `new_alias` (whose passphrase must be set): all keys are
/// decrypted first, then written in one transaction, so a key that does not decrypt changes
/// nothing. Returns how many keys were re-encrypted.
pub async fn reencrypt_all(
    store: &Store,
    passphrases: &Passphrases,
    new_alias: &str,
) -> Result<usize, KeyError> {
    let new_pass = passphrases.get(new_alias).ok_or_else(|| {
        KeyError::Invalid(format!(
            "expected env variable to not be empty: {new_alias} (set {})",
            crate::config::passphrase_env(new_alias)
        ))
    })?;
    let rows = store.all().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let (_key, plain) = open_row(passphrases, row)?;
        out.push((
            row.key_id.clone(),
            jwe::encrypt(&plain, new_pass.as_bytes()),
            new_alias.to_owned(),
        ));
    }
    store.reencrypt_all(&out).await?;
    Ok(out.len())
}
