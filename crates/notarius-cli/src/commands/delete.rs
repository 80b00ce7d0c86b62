//! `notary delete <gun> [--remote]`.

use std::io::Write;

use notarius_client::remote::Permission;

use super::required;
use crate::context::Context;
use crate::error::CmdResult;

/// Deletes all content for a trusted collection
///
/// Deletes all local content (metadata, staged changes; not the keys) for a trusted collection
/// identified by the Globally Unique Name. With --remote the trust server's copy goes first
/// (online, with admin rights on a server that uses token authentication): the reset that
/// Docker Support used to do for a lost root key.
#[derive(clap::Args)]
pub struct Delete {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// Delete remote data for GUN in addition to local cache
    #[arg(long = "remote")]
    remote: bool,
}

impl Delete {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let gun = ctx.gun(required(&self.gun, "Must specify a GUN")?)?;
        writeln!(out, "Deleting trust data for repository {gun}")?;
        ctx.repository(&gun, Permission::Admin)?
            .delete(self.remote)?;
        writeln!(
            out,
            "Successfully deleted local{} trust data for repository {gun}",
            if self.remote { " and remote" } else { "" }
        )?;
        Ok(())
    }
}
