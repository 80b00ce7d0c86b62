//! `notary key …`.

use std::io::{BufRead, Write};
use std::path::Path;

use clap::Subcommand;
use notarius_crypto::private::PrivateKey;
use notarius_crypto::service::CryptoService;

use super::go_read_error;
use crate::context::Context;
use crate::error::{CliError, CmdResult};

mod export;
mod generate;
mod import;
mod list;
mod passwd;
mod remove;
mod rotate;

/// The key commands.
#[derive(Subcommand)]
pub enum KeyCmd {
    List(list::List),
    Generate(generate::Generate),
    Rotate(rotate::Rotate),
    Export(export::Export),
    Import(import::Import),
    Remove(remove::Remove),
    Passwd(passwd::Passwd),
}

impl KeyCmd {
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        match self {
            KeyCmd::List(c) => c.run(ctx, out),
            KeyCmd::Generate(c) => c.run(ctx, out),
            KeyCmd::Rotate(c) => c.run(ctx, input, out),
            KeyCmd::Export(c) => c.run(ctx, out),
            KeyCmd::Import(c) => c.run(ctx, out),
            KeyCmd::Remove(c) => c.run(ctx, input, out),
            KeyCmd::Passwd(c) => c.run(ctx, out),
        }
    }
}

/// Notary's `readKey` on a file (`what` names it in the error, Notary's words), and
/// `AddKey`'s refusal of a key the store holds for another role, checked without writing
/// anything.
pub fn read_key_file(
    ctx: &Context,
    cs: &CryptoService,
    file: &Path,
    role_name: &str,
    what: &str,
) -> Result<PrivateKey, CliError> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(file)
            .map_err(|e| CliError::fatal(format!("{what}: {}", go_read_error(file, &e))))?,
    );
    let key =
        notarius_crypto::keystore::read_key_to_import(&bytes, role_name, &mut ctx.passphrases())?;
    if let Some(info) = cs.get_key_info(key.id())
        && info.role != role_name
    {
        return Err(CliError::fatal(format!(
            "Error importing key: {}",
            notarius_crypto::keystore::KeyStoreError::ExistsForRole(info.role)
        )));
    }
    Ok(key)
}

/// Notary checks a key ID argument's length only; anything else then matches no key.
pub fn check_key_id(id: &str) -> CmdResult {
    if id.len() != 64 {
        return Err(CliError::fatal(format!("invalid key ID provided: {id}")));
    }
    Ok(())
}
