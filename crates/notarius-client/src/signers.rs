//! The keys a publish signs with: those of each role that this client holds and can open,
//! and, when none can be opened though one is here, an error that says which and why.

use std::collections::BTreeMap;

use notarius_crypto::handle::KeyHandle;
use notarius_crypto::keystore::KeyStoreError;
use notarius_crypto::service::CryptoService;
use notarius_tuf::keys::PublicKey;
use notarius_tuf::metadata::BaseRole;
use notarius_tuf::sign::Signer;

use crate::error::{Error, Result};

/// A private key (in memory or on a token) presented under the public key its role lists (a
/// root key under its certificate, any other key under itself).
pub struct HeldKey {
    pub key: KeyHandle,
    pub public: PublicKey,
}

impl Signer for HeldKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign(&self, msg: &[u8]) -> notarius_tuf::Result<(String, Vec<u8>)> {
        self.key.sign(msg)
    }
}

/// The keys of `role` that the caller holds, as signers. A key that cannot be had is left out
/// (the threshold check then says what is missing), except when a hardware token that lists it
/// fails: that is the error (SG-11).
///
/// A role none of whose keys could be used although one of them is here (a wrong passphrase,
/// a damaged file) is an error that says so, rather than a signature quietly left out (Notary
/// would then leave the snapshot to a server that does not hold its key, and say that).
pub(crate) fn held_signers(
    cs: &mut CryptoService,
    role: &BaseRole,
) -> Result<Vec<Box<dyn Signer>>> {
    let mut held: Vec<Box<dyn Signer>> = Vec::new();
    let mut unusable = Vec::new();
    for pk in role.keys.values() {
        match cs.signing_key(pk.canonical_id()) {
            Ok((key, _)) => {
                log::debug!("signing {} with key {}", role.name, pk.canonical_id());
                held.push(Box::new(HeldKey {
                    key,
                    public: pk.clone(),
                }))
            }
            Err(e @ KeyStoreError::Token(_)) => return Err(e.into()),
            Err(KeyStoreError::NotFound(_)) => {
                log::debug!("key {} of {} is not here", pk.canonical_id(), role.name)
            }
            Err(e) => {
                log::debug!(
                    "key {} of {} cannot be used: {e}",
                    pk.canonical_id(),
                    role.name
                );
                unusable.push(unusable_key(cs, pk.canonical_id(), &e));
            }
        }
    }
    if held.is_empty() && !unusable.is_empty() && role.threshold > 0 {
        return Err(Error::SigningKeysUnavailable {
            role: role.name.clone(),
            ids: role
                .keys
                .values()
                .map(|k| k.canonical_id().to_owned())
                .collect(),
            unusable,
        });
    }
    Ok(held)
}

fn unusable_key(cs: &CryptoService, id: &str, e: &KeyStoreError) -> crate::UnusableKey {
    crate::UnusableKey {
        id: id.to_owned(),
        role: cs.get_key_info(id).map(|i| i.role).unwrap_or_default(),
        why: e.to_string(),
        passphrase: matches!(
            e,
            KeyStoreError::PasswordInvalid
                | KeyStoreError::AttemptsExceeded
                | KeyStoreError::GiveUp(_)
        ),
    }
}

/// Notary's `VerifyCanSign` predicate: a key this client holds and can open (the passphrase is
/// asked for here, once, as Notary does before it edits). Keys that are here but cannot be
/// opened are recorded for the error.
pub(crate) struct Usable<'a> {
    cs: std::cell::RefCell<&'a mut CryptoService>,
    held: Vec<String>,
    seen: std::cell::RefCell<BTreeMap<String, Option<crate::UnusableKey>>>,
}

impl<'a> Usable<'a> {
    pub(crate) fn new(cs: &'a mut CryptoService) -> Result<Usable<'a>> {
        let held = cs.list_all_keys()?.into_keys().collect();
        Ok(Usable {
            cs: std::cell::RefCell::new(cs),
            held,
            seen: Default::default(),
        })
    }

    pub(crate) fn has(&self, id: &str) -> bool {
        if !self.held.iter().any(|h| h == id) {
            return false;
        }
        let mut seen = self.seen.borrow_mut();
        seen.entry(id.to_owned())
            .or_insert_with(|| {
                let mut cs = self.cs.borrow_mut();
                match cs.signing_key(id) {
                    Ok(_) => None,
                    Err(e) => Some(unusable_key(&cs, id, &e)),
                }
            })
            .is_none()
    }

    /// Notary's `ErrNoKeys`, with what was found out about the keys that are here.
    pub(crate) fn explain(&self, e: notarius_tuf::Error) -> Error {
        match e {
            notarius_tuf::Error::NoKeys(ids) => {
                let seen = self.seen.borrow();
                let unusable = ids
                    .iter()
                    .filter_map(|id| seen.get(id).cloned().flatten())
                    .collect();
                Error::SigningKeysUnavailable {
                    role: String::new(),
                    ids,
                    unusable,
                }
            }
            other => other.into(),
        }
    }
}
