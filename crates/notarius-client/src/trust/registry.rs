//! The OCI Distribution API, as much as signing and verifying tags needs: a tag (or digest)
//! resolved to the manifest's media type, digest and size, and a repository's tags. The digest
//! is computed from the bytes received, never taken from a header; every body is read within
//! a limit; credentials go only over HTTPS (or to this machine), with the registry's bearer
//! token challenge (realm, service, scope) or basic auth.
//!
//! Written on ureq rather than with `oci-client`: that crate reads whole responses without a
//! bound (a registry could make the client hold any amount), needs an async runtime and
//! reqwest in a command-line client that has neither, and trusts `Docker-Content-Digest`.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use super::reference::ImageRef;

/// The manifest media types a signed tag may point at.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// The largest manifest read (distribution refuses to store larger ones).
pub const MAX_MANIFEST: u64 = 4 << 20;
/// The largest page of a tag list, and of a token response.
const MAX_LIST: u64 = 8 << 20;
const MAX_TOKEN: u64 = 1 << 20;
/// At most this many tag-list pages are followed.
const MAX_PAGES: usize = 1000;

/// Credentials for a registry, as docker's config holds them.
#[derive(Clone)]
pub enum RegistryCredentials {
    UserPassword {
        username: String,
        password: Zeroizing<String>,
    },
    /// An OAuth2 refresh token (`identitytoken`), sent to the token service.
    IdentityToken(Zeroizing<String>),
}

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryCredentials::UserPassword { username, .. } => {
                write!(f, "UserPassword({username}, <secret>)")
            }
            RegistryCredentials::IdentityToken(_) => f.write_str("IdentityToken(<secret>)"),
        }
    }
}

impl RegistryCredentials {
    /// The user name, when there is one (docker names a new repository's signer after it).
    pub fn username(&self) -> Option<&str> {
        match self {
            RegistryCredentials::UserPassword { username, .. } => Some(username),
            RegistryCredentials::IdentityToken(_) => None,
        }
    }
}

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// CA certificates to trust for it instead of the system roots (Docker's
    /// `/etc/docker/certs.d/<host:port>/*.crt`, or `--registry-ca`).
    pub ca_files: Vec<PathBuf>,
    /// Plain HTTP is allowed (a registry on this machine, or one named insecure).
    pub allow_http: bool,
    pub credentials: Option<RegistryCredentials>,
}

/// Why the registry could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("the registry {host} could not be reached: {cause}")]
    Unreachable { host: String, cause: String },
    #[error(
        "the registry {host} presented a certificate that is not trusted ({cause}); put its CA certificate in /etc/docker/certs.d/{host}/ca.crt (or $DOCKER_CERTS_D/{host}/ca.crt)"
    )]
    UntrustedCertificate { host: String, cause: String },
    #[error(
        "the registry {host} refused the credentials for {name} (log in with `docker login {host}`, or check ~/.docker/config.json)"
    )]
    Unauthorized { host: String, name: String },
    #[error("{what} not found in the registry {host}")]
    NotFound { host: String, what: String },
    #[error("the registry {host} sent more than {limit} bytes for {what}")]
    TooLarge {
        host: String,
        what: String,
        limit: u64,
    },
    #[error("{what} in {host} is a {media_type:?}, not an image manifest or index")]
    UnknownMediaType {
        host: String,
        what: String,
        media_type: String,
    },
    #[error(
        "the registry {host} sent a manifest whose digest is {got}, not the {expected} asked for"
    )]
    DigestMismatch {
        host: String,
        expected: String,
        got: String,
    },
    #[error("the registry {host} answered {status} for {what}")]
    Status {
        host: String,
        what: String,
        status: u16,
    },
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    #[error("the registry {host} sent {what} that is not valid: {msg}")]
    Malformed {
        host: String,
        what: String,
        msg: String,
    },
}

/// A manifest as the registry serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub media_type: String,
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    pub size: u64,
    pub bytes: Vec<u8>,
}

impl Manifest {
    /// The raw sha256 of the bytes.
    pub fn sha256(&self) -> Vec<u8> {
        notarius_tuf::metadata::sha256(&self.bytes).to_vec()
    }

    /// Whether this is an image index (a multi-platform manifest list).
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }

    /// The manifests an index lists (digest, size, `os/arch[/variant]`).
    pub fn platforms(&self) -> Vec<(String, u64, String)> {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&self.bytes) else {
            return Vec::new();
        };
        v["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let digest = m["digest"].as_str()?.to_owned();
                let size = m["size"].as_u64()?;
                let p = &m["platform"];
                let mut platform = format!(
                    "{}/{}",
                    p["os"].as_str().unwrap_or(""),
                    p["architecture"].as_str().unwrap_or("")
                );
                if let Some(v) = p["variant"].as_str() {
                    platform.push('/');
                    platform.push_str(v);
                }
                Some((digest, size, platform))
            })
            .collect()
    }
}

/// One registry host.
pub struct Registry {
    agent: ureq::Agent,
    host: String,
    base: std::sync::OnceLock<String>,
    allow_http: bool,
    credentials: Option<RegistryCredentials>,
    token: std::sync::Mutex<Option<(String, Zeroizing<String>)>>,
}

fn read_body(
    resp: &mut ureq::http::Response<ureq::Body>,
    limit: u64,
) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut out)?;
    Ok(out)
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Registry {
    /// The registry of `image`.
    pub fn new(image: &ImageRef, opts: RegistryOptions) -> Result<Registry, RegistryError> {
        let mut tc = TlsConfig::builder();
        if !opts.ca_files.is_empty() {
            let mut certs = Vec::new();
            for p in &opts.ca_files {
                let err = |msg: String| RegistryError::File {
                    path: p.display().to_string(),
                    msg,
                };
                let bytes = std::fs::read(p).map_err(|e| err(e.to_string()))?;
                for item in ureq::tls::parse_pem(&bytes) {
                    if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                        certs.push(c);
                    }
                }
            }
            if certs.is_empty() {
                return Err(RegistryError::File {
                    path: opts.ca_files[0].display().to_string(),
                    msg: "no certificates found".into(),
                });
            }
            let certs: Vec<Certificate<'static>> = certs;
            tc = tc.root_certs(RootCerts::Specific(Arc::new(certs)));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tc.build())
            .http_status_as_error(false)
            .max_redirects(3)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(Registry {
            agent,
            host: image.registry_host().to_owned(),
            base: std::sync::OnceLock::new(),
            allow_http: opts.allow_http,
            credentials: opts.credentials,
            token: Default::default(),
        })
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::Unreachable {
            host: self.host.clone(),
            cause: e.to_string(),
        }
    }

    /// `https://host`, or (for a registry allowed plain HTTP that does not speak TLS)
    /// `http://host`, decided once by pinging `/v2/` as Docker's engine does.
    fn base(&self) -> Result<&str, RegistryError> {
        if let Some(b) = self.base.get() {
            return Ok(b);
        }
        let https = format!("https://{}", self.host);
        let chosen = match self.agent.get(&format!("{https}/v2/")).call() {
            Ok(_) => https,
            // A registry that speaks TLS with a certificate we cannot verify is refused, even
            // where plain HTTP would be allowed: Docker's engine would skip verification for
            // it, which lets anyone on the path answer instead (QUIRKS).
            Err(e) if certificate_error(&e).is_some() => {
                return Err(RegistryError::UntrustedCertificate {
                    host: self.host.clone(),
                    cause: certificate_error(&e).unwrap_or_default(),
                });
            }
            Err(e) if self.allow_http => {
                log::debug!("{https}/v2/ failed ({e}); trying plain HTTP, as allowed");
                let http = format!("http://{}", self.host);
                self.agent
                    .get(&format!("{http}/v2/"))
                    .call()
                    .map_err(|e2| self.unreachable(format!("{e}; over HTTP: {e2}")))?;
                http
            }
            Err(e) => return Err(self.unreachable(e)),
        };
        log::debug!("registry {} at {chosen}", self.host);
        Ok(self.base.get_or_init(|| chosen))
    }

    /// Whether credentials may be sent to `url` (HTTPS, or this machine).
    fn may_send_credentials(url: &str) -> bool {
        if url.starts_with("https://") {
            return true;
        }
        let rest = url.trim_start_matches("http://");
        let host = rest.split('/').next().unwrap_or(rest);
        let h = match host.strip_prefix('[') {
            Some(r) => r.split(']').next().unwrap_or(r),
            None => host.rsplit_once(':').map_or(host, |(h, _)| h),
        };
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// A bearer token for `scope` from the realm a challenge names, with the credentials
    /// (when there are any and they may be sent there).
    fn fetch_token(
        &self,
        challenge: &str,
        scope: &str,
    ) -> Result<Zeroizing<String>, RegistryError> {
        let params = parse_challenge(challenge);
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| RegistryError::Malformed {
                host: self.host.clone(),
                what: "an authentication challenge".into(),
                msg: "no realm".into(),
            })?;
        let mut url = format!(
            "{realm}{}scope={}",
            if realm.contains('?') { '&' } else { '?' },
            url_escape(scope)
        );
        if let Some((_, s)) = params.iter().find(|(k, _)| k == "service") {
            url.push_str(&format!("&service={}", url_escape(s)));
        }
        let mut req = self.agent.get(&url);
        match &self.credentials {
            Some(RegistryCredentials::UserPassword { username, password })
                if Self::may_send_credentials(&realm) =>
            {
                use base64::Engine as _;
                let basic = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{}", password.as_str())),
                );
                url.push_str(&format!("&account={}", url_escape(username)));
                req = self
                    .agent
                    .get(&url)
                    .header("Authorization", &format!("Basic {}", basic.as_str()));
            }
            Some(_) if !Self::may_send_credentials(&realm) => {
                log::warn!("not sending registry credentials to {realm}: it is not HTTPS");
            }
            _ => {}
        }
        log::debug!("registry token from {realm} for {scope}");
        let mut resp = req.call().map_err(|e| self.unreachable(e))?;
        match resp.status().as_u16() {
            200 => {}
            401 | 403 => {
                return Err(RegistryError::Unauthorized {
                    host: self.host.clone(),
                    name: scope.to_owned(),
                });
            }
            s => {
                return Err(RegistryError::Status {
                    host: self.host.clone(),
                    what: format!("a token from {realm}"),
                    status: s,
                });
            }
        }
        let body = read_body(&mut resp, MAX_TOKEN).map_err(|e| self.unreachable(e))?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| RegistryError::Malformed {
                host: self.host.clone(),
                what: "a token".into(),
                msg: e.to_string(),
            })?;
        v["token"]
            .as_str()
            .or_else(|| v["access_token"].as_str())
            .map(|t| Zeroizing::new(t.to_owned()))
            .ok_or_else(|| RegistryError::Malformed {
                host: self.host.clone(),
                what: "a token response".into(),
                msg: "no token".into(),
            })
    }

    /// GET `path` (below the base) for repository `name`, answering the registry's
    /// authentication challenge once.
    fn get(
        &self,
        path: &str,
        name: &str,
        accept: Option<&str>,
    ) -> Result<ureq::http::Response<ureq::Body>, RegistryError> {
        let base = self.base()?.to_owned();
        let url = format!("{base}{path}");
        let scope = format!("repository:{name}:pull");
        let send = |auth: Option<String>| {
            let mut r = self.agent.get(&url);
            if let Some(a) = accept {
                r = r.header("Accept", a);
            }
            if let Some(a) = auth {
                r = r.header("Authorization", &a);
            }
            r.call().map_err(|e| self.unreachable(e))
        };
        let cached = self
            .token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .filter(|(s, _)| *s == scope)
            .map(|(_, t)| format!("Bearer {}", t.as_str()));
        let resp = send(cached)?;
        log::debug!("GET {url}: {}", resp.status().as_u16());
        if resp.status().as_u16() != 401 {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let auth = if challenge.len() > 7 && challenge[..7].eq_ignore_ascii_case("bearer ") {
            let token = self.fetch_token(&challenge, &scope)?;
            let header = format!("Bearer {}", token.as_str());
            *self
                .token
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((scope, token));
            header
        } else if challenge.len() > 6 && challenge[..6].eq_ignore_ascii_case("basic ") {
            match &self.credentials {
                Some(RegistryCredentials::UserPassword { username, password })
                    if Self::may_send_credentials(&url) =>
                {
                    use base64::Engine as _;
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{username}:{}", password.as_str()))
                    )
                }
                _ => {
                    return Err(RegistryError::Unauthorized {
                        host: self.host.clone(),
                        name: name.to_owned(),
                    });
                }
            }
        } else {
            return Err(RegistryError::Unauthorized {
                host: self.host.clone(),
                name: name.to_owned(),
            });
        };
        let resp = send(Some(auth))?;
        log::debug!("GET {url} (authenticated): {}", resp.status().as_u16());
        if resp.status().as_u16() == 401 {
            return Err(RegistryError::Unauthorized {
                host: self.host.clone(),
                name: name.to_owned(),
            });
        }
        Ok(resp)
    }

    /// The manifest `reference` (a tag, or `sha256:…`) of repository `path`: its bytes, the
    /// digest computed from them (checked against a digest reference), and its media type,
    /// which must be an image manifest or index.
    pub fn manifest(&self, path: &str, reference: &str) -> Result<Manifest, RegistryError> {
        let what = format!("{}/{path}:{reference}", self.host);
        let mut resp = self.get(
            &format!("/v2/{path}/manifests/{reference}"),
            path,
            Some(ACCEPT),
        )?;
        match resp.status().as_u16() {
            200 => {}
            404 => {
                return Err(RegistryError::NotFound {
                    host: self.host.clone(),
                    what: format!("the manifest {reference} of {path}"),
                });
            }
            s => {
                return Err(RegistryError::Status {
                    host: self.host.clone(),
                    what,
                    status: s,
                });
            }
        }
        let header_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let bytes = read_body(&mut resp, MAX_MANIFEST).map_err(|e| self.unreachable(e))?;
        if bytes.len() as u64 > MAX_MANIFEST {
            return Err(RegistryError::TooLarge {
                host: self.host.clone(),
                what,
                limit: MAX_MANIFEST,
            });
        }
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| RegistryError::Malformed {
                host: self.host.clone(),
                what: what.clone(),
                msg: e.to_string(),
            })?;
        let body_type = v["mediaType"].as_str().map(str::to_owned);
        let media_type = body_type
            .clone()
            .or(header_type.clone())
            .unwrap_or_default();
        if let (Some(b), Some(h)) = (&body_type, &header_type)
            && b != h
            && h != "application/json"
        {
            return Err(RegistryError::Malformed {
                host: self.host.clone(),
                what,
                msg: format!("its Content-Type says {h:?} but it says it is {b:?}"),
            });
        }
        if ![OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].contains(&media_type.as_str()) {
            return Err(RegistryError::UnknownMediaType {
                host: self.host.clone(),
                what,
                media_type,
            });
        }
        let digest = format!(
            "sha256:{}",
            hex::encode(notarius_tuf::metadata::sha256(&bytes))
        );
        if reference.starts_with("sha256:") && reference != digest {
            return Err(RegistryError::DigestMismatch {
                host: self.host.clone(),
                expected: reference.to_owned(),
                got: digest,
            });
        }
        Ok(Manifest {
            media_type,
            digest,
            size: bytes.len() as u64,
            bytes,
        })
    }

    /// Every tag of repository `path`, following the registry's pages.
    pub fn tags(&self, path: &str) -> Result<Vec<String>, RegistryError> {
        let mut out = Vec::new();
        let mut next = Some(format!("/v2/{path}/tags/list"));
        let mut pages = 0;
        while let Some(p) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(RegistryError::TooLarge {
                    host: self.host.clone(),
                    what: format!("the tags of {path}"),
                    limit: MAX_PAGES as u64,
                });
            }
            let mut resp = self.get(&p, path, None)?;
            match resp.status().as_u16() {
                200 => {}
                404 => {
                    return Err(RegistryError::NotFound {
                        host: self.host.clone(),
                        what: format!("the repository {path}"),
                    });
                }
                s => {
                    return Err(RegistryError::Status {
                        host: self.host.clone(),
                        what: format!("the tags of {path}"),
                        status: s,
                    });
                }
            }
            // `Link: </v2/…/tags/list?last=x&n=100>; rel="next"`
            next = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| l.split_once('<'))
                .and_then(|(_, r)| r.split_once('>'))
                .map(|(u, _)| u.to_owned())
                .filter(|u| u.starts_with('/'));
            let body = read_body(&mut resp, MAX_LIST).map_err(|e| self.unreachable(e))?;
            if body.len() as u64 > MAX_LIST {
                return Err(RegistryError::TooLarge {
                    host: self.host.clone(),
                    what: format!("the tags of {path}"),
                    limit: MAX_LIST,
                });
            }
            let v: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| RegistryError::Malformed {
                    host: self.host.clone(),
                    what: format!("the tags of {path}"),
                    msg: e.to_string(),
                })?;
            out.extend(
                v["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_owned)),
            );
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// `key="value"` pairs of a `Bearer …` challenge.
/// The certificate verification failure inside a connection error, if that is what it was
/// (ureq reports rustls handshake failures as I/O errors wrapping the rustls error).
fn certificate_error(e: &ureq::Error) -> Option<String> {
    let cert = |r: &rustls::Error| match r {
        rustls::Error::InvalidCertificate(c) => Some(format!("{c:?}")),
        _ => None,
    };
    match e {
        ureq::Error::Rustls(r) => cert(r),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .and_then(cert),
        _ => None,
    }
}

fn parse_challenge(h: &str) -> Vec<(String, String)> {
    let rest = h.get(7..).unwrap_or("");
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.push((key.trim().to_ascii_lowercase(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_platforms_and_credential_rules() {
        let index = Manifest {
            media_type: OCI_INDEX.into(),
            digest: String::new(),
            size: 0,
            bytes: br#"{"manifests":[{"digest":"sha256:aa","size":5,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},{"digest":"sha256:bb","size":7,"platform":{"os":"linux","architecture":"amd64"}}]}"#.to_vec(),
        };
        assert!(index.is_index());
        assert_eq!(
            index.platforms(),
            vec![
                ("sha256:aa".into(), 5, "linux/arm64/v8".into()),
                ("sha256:bb".into(), 7, "linux/amd64".into())
            ]
        );
        assert!(Registry::may_send_credentials("https://auth.example/token"));
        assert!(Registry::may_send_credentials(
            "http://127.0.0.1:5000/token"
        ));
        assert!(!Registry::may_send_credentials("http://auth.example/token"));
        assert_eq!(
            parse_challenge("Bearer realm=\"https://a/t\",service=\"reg\"")[1],
            ("service".to_owned(), "reg".to_owned())
        );
    }

    /// A plain-HTTP registry on loopback that answers each path with a fixed response
    /// (`/v2/` with 200); stops when the test's last request is served and it is dropped.
    struct Fake {
        host: String,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Fake {
        fn start(routes: Vec<(&'static str, &'static str, Vec<u8>)>) -> Fake {
            use std::io::{BufRead as _, Write as _};
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let host = listener.local_addr().unwrap().to_string();
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let stop2 = stop.clone();
            let thread = std::thread::spawn(move || {
                while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    let Ok((stream, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    };
                    stream.set_nonblocking(false).unwrap();
                    let mut reader = std::io::BufReader::new(&stream);
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() {
                        continue;
                    }
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                            break;
                        }
                    }
                    let path = line.split(' ').nth(1).unwrap_or("");
                    let (ctype, body): (&str, &[u8]) = if path == "/v2/" {
                        ("application/json", b"{}")
                    } else if let Some((_, t, b)) = routes.iter().find(|(p, _, _)| *p == path) {
                        (t, b)
                    } else {
                        let mut s = &stream;
                        let _ = s.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                        continue;
                    };
                    let mut s = &stream;
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(body);
                }
            });
            Fake {
                host,
                stop,
                thread: Some(thread),
            }
        }

        fn registry(&self) -> Registry {
            let image = ImageRef::parse(&format!("{}/x/y", self.host)).unwrap();
            Registry::new(
                &image,
                RegistryOptions {
                    allow_http: true,
                    ..Default::default()
                },
            )
            .unwrap()
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// Every way a registry's answer is refused: too large, not an image, not the digest
    /// asked for, not JSON, a Content-Type that disagrees with the body; and a good one read.
    #[test]
    fn bad_manifests_are_refused_with_what_was_wrong() {
        let good = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.to_vec();
        let good_digest = format!(
            "sha256:{}",
            hex::encode(notarius_tuf::metadata::sha256(&good))
        );
        let mut big =
            br#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","x":""#.to_vec();
        big.resize(MAX_MANIFEST as usize + 10, b'a');
        big.extend_from_slice(b"\"}");
        let fake = Fake::start(vec![
            ("/v2/x/y/manifests/good", OCI_MANIFEST, good.clone()),
            ("/v2/x/y/manifests/big", OCI_MANIFEST, big),
            (
                "/v2/x/y/manifests/html",
                "text/html",
                b"<html>login</html>".to_vec(),
            ),
            (
                "/v2/x/y/manifests/chart",
                "application/vnd.cncf.helm.config.v1+json",
                br#"{"name":"chart"}"#.to_vec(),
            ),
            ("/v2/x/y/manifests/liar", DOCKER_MANIFEST, good.clone()),
            (
                "/v2/x/y/manifests/sha256:0000000000000000000000000000000000000000000000000000000000000000",
                OCI_MANIFEST,
                good.clone(),
            ),
        ]);
        let reg = fake.registry();
        let m = reg.manifest("x/y", "good").unwrap();
        assert_eq!(
            (m.digest.as_str(), m.size),
            (good_digest.as_str(), good.len() as u64)
        );
        let e = reg.manifest("x/y", "big").unwrap_err();
        assert!(
            matches!(
                e,
                RegistryError::TooLarge {
                    limit: MAX_MANIFEST,
                    ..
                }
            ),
            "{e}"
        );
        let e = reg.manifest("x/y", "html").unwrap_err();
        assert!(matches!(e, RegistryError::Malformed { .. }), "{e}");
        let e = reg.manifest("x/y", "chart").unwrap_err();
        assert!(
            matches!(&e, RegistryError::UnknownMediaType { media_type, .. } if media_type == "application/vnd.cncf.helm.config.v1+json"),
            "{e}"
        );
        let e = reg.manifest("x/y", "liar").unwrap_err();
        assert!(e.to_string().contains("Content-Type says"), "{e}");
        let e = reg
            .manifest(
                "x/y",
                "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            )
            .unwrap_err();
        assert!(
            matches!(&e, RegistryError::DigestMismatch { got, .. } if *got == good_digest),
            "{e}"
        );
        let e = reg.manifest("x/y", "missing").unwrap_err();
        assert!(matches!(e, RegistryError::NotFound { .. }), "{e}");
    }
}
