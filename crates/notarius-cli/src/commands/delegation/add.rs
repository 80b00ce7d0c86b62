//! `notary delegation add <gun> <role> [cert or public key PEM]... [--paths p,...] [--all-paths] [-p]`.

use std::io::Write;
use std::path::PathBuf;

use notarius_client::changelist::{Change, TufDelegation};
use notarius_tuf::role;

use crate::commands::{auto_publish, pretty_paths};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Add a keys to delegation using the provided public key X509 certificates.
///
/// Adds keys (PEM X509 certificates or public keys, e.g. the PREFIX.pem of `key generate -o`)
/// and/or paths to a delegation role of the Globally Unique Name, creating the role if it is
/// new; the role's publisher can then sign those paths without the targets key. Offline; use
/// `publish` (or -p) to push it, signed with the targets key.
#[derive(clap::Args)]
pub struct Add {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// The delegation role, e.g. targets/releases
    role: Option<String>,
    /// Certificates or public keys (PEM files) of the role's signers
    keys: Vec<PathBuf>,
    /// List of paths to add
    #[arg(long = "paths", value_delimiter = ',', value_name = "PATH")]
    paths: Vec<String>,
    /// Add all paths to this delegation
    #[arg(long = "all-paths")]
    all_paths: bool,
    #[command(flatten)]
    publish: crate::commands::PublishFlag,
}

impl Add {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let (Some(gun), Some(role_name)) = (&self.gun, &self.role) else {
            return Err(CliError::Usage(NEEDS.into()));
        };
        if self.keys.is_empty() && self.paths.is_empty() && !self.all_paths {
            return Err(CliError::Usage(NEEDS.into()));
        }
        let gun = ctx.gun(gun)?;
        if !role::is_delegation(role_name) {
            return Err(CliError::fatal(format!(
                "failed to create delegation: tuf: invalid role {role_name}. invalid delegation role name"
            )));
        }
        let mut keys = Vec::new();
        for f in &self.keys {
            let bytes = std::fs::read(f).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => CliError::fatal(format!(
                    "file for public key does not exist: {}",
                    f.display()
                )),
                _ => CliError::fatal(format!(
                    "unable to read public key from file: {} ({e})",
                    f.display()
                )),
            })?;
            keys.push(
                notarius_crypto::keyfile::public_key_from_pem(&bytes, chrono::Utc::now()).map_err(
                    |e| {
                        CliError::fatal(format!(
                            "unable to parse valid public key certificate from PEM file {}: {e}",
                            f.display()
                        ))
                    },
                )?,
            );
        }
        let paths = if self.all_paths {
            vec![String::new()]
        } else {
            self.paths.clone()
        };
        let cl = ctx.changelist(&gun)?;
        let create = |edit| Change::Delegation {
            role: role_name.clone(),
            create: true,
            edit,
        };
        if !keys.is_empty() {
            cl.add(&create(TufDelegation {
                threshold: 1,
                add_keys: keys.clone(),
                ..Default::default()
            }))?;
        }
        if !paths.is_empty() {
            cl.add(&create(TufDelegation {
                add_paths: paths.clone(),
                ..Default::default()
            }))?;
        }
        let ids: Vec<&str> = keys.iter().map(|k| k.canonical_id()).collect();
        let mut items = String::new();
        if !ids.is_empty() {
            items.push_str(&format!("with keys [{}], ", ids.join(" ")));
        }
        if !paths.is_empty() {
            items.push_str(&format!(
                "with paths [{}], ",
                pretty_paths(&paths).join("\n")
            ));
        }
        write!(
            out,
            "\nAddition of delegation role {role_name} {items}to repository \"{gun}\" staged for next publish.\n\n"
        )?;
        auto_publish(ctx, &gun, self.publish.publish, out)
    }
}

const NEEDS: &str = "must specify the Global Unique Name and the role of the delegation along with the public key certificate paths and/or a list of paths to add";
