//! `notarius trust signer add --key PUB... NAME REPO...` and `trust signer remove [-f] NAME
//! REPO...`.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Subcommand;
use notarius_client::changelist::{Change, TufDelegation};
use notarius_client::remote::Permission;
use notarius_client::trust::sign::{check_signer_name, signer_changes};
use notarius_client::trust::view::{self, RELEASES_ROLE};

use super::{TrustTarget, crypto, docker_error, notary_error};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// The signer commands.
#[derive(Subcommand)]
pub enum SignerCmd {
    Add(Add),
    Remove(Remove),
}

impl SignerCmd {
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        match self {
            SignerCmd::Add(c) => c.run(ctx, out),
            SignerCmd::Remove(c) => c.run(ctx, input, out),
        }
    }
}

/// Add a signer
///
/// Adds NAME, with its public key(s), as a signer of each repository: a delegation
/// targets/NAME for all tags, its keys also put into targets/releases. A repository without
/// trust data is created first (root and targets keys here, snapshot and timestamp on the
/// trust server). Online.
#[derive(clap::Args)]
pub struct Add {
    /// Path to the signer's public key file
    #[arg(long = "key", value_name = "PUB", required = true)]
    keys: Vec<PathBuf>,
    /// The signer's name
    name: String,
    /// The repositories (image names; a tag is ignored)
    #[arg(required = true)]
    repos: Vec<String>,
}

impl Add {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        check_signer_name(&self.name, "signer").map_err(docker_error)?;
        let mut keys = Vec::new();
        for f in &self.keys {
            let bytes = std::fs::read(f)
                .map_err(|e| docker_error(format!("unable to read public key from file: {e}")))?;
            keys.push(
                notarius_crypto::keyfile::public_key_from_pem(&bytes, chrono::Utc::now()).map_err(
                    |e| {
                        docker_error(format!(
                            "could not parse public key from file: {}: {e}",
                            f.display()
                        ))
                    },
                )?,
            );
        }
        let mut failed = Vec::new();
        for repo_name in &self.repos {
            writeln!(out, "Adding signer \"{}\" to {repo_name}...", self.name)?;
            match add_to(ctx, &self.name, repo_name, &keys, out) {
                Ok(()) => writeln!(
                    out,
                    "Successfully added signer: {} to {repo_name}\n",
                    self.name
                )?,
                Err(e) => {
                    eprintln!("{e}\n");
                    failed.push(repo_name.clone());
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(docker_error(format!(
                "failed to add signer to: {}",
                failed.join(", ")
            )))
        }
    }
}

fn add_to(
    ctx: &Context,
    signer: &str,
    repo_name: &str,
    keys: &[notarius_tuf::keys::PublicKey],
    out: &mut dyn Write,
) -> CmdResult {
    let t = TrustTarget::new(repo_name)?;
    let name = t.image.name();
    let mut repo = t.repository(ctx, Permission::ReadWrite)?;
    let cl = repo.changelist();
    cl.clear()?;
    let result = (|| -> CmdResult {
        let now = chrono::Utc::now();
        match repo.read(now) {
            Ok(_) => {}
            Err(notarius_client::Error::Tuf(notarius_tuf::Error::RepositoryNotExist {
                ..
            })) => {
                writeln!(out, "Initializing signed repository for {repo_name}...")?;
            }
            Err(e) => return Err(notary_error(repo_name, e)),
        }
        for c in signer_changes(signer, keys) {
            cl.add(&c)?;
        }
        let dir = TrustTarget::trust_dir(ctx);
        let mut cs = crypto(ctx, &dir)?;
        let new = !repo.cache().dir().join("root.json").exists();
        repo.publish(&mut cs, now).map_err(|e| match e {
            notarius_client::Error::Tuf(_) => {
                docker_error(format!("could not add signer to repo: {signer}: {e}"))
            }
            e => notary_error(&name, e),
        })?;
        if new {
            writeln!(out, "Successfully initialized \"{repo_name}\"")?;
        }
        Ok(())
    })();
    let _ = cl.clear();
    result
}

/// Remove a signer
///
/// Removes NAME's delegation from each repository and its keys from targets/releases. If NAME
/// signed the last released version, removing it makes the repository unpullable, so that is
/// asked first (-f does not ask). Online.
#[derive(clap::Args)]
pub struct Remove {
    /// Do not prompt for confirmation before removing the most recent signer
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// The signer's name
    name: String,
    /// The repositories (image names)
    #[arg(required = true)]
    repos: Vec<String>,
}

impl Remove {
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        let mut failed = Vec::new();
        for repo_name in &self.repos {
            writeln!(out, "Removing signer \"{}\" from {repo_name}...", self.name)?;
            match remove_from(ctx, &self.name, repo_name, self.force, input, out) {
                Ok(true) => writeln!(out, "Successfully removed {} from {repo_name}\n", self.name)?,
                Ok(false) => {}
                Err(e) => {
                    eprintln!("{e}\n");
                    failed.push(repo_name.clone());
                }
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(docker_error(format!(
                "error removing signer from: {}",
                failed.join(", ")
            )))
        }
    }
}

fn remove_from(
    ctx: &Context,
    signer: &str,
    repo_name: &str,
    force: bool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<bool, CliError> {
    let role_name = format!("targets/{signer}");
    if role_name == RELEASES_ROLE {
        return Err(docker_error(
            "releases is a reserved keyword and cannot be removed",
        ));
    }
    let t = TrustTarget::new(repo_name)?;
    let mut repo = t.repository(ctx, Permission::ReadWrite)?;
    let cl = repo.changelist();
    cl.clear()?;
    let result = (|| -> Result<bool, CliError> {
        let now = chrono::Utc::now();
        let read = repo.read(now).map_err(|e| notary_error(repo_name, e))?;
        let delegations = view::delegations(&read.repo)?;
        let Some(role) = delegations.iter().find(|d| d.name == role_name) else {
            return Err(docker_error(format!(
                "no signer {signer} for repository {repo_name}"
            )));
        };
        // Docker's isLastSignerForReleases: the releases role's signatures from other keys
        // would no longer meet its threshold.
        let releases = read.repo.targets_role(RELEASES_ROLE);
        let sigs = releases.map(|r| r.signatures.clone()).unwrap_or_default();
        if releases.is_some() && sigs.is_empty() {
            return Err(docker_error(
                "all signed tags are currently revoked, use docker trust sign to fix",
            ));
        }
        let threshold = delegations
            .iter()
            .find(|d| d.name == RELEASES_ROLE)
            .map_or(1, |d| d.threshold);
        let remaining = sigs
            .iter()
            .filter(|s| !role.key_ids.contains(&s.keyid))
            .count();
        let is_last = releases.is_some() && (remaining as i64) < threshold;
        // Beyond docker (whose remove does nothing unless this is the last signer and the
        // answer is yes): a signer that is not the last is removed without a question; the
        // last one after it, or with -f.
        if is_last && !force {
            write!(
                out,
                "The signer \"{signer}\" signed the last released version of {repo_name}. Removing this signer will make {repo_name} unpullable. Are you sure you want to continue? [y/N] "
            )?;
            out.flush()?;
            let mut answer = String::new();
            input.read_line(&mut answer)?;
            if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                writeln!(out)?;
                return Ok(false);
            }
        }
        cl.add(&Change::Delegation {
            role: RELEASES_ROLE.into(),
            create: false,
            edit: TufDelegation {
                remove_keys: role.key_ids.clone(),
                ..Default::default()
            },
        })?;
        cl.add(&Change::DeleteDelegation {
            role: role_name.clone(),
        })?;
        let dir = TrustTarget::trust_dir(ctx);
        let mut cs = crypto(ctx, &dir)?;
        repo.publish(&mut cs, now)
            .map_err(|e| notary_error(repo_name, e))?;
        Ok(true)
    })();
    let _ = cl.clear();
    result
}
