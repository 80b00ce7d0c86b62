//! `notary delegation purge <gun> --key <id>,... [-p]`.

use std::io::Write;

use notarius_client::changelist::Change;

use crate::commands::auto_publish;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Remove KeyID(s) from all delegation roles in the given GUN.
///
/// Remove KeyID(s) from all delegation roles in the given GUN, for which the signing keys are
/// available. Warnings will be printed for delegations that cannot be updated. Offline; use
/// `publish` (or -p) to push it.
#[derive(clap::Args)]
pub struct Purge {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// Delegation key IDs to be removed from the GUN
    #[arg(long = "key", value_delimiter = ',', value_name = "ID")]
    keys: Vec<String>,
    #[command(flatten)]
    publish: crate::commands::PublishFlag,
}

impl Purge {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let Some(gun) = &self.gun else {
            return Err(CliError::Usage(
                "Please provide a single Global Unique Name as an argument to remove".into(),
            ));
        };
        if self.keys.is_empty() {
            return Err(CliError::Usage(
                "Please provide at least one key ID to be removed using the --key flag".into(),
            ));
        }
        let gun = ctx.gun(gun)?;
        ctx.changelist(&gun)?.add(&Change::PurgeKeys {
            scope: "targets/*".into(),
            key_ids: self.keys.clone(),
        })?;
        write!(
            out,
            "Removal of the following keys from all delegations in {gun} staged for next publish:\n\t- {}\n",
            self.keys.join("\n\t- ")
        )?;
        auto_publish(ctx, &gun, self.publish.publish, out)
    }
}
