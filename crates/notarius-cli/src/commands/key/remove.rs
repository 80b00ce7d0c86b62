//! `notary key remove <keyID> [-y]`.

use std::io::{BufRead, Write};

use notarius_crypto::keystore::FileKeyStore;

use super::check_key_id;
use crate::commands::ask_confirm;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Removes the key with the given keyID.
///
/// Removes the key with the given keyID from the trust directory, after a yes/no question
/// (-y answers it, beyond notary). A root key cannot be recovered once removed: back it up
/// first (`notarius backup`). Offline.
#[derive(clap::Args)]
pub struct Remove {
    /// The key's ID (64 hex digits, as `key list` shows it)
    key_id: Option<String>,
    /// Answer yes to the removal question (beyond notary)
    #[arg(short = 'y', long = "yes")]
    yes: bool,
}

impl Remove {
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        let Some(key_id) = self.key_id.as_deref() else {
            return Err(CliError::Usage(
                "must specify the key ID of the key to remove".into(),
            ));
        };
        check_key_id(key_id)?;
        let ks = FileKeyStore::open(ctx.trust_dir()?)?;
        writeln!(out)?;
        let result = (|| -> CmdResult {
            let info = ks
                .list()?
                .remove(key_id)
                .ok_or_else(|| CliError::fatal(format!("No key with ID {key_id} found")))?;
            let desc = format!("{key_id} (role {}) from {}", info.role, ks.dir().display());
            if !self.yes {
                write!(out, "Are you sure you want to remove {desc}?  (yes/no)  ")?;
                out.flush()?;
                if !ask_confirm(input) {
                    writeln!(out, "\nAborting action.")?;
                    return Ok(());
                }
            }
            ks.remove(key_id)?;
            writeln!(out, "\nDeleted {desc}.")?;
            Ok(())
        })();
        writeln!(out)?;
        result
    }
}
