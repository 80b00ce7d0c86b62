//! `notary delegation remove <gun> <role> [keyID]... [--paths p,...] [--all-paths] [-y] [-p]`.

use std::io::{BufRead, Write};

use notarius_client::changelist::{Change, TufDelegation};
use notarius_tuf::role;

use crate::commands::{ask_confirm, auto_publish, pretty_paths};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Remove KeyID(s) from the specified Role delegation.
///
/// Removes keys (by ID) and/or paths from a delegation role of the Globally Unique Name; with
/// neither, the whole role goes, after a yes/no question (or -y). Offline; use `publish` (or
/// -p) to push it.
#[derive(clap::Args)]
pub struct Remove {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// The delegation role, e.g. targets/releases
    role: Option<String>,
    /// The key IDs to remove from the role
    key_ids: Vec<String>,
    /// List of paths to remove
    #[arg(long = "paths", value_delimiter = ',', value_name = "PATH")]
    paths: Option<Vec<String>>,
    /// Remove all paths from this delegation
    #[arg(long = "all-paths")]
    all_paths: bool,
    /// Answer yes to the removal question (no confirmation)
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[command(flatten)]
    publish: crate::commands::PublishFlag,
}

impl Remove {
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        let (Some(gun), Some(role_name)) = (&self.gun, &self.role) else {
            return Err(CliError::Usage(
                "must specify the Global Unique Name and the role of the delegation along with optional keyIDs and/or a list of paths to remove".into(),
            ));
        };
        let gun = ctx.gun(gun)?;
        if !role::is_delegation(role_name) {
            return Err(CliError::fatal(format!(
                "invalid delegation name {role_name}"
            )));
        }
        let remove_all = self.key_ids.is_empty() && self.paths.is_none() && !self.all_paths;
        // --all-paths wins over --paths.
        let paths = if self.all_paths {
            None
        } else {
            self.paths.as_deref()
        };
        let cl = ctx.changelist(&gun)?;
        let update = |edit| Change::Delegation {
            role: role_name.clone(),
            create: false,
            edit,
        };
        if remove_all {
            writeln!(
                out,
                "\nAre you sure you want to remove all data for this delegation? (yes/no)"
            )?;
            if self.yes {
                writeln!(out, "Confirmed `yes` from flag")?;
            } else {
                out.flush()?;
                if !ask_confirm(input) {
                    return Err(CliError::Bare("Aborting action.".into()));
                }
            }
            cl.add(&Change::DeleteDelegation {
                role: role_name.clone(),
            })?;
        } else {
            if self.all_paths {
                cl.add(&update(TufDelegation {
                    clear_paths: true,
                    ..Default::default()
                }))?;
            }
            if let Some(p) = paths.filter(|p| !p.is_empty()) {
                cl.add(&update(TufDelegation {
                    remove_paths: p.to_vec(),
                    ..Default::default()
                }))?;
            }
            if !self.key_ids.is_empty() {
                cl.add(&update(TufDelegation {
                    remove_keys: self.key_ids.clone(),
                    ..Default::default()
                }))?;
            }
        }
        writeln!(out)?;
        if remove_all {
            writeln!(
                out,
                "Forced removal (including all keys and paths) of delegation role {role_name} to repository \"{gun}\" staged for next publish."
            )?;
        } else {
            let mut items = String::new();
            if !self.key_ids.is_empty() {
                items.push_str(&format!("with keys [{}], ", self.key_ids.join(" ")));
            }
            if self.all_paths {
                items.push_str("with all paths, ");
            }
            if let Some(p) = paths {
                items.push_str(&format!("with paths [{}], ", pretty_paths(p).join("\n")));
            }
            writeln!(
                out,
                "Removal of delegation role {role_name} {items}to repository \"{gun}\" staged for next publish."
            )?;
        }
        writeln!(out)?;
        auto_publish(ctx, &gun, self.publish.publish, out)
    }
}
