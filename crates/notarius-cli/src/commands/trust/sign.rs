//! `notarius trust sign IMAGE:TAG [--local]` (docker's `trust sign`), with the registry in
//! place of the engine: a tag the trust data does not have yet is resolved to its manifest
//! through the registry.

use std::io::Write;

use notarius_client::changelist::Change;
use notarius_client::remote::Permission;
use notarius_client::trust::sign::{manifest_target, signable_roles, signer_changes};
use notarius_client::trust::view::{self, is_released_role};
use notarius_tuf::role;

use super::{RegistryFlags, TrustTarget, crypto, docker_error, notary_error};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Sign an image
///
/// Signs IMAGE:TAG into every delegation you hold a key for (targets/releases and your
/// signer's role) and publishes it. A tag already released is re-signed as it is; a new tag
/// (or any with --local) is resolved through the registry to the digest and size of the
/// manifest it points at, computed from the bytes. A repository without trust data is
/// created: root and targets keys made here, snapshot and timestamp on the trust server, and
/// you (the registry user name) as its first signer. Online.
#[derive(clap::Args)]
pub struct Sign {
    /// The image, as NAME:TAG
    image: String,
    /// Sign what the registry serves for the tag now, even if the tag is already signed
    /// (docker: a locally tagged image)
    #[arg(long = "local")]
    local: bool,
    #[command(flatten)]
    registry: RegistryFlags,
}

impl Sign {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let t = TrustTarget::new(&self.image)?;
        let tag = t.tag()?.to_owned();
        let name = t.image.name();
        let mut repo = t.repository(ctx, Permission::ReadWrite)?;
        let cl = repo.changelist();
        // Docker clears the changelist before and after: a sign publishes only itself.
        cl.clear()?;
        let result = (|| -> CmdResult {
            let dir = TrustTarget::trust_dir(ctx);
            let mut cs = crypto(ctx, &dir)?;
            let now = chrono::Utc::now();
            let read = match repo.read(now) {
                Ok(r) => Some(r),
                Err(notarius_client::Error::Tuf(notarius_tuf::Error::RepositoryNotExist {
                    ..
                })) => None,
                Err(e) => return Err(notary_error(&name, e)),
            };
            let Some(read) = read else {
                // A new repository: its first signer is the registry user, as docker names it.
                let user = t.credentials.as_ref().and_then(|c| c.username()).ok_or_else(|| {
                    docker_error(format!(
                        "{name} has no trust data yet, and its first signer is named after your registry user name: log in (docker login {}) or add a signer first (notarius trust signer add --key KEY.pub NAME {name})",
                        t.image.domain
                    ))
                })?.to_owned();
                notarius_client::trust::sign::check_signer_name(&user, "signer")
                    .map_err(docker_error)?;
                let manifest = t
                    .registry(&self.registry)?
                    .manifest(&t.image.path, &tag)
                    .map_err(|e| docker_error(e.to_string()))?;
                let key = signer_key(&mut cs, &user)?;
                for c in signer_changes(&user, &[key]) {
                    cl.add(&c)?;
                }
                let meta = manifest_target(&manifest);
                for r in [view::RELEASES_ROLE.to_owned(), format!("targets/{user}")] {
                    cl.add(&Change::add_target(Some(&r), &tag, meta.clone()))?;
                }
                writeln!(out, "Created signer: {user}")?;
                writeln!(
                    out,
                    "Finished initializing signed repository for {}",
                    t.original
                )?;
                writeln!(out, "Signing and pushing trust metadata for {}", t.original)?;
                repo.publish(&mut cs, now)
                    .map_err(|e| docker_error(format!("failed to sign {name}:{tag}: {e}")))?;
                writeln!(out, "Successfully signed {name}:{tag}")?;
                return Ok(());
            };
            crate::commands::warn_all(&read.warnings);
            let all = view::signed_targets(&read.repo, Some(&tag))?;
            let released = all.iter().find(|s| is_released_role(&s.role));
            let meta = match released {
                Some(s) if !self.local => s.meta.clone(),
                _ => {
                    let manifest = t
                        .registry(&self.registry)?
                        .manifest(&t.image.path, &tag)
                        .map_err(|e| docker_error(e.to_string()))?;
                    manifest_target(&manifest)
                }
            };
            let delegations = view::delegations(&read.repo)?;
            let held: Vec<String> = cs.list_all_keys()?.into_keys().collect();
            let roles = signable_roles(&delegations, &held, &tag)
                .map_err(|e| docker_error(format!("failed to sign {name}:{tag}: {e}")))?;
            writeln!(out, "Signing and pushing trust metadata for {}", t.original)?;
            let existing = view::released_rows(&all).into_iter().next();
            for r in &roles {
                let scope = (r != role::TARGETS).then_some(r.as_str());
                cl.add(&Change::add_target(scope, &tag, meta.clone()))?;
            }
            let (etag, edigest, mut signers) = existing
                .map(|r| (r.tag, r.digest, r.signers))
                .unwrap_or_default();
            signers.sort();
            write!(
                out,
                "Existing signatures for tag {etag} digest {edigest} from:\n{}\n",
                signers.join(", ")
            )?;
            let published = repo
                .publish(&mut cs, now)
                .map_err(|e| docker_error(format!("failed to sign {name}:{tag}: {e}")))?;
            crate::commands::warn_all(&published.warnings);
            writeln!(out, "Successfully signed {name}:{tag}")?;
            Ok(())
        })();
        let _ = cl.clear();
        result
    }
}

/// Docker's `getOrGenerateNotaryKey` for a signer: the first key stored under the signer's
/// name (as its role header), else a new one.
fn signer_key(
    cs: &mut notarius_crypto::service::CryptoService,
    signer: &str,
) -> Result<notarius_tuf::keys::PublicKey, CliError> {
    let mut ids = cs.list_keys(signer)?;
    ids.sort();
    if let Some(id) = ids.first() {
        let (key, _) = cs.get_private_key(id)?;
        return Ok(key.public_key().clone());
    }
    Ok(cs.create(signer, "", notarius_crypto::private::Algorithm::Ecdsa)?)
}
