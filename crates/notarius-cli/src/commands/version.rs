//! `notary version`.

use std::io::Write;

use crate::error::CmdResult;

/// Print the version number of notarius
#[derive(clap::Args)]
pub struct Version {}

impl Version {
    pub fn run(self, out: &mut dyn Write) -> CmdResult {
        writeln!(
            out,
            "notarius\n Version:    {}\n Git commit: \n Go version: none (Rust)",
            env!("CARGO_PKG_VERSION")
        )?;
        Ok(())
    }
}
