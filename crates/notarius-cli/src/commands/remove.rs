//! `notary remove <gun> <target> [-r role,...] [-p]`.

use std::io::Write;

use notarius_client::changelist::Change;

use super::{auto_publish, scopes};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Removes a target from a trusted collection.
///
/// Removes a target from the local trusted collection identified by the Globally Unique Name
/// by staging its removal. Offline; use `publish` (or -p) to push the change to the remote
/// trusted collection.
#[derive(clap::Args)]
pub struct Remove {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// The target's name in the collection
    target: Option<String>,
    /// Delegation roles to remove this target from
    #[arg(short = 'r', long = "roles", value_delimiter = ',')]
    roles: Vec<String>,
    #[command(flatten)]
    publish: super::PublishFlag,
}

impl Remove {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let (Some(gun), Some(target)) = (&self.gun, &self.target) else {
            // Notary checks this without printing the usage.
            return Err(CliError::Args("Must specify a GUN and target".into()));
        };
        let gun = ctx.gun(gun)?;
        let cl = ctx.changelist(&gun)?;
        for scope in scopes(&self.roles)? {
            cl.add(&Change::remove_target(scope.as_deref(), target))?;
        }
        writeln!(
            out,
            "Removal of {target} from {gun} staged for next publish."
        )?;
        auto_publish(ctx, &gun, self.publish.publish, out)
    }
}
