//! `notary status <gun>`.

use std::io::Write;

use notarius_client::listing::tabwrite;

use super::required;
use crate::context::Context;
use crate::error::CmdResult;

/// Displays status of unpublished changes to the local trusted collection.
///
/// Displays the unpublished changes staged for the local trusted collection identified by the
/// Globally Unique Name, numbered as `reset -n` takes them. Offline.
#[derive(clap::Args)]
pub struct Status {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
}

impl Status {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let gun = ctx.gun(required(&self.gun, "Must specify a GUN")?)?;
        let (changes, unreadable) = ctx.changelist(&gun)?.list()?;
        for u in unreadable {
            log::warn!("skipping a change file that does not parse: {u}");
        }
        if changes.is_empty() {
            writeln!(out, "No unpublished changes for {gun}")?;
            return Ok(());
        }
        write!(out, "Unpublished changes for {gun}:\n\n")?;
        let mut rows: Vec<Vec<String>> = vec![
            ["#", "ACTION", "SCOPE", "TYPE", "PATH"]
                .map(String::from)
                .to_vec(),
            ["-", "------", "-----", "----", "----"]
                .map(String::from)
                .to_vec(),
        ];
        for (i, c) in changes.iter().enumerate() {
            let c = &c.raw;
            rows.push(vec![
                i.to_string(),
                c.action().to_owned(),
                c.scope().to_owned(),
                c.change_type().to_owned(),
                c.path().to_owned(),
            ]);
        }
        write!(out, "{}", tabwrite(&rows))?;
        Ok(())
    }
}
