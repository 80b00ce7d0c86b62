//! `notary init <gun> [-p] [--rootkey <pem>] [--rootcert <pem>]`.

use std::io::Write;
use std::path::{Path, PathBuf};

use notarius_client::publish::{RootChoice, root_cert_key, root_key};
use notarius_client::remote::Permission;
use notarius_crypto::service::CryptoService;
use notarius_tuf::role;

use super::{auto_publish_with, go_read_error, required};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Initializes a local trusted collection.
///
/// Initializes a local trusted collection identified by the Globally Unique Name: makes sure a
/// root key exists (the first one found, else a new one; on a hardware token when one is
/// present) and keeps the choice for the first publish. Offline; with -p it publishes at once,
/// which makes the targets and snapshot keys here and asks the server for the timestamp key.
#[derive(clap::Args)]
pub struct Init {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// Root key to initialize the repository with (an encrypted PEM file)
    #[arg(long = "rootkey", value_name = "FILE")]
    rootkey: Option<PathBuf>,
    /// Root certificate must match root key if a root key is supplied, otherwise it must match a key present in keystore
    #[arg(long = "rootcert", value_name = "FILE")]
    rootcert: Option<PathBuf>,
    #[command(flatten)]
    publish: super::PublishFlag,
}

impl Init {
    /// The keys of a new repository are made at its first publish; `init` makes sure a root key
    /// exists. With `--rootkey` the (encrypted) key file is imported and becomes the root key;
    /// with `--rootcert` the certificate is listed for the root key in root.json (Notary's
    /// `importRootKey`, `importRootCert`, `InitializeWithCertificate`). Every check passes
    /// before anything is written.
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let gun = ctx.gun(required(&self.gun, "Must specify a GUN")?)?;
        let mut cs = ctx.crypto()?;
        let repo = ctx.repository(&gun, Permission::ReadWrite)?;
        if self.rootkey.is_none() && self.rootcert.is_none() {
            let had_root = cs.list_keys(role::ROOT)?.into_iter().next();
            let root = root_key(&mut cs)?;
            if had_root.is_some() {
                writeln!(out, "Root key found, using: {}", root.id())?;
            }
            // A plain init starts over with the first root key, as Notary's does.
            repo.set_root_choice(None)?;
        } else {
            let choice = choose_root(
                ctx,
                &mut cs,
                self.rootkey.as_deref(),
                self.rootcert.as_deref(),
                out,
            )?;
            repo.set_root_choice(Some(&choice))?;
        }
        if self.publish.publish {
            auto_publish_with(ctx, &gun, &mut cs, out)?;
        }
        Ok(())
    }
}

/// The checks of Notary's `tufInit` with `--rootkey`/`--rootcert`, in its order and with its
/// messages (including `Root key found, using: …` where Notary prints it); the root key is
/// imported only once all of them passed.
fn choose_root(
    ctx: &Context,
    cs: &mut CryptoService,
    root_key_file: Option<&Path>,
    root_cert_file: Option<&Path>,
    out: &mut dyn Write,
) -> Result<RootChoice, CliError> {
    let imported = match root_key_file {
        Some(f) => {
            let key = super::key::read_key_file(
                ctx,
                cs,
                f,
                role::ROOT,
                "Error reading input root key file",
            )?;
            writeln!(out, "Root key found, using: {}", key.id())?;
            Some(key)
        }
        None => {
            if let Some(first) = cs.list_keys(role::ROOT)?.into_iter().next() {
                writeln!(out, "Root key found, using: {first}")?;
            }
            None
        }
    };
    let cert = match root_cert_file {
        Some(f) => {
            let bytes = std::fs::read(f).map_err(|e| {
                CliError::fatal(format!(
                    "error reading certificate file: {}",
                    go_read_error(f, &e)
                ))
            })?;
            Some(root_cert_key(&bytes).map_err(CliError::Fatal)?)
        }
        None => None,
    };
    let key_id = match (&imported, &cert) {
        (Some(key), Some(cert)) => {
            if cert.canonical_id() != key.id() {
                return Err(CliError::fatal(
                    "could not obtain public key from IDs: private key is nil or does not match public key",
                ));
            }
            key.id().to_owned()
        }
        (Some(key), None) => key.id().to_owned(),
        (None, Some(cert)) => {
            let id = cert.canonical_id().to_owned();
            if !cs.list_keys(role::ROOT)?.contains(&id) {
                return Err(CliError::fatal(
                    "error initializing repository with certificate: cannot find matching private key id",
                ));
            }
            cs.signing_key(&id).map_err(|e| {
                CliError::fatal(format!(
                    "could not obtain public key from IDs: could not get the private key matching id {id}: {e}"
                ))
            })?;
            id
        }
        (None, None) => unreachable!("choose_root is called with a flag"),
    };
    if let Some(key) = &imported {
        cs.add_key(role::ROOT, "", key)
            .map_err(|e| CliError::fatal(format!("Error importing key: {e}")))?;
    }
    Ok(RootChoice {
        key_id,
        certificate: cert.map(|c| String::from_utf8_lossy(c.public()).into_owned()),
    })
}
