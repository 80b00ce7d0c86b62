//! `notarius trust …`: the docker CLI's `docker trust` commands (same arguments, output and
//! files: `$DOCKER_CONFIG/trust`, the trust server from `DOCKER_CONTENT_TRUST_SERVER` or the
//! registry host), working against the registry itself instead of a Docker engine, and
//! (beyond docker) `trust verify`, the gate a deploy runs before it pulls.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Subcommand;
use notarius_client::Repository;
use notarius_client::remote::{HttpRemote, Permission, TlsFiles};
use notarius_client::trust::docker;
use notarius_client::trust::reference::ImageRef;
use notarius_client::trust::registry::{Registry, RegistryCredentials, RegistryOptions};
use notarius_tuf::role::Gun;

use crate::context::Context;
use crate::error::{CliError, CmdResult};

mod inspect;
mod key;
mod revoke;
mod sign;
mod signer;
mod verify;

/// The trust commands.
#[derive(Subcommand)]
pub enum TrustCmd {
    Sign(sign::Sign),
    Inspect(inspect::Inspect),
    Revoke(revoke::Revoke),
    Verify(verify::Verify),
    /// Manage keys for signing Docker images
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// Manage entities who can sign Docker images
    #[command(subcommand)]
    Signer(signer::SignerCmd),
}

impl TrustCmd {
    pub fn run(self, ctx: &Context, input: &mut dyn BufRead, out: &mut dyn Write) -> CmdResult {
        match self {
            TrustCmd::Sign(c) => c.run(ctx, out),
            TrustCmd::Inspect(c) => c.run(ctx, out),
            TrustCmd::Revoke(c) => c.run(ctx, input, out),
            TrustCmd::Verify(c) => c.run(ctx, out),
            TrustCmd::Key(c) => c.run(ctx, out),
            TrustCmd::Signer(c) => c.run(ctx, input, out),
        }
    }
}

/// How to reach the registry of an image: its CA and whether plain HTTP is allowed.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RegistryFlags {
    /// CA certificate (PEM) to trust for the registry, instead of
    /// /etc/docker/certs.d/<host:port>/*.crt or the system roots
    #[arg(long = "registry-ca", value_name = "FILE")]
    pub registry_ca: Vec<PathBuf>,
    /// Allow plain HTTP to this registry when it does not speak TLS (always allowed for one on
    /// this machine)
    #[arg(long = "insecure-registry")]
    pub insecure: bool,
}

/// One image's trust settings: its normalized reference, its GUN, the trust server and how
/// to reach it, and the registry's credentials (which docker also sends the trust server).
pub struct TrustTarget {
    /// As the user wrote it (docker prints it back so).
    pub original: String,
    pub image: ImageRef,
    pub gun: Gun,
    pub server: String,
    pub credentials: Option<RegistryCredentials>,
}

/// A docker-style failure: printed on stderr as the docker CLI prints it.
pub fn docker_error(msg: impl Into<String>) -> CliError {
    CliError::Docker(msg.into())
}

impl TrustTarget {
    pub fn new(image: &str) -> Result<TrustTarget, CliError> {
        let parsed = ImageRef::parse(image).map_err(|e| docker_error(e.to_string()))?;
        let gun = Gun::new(&parsed.name())?;
        let server = docker::trust_server(&parsed).map_err(|e| docker_error(e.to_string()))?;
        let credentials = docker::registry_credentials(&parsed);
        Ok(TrustTarget {
            original: image.to_owned(),
            image: parsed,
            gun,
            server,
            credentials,
        })
    }

    /// The tag, or Docker's refusal.
    pub fn tag(&self) -> Result<&str, CliError> {
        match (&self.image.tag, &self.image.digest) {
            (Some(t), _) => Ok(t),
            (None, Some(_)) => Err(docker_error("cannot use a digest reference for IMAGE:TAG")),
            (None, None) => Err(docker_error(format!(
                "no tag specified for {}",
                self.original
            ))),
        }
    }

    /// The trust directory: `-d` when given, else Docker's.
    pub fn trust_dir(ctx: &Context) -> PathBuf {
        ctx.explicit_trust_dir().unwrap_or_else(docker::trust_dir)
    }

    /// The collection on the trust server, with `permission` (a token from the trust
    /// server's auth service with the registry's credentials, as docker asks for one).
    pub fn repository(
        &self,
        ctx: &Context,
        permission: Permission,
    ) -> Result<Repository<HttpRemote>, CliError> {
        let mut tls = TlsFiles {
            extra_cas: docker::trust_server_cas(&self.server),
            ..Default::default()
        };
        if let Some(ca) = ctx.explicit_tls_ca() {
            tls.ca = Some(ca);
        }
        let auth = match &self.credentials {
            Some(RegistryCredentials::UserPassword { username, password }) => {
                use base64::Engine as _;
                Some(zeroize::Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{}", password.as_str())),
                ))
            }
            _ => std::env::var("NOTARY_AUTH")
                .ok()
                .map(zeroize::Zeroizing::new),
        };
        let remote = HttpRemote::new(&self.server, &self.gun, &tls)?
            .with_access(permission, auth.as_ref().map(|a| a.as_str()));
        Ok(Repository::new(
            Self::trust_dir(ctx),
            self.gun.clone(),
            remote,
            Default::default(),
        )
        .with_server_snapshot())
    }

    /// The registry the image lives in.
    pub fn registry(&self, flags: &RegistryFlags) -> Result<Registry, CliError> {
        let mut ca_files = flags.registry_ca.clone();
        if ca_files.is_empty() {
            ca_files = docker::registry_cas(&self.image);
        }
        let opts = RegistryOptions {
            ca_files,
            allow_http: flags.insecure || self.image.is_loopback(),
            credentials: self.credentials.clone(),
        };
        Registry::new(&self.image, opts).map_err(|e| docker_error(e.to_string()))
    }
}

/// The key service over a trust directory.
pub fn crypto(
    ctx: &Context,
    dir: &std::path::Path,
) -> Result<notarius_crypto::service::CryptoService, CliError> {
    Ok(notarius_client::keys::crypto_service(
        dir,
        Box::new(ctx.passphrases()),
    )?)
}

/// Docker's `NotaryError`: a trust failure in docker's words, with the repository's name.
pub fn notary_error(name: &str, e: notarius_client::Error) -> CliError {
    use notarius_client::Error as C;
    use notarius_tuf::Error as T;
    use notarius_tuf::store::StoreError as S;
    let msg = match &e {
        C::Tuf(T::RepositoryNotExist { .. }) => {
            format!("Error: remote trust data does not exist for {name}: {e}")
        }
        C::Tuf(T::RoleThreshold { .. }) => format!(
            "Warning: potential malicious behavior - trust data has insufficient signatures for remote repository {name}: {e}"
        ),
        C::Tuf(T::Expired { .. }) => format!("Error: remote repository {name} out-of-date: {e}"),
        C::Tuf(T::LowVersion { .. }) => format!(
            "Warning: potential malicious behavior - trust data version is lower than expected for remote repository {name}: {e}"
        ),
        C::Tuf(T::RootRotationFail(_) | T::ValidationFail(_)) => format!(
            "Warning: potential malicious behavior - trust data mismatch for remote repository {name}: {e}"
        ),
        C::Remote(S::Network(_) | S::Offline | S::Closed(_))
        | C::Tuf(T::Store(S::Network(_) | S::Offline | S::Closed(_))) => {
            format!("Error: error contacting notary server: {e}")
        }
        C::Remote(S::MetaNotFound { .. }) | C::Tuf(T::Store(S::MetaNotFound { .. })) => {
            format!(
                "Error: trust data missing for remote repository {name} or remote repository not found: {e}"
            )
        }
        C::SigningKeysUnavailable { .. } => format!(
            "Error: could not find signing keys for remote repository {name}, or could not decrypt signing key: {e}"
        ),
        _ => return CliError::Client(e),
    };
    let more = crate::error::explanation(&CliError::Client(e));
    CliError::Docker(match more {
        Some(m) => format!("{msg}\n{m}"),
        None => msg,
    })
}
