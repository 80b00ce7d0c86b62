//! The trust server over HTTPS (Notary's `storage.HTTPStore`): metadata by name within a size
//! limit, server-managed keys, and the one multipart POST that publishes.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notarius_tuf::role::Gun;
use notarius_tuf::store::{MAX_DOWNLOAD_SIZE, RemoteStore, StoreError};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

/// Notary reads at most this much of a key response.
pub const MAX_KEY_SIZE: u64 = 256 << 10;
/// And at most this much of an error body (TR-04).
pub const MAX_ERROR_SIZE: u64 = 10 << 20;

/// TLS material for the connection: a CA bundle to trust instead of the system roots, and a
/// client certificate.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub ca: Option<std::path::PathBuf>,
    pub client_cert: Option<std::path::PathBuf>,
    pub client_key: Option<std::path::PathBuf>,
}

/// Why the connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RemoteSetupError {
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    #[error("invalid trust server URL {0:?}")]
    Url(String),
}

fn read_pem_certs(path: &Path) -> Result<Vec<Certificate<'static>>, RemoteSetupError> {
    let err = |msg: String| RemoteSetupError::File {
        path: path.display().to_string(),
        msg,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&bytes)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(err("no certificates found".into()));
    }
    Ok(certs)
}

/// One GUN on one trust server.
pub struct HttpRemote {
    agent: ureq::Agent,
    base: String,
    gun: Gun,
    /// Whether the first request's ping failed (then every request is `client is offline`).
    offline: std::sync::OnceLock<bool>,
}

impl HttpRemote {
    /// `base` is the server URL (`https://host:port`). There is never a fallback to plain HTTP
    /// or to unverified TLS.
    pub fn new(base: &str, gun: &Gun, tls: &TlsFiles) -> Result<HttpRemote, RemoteSetupError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(RemoteSetupError::Url(base));
        }
        let mut tc = TlsConfig::builder();
        if let Some(ca) = &tls.ca {
            tc = tc.root_certs(RootCerts::Specific(Arc::new(read_pem_certs(ca)?)));
        }
        if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
            let chain = read_pem_certs(cert)?;
            let key_bytes = std::fs::read(key).map_err(|e| RemoteSetupError::File {
                path: key.display().to_string(),
                msg: e.to_string(),
            })?;
            let pk = PrivateKey::from_pem(&key_bytes).map_err(|e| RemoteSetupError::File {
                path: key.display().to_string(),
                msg: e.to_string(),
            })?;
            tc = tc.client_cert(Some(ClientCert::new_with_certs(&chain, pk)));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tc.build())
            .http_status_as_error(false)
            // Metadata never moves; a redirect could only lead somewhere we did not choose.
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(HttpRemote {
            agent,
            base,
            gun: gun.clone(),
            offline: std::sync::OnceLock::new(),
        })
    }

    fn meta_url(&self, file: &str) -> String {
        format!("{}/v2/{}/_trust/tuf/{}", self.base, self.gun, file)
    }

    /// `GET /v2/` as Notary's ping: is the server there?
    pub fn ping(&self) -> Result<(), StoreError> {
        let resp = self
            .agent
            .get(&format!("{}/v2/", self.base))
            .call()
            .map_err(net)?;
        match resp.status().as_u16() {
            200..=299 | 401 => Ok(()),
            code => Err(StoreError::ServerUnavailable { code }),
        }
    }

    /// Notary's `tokenAuth` ping, once, before the first request: a server that cannot be
    /// reached (or answers neither 2xx nor 401 on `/v2/`) makes this remote offline, as Notary
    /// then uses an `OfflineStore`: every request fails with `client is offline` (which lets an
    /// update fall back to the cache), after Notary's `could not reach <url>: <error>` on stderr.
    fn check_online(&self) -> Result<(), StoreError> {
        let offline = *self.offline.get_or_init(|| match self.ping() {
            Ok(()) => false,
            Err(e) => {
                eprintln!("could not reach {}: {e}", self.base);
                true
            }
        });
        if offline {
            Err(StoreError::Offline)
        } else {
            Ok(())
        }
    }

    /// The server-held public key of `role` (`snapshot` or `timestamp`), created on demand.
    pub fn get_key(&self, role: &str) -> Result<Vec<u8>, StoreError> {
        self.check_online()?;
        let resp = self
            .agent
            .get(&self.meta_url(&format!("{role}.key")))
            .call()
            .map_err(net)?;
        read_ok(resp, &format!("{role} key"), MAX_KEY_SIZE)
    }

    /// A new server-held key for `role` (key rotation to the server).
    pub fn rotate_key(&self, role: &str) -> Result<Vec<u8>, StoreError> {
        self.check_online()?;
        let resp = self
            .agent
            .post(&self.meta_url(&format!("{role}.key")))
            .send_empty()
            .map_err(net)?;
        read_ok(resp, &format!("{role} key"), MAX_KEY_SIZE)
    }

    /// Publishes `files` (role name → bytes) in one multipart POST, as Notary's client does.
    pub fn set_multi(&self, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.check_online()?;
        let boundary = format!("notarius{}", crate::changelist::uuid_v4().replace('-', ""));
        let mut body = Vec::new();
        for (role, bytes) in files {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"files\"; filename=\"{role}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let resp = self
            .agent
            .post(&self.meta_url(""))
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body[..])
            .map_err(net)?;
        read_ok(resp, "POST metadata endpoint", MAX_ERROR_SIZE).map(|_| ())
    }

    /// `DELETE` of the whole GUN on the server.
    pub fn delete_all(&self) -> Result<(), StoreError> {
        self.check_online()?;
        let resp = self.agent.delete(&self.meta_url("")).call().map_err(net)?;
        read_ok(resp, "DELETE metadata endpoint", MAX_ERROR_SIZE).map(|_| ())
    }
}

fn net(e: ureq::Error) -> StoreError {
    StoreError::Network(e.to_string())
}

/// Reads a body of at most `limit` bytes; one byte more is Notary's `ErrMaliciousServer`.
fn read_limited(
    resp: &mut ureq::http::Response<ureq::Body>,
    limit: u64,
) -> Result<Vec<u8>, StoreError> {
    if resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(StoreError::MaliciousServer);
    }
    let mut out = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::Network(e.to_string()))?;
    if out.len() as u64 > limit {
        return Err(StoreError::MaliciousServer);
    }
    Ok(out)
}

/// Notary's `translateStatusToError`, then the body.
fn read_ok(
    mut resp: ureq::http::Response<ureq::Body>,
    resource: &str,
    limit: u64,
) -> Result<Vec<u8>, StoreError> {
    match resp.status().as_u16() {
        200 => read_limited(&mut resp, limit),
        404 => Err(StoreError::MetaNotFound {
            resource: resource.to_owned(),
        }),
        400 => {
            let body = read_limited(&mut resp, MAX_ERROR_SIZE).unwrap_or_default();
            Err(StoreError::InvalidOperation(server_error_detail(&body)))
        }
        code => Err(StoreError::ServerUnavailable { code }),
    }
}

/// The message Notary's client shows for a 400: a known validation error by name, else the
/// error envelope's message.
pub fn server_error_detail(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return String::new();
    };
    let Some(errs) = v["errors"].as_array() else {
        return String::new();
    };
    if let [one] = errs.as_slice() {
        let detail = &one["detail"];
        let msg = detail["Error"]["Msg"]
            .as_str()
            .or_else(|| detail["Error"].as_str())
            .unwrap_or_default();
        let prefix = match detail["Name"].as_str() {
            Some("ErrValidation") => "An error occurred during validation: ",
            Some("ErrBadHierarchy") => "Metadata hierarchy is incomplete: ",
            Some("ErrBadRoot") => "The root metadata is invalid: ",
            Some("ErrBadTargets") => "The targets metadata is invalid: ",
            Some("ErrBadSnapshot") => "The snapshot metadata is invalid: ",
            _ => "",
        };
        if !prefix.is_empty() {
            return format!("{prefix}{msg}");
        }
        return one["message"].as_str().unwrap_or_default().to_owned();
    }
    String::new()
}

impl RemoteStore for HttpRemote {
    fn get_sized(&mut self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        self.check_online()?;
        let resp = self
            .agent
            .get(&self.meta_url(&format!("{name}.json")))
            .call()
            .map_err(net)?;
        read_ok(resp, name, size.unwrap_or(MAX_DOWNLOAD_SIZE))
    }

    fn location(&self) -> String {
        self.base
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(rest).to_owned())
            .unwrap_or_else(|| self.base.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_read_like_notarys() {
        let body = br#"{"errors":[{"code":"INVALID_UPDATE","message":"Update sent by the client is invalid.","detail":{"Name":"ErrBadTargets","Error":{"Msg":"valid signatures did not meet threshold for targets"}}}]}"#;
        assert_eq!(
            server_error_detail(body),
            "The targets metadata is invalid: valid signatures did not meet threshold for targets"
        );
        assert_eq!(server_error_detail(br#"{"errors":[{"code":"VERSION","message":"A newer version of metadata is already available."}]}"#), "A newer version of metadata is already available.");
        assert_eq!(server_error_detail(b"not json"), "");
    }

    #[test]
    fn refuses_urls_that_are_not_http() {
        let gun = Gun::new("example.com/app").unwrap();
        assert!(HttpRemote::new("ftp://x", &gun, &TlsFiles::default()).is_err());
        let r = HttpRemote::new(
            "https://notary.example.com:4443/",
            &gun,
            &TlsFiles::default(),
        )
        .unwrap();
        assert_eq!(r.location(), "notary.example.com:4443");
        assert_eq!(
            r.meta_url("root.json"),
            "https://notary.example.com:4443/v2/example.com/app/_trust/tuf/root.json"
        );
    }
}
