//! `notarius trust revoke [-y] IMAGE[:TAG]` (docker's `trust revoke`).

use std::io::{BufRead, Write};

use notarius_client::changelist::Change;
use notarius_client::remote::Permission;
use notarius_client::trust::sign::signable_roles;
use notarius_client::trust::view::{self, is_released_role};
use notarius_tuf::role;

use super::{TrustTarget, crypto, docker_error, notary_error};
use crate::context::Context;
use crate::error::CmdResult;

/// Remove trust for an image
///
/// Removes your signatures for IMAGE:TAG (from every delegation you hold a key for), or, with
/// no tag and after a question (or -y), for every signed tag of the repository. Online.
#[derive(clap::Args)]
pub struct Revoke {
    /// The image, as NAME:TAG (or NAME for all its tags)
    image: String,
    /// Do not prompt for confirmation
    #[arg(short = 'y', long = "yes")]
    yes: bool,
}

impl Revoke {
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        let t = TrustTarget::new(&self.image)?;
        let remote = &self.image;
        if t.image.tag.is_none() && t.image.digest.is_some() {
            return Err(docker_error("cannot use a digest reference for IMAGE:TAG"));
        }
        if t.image.tag.is_none() && !self.yes {
            write!(
                out,
                "Confirm you would like to delete all signature data for {remote}? [y/N] "
            )?;
            out.flush()?;
            let mut answer = String::new();
            input.read_line(&mut answer)?;
            if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                writeln!(out)?;
                return Err(docker_error("trust revoke has been cancelled"));
            }
        }
        let mut repo = t.repository(ctx, Permission::ReadWrite)?;
        let cl = repo.changelist();
        cl.clear()?;
        let result = (|| -> CmdResult {
            let could_not =
                |e: String| docker_error(format!("could not remove signature for {remote}: {e}"));
            let now = chrono::Utc::now();
            let read = repo
                .read(now)
                .map_err(|e| notary_error(&t.image.name(), e))?;
            let dir = TrustTarget::trust_dir(ctx);
            let mut cs = crypto(ctx, &dir)?;
            let held: Vec<String> = cs.list_all_keys()?.into_keys().collect();
            let delegations = view::delegations(&read.repo)?;
            let all = view::signed_targets(&read.repo, t.image.tag.as_deref())?;
            // Notary's GetTargetByName/ListTargets over targets/releases, then targets.
            let mut released: Vec<String> = Vec::new();
            for r in [view::RELEASES_ROLE, role::TARGETS] {
                for s in all
                    .iter()
                    .filter(|s| s.role == r && is_released_role(&s.role))
                {
                    if !released.contains(&s.name) {
                        released.push(s.name.clone());
                    }
                }
            }
            match &t.image.tag {
                Some(tag) if !released.contains(tag) => {
                    return Err(could_not(format!("No valid trust data for {tag}")));
                }
                None if released.is_empty() => {
                    return Err(could_not("no signed tags to remove".into()));
                }
                _ => {}
            }
            for name in &released {
                let roles = signable_roles(&delegations, &held, name)
                    .map_err(|e| could_not(e.to_string()))?;
                for r in roles {
                    let scope = (r != role::TARGETS).then_some(r.as_str());
                    cl.add(&Change::remove_target(scope, name))?;
                }
            }
            repo.publish(&mut cs, now)
                .map_err(|e| could_not(e.to_string()))?;
            writeln!(out, "Successfully deleted signature for {remote}")?;
            Ok(())
        })();
        let _ = cl.clear();
        result
    }
}
