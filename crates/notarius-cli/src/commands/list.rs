//! `notary list <gun> [-r role,...]`.

use std::io::Write;

use notarius_client::listing::{list_targets, pretty_targets};
use notarius_client::remote::Permission;

use super::{required, warn_all};
use crate::context::Context;
use crate::error::CmdResult;

/// Lists targets for a remote trusted collection.
///
/// Lists all targets for a remote trusted collection identified by the Globally Unique Name,
/// verified against the trust directory's copy (which it updates). Online; without the server
/// it falls back to what was verified last.
#[derive(clap::Args)]
pub struct List {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// Delegation roles to list targets for (will shadow targets role)
    #[arg(short = 'r', long = "roles", value_delimiter = ',')]
    roles: Vec<String>,
}

impl List {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let gun = ctx.gun(required(&self.gun, "Must specify a GUN")?)?;
        let read = ctx
            .repository(&gun, Permission::ReadOnly)?
            .read(chrono::Utc::now())?;
        warn_all(&read.warnings);
        write!(
            out,
            "{}",
            pretty_targets(list_targets(&read.repo, &self.roles)?)
        )?;
        Ok(())
    }
}
