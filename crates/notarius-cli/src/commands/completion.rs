//! `notarius completion <shell>` and `notarius completion man <dir>` (beyond Notary): shell
//! completions and man pages, generated from the same clap tree the commands parse with.

use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory as _;

use crate::error::{CliError, CmdResult};

/// Prints shell completions, or writes man pages (beyond notary)
///
/// `notarius completion bash > /etc/bash_completion.d/notarius` (also zsh, fish, elvish,
/// powershell); `notarius completion man DIR` writes notarius.1 and a page per command there.
#[derive(clap::Args)]
pub struct Completion {
    /// bash, zsh, fish, elvish, powershell, or man
    shell: Option<String>,
    /// For `man`: the folder to write the pages into
    dir: Option<PathBuf>,
}

impl Completion {
    pub fn run(self, out: &mut dyn Write) -> CmdResult {
        let Some(shell) = self.shell.as_deref() else {
            return Err(CliError::Usage(
                "Must specify a shell (bash, zsh, fish, elvish, powershell) or man".into(),
            ));
        };
        let mut cmd = crate::Cli::command();
        let bin = crate::bin_name();
        if shell == "man" {
            let Some(dir) = &self.dir else {
                return Err(CliError::Usage(
                    "Must specify the folder for the man pages".into(),
                ));
            };
            if !dir.is_dir() {
                return Err(CliError::fatal(format!(
                    "the folder {} does not exist",
                    dir.display()
                )));
            }
            cmd = cmd.name(bin.clone()).bin_name(bin);
            let n = write_man_pages(&cmd, dir, "")?;
            writeln!(out, "Wrote {n} man pages to {}", dir.display())?;
            return Ok(());
        }
        let sh: clap_complete::Shell = shell.parse().map_err(|_| {
            CliError::fatal(format!(
                "unknown shell {shell:?}: bash, zsh, fish, elvish or powershell"
            ))
        })?;
        clap_complete::generate(sh, &mut cmd, bin, out);
        Ok(())
    }
}

/// Writes the page of `cmd` and of each subcommand (`notarius-key-rotate.1`).
fn write_man_pages(
    cmd: &clap::Command,
    dir: &std::path::Path,
    prefix: &str,
) -> Result<usize, CliError> {
    let name = if prefix.is_empty() {
        cmd.get_name().to_owned()
    } else {
        format!("{prefix}-{}", cmd.get_name())
    };
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.clone()))
        .render(&mut page)
        .map_err(CliError::Io)?;
    super::write_output(&dir.join(format!("{name}.1")), &page)?;
    let mut n = 1;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        n += write_man_pages(sub, dir, &name)?;
    }
    Ok(n)
}
