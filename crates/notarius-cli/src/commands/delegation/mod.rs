//! `notary delegation …`.

use std::io::{BufRead, Write};

use clap::Subcommand;

use crate::context::Context;
use crate::error::CmdResult;

mod add;
mod list;
mod purge;
mod remove;

/// The delegation commands.
#[derive(Subcommand)]
pub enum DelegationCmd {
    Add(add::Add),
    List(list::List),
    Remove(remove::Remove),
    Purge(purge::Purge),
}

impl DelegationCmd {
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        match self {
            DelegationCmd::Add(c) => c.run(ctx, out),
            DelegationCmd::List(c) => c.run(ctx, out),
            DelegationCmd::Remove(c) => c.run(ctx, input, out),
            DelegationCmd::Purge(c) => c.run(ctx, out),
        }
    }
}
