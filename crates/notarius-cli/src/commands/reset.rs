//! `notary reset <gun> [-n N,...] [--all]`.

use std::io::Write;

use super::required;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Resets unpublished changes for the local trusted collection.
///
/// Resets (drops) unpublished changes for the local trusted collection identified by the
/// Globally Unique Name: those numbered with -n as `status` shows them, or all. Offline.
#[derive(clap::Args)]
pub struct Reset {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// Numbers of specific changes to exclusively reset, as shown in status list
    #[arg(short = 'n', long = "number", value_delimiter = ',', value_name = "N")]
    number: Vec<usize>,
    /// Reset all changes shown in the status list
    #[arg(long = "all")]
    all: bool,
}

impl Reset {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let gun = ctx.gun(required(&self.gun, "Must specify a GUN")?)?;
        if !self.all && self.number.is_empty() {
            return Err(CliError::Usage(
                "Must specify changes to reset with -n or the --all flag".into(),
            ));
        }
        let cl = ctx.changelist(&gun)?;
        if self.all {
            cl.clear()?
        } else {
            cl.remove(&self.number)?
        }
        writeln!(
            out,
            "Successfully reset specified changes for repository {gun}"
        )?;
        Ok(())
    }
}
