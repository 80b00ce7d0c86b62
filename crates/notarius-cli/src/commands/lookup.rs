//! `notary lookup <gun> <target>`.

use std::io::Write;

use notarius_client::listing::lookup_target;
use notarius_client::remote::Permission;

use super::warn_all;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Looks up a specific target in a remote trusted collection.
///
/// Looks up a specific target in a remote trusted collection identified by the Globally
/// Unique Name and prints its name, sha256 and size. Online, verified as `list` is.
#[derive(clap::Args)]
pub struct Lookup {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// The target's name in the collection
    target: Option<String>,
}

impl Lookup {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let (Some(gun), Some(target)) = (&self.gun, &self.target) else {
            return Err(CliError::Usage("Must specify a GUN and target".into()));
        };
        let gun = ctx.gun(gun)?;
        let read = ctx
            .repository(&gun, Permission::ReadOnly)?
            .read(chrono::Utc::now())?;
        warn_all(&read.warnings);
        let t = lookup_target(&read.repo, target, &[])
            .ok_or_else(|| CliError::fatal(format!("No valid trust data for {target}")))?;
        writeln!(
            out,
            "{} sha256:{} {}",
            t.name,
            t.meta.sha256().map(hex::encode).unwrap_or_default(),
            t.meta.length
        )?;
        Ok(())
    }
}
