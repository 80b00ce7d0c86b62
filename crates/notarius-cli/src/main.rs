//! `notarius`: a drop-in for Notary 0.7's `notary` CLI. This file parses the arguments and
//! reports the outcome; each command is a file under `commands/`.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser};

mod commands;
mod config;
mod context;
mod error;
mod logging;
mod passphrase;
mod progress;
mod usage;

use commands::Cmd;
use context::{Context, Globals};

/// mimalloc instead of glibc's malloc: reading a large targets file builds and frees hundreds
/// of thousands of small objects, and glibc's allocator was over a third of a cold `list` of
/// 10,000 targets (perf; docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const AFTER_HELP: &str = "\
Passphrases come from NOTARY_ROOT_PASSPHRASE, NOTARY_TARGETS_PASSPHRASE,
NOTARY_SNAPSHOT_PASSPHRASE and NOTARY_DELEGATION_PASSPHRASE (or Docker's
DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE and DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE), then
from NOTARIUS_PASSPHRASE_COMMAND (a command, e.g. 'pass show notary/$NOTARIUS_KEY_ALIAS') or
NOTARIUS_PASSPHRASE_FD (a file descriptor with alias=passphrase lines), then the terminal.
NOTARY_AUTH (base64 of user:password) logs in to a trust server that asks for a token.
Settings come from ~/.notary/config.json (-c): trust_dir, remote_server.url, .root_ca,
.tls_client_cert, .tls_client_key, trust_pinning.";

/// Notary allows the creation of trusted collections.
///
/// Notary allows the creation and management of collections of signed targets, allowing the
/// signing and validation of arbitrary content. notarius is a drop-in for Notary 0.7's
/// notary: the same commands, flags, files and output.
#[derive(Parser)]
#[command(
    name = "notarius",
    disable_version_flag = true,
    after_help = AFTER_HELP,
    arg_required_else_help = false
)]
pub struct Cli {
    #[command(flatten)]
    globals: Globals,
    /// Print the version number of notary
    #[arg(long = "version")]
    version: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

/// The name the program was run under (`notary` when installed as a drop-in symlink).
pub fn bin_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "notarius".to_owned())
}

/// The subcommand names at the start of `args` (after the program name), as far as they
/// name commands of the tree: the command a usage error is about.
fn command_path(root: &clap::Command, args: &[String]) -> Vec<String> {
    let mut path = Vec::new();
    let mut cmd = root;
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        if a.starts_with('-') {
            // A global flag's value follows it, unless given with `=`.
            let takes_value = root.get_arguments().any(|g| {
                g.get_action().takes_values()
                    && (a
                        .strip_prefix("--")
                        .is_some_and(|l| Some(l) == g.get_long())
                        || (a.len() == 2 && a[1..].chars().next() == g.get_short()))
            });
            if takes_value {
                rest.next();
            }
            continue;
        }
        match cmd.find_subcommand(a) {
            Some(sub) => {
                path.push(sub.get_name().to_owned());
                cmd = sub;
            }
            None => break,
        }
    }
    path
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let bin = bin_name();
    let root = Cli::command().name(bin.clone()).bin_name(bin.clone());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let matches = match root.clone().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(
                e.kind(),
                K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = write!(out, "{}", e.render());
                return ExitCode::SUCCESS;
            }
            let (message, with_usage) = usage::clap_error_message(&e, &bin, &root, &args);
            let path = command_path(&root, &args);
            let text = if with_usage && !path.is_empty() {
                usage::usage(&root, &bin, &path)
            } else {
                String::new()
            };
            let _ = write!(out, "{text}\n* fatal: {message}\n");
            return ExitCode::FAILURE;
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = write!(out, "\n* fatal: {e}\n");
            return ExitCode::FAILURE;
        }
    };
    logging::init(cli.globals.debug, cli.globals.verbose);
    if cli.version {
        let _ = writeln!(
            out,
            "{bin} Version: {}, Git commit: , Go version: none (Rust)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    let Some(cmd) = cli.cmd else {
        let _ = write!(out, "{}", root.clone().render_help());
        return ExitCode::SUCCESS;
    };
    let path = command_path(&root, &args);
    let ctx = Context::new(cli.globals);
    // Not locked for the whole command: `add --from-file -` reads standard input itself.
    let mut input = std::io::BufReader::new(std::io::stdin());
    match cmd.run(&ctx, &mut input, &mut out) {
        Ok(()) => {
            let _ = out.flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            let text = usage::usage(&root, &bin, &path);
            error::report(&e, Some(&text), &mut out);
            ExitCode::FAILURE
        }
    }
}
