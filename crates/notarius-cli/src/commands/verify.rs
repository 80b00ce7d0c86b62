//! `notary verify <gun> <target> [-i file] [-o file] [-q]`.

use std::io::{Read as _, Write};
use std::path::PathBuf;

use notarius_client::listing::lookup_target;
use notarius_client::remote::Permission;

use super::{go_read_error, warn_all, write_output};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Verifies if the content is included in the remote trusted collection
///
/// Verifies that the data passed in STDIN (or -i) is the target of that name in the remote
/// trusted collection identified by the Globally Unique Name: its hashes and (beyond notary)
/// its length must match. The data is then written to STDOUT (or -o) unless -q. Online,
/// verified as `list` is.
#[derive(clap::Args)]
pub struct Verify {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// The target's name in the collection
    target: Option<String>,
    /// Read from a file, instead of STDIN
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// No output except for errors
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
}

impl Verify {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let (Some(gun), Some(target)) = (&self.gun, &self.target) else {
            return Err(CliError::Usage("Must specify a GUN and target".into()));
        };
        let payload = match &self.input {
            Some(p) => std::fs::read(p).map_err(|e| CliError::fatal(go_read_error(p, &e)))?,
            None => {
                let mut b = Vec::new();
                std::io::stdin().read_to_end(&mut b)?;
                b
            }
        };
        let gun = ctx.gun(gun)?;
        let read = ctx
            .repository(&gun, Permission::ReadOnly)?
            .read(chrono::Utc::now())?;
        warn_all(&read.warnings);
        let t = lookup_target(&read.repo, target, &[]).ok_or_else(|| {
            CliError::fatal(format!(
                "error retrieving target by name:{target}, error:No valid trust data for {target}"
            ))
        })?;
        t.meta.check_hashes(&payload, target).map_err(|e| {
            CliError::fatal(format!("data not present in the trusted collection, {e}"))
        })?;
        if t.meta.length != payload.len() as i64 {
            return Err(CliError::fatal(format!(
                "data not present in the trusted collection, length {} does not match the expected {}",
                payload.len(),
                t.meta.length
            )));
        }
        if self.quiet {
            return Ok(());
        }
        match &self.output {
            Some(p) => write_output(p, &payload)?,
            None => out.write_all(&payload)?,
        }
        Ok(())
    }
}
