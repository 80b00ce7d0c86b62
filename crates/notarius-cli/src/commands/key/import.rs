//! `notary key import <pem>... [-r role] [-g gun]`.

use std::io::Write;
use std::path::PathBuf;

use notarius_crypto::keystore::{FileKeyStore, KeyStoreError};

use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Imports all keys from all provided .pem files
///
/// Imports all keys from all provided .pem files by reading each PEM block from the file and
/// writing that block to a unique object in the local keystore (a `key export` bundle of
/// notary's or ours comes back as it was). An unencrypted key is encrypted with a passphrase
/// for its role; an encrypted one is stored as it is under its `path` header. Each file is
/// checked completely before any of it is written. Offline.
#[derive(clap::Args)]
pub struct Import {
    /// The PEM files to import
    files: Vec<PathBuf>,
    /// Role to import key with, if a role is not already given in a PEM header
    #[arg(short = 'r', long = "role", value_name = "ROLE")]
    role: Option<String>,
    /// Gun to import key with, if a gun is not already given in a PEM header
    #[arg(short = 'g', long = "gun", value_name = "GUN")]
    gun: Option<String>,
}

impl Import {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        if self.files.is_empty() {
            return Err(CliError::Usage(
                "must specify at least one input file to import keys from".into(),
            ));
        }
        let ks = FileKeyStore::open(ctx.trust_dir()?)?;
        let mut pass = ctx.passphrases();
        for f in &self.files {
            let report = ks
                .import_file(
                    f,
                    self.role.as_deref().unwrap_or_default(),
                    self.gun.as_deref().unwrap_or_default(),
                    &mut pass,
                )
                .map_err(|e| match e {
                    KeyStoreError::Io { source, .. } => {
                        CliError::fatal(format!("open {}: {source}", f.display()))
                    }
                    e => e.into(),
                })?;
            for s in &report.skipped {
                log::warn!("failed to import key to store: {s} ({})", f.display());
            }
            for id in &report.imported {
                log::info!("imported key {id} from {}", f.display());
            }
        }
        out.flush()?;
        Ok(())
    }
}
