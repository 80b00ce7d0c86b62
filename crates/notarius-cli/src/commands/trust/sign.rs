//! `notarius trust sign IMAGE:TAG [--local]` (docker's `trust sign`), with the registry in
//! place of the engine: a tag the trust data does not have yet is resolved to its manifest
//! through the registry.

use std::io::Write;

use notarius_client::changelist::Change;
use notarius_client::remote::Permission;
use notarius_client::trust::registry::Registry;
use notarius_client::trust::sign::{manifest_target, signable_roles, signer_changes};
use notarius_client::trust::view::{self, is_released_role};
use notarius_tuf::metadata::FileMeta;
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
/// you (the registry user name) as its first signer. Several tags (or, with --all-tags, every
/// tag the registry lists) are signed in one publish per repository. Online.
#[derive(clap::Args)]
pub struct Sign {
    /// The images, as NAME:TAG (or NAME with --all-tags)
    #[arg(required = true)]
    images: Vec<String>,
    /// Sign what the registry serves for the tag now, even if the tag is already signed
    /// (docker: a locally tagged image)
    #[arg(long = "local")]
    local: bool,
    /// Sign every tag the registry lists for each image (beyond docker)
    #[arg(long = "all-tags")]
    all_tags: bool,
    #[command(flatten)]
    registry: RegistryFlags,
}

impl Sign {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        // The tags to sign, grouped by repository (one publish each), in the order given.
        let mut groups: Vec<(TrustTarget, Vec<String>)> = Vec::new();
        for image in &self.images {
            let t = TrustTarget::new(image)?;
            let tags = if self.all_tags {
                if t.image.tag.is_some() || t.image.digest.is_some() {
                    return Err(docker_error(format!(
                        "--all-tags takes an image name without a tag: {image}"
                    )));
                }
                let tags = t
                    .registry(&self.registry)?
                    .tags(&t.image.path)
                    .map_err(|e| docker_error(e.to_string()))?;
                if tags.is_empty() {
                    return Err(docker_error(format!(
                        "the registry lists no tags for {image}"
                    )));
                }
                tags
            } else {
                vec![t.tag()?.to_owned()]
            };
            match groups.iter_mut().find(|(g, _)| g.gun == t.gun) {
                Some((_, existing)) => existing.extend(tags),
                None => groups.push((t, tags)),
            }
        }
        for (t, tags) in &groups {
            self.sign_repository(ctx, t, tags, out)?;
        }
        Ok(())
    }

    fn sign_repository(
        &self,
        ctx: &Context,
        t: &TrustTarget,
        tags: &[String],
        out: &mut dyn Write,
    ) -> CmdResult {
        let name = t.image.name();
        let shown = |tag: &str| {
            if self.all_tags || tags.len() > 1 {
                format!("{name}:{tag}")
            } else {
                t.original.clone()
            }
        };
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
            // The registry, made on first use (a re-sign of signed tags never needs it).
            let registry = std::cell::OnceCell::new();
            let resolve = |todo: &[&str]| -> Result<Vec<FileMeta>, CliError> {
                let reg = match registry.get() {
                    Some(r) => r,
                    None => {
                        let r = t.registry(&self.registry)?;
                        registry.get_or_init(|| r)
                    }
                };
                resolve_tags(reg, &t.image.path, todo)
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
                // Every tag resolved before anything is staged.
                let metas = resolve(&tags.iter().map(String::as_str).collect::<Vec<_>>())?;
                let key = signer_key(&mut cs, &user)?;
                for c in signer_changes(&user, &[key]) {
                    cl.add(&c)?;
                }
                for (tag, meta) in tags.iter().zip(&metas) {
                    for r in [view::RELEASES_ROLE.to_owned(), format!("targets/{user}")] {
                        cl.add(&Change::add_target(Some(&r), tag, meta.clone()))?;
                    }
                }
                writeln!(out, "Created signer: {user}")?;
                writeln!(
                    out,
                    "Finished initializing signed repository for {}",
                    shown(&tags[0])
                )?;
                for tag in tags {
                    writeln!(out, "Signing and pushing trust metadata for {}", shown(tag))?;
                }
                repo.publish(&mut cs, now)
                    .map_err(|e| publish_failed(&name, &tags[0], e))?;
                for tag in tags {
                    writeln!(out, "Successfully signed {name}:{tag}")?;
                }
                return Ok(());
            };
            crate::commands::warn_all(&read.warnings);
            let delegations = view::delegations(&read.repo)?;
            let held: Vec<String> = cs.list_all_keys()?.into_keys().collect();
            let mut staged = Vec::new();
            let mut unresolved = Vec::new();
            for tag in tags {
                let all = view::signed_targets(&read.repo, Some(tag))?;
                let released = all.iter().find(|s| is_released_role(&s.role));
                // Without --local a signed tag is signed again as it was (docker's rule).
                let meta = match released {
                    Some(s) if !self.local => Some(s.meta.clone()),
                    _ => {
                        unresolved.push(staged.len());
                        None
                    }
                };
                let roles = signable_roles(&delegations, &held, tag)
                    .map_err(|e| docker_error(format!("failed to sign {name}:{tag}: {e}")))?;
                staged.push((
                    tag,
                    meta,
                    roles,
                    view::released_rows(&all).into_iter().next(),
                ));
            }
            let todo: Vec<&str> = unresolved.iter().map(|&i| staged[i].0.as_str()).collect();
            if !todo.is_empty() {
                for (i, meta) in unresolved.iter().zip(resolve(&todo)?) {
                    staged[*i].1 = Some(meta);
                }
            }
            for (tag, meta, roles, existing) in staged {
                let meta = meta.expect("every tag resolved above");
                writeln!(out, "Signing and pushing trust metadata for {}", shown(tag))?;
                for r in &roles {
                    let scope = (r != role::TARGETS).then_some(r.as_str());
                    cl.add(&Change::add_target(scope, tag, meta.clone()))?;
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
            }
            let published = repo
                .publish(&mut cs, now)
                .map_err(|e| publish_failed(&name, &tags[0], e))?;
            crate::commands::warn_all(&published.warnings);
            for tag in tags {
                writeln!(out, "Successfully signed {name}:{tag}")?;
            }
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

/// How many manifests are asked for at once: enough to hide the round trips of a registry far
/// away, few enough not to look like a flood to it.
const RESOLVERS: usize = 8;

/// The targets of `tags` in repository `path`, resolved through the registry a few at a time,
/// in the order given; after one fails no more are asked for, and a failure is the error. A
/// bar on a terminal shows the count.
fn resolve_tags(reg: &Registry, path: &str, tags: &[&str]) -> Result<Vec<FileMeta>, CliError> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let bar = std::sync::Mutex::new((crate::progress::Progress::new("resolving"), 0usize));
    let results: Vec<std::sync::Mutex<Option<Result<FileMeta, String>>>> =
        tags.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..RESOLVERS.min(tags.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= tags.len() || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = reg
                        .manifest(path, tags[i])
                        .map(|m| manifest_target(&m))
                        .map_err(|e| e.to_string());
                    if r.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                    let mut b = bar.lock().unwrap_or_else(|p| p.into_inner());
                    b.1 += 1;
                    let done = b.1;
                    b.0.update(done, tags.len(), tags[i]);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(tags.len());
    for r in results {
        match r.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(m)) => out.push(m),
            Some(Err(e)) => return Err(docker_error(e)),
            // Left unasked because another tag had failed: that failure is returned below.
            None => continue,
        }
    }
    if out.len() != tags.len() {
        return Err(docker_error("resolving the tags stopped early".to_owned()));
    }
    Ok(out)
}

/// Docker's `failed to sign NAME:TAG: …`, then what to do: nothing was published, and (unlike a
/// `notary publish`) nothing stays staged, so the same sign is what to run again.
fn publish_failed(name: &str, tag: &str, e: notarius_client::Error) -> CliError {
    use notarius_client::Error as C;
    use notarius_tuf::store::StoreError as S;
    let first = format!("failed to sign {name}:{tag}: {e}");
    let next = match e {
        C::Remote(S::ServerUnavailable { code }) if code >= 500 => Some(
            "next: the trust server failed to store the signature (its log says why) and nothing \
             was published. Run the same `notarius trust sign` again once it works."
                .to_owned(),
        ),
        // Which keys would not open, or which signatures were missing: as for `notary`.
        e @ (C::SigningKeysUnavailable { .. } | C::Tuf(_)) => {
            crate::error::explanation(&CliError::Client(e))
        }
        _ => None,
    };
    docker_error(match next {
        Some(n) => format!("{first}\n{n}"),
        None => first,
    })
}
