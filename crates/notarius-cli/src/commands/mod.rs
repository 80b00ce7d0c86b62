//! One file per command, each a clap `Args` struct with a `run`. What they share is here: the
//! command tree, the yes/no question, auto-publish, reading key files, writing output files.

use std::io::{BufRead, Write};
use std::path::Path;

use clap::Subcommand;
use notarius_client::remote::Permission;
use notarius_crypto::service::CryptoService;
use notarius_tuf::role::{self, Gun};

use crate::context::Context;
use crate::error::{CliError, CmdResult};

mod add;
mod addhash;
mod backup;
mod completion;
pub mod delegation;
mod delete;
mod init;
pub mod key;
mod list;
mod lookup;
mod publish;
mod remove;
mod reset;
mod restore;
mod status;
pub mod trust;
mod verify;
mod version;
mod witness;

/// The commands.
#[derive(Subcommand)]
pub enum Cmd {
    Init(init::Init),
    Add(add::Add),
    Addhash(addhash::Addhash),
    Remove(remove::Remove),
    List(list::List),
    Lookup(lookup::Lookup),
    Status(status::Status),
    Reset(reset::Reset),
    Publish(publish::Publish),
    Verify(verify::Verify),
    Witness(witness::Witness),
    Delete(delete::Delete),
    /// Operates on keys.
    ///
    /// Operations on private keys: list, generate, rotate, import, export, remove, and change
    /// the passphrase of the keys in the trust directory (and on a hardware token).
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// Operates on delegations.
    ///
    /// Operations on TUF delegations: other publishers' keys that may sign some or all
    /// targets without the repository's targets key.
    #[command(subcommand)]
    Delegation(delegation::DelegationCmd),
    /// Sign, inspect, revoke and verify image tags (docker trust, without an engine)
    ///
    /// The docker CLI's `docker trust` commands, with the same arguments, output and files
    /// ($DOCKER_CONFIG/trust; the trust server from DOCKER_CONTENT_TRUST_SERVER or the
    /// registry host, its CA in $DOCKER_CONFIG/tls/<host:port>/), resolving tags through the
    /// registry instead of a Docker engine; and `trust verify`, the check to run before a pull.
    #[command(subcommand)]
    Trust(trust::TrustCmd),
    Backup(backup::Backup),
    Restore(restore::Restore),
    Completion(completion::Completion),
    Version(version::Version),
}

impl Cmd {
    /// Runs the command; its output goes to `out` (Notary writes everything but logs to
    /// stdout), its questions are read from `input`.
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        match self {
            Cmd::Init(c) => c.run(ctx, out),
            Cmd::Add(c) => c.run(ctx, out),
            Cmd::Addhash(c) => c.run(ctx, out),
            Cmd::Remove(c) => c.run(ctx, out),
            Cmd::List(c) => c.run(ctx, out),
            Cmd::Lookup(c) => c.run(ctx, out),
            Cmd::Status(c) => c.run(ctx, out),
            Cmd::Reset(c) => c.run(ctx, out),
            Cmd::Publish(c) => c.run(ctx, out),
            Cmd::Verify(c) => c.run(ctx, out),
            Cmd::Witness(c) => c.run(ctx, out),
            Cmd::Delete(c) => c.run(ctx, out),
            Cmd::Key(c) => c.run(ctx, input, out),
            Cmd::Delegation(c) => c.run(ctx, input, out),
            Cmd::Trust(c) => c.run(ctx, input, out),
            Cmd::Backup(c) => c.run(ctx, out),
            Cmd::Restore(c) => c.run(ctx, out),
            Cmd::Completion(c) => c.run(out),
            Cmd::Version(c) => c.run(out),
        }
    }
}

/// `-p/--publish`, which the staging commands share: publish right after staging.
#[derive(clap::Args)]
pub struct PublishFlag {
    /// Push all staged changes to the remote trust server at once
    #[arg(short = 'p', long = "publish")]
    pub publish: bool,
}

/// Notary's argument check: a usage error unless `value` is there.
pub fn required<'a>(value: &'a Option<String>, message: &str) -> Result<&'a str, CliError> {
    value
        .as_deref()
        .ok_or_else(|| CliError::Usage(message.to_owned()))
}

/// Go's `fmt.Fscanln` into one string, then `y`/`yes` in any case (Notary's `askConfirm`).
pub fn ask_confirm(input: &mut dyn BufRead) -> bool {
    let mut line = String::new();
    if input.read_line(&mut line).unwrap_or(0) == 0 {
        return false;
    }
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some(w), None) => w.eq_ignore_ascii_case("y") || w.eq_ignore_ascii_case("yes"),
        _ => false,
    }
}

/// Notary's `maybeAutoPublish` (`-p`): publishes right after staging, with its messages.
pub fn auto_publish(ctx: &Context, gun: &Gun, publish: bool, out: &mut dyn Write) -> CmdResult {
    if publish {
        auto_publish_with(ctx, gun, &mut ctx.crypto()?, out)?;
    }
    Ok(())
}

/// As [`auto_publish`], with the key service the command already opened (its passphrases
/// are not asked again).
pub fn auto_publish_with(
    ctx: &Context,
    gun: &Gun,
    cs: &mut CryptoService,
    out: &mut dyn Write,
) -> CmdResult {
    writeln!(out, "Auto-publishing changes to {gun}")?;
    publish_now(ctx, gun, cs)?;
    writeln!(out, "Successfully published changes for repository {gun}")?;
    Ok(())
}

/// Publishes the staged changes of `gun`, printing the library's warnings on stderr.
pub fn publish_now(ctx: &Context, gun: &Gun, cs: &mut CryptoService) -> CmdResult {
    let mut repo = ctx.repository(gun, Permission::ReadWrite)?;
    let published = repo.publish(cs, chrono::Utc::now())?;
    warn_all(&published.warnings);
    log::info!("published {} staged change(s)", published.applied);
    Ok(())
}

/// The library's warnings, on stderr.
pub fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("{w}");
    }
}

/// Validates `-r/--roles` (targets roles only) into change scopes; none means `targets`.
pub fn scopes(roles: &[String]) -> Result<Vec<Option<String>>, CliError> {
    if roles.is_empty() {
        return Ok(vec![None]);
    }
    roles
        .iter()
        .map(|r| {
            if r == role::TARGETS || role::is_delegation(r) || role::is_wild_delegation(r) {
                Ok(Some(r.clone()))
            } else {
                Err(CliError::fatal(format!(
                    "tuf: invalid role {r}. cannot add targets to this role"
                )))
            }
        })
        .collect()
}

/// `--custom <file>`: the JSON a target carries beyond its hashes, as written (it must be JSON).
pub fn read_custom(path: Option<&Path>) -> Result<Option<Vec<u8>>, CliError> {
    let Some(p) = path else {
        return Ok(None);
    };
    let bytes = std::fs::read(p).map_err(|e| CliError::fatal(go_read_error(p, &e)))?;
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
        .map_err(|e| CliError::fatal(format!("{}: not JSON: {e}", p.display())))?;
    Ok(Some(bytes))
}

/// The change adding target `name` with `meta` (and `--custom` data) to `scope`.
pub fn add_change(
    scope: Option<&str>,
    name: &str,
    meta: &notarius_tuf::metadata::FileMeta,
    custom: Option<&[u8]>,
) -> Result<notarius_client::changelist::Change, CliError> {
    use notarius_client::changelist::Change;
    match custom {
        Some(raw) => Change::add_target_with_custom(scope, name, meta.clone(), raw)
            .map_err(|e| CliError::fatal(format!("custom data: {e}"))),
        None => Ok(Change::add_target(scope, name, meta.clone())),
    }
}

/// Stages target `name` (`meta`, `--custom` data) into each of `roles` (`targets` when none),
/// one change per role, as Notary's `AddTarget` does.
pub fn stage_target(
    ctx: &Context,
    gun: &Gun,
    roles: &[String],
    name: &str,
    meta: &notarius_tuf::metadata::FileMeta,
    custom: Option<&[u8]>,
) -> CmdResult {
    let scopes = scopes(roles)?;
    let cl = ctx.changelist(gun)?;
    for scope in &scopes {
        cl.add(&add_change(scope.as_deref(), name, meta, custom)?)?;
    }
    Ok(())
}

/// Go's message for a file `os.ReadFile` could not read.
pub fn go_read_error(p: &Path, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => format!("open {}: no such file or directory", p.display()),
        ErrorKind::PermissionDenied => format!("open {}: permission denied", p.display()),
        ErrorKind::IsADirectory => format!("read {}: is a directory", p.display()),
        _ => format!("open {}: {e}", p.display()),
    }
}

/// Writes a file the user named (an export, a generated key, a verified payload): mode
/// 0600, atomically, into a folder that must exist and is left as it is. A bare name is a
/// file in the current directory.
pub fn write_output(p: &Path, bytes: &[u8]) -> CmdResult {
    notarius_client::fsutil::write_user_file(p, bytes).map_err(|e| {
        CliError::fatal(format!(
            "open {}: {}",
            p.display(),
            lower_first(&e.to_string())
        ))
    })
}

/// Go writes error texts in lower case.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Notary's sorted paths, with `""` shown as all paths.
pub fn pretty_paths(paths: &[String]) -> Vec<String> {
    let mut p = paths.to_vec();
    p.sort();
    p.into_iter()
        .map(|s| {
            if s.is_empty() {
                "\"\" <all paths>".to_owned()
            } else {
                s
            }
        })
        .collect()
}
