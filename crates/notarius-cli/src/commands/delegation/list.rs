//! `notary delegation list <gun>`.

use std::io::Write;

use notarius_client::listing::tabwrite;
use notarius_client::remote::Permission;

use crate::commands::{pretty_paths, warn_all};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Lists delegations for the Global Unique Name.
///
/// Lists all delegations known to notary for a specific Global Unique Name: each role, its
/// paths, its keys (canonical IDs, as `key list` shows them) and threshold. Online, verified
/// as `list` is.
#[derive(clap::Args)]
pub struct List {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
}

impl List {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let Some(gun) = &self.gun else {
            return Err(CliError::Usage(
                "Please provide a Global Unique Name as an argument to list".into(),
            ));
        };
        let gun = ctx.gun(gun)?;
        let read = ctx
            .repository(&gun, Permission::ReadOnly)?
            .read(chrono::Utc::now())?;
        warn_all(&read.warnings);
        let mut roles: Vec<(String, Vec<String>, Vec<String>, i64)> = Vec::new();
        read.repo.walk_targets("", "", &[], |t, _| {
            for d in &t.signed.delegations.roles {
                let ids = d
                    .keyids
                    .iter()
                    .map(|id| {
                        t.signed
                            .delegations
                            .keys
                            .get(id)
                            .map(|k| k.canonical_id().to_owned())
                            .unwrap_or_else(|| id.clone())
                    })
                    .collect();
                roles.push((d.name.clone(), d.paths.clone(), ids, d.threshold));
            }
            Ok(notarius_tuf::repo::Walk::Continue)
        })?;
        if roles.is_empty() {
            write!(out, "\n\nNo delegations present in this repository.\n\n\n")?;
            return Ok(());
        }
        roles.sort_by(|a, b| a.0.cmp(&b.0));
        let mut rows: Vec<Vec<String>> = vec![
            ["ROLE", "PATHS", "KEY IDS", "THRESHOLD"]
                .map(String::from)
                .to_vec(),
            ["----", "-----", "-------", "---------"]
                .map(String::from)
                .to_vec(),
        ];
        for (name, paths, ids, threshold) in roles {
            let pp = pretty_paths(&paths);
            rows.push(vec![
                name,
                pp.first().cloned().unwrap_or_default(),
                ids.first().cloned().unwrap_or_default(),
                threshold.to_string(),
            ]);
            for i in 1..pp.len().max(ids.len()) {
                rows.push(vec![
                    String::new(),
                    pp.get(i).cloned().unwrap_or_default(),
                    ids.get(i).cloned().unwrap_or_default(),
                    String::new(),
                ]);
            }
        }
        write!(out, "\n{}\n", tabwrite(&rows))?;
        Ok(())
    }
}
