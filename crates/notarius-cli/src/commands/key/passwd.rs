//! `notary key passwd <keyID>`.

use std::io::Write;

use notarius_crypto::keystore::FileKeyStore;

use super::check_key_id;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Changes the passphrase for the key with the given keyID.
///
/// Changes the passphrase for the key with the given keyID: the old one is checked first, then
/// the key is stored again under the new one (the file replaced atomically). Offline.
#[derive(clap::Args)]
pub struct Passwd {
    /// The key's ID (64 hex digits, as `key list` shows it)
    key_id: Option<String>,
}

impl Passwd {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let Some(key_id) = self.key_id.as_deref() else {
            return Err(CliError::Usage(
                "must specify the key ID of the key to change the passphrase of".into(),
            ));
        };
        check_key_id(key_id)?;
        let ks = FileKeyStore::open(ctx.trust_dir()?)?;
        // A separate source for the new passphrase, so an answer given for the old one is not
        // reused.
        let mut old = ctx.passphrases();
        let mut new = ctx.passphrases();
        let (key, info) = match ks
            .info(key_id)
            .and_then(|i| Ok((ks.get(key_id, &mut old)?.0, i)))
        {
            Ok(found) => found,
            // Notary's message, then (beyond Notary) why.
            Err(e) => {
                return Err(CliError::fatal(format!(
                    "could not retrieve local key for key ID provided: {key_id}\n{e}"
                )));
            }
        };
        ks.add(&key, &info.role, &info.gun, &mut new)?;
        write!(
            out,
            "\nSuccessfully updated passphrase for key ID: {key_id}\n"
        )?;
        Ok(())
    }
}
