//! `notarius trust verify IMAGE:TAG` (beyond docker): the gate a deploy runs before it pulls,
//! now that `DOCKER_CONTENT_TRUST=1 docker pull` checks nothing. It prints `NAME@sha256:…` to
//! pull by, or fails with the reason.

use std::io::Write;

use notarius_client::remote::Permission;
use notarius_client::trust::view::{self, RELEASES_ROLE, is_released_role, role_to_signer};
use notarius_tuf::role;

use super::{RegistryFlags, TrustTarget, docker_error, notary_error};
use crate::context::Context;
use crate::error::CmdResult;

/// Check that a tag is signed and the registry serves what was signed (beyond docker)
///
/// Resolves IMAGE:TAG through the trust data (targets/releases, then targets, as a trusted pull
/// does), checks that the registry still serves those bytes for the tag, and prints
/// NAME@sha256:… to pull by. Fails (exit 1) with the reason: an unsigned tag, a tag moved in
/// the registry since it was signed, trust data that is under-signed, expired or rolled back,
/// a signer asked for with --signer who did not sign it. With --platform, a signed index is
/// resolved to that platform's manifest inside it. Online.
#[derive(clap::Args)]
pub struct Verify {
    /// The image, as NAME:TAG
    image: String,
    /// Resolve a signed multi-platform index to this platform's manifest (os/arch[/variant])
    #[arg(long = "platform", value_name = "OS/ARCH")]
    platform: Option<String>,
    /// Require this signer's signature on the tag (more than once for several)
    #[arg(long = "signer", value_name = "NAME")]
    signers: Vec<String>,
    /// Output format: text (NAME@DIGEST) or json
    #[arg(long = "format", default_value = "text", value_name = "FORMAT")]
    format: String,
    #[command(flatten)]
    registry: RegistryFlags,
}

impl Verify {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        if !matches!(self.format.as_str(), "text" | "json") {
            return Err(docker_error(format!(
                "unknown --format {:?}: text or json",
                self.format
            )));
        }
        let t = TrustTarget::new(&self.image)?;
        let tag = t.tag()?.to_owned();
        let name = t.image.name();
        let mut repo = t.repository(ctx, Permission::ReadOnly)?;
        let read = repo
            .read(chrono::Utc::now())
            .map_err(|e| notary_error(&name, e))?;
        crate::commands::warn_all(&read.warnings);
        let all = view::signed_targets(&read.repo, Some(&tag))?;
        // A trusted pull reads targets/releases first, then targets.
        let released = [RELEASES_ROLE, role::TARGETS].iter().find_map(|r| {
            all.iter()
                .find(|s| s.role == *r && is_released_role(&s.role))
        });
        let Some(released) = released else {
            // The releases role was left out as under-signed or expired: that, not a missing
            // signature, is why the tag is not there (docker says only "No valid trust data").
            let mut read = read;
            if let Some(i) = read.skipped.iter().position(|(r, _)| r == RELEASES_ROLE) {
                let (_, e) = read.skipped.swap_remove(i);
                return Err(notary_error(&name, notarius_client::Error::Tuf(e)));
            }
            return Err(docker_error(format!("No valid trust data for {tag}")));
        };
        let signed_hex = released
            .meta
            .sha256()
            .map(hex::encode)
            .ok_or_else(|| docker_error(format!("the signed {tag} has no sha256 digest")))?;
        let signed_by: Vec<String> = all
            .iter()
            .filter(|s| !is_released_role(&s.role) && s.meta.sha256() == released.meta.sha256())
            .map(|s| role_to_signer(&s.role))
            .collect();
        for want in &self.signers {
            if !signed_by.contains(want) {
                return Err(docker_error(format!(
                    "{name}:{tag} is not signed by {want} (signed by: {})",
                    if signed_by.is_empty() {
                        view::RELEASED_ROLE_NAME.to_owned()
                    } else {
                        signed_by.join(", ")
                    }
                )));
            }
        }
        let registry = t.registry(&self.registry)?;
        let served = registry
            .manifest(&t.image.path, &tag)
            .map_err(|e| docker_error(e.to_string()))?;
        let signed_digest = format!("sha256:{signed_hex}");
        if served.digest != signed_digest || served.size as i64 != released.meta.length {
            return Err(docker_error(format!(
                "{name}:{tag} has moved since it was signed: the registry serves {} ({} bytes), the signature is for {signed_digest} ({} bytes). Pull {name}@{signed_digest} or sign the new image",
                served.digest, served.size, released.meta.length
            )));
        }
        let mut digest = signed_digest.clone();
        if let Some(p) = &self.platform {
            if !served.is_index() {
                return Err(docker_error(format!(
                    "{name}:{tag} is a single-platform image, not an index: --platform does not apply"
                )));
            }
            let platforms = served.platforms();
            let (d, _, _) = platforms.iter().find(|(_, _, pl)| pl == p).ok_or_else(|| {
                docker_error(format!(
                    "{name}:{tag} has no manifest for {p} (it has: {})",
                    platforms
                        .iter()
                        .map(|x| x.2.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            // The index is signed; the platform manifest must be what it names.
            registry
                .manifest(&t.image.path, d)
                .map_err(|e| docker_error(e.to_string()))?;
            digest = d.clone();
        }
        if self.format == "json" {
            let v = serde_json::json!({
                "image": name,
                "tag": tag,
                "digest": digest,
                "signed_digest": signed_digest,
                "platform": self.platform,
                "signers": signed_by,
                "reference": format!("{name}@{digest}"),
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "{name}@{digest}")?;
        }
        Ok(())
    }
}
