//! `notarius restore <file>` (beyond Notary).

use std::io::Write;
use std::path::PathBuf;

use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Restores private keys from a backup archive (beyond notary)
///
/// Restores private keys from an archive `backup` wrote. Nothing is written unless every entry
/// is a key file (no absolute paths, no .., no links) and every key decrypts with its
/// passphrase and is the key its name says. Offline.
#[derive(clap::Args)]
pub struct Restore {
    /// The archive to read
    file: Option<PathBuf>,
}

impl Restore {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let Some(file) = &self.file else {
            return Err(CliError::Usage(
                "Must specify the archive to restore".into(),
            ));
        };
        let dir = ctx.trust_dir()?;
        let r = notarius_client::backup::restore(dir, file, &mut ctx.passphrases())
            .map_err(|e| CliError::fatal(e.to_string()))?;
        let total = r.added.len() + r.replaced.len() + r.unchanged.len();
        writeln!(
            out,
            "Restored {total} key{} to {} ({} new, {} replaced, {} already there)",
            if total == 1 { "" } else { "s" },
            dir.join("private").display(),
            r.added.len(),
            r.replaced.len(),
            r.unchanged.len()
        )?;
        Ok(())
    }
}
