//! `notary key list`.

use std::io::Write;

use notarius_client::listing::{KeyRow, pretty_keys};

use crate::context::Context;
use crate::error::CmdResult;

/// Lists keys.
///
/// Lists all keys known to notary: their role, GUN, ID and where they are (the trust
/// directory's private/ folder, or a hardware token). Offline.
#[derive(clap::Args)]
pub struct List {}

impl List {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        // Every store's keys, as Notary lists them: a key on a hardware token appears again
        // under its file backup.
        let mut rows = Vec::new();
        for (location, keys) in ctx.crypto()?.list_by_store()? {
            rows.extend(keys.into_iter().map(|(id, i)| KeyRow {
                role: i.role,
                gun: i.gun,
                key_id: id,
                location: location.clone(),
            }));
        }
        write!(out, "\n{}\n", pretty_keys(rows))?;
        Ok(())
    }
}
