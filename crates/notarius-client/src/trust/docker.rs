//! Where `docker trust` keeps and finds things: `$DOCKER_CONFIG` (else `~/.docker`) with the
//! trust directory `trust/`, the trust server's CA certificates in `tls/<host:port>/*.crt`,
//! `config.json` with the registry credentials (`auths`, `credsStore`, `credHelpers`); the
//! trust server from `DOCKER_CONTENT_TRUST_SERVER`, else notary.docker.io for Docker Hub, else
//! the registry host; the registry's CA where the Docker engine keeps it
//! (`/etc/docker/certs.d/<host:port>/`).

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::reference::ImageRef;
use super::registry::RegistryCredentials;

/// Docker Hub's trust server.
pub const DOCKER_HUB_NOTARY: &str = "https://notary.docker.io";

/// Why the trust server setting cannot be used (Docker's words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("valid https URL required for trust server, got {0}")]
pub struct BadTrustServer(pub String);

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn config_dir() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".docker"),
    }
}

/// Docker's trust directory: keys in `private/`, metadata and changes in `tuf/<GUN>/`.
pub fn trust_dir() -> PathBuf {
    config_dir().join("trust")
}

/// Docker's `trust.Server`: `DOCKER_CONTENT_TRUST_SERVER` (which must be an https URL), else
/// notary.docker.io for Docker Hub images, else `https://<registry host>`.
pub fn trust_server(image: &ImageRef) -> Result<String, BadTrustServer> {
    if let Some(s) = std::env::var("DOCKER_CONTENT_TRUST_SERVER")
        .ok()
        .filter(|s| !s.is_empty())
    {
        if !s.starts_with("https://") || s.len() <= "https://".len() {
            return Err(BadTrustServer(s));
        }
        return Ok(s.trim_end_matches('/').to_owned());
    }
    if image.is_docker_hub() {
        return Ok(DOCKER_HUB_NOTARY.to_owned());
    }
    Ok(format!("https://{}", image.domain))
}

/// The `*.crt` files of a folder, sorted (missing folder: none).
fn crt_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "crt") && p.is_file())
        .collect();
    out.sort();
    out
}

/// The trust server's CA certificates: `$DOCKER_CONFIG/tls/<host:port>/*.crt`.
pub fn trust_server_cas(server: &str) -> Vec<PathBuf> {
    let host = server
        .split_once("://")
        .map_or(server, |(_, r)| r)
        .split('/')
        .next()
        .unwrap_or("");
    crt_files(&config_dir().join("tls").join(host))
}

/// The registry's CA certificates where the Docker engine keeps them
/// (`/etc/docker/certs.d/<host:port>/*.crt`), or under `$DOCKER_CERTS_D` when set (for tests
/// and rootless set-ups).
pub fn registry_cas(image: &ImageRef) -> Vec<PathBuf> {
    let base = std::env::var_os("DOCKER_CERTS_D")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/docker/certs.d"));
    crt_files(&base.join(&image.domain))
}

/// The key docker's `config.json` files a registry's credentials under.
fn credential_key(image: &ImageRef) -> String {
    if image.is_docker_hub() {
        "https://index.docker.io/v1/".to_owned()
    } else {
        image.domain.clone()
    }
}

/// The registry credentials docker would use for `image`: `config.json`'s `credHelpers`,
/// `credsStore` (running `docker-credential-<name> get`) or `auths`. `None` when there are
/// none (anonymous access); a helper that fails is a warning, then anonymous.
pub fn registry_credentials(image: &ImageRef) -> Option<RegistryCredentials> {
    // docker_credential reads $DOCKER_CONFIG or ~/.docker itself.
    match docker_credential::get_credential(&credential_key(image)) {
        Ok(docker_credential::DockerCredential::UsernamePassword(username, password)) => {
            log::debug!("registry credentials for {} ({username})", image.domain);
            Some(RegistryCredentials::UserPassword {
                username,
                password: Zeroizing::new(password),
            })
        }
        Ok(docker_credential::DockerCredential::IdentityToken(t)) => {
            log::debug!("registry identity token for {}", image.domain);
            Some(RegistryCredentials::IdentityToken(Zeroizing::new(t)))
        }
        Err(
            docker_credential::CredentialRetrievalError::NoCredentialConfigured
            | docker_credential::CredentialRetrievalError::ConfigNotFound,
        ) => None,
        Err(e) => {
            log::warn!(
                "the credentials for {} in {} could not be read: {e}",
                image.domain,
                config_dir().join("config.json").display()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trust_server_follows_docker() {
        // The environment is process-wide; these cases read only what they set.
        let hub = ImageRef::parse("alpine:3").unwrap();
        let own = ImageRef::parse("registry.example.com:5000/team/app:v1").unwrap();
        if std::env::var_os("DOCKER_CONTENT_TRUST_SERVER").is_none() {
            assert_eq!(trust_server(&hub).unwrap(), DOCKER_HUB_NOTARY);
            assert_eq!(
                trust_server(&own).unwrap(),
                "https://registry.example.com:5000"
            );
        }
        assert_eq!(credential_key(&hub), "https://index.docker.io/v1/");
        assert_eq!(credential_key(&own), "registry.example.com:5000");
    }
}
