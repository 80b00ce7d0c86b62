//! `notary key export [--key id,...] [--gun gun,...] [-o file]`.

use std::io::Write;
use std::path::PathBuf;

use notarius_crypto::keystore::FileKeyStore;

use crate::commands::write_output;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Exports all keys from all local keystores. Can be filtered using the --key and --gun flags.
///
/// Exports the key files (still encrypted, each with a `path` header naming its key ID) to
/// stdout or a file, for `key import` elsewhere. Which keys can be restricted with --key or
/// --gun. Keys on a hardware token cannot be exported. Offline.
#[derive(clap::Args)]
pub struct Export {
    /// GUNs for which to export keys
    #[arg(long = "gun", value_delimiter = ',', value_name = "GUN")]
    guns: Vec<String>,
    /// Key IDs to export
    #[arg(long = "key", value_delimiter = ',', value_name = "ID")]
    keys: Vec<String>,
    /// Filepath to write export output to
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

impl Export {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        if !self.guns.is_empty() && !self.keys.is_empty() {
            return Err(CliError::fatal(
                "Only the --gun or --key flag may be provided, not a mix of the two flags",
            ));
        }
        let ks = FileKeyStore::open(ctx.trust_dir()?)?;
        let pem = if let Some((first, rest)) = self.guns.split_first() {
            // Every GUN asked for; Notary exports only the first.
            let mut all = ks.export_gun(first)?;
            for g in rest {
                all.push_str(&ks.export_gun(g)?);
            }
            all
        } else if !self.keys.is_empty() {
            let ids: Vec<&str> = self.keys.iter().map(String::as_str).collect();
            ks.export_ids(&ids)?
        } else {
            ks.export_all()?
        };
        match &self.output {
            Some(p) => write_output(p, pem.as_bytes())?,
            None => out.write_all(pem.as_bytes())?,
        }
        Ok(())
    }
}
