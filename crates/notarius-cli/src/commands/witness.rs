//! `notary witness <gun> <role>... [-p]`.

use std::io::Write;

use notarius_client::changelist::Change;
use notarius_tuf::role;

use super::auto_publish;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Marks roles to be re-signed the next time they're published
///
/// Marks roles to be re-signed the next time they're published: a new version and expiry for
/// each, and a delegation that no longer verifies (expired, say) taken back if its keys can
/// still sign it. Offline; use `publish` (or -p) to push it.
#[derive(clap::Args)]
pub struct Witness {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// The roles to re-sign (targets or delegations)
    roles: Vec<String>,
    #[command(flatten)]
    publish: super::PublishFlag,
}

impl Witness {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let Some(gun) = self.gun.as_deref().filter(|_| !self.roles.is_empty()) else {
            return Err(CliError::Usage(
                "Please provide a GUN and at least one role to witness".into(),
            ));
        };
        let gun = ctx.gun(gun)?;
        let cl = ctx.changelist(&gun)?;
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for r in &self.roles {
            if r == role::TARGETS || role::is_delegation(r) {
                cl.add(&Change::Witness { role: r.clone() })?;
                ok.push(r.as_str());
            } else {
                failed.push(r.as_str());
            }
        }
        if !failed.is_empty() {
            write!(
                out,
                "Some roles have failed to be marked for witnessing: tuf: invalid role {}. only targets roles can be witnessed",
                failed.join(", ")
            )?;
        }
        write!(
            out,
            "The following roles were successfully marked for witnessing on the next publish:\n\t- {}\n",
            ok.join("\n\t- ")
        )?;
        auto_publish(ctx, &gun, self.publish.publish, out)
    }
}
