//! `notary publish <gun>`.

use std::io::Write;

use super::{publish_now, required};
use crate::context::Context;
use crate::error::CmdResult;

/// Publishes the local trusted collection.
///
/// Publishes the local trusted collection identified by the Globally Unique Name, sending the
/// staged changes to the remote trust server, signed with the keys held here; creates the
/// repository there first if it is new (the root, targets and snapshot keys made here, the
/// timestamp key by the server). Online. A failed publish keeps the changes staged.
#[derive(clap::Args)]
pub struct Publish {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
}

impl Publish {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let gun = ctx.gun(required(&self.gun, "Must specify a GUN")?)?;
        writeln!(out, "Pushing changes to {gun}")?;
        publish_now(ctx, &gun, &mut ctx.crypto()?)?;
        writeln!(out, "Successfully published changes for repository {gun}")?;
        Ok(())
    }
}
