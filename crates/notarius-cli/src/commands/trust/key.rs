//! `notarius trust key generate NAME [--dir DIR]` and `trust key load [--name NAME] FILE`.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use notarius_client::trust::sign::check_signer_name;
use notarius_crypto::keystore::FileKeyStore;
use notarius_crypto::private::{Algorithm, PrivateKey};

use super::{TrustTarget, docker_error};
use crate::context::Context;
use crate::error::CmdResult;

/// The key commands.
#[derive(Subcommand)]
pub enum KeyCmd {
    Generate(Generate),
    Load(Load),
}

impl KeyCmd {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        match self {
            KeyCmd::Generate(c) => c.run(ctx, out),
            KeyCmd::Load(c) => c.run(ctx, out),
        }
    }
}

/// Generate and load a signing key-pair
///
/// Makes a signing key named NAME in the trust directory (encrypted with a passphrase) and
/// writes its public key to NAME.pub, to give to a repository's owner (`trust signer add`).
/// Offline.
#[derive(clap::Args)]
pub struct Generate {
    /// The key's (and signer's) name
    name: String,
    /// Directory to generate key in, defaults to current directory
    #[arg(long = "dir", value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl Generate {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        check_signer_name(&self.name, "key").map_err(docker_error)?;
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => std::env::current_dir()?,
        };
        if !dir.exists() {
            return Err(docker_error(format!(
                "public key path does not exist: \"{}\"",
                dir.display()
            )));
        }
        let pub_path = dir.join(format!("{}.pub", self.name));
        if pub_path.exists() {
            return Err(docker_error(format!(
                "public key file already exists: \"{}\"",
                pub_path.display()
            )));
        }
        writeln!(out, "Generating key for {}...", self.name)?;
        let key = PrivateKey::generate(Algorithm::Ecdsa)
            .map_err(|e| docker_error(format!("failed to generate key for {}: {e}", self.name)))?;
        let ks = FileKeyStore::open(&TrustTarget::trust_dir(ctx))?;
        ks.add(&key, &self.name, "", &mut ctx.passphrases())
            .map_err(|e| docker_error(format!("failed to generate key for {}: {e}", self.name)))?;
        let public = notarius_crypto::keyfile::go_pem_encode(
            "PUBLIC KEY",
            &[("role", &self.name)],
            key.public_key().public(),
        );
        crate::commands::write_output(&pub_path, public.as_bytes())?;
        writeln!(
            out,
            "Successfully generated and loaded private key. Corresponding public key available: {}",
            pub_path.display()
        )?;
        Ok(())
    }
}

/// Load a private key file for signing
///
/// Imports a private key (PEM: PKCS#8 or EC/RSA, encrypted or not; an encrypted one is
/// decrypted with its passphrase first) into the trust directory under NAME, encrypted with a
/// passphrase. The file must not be readable by others. Offline.
#[derive(clap::Args)]
pub struct Load {
    /// The private key file
    file: PathBuf,
    /// Name for the loaded key
    #[arg(long = "name", default_value = "signer", value_name = "NAME")]
    name: String,
}

impl Load {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        use std::os::unix::fs::PermissionsExt as _;
        check_signer_name(&self.name, "key").map_err(docker_error)?;
        let path = &self.file;
        writeln!(out, "Loading key from \"{}\"...", path.display())?;
        let refuse =
            |e: String| docker_error(format!("refusing to load key from {}: {e}", path.display()));
        let meta = std::fs::metadata(path).map_err(|e| refuse(e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(refuse(format!(
                "private key file {} must not be readable or writable by others",
                path.display()
            )));
        }
        let bytes = zeroize::Zeroizing::new(
            notarius_client::fsutil::read_private(path, 1 << 20)
                .map_err(|e| refuse(e.to_string()))?,
        );
        let importing =
            |e: String| docker_error(format!("error importing key from {}: {e}", path.display()));
        let mut pass = ctx.passphrases();
        // Any private key PEM; an encrypted one is opened with its passphrase (Docker asks
        // under the alias "encrypted").
        let key = notarius_crypto::keystore::read_key_file_as(&bytes, &self.name, "encrypted", &mut pass)
            .map_err(|e| {
                importing(format!(
                    "provided file {} is not a supported private key - to add a signer's public key use docker trust signer add ({e})",
                    path.display()
                ))
            })?;
        let ks = FileKeyStore::open(&TrustTarget::trust_dir(ctx))?;
        ks.add(&key, &self.name, "", &mut pass)
            .map_err(|e| importing(e.to_string()))?;
        writeln!(out, "Successfully imported key from {}", path.display())?;
        Ok(())
    }
}
