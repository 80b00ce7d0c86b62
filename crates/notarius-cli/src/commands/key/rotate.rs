//! `notary key rotate <gun> <role> [-r] [-k <pem>,...] [-l <n>]`.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use notarius_client::publish::{Rotation, check_rotation};
use notarius_client::remote::Permission;
use notarius_tuf::role;

use super::read_key_file;
use crate::commands::{ask_confirm, warn_all};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Rotate a signing (non-root) key of the given type for the given Globally Unique Name and role.
///
/// Generates a new key for the given Globally Unique Name and role (one of "snapshot",
/// "targets", "root", or "timestamp"). If rotating to a server-managed key, a new key is
/// requested from the server rather than generated. If the generation or key request is
/// successful, the key rotation is immediately published. No other changes, even if they are
/// staged, will be published. Online; a repository that so far exists only in the trust
/// directory is published with the rotation.
#[derive(clap::Args)]
pub struct Rotate {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// root, targets, snapshot or timestamp
    role: Option<String>,
    /// Signing and key management will be handled by the remote server (no key will be generated or stored locally). Required for timestamp role, optional for snapshot role
    #[arg(short = 'r', long = "server-managed")]
    server_managed: bool,
    /// New key(s) to rotate to. If not specified, one will be generated.
    #[arg(short = 'k', long = "key", value_delimiter = ',', value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// Number of old version's root roles to sign with to support old clients
    #[arg(
        short = 'l',
        long = "legacy",
        default_value_t = 0,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    legacy: i64,
}

impl Rotate {
    /// Key files are read (Notary's `readKey`) before the question and put into the key store
    /// only after it and the role checks, and taken out again if the rotation fails.
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        let (Some(gun), Some(role_name)) = (&self.gun, &self.role) else {
            return Err(CliError::Usage(
                "Must specify a GUN and a key role to rotate".into(),
            ));
        };
        let gun = ctx.gun(gun)?;
        let mut cs = ctx.crypto()?;
        let mut keys = Vec::new();
        for f in &self.keys {
            keys.push(read_key_file(
                ctx,
                &cs,
                f,
                role_name,
                "Error reading input root key file",
            )?);
        }
        if role_name == role::ROOT {
            write!(
                out,
                "Warning: you are about to rotate your root key.\n\nYou must use your old key to sign this root rotation.\nAre you sure you want to proceed?  (yes/no)  "
            )?;
            out.flush()?;
            if !ask_confirm(input) {
                writeln!(out, "\nAborting action.")?;
                return Ok(());
            }
        }
        check_rotation(role_name, self.server_managed)?;
        let mut added: Vec<String> = Vec::new();
        for k in &keys {
            if cs.get_key_info(k.id()).is_some() || added.iter().any(|a| a == k.id()) {
                continue;
            }
            if let Err(e) = cs.add_key(role_name, gun.as_str(), k) {
                for id in &added {
                    let _ = cs.remove_key(id);
                }
                return Err(CliError::fatal(format!("Error importing key: {e}")));
            }
            added.push(k.id().to_owned());
        }
        let rotation = Rotation {
            role: role_name.clone(),
            server_managed: self.server_managed,
            new_keys: keys,
            legacy_versions: self.legacy,
        };
        let mut repo = ctx.repository(&gun, Permission::Admin)?;
        match repo.rotate_key(&mut cs, &rotation, chrono::Utc::now()) {
            Ok(warnings) => warn_all(&warnings),
            Err(e) => {
                for id in &added {
                    let _ = cs.remove_key(id);
                }
                return Err(e.into());
            }
        }
        writeln!(
            out,
            "Successfully rotated {role_name} key for repository {gun}"
        )?;
        Ok(())
    }
}
