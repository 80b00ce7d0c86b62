//! `notarius backup <file>` (beyond Notary).

use std::io::Write;
use std::path::PathBuf;

use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Archives the private keys, still encrypted, into a tar file (beyond notary)
///
/// Archives the key files of the trust directory's private/ folder, still encrypted with their
/// passphrases, into a tar file (gzip-compressed when the name ends in .gz or .tgz), written
/// with mode 0600 into a folder that must exist and is left as it is. Offline. Keep it where
/// the keys are not: `restore` puts them back.
#[derive(clap::Args)]
pub struct Backup {
    /// The archive to write
    file: Option<PathBuf>,
}

impl Backup {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let Some(file) = &self.file else {
            return Err(CliError::Usage("Must specify the archive to write".into()));
        };
        let dir = ctx.trust_dir()?;
        let (ids, skipped) = notarius_client::backup::backup(dir, file)
            .map_err(|e| CliError::fatal(e.to_string()))?;
        for s in skipped {
            eprintln!("not backed up (not a key file): {s}");
        }
        writeln!(
            out,
            "Backed up {} key{} from {} to {}",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" },
            dir.join("private").display(),
            file.display()
        )?;
        Ok(())
    }
}
