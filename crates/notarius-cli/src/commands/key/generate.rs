//! `notary key generate [ecdsa] [-r role] [-o prefix]`.

use std::io::Write;
use std::path::PathBuf;

use notarius_crypto::passphrase::PassphraseRetriever as _;
use notarius_crypto::private::{Algorithm, PrivateKey};

use crate::commands::write_output;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Generates a new key with a given algorithm.
///
/// Generates a new key with a given algorithm (ECDSA, the only one notary allows). Without -o
/// it goes into the key store (a hardware token for a root key when one is present); with -o
/// PREFIX it is written, encrypted, to PREFIX-key.pem and its public key to PREFIX.pem, e.g.
/// to give a delegation's public key to a repository owner (PREFIX-key.pem carries a `path`
/// header, so `key import` files it). Offline.
#[derive(clap::Args)]
pub struct Generate {
    /// ecdsa
    algorithm: Option<String>,
    /// Role to generate key with, defaulting to "root".
    #[arg(
        short = 'r',
        long = "role",
        default_value = "root",
        value_name = "ROLE"
    )]
    role: String,
    /// Filepath to write export output to
    #[arg(short = 'o', long = "output", value_name = "PREFIX")]
    output: Option<PathBuf>,
}

impl Generate {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let algorithm = self.algorithm.as_deref().unwrap_or("ecdsa");
        if !algorithm.eq_ignore_ascii_case("ecdsa") {
            return Err(CliError::fatal(
                "Algorithm not allowed, possible values are: ECDSA",
            ));
        }
        let role_name = &self.role;
        let id = match &self.output {
            None => {
                let mut cs = ctx.crypto()?;
                let pk = cs.create(role_name, "", Algorithm::Ecdsa).map_err(|e| {
                    CliError::fatal(format!("Failed to create a new {role_name} key: {e}"))
                })?;
                pk.id().to_owned()
            }
            Some(prefix) => {
                let key = PrivateKey::generate(Algorithm::Ecdsa)
                    .map_err(|e| CliError::fatal(e.to_string()))?;
                let pass = ctx
                    .passphrases()
                    .passphrase(key.id(), role_name, true, 0)
                    .map_err(|e| CliError::fatal(e.to_string()))?;
                // Beyond Notary: a `path` header naming the key, so that `key import` (ours and
                // notary's) can file it; an encrypted key without one cannot be imported.
                let pem = notarius_crypto::keyfile::encode_key_file(&key, role_name, "", &pass);
                let (mut block, _) = notarius_crypto::gopem::decode(pem.as_bytes())
                    .ok_or_else(|| CliError::fatal("the new key could not be encoded"))?;
                block.headers.insert("path".into(), key.id().to_owned());
                let pem = zeroize::Zeroizing::new(block.encode());
                let key_path = PathBuf::from(format!("{}-key.pem", prefix.display()));
                let pub_path = PathBuf::from(format!("{}.pem", prefix.display()));
                let public = notarius_crypto::keyfile::go_pem_encode(
                    "PUBLIC KEY",
                    &[("role", role_name)],
                    key.public_key().public(),
                );
                write_output(&key_path, pem.as_bytes())?;
                write_output(&pub_path, public.as_bytes())?;
                key.id().to_owned()
            }
        };
        writeln!(out, "Generated new ecdsa {role_name} key with keyID: {id}")?;
        Ok(())
    }
}
