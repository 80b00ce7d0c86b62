//! The trust server over HTTPS (Notary's `storage.HTTPStore`): metadata by name within a size
//! limit, server-managed keys, and the one multipart POST that publishes; Notary's token
//! authentication (anonymous for reads, with `NOTARY_AUTH` or a prompt for writes, and for a
//! read the server refuses anonymously).

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use notarius_tuf::role::Gun;
use notarius_tuf::store::{RemoteStore, StoreError};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
use zeroize::Zeroizing;

use super::Remote;
use super::response::{
    MAX_ERROR_SIZE, MAX_KEY_SIZE, is_tls_trust_error, net, read_limited, read_ok,
};
use super::token::{
    CredentialPrompt, Permission, decode_notary_auth, host_of, may_send_credentials,
    parse_challenge, url_escape,
};

/// TLS material for the connection: a CA bundle to trust instead of the system roots, and a
/// client certificate.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub ca: Option<std::path::PathBuf>,
    /// More CA bundles to trust with `ca` (Docker's `tls/<host:port>/*.crt`).
    pub extra_cas: Vec<std::path::PathBuf>,
    pub client_cert: Option<std::path::PathBuf>,
    pub client_key: Option<std::path::PathBuf>,
    /// Notary's `remote_server.skipTLSVerify`: the server's certificate is not checked.
    pub skip_verify: bool,
}

/// Why the connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RemoteSetupError {
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    #[error(
        "Trust server url has to be in the form of http(s)://URL:PORT. Got: {0} (for example -s https://notary.example.com:4443)"
    )]
    Url(String),
    #[error("either pass both client key and cert, or neither")]
    HalfClientCert,
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

/// Bytes of a token response read at most.
const MAX_TOKEN_RESPONSE: u64 = 1 << 20;

/// One GUN on one trust server. Clones share the connection pool, the ping's outcome and the
/// token, so a clone can make a request on another thread.
#[derive(Clone)]
pub struct HttpRemote {
    agent: ureq::Agent,
    base: String,
    gun: Gun,
    /// The first request's ping: `Ok`, or the error every request then fails with.
    online: Arc<OnceLock<Result<(), StoreError>>>,
    /// The server's `WWW-Authenticate: Bearer` challenge, if it sent one.
    challenge: Arc<OnceLock<Option<String>>>,
    permission: Permission,
    /// `user:password` for the token service (`NOTARY_AUTH`, decoded).
    credentials: Option<Zeroizing<String>>,
    prompt: Option<CredentialPrompt>,
    /// The bearer token, when the server asked for one.
    token: Arc<Mutex<Option<Zeroizing<String>>>>,
    /// A read refused anonymously was retried with credentials (Notary's second round-tripper).
    escalated: Arc<OnceLock<()>>,
    /// A server-held key asked for ahead of need ([`Remote::prefetch_key`]).
    pending_key: Arc<Mutex<Option<(String, PendingKey)>>>,
}

type PendingKey = std::thread::JoinHandle<Result<Vec<u8>, StoreError>>;

impl HttpRemote {
    /// `base` is the server URL (`https://host:port`). There is never a fallback to plain HTTP
    /// or to unverified TLS (unless the configuration says `skipTLSVerify`).
    pub fn new(base: &str, gun: &Gun, tls: &TlsFiles) -> Result<HttpRemote, RemoteSetupError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(RemoteSetupError::Url(base));
        }
        let mut tc = TlsConfig::builder();
        let cas: Vec<&std::path::PathBuf> = tls.ca.iter().chain(&tls.extra_cas).collect();
        if !cas.is_empty() {
            let mut certs = Vec::new();
            for ca in cas {
                log::debug!("trusting only the CA certificates in {}", ca.display());
                certs.extend(read_pem_certs(ca)?);
            }
            tc = tc.root_certs(RootCerts::Specific(Arc::new(certs)));
        }
        match (&tls.client_cert, &tls.client_key) {
            (Some(cert), Some(key)) => {
                log::debug!("client certificate {}", cert.display());
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
            (None, None) => {}
            _ => return Err(RemoteSetupError::HalfClientCert),
        }
        if tls.skip_verify {
            tc = tc.disable_verification(true);
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
            online: Arc::default(),
            challenge: Arc::default(),
            permission: Permission::default(),
            credentials: None,
            prompt: None,
            token: Arc::default(),
            escalated: Arc::default(),
            pending_key: Arc::default(),
        })
    }

    /// The access this remote asks for, and the credentials for the token service (Notary's
    /// `NOTARY_AUTH`: base64 of `user:password`). Read-only access is asked for anonymously, as
    /// Notary does, and with the credentials only when the server refuses that.
    pub fn with_access(mut self, permission: Permission, notary_auth: Option<&str>) -> Self {
        self.permission = permission;
        self.credentials = notary_auth.and_then(decode_notary_auth);
        self
    }

    /// Who to ask for credentials when `NOTARY_AUTH` has none.
    pub fn with_credential_prompt(mut self, prompt: CredentialPrompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Adds the bearer token, if there is one.
    fn authed<B>(&self, rb: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match self
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            Some(t) => rb.header("Authorization", &format!("Bearer {}", t.as_str())),
            None => rb,
        }
    }

    /// The credentials to send the token service: `NOTARY_AUTH`, else the prompt's answer.
    fn credentials(&self) -> Option<Zeroizing<String>> {
        if let Some(c) = &self.credentials {
            return Some(c.clone());
        }
        let answer = self.prompt.as_ref().and_then(|p| p());
        answer.filter(|c| c.contains(':'))
    }

    /// Fetches a token from the realm a `WWW-Authenticate: Bearer` challenge names, for this
    /// GUN with this remote's actions, anonymously or with `credentials`. `None` when that
    /// fails: the requests then meet the server's 401 and say so. Credentials go only to an
    /// HTTPS realm (TR-06), never in clear.
    fn fetch_token(
        &self,
        challenge: &str,
        credentials: Option<&Zeroizing<String>>,
    ) -> Option<Zeroizing<String>> {
        let params = parse_challenge(challenge)?;
        let realm = params.iter().find(|(k, _)| k == "realm")?.1.clone();
        let mut url = format!(
            "{realm}{}scope={}",
            if realm.contains('?') { '&' } else { '?' },
            url_escape(&format!(
                "repository:{}:{}",
                self.gun,
                self.permission.actions()
            ))
        );
        if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
            url.push_str(&format!("&service={}", url_escape(service)));
        }
        let mut req = self.agent.get(&url);
        if let Some(c) = credentials {
            if !may_send_credentials(&realm) {
                log::warn!("not sending credentials to the token service {realm}: it is not HTTPS");
            } else {
                use base64::Engine as _;
                if host_of(&realm) != host_of(&self.base) {
                    log::debug!("the token service is on another host: {}", host_of(&realm));
                }
                let user = c.split(':').next().unwrap_or("");
                url.push_str(&format!("&account={}", url_escape(user)));
                req = self.agent.get(&url).header(
                    "Authorization",
                    &format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(c.as_bytes())
                    ),
                );
            }
        }
        log::debug!(
            "asking {realm} for a token ({}, {})",
            self.permission.actions(),
            if credentials.is_some() {
                "with credentials"
            } else {
                "anonymously"
            }
        );
        let mut resp = match req.call() {
            Ok(r) => r,
            Err(e) => {
                log::warn!("the token service {realm} could not be reached: {}", net(e));
                return None;
            }
        };
        if resp.status().as_u16() != 200 {
            log::warn!(
                "the token service {realm} answered {}",
                resp.status().as_u16()
            );
            return None;
        }
        let body = read_limited(&mut resp, MAX_TOKEN_RESPONSE).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
        v["token"]
            .as_str()
            .or_else(|| v["access_token"].as_str())
            .filter(|t| !t.is_empty())
            .map(|t| Zeroizing::new(t.to_owned()))
    }

    fn meta_url(&self, file: &str) -> String {
        format!("{}/v2/{}/_trust/tuf/{}", self.base, self.gun, file)
    }

    /// `GET /v2/` as Notary's ping: is the server there? Returns its bearer challenge, if any.
    pub fn ping(&self) -> Result<Option<String>, StoreError> {
        let resp = self
            .agent
            .get(&format!("{}/v2/", self.base))
            .call()
            .map_err(net)?;
        let status = resp.status().as_u16();
        log::debug!("GET {}/v2/: {status}", self.base);
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() >= 7 && v[..7].eq_ignore_ascii_case("bearer "))
            .map(str::to_owned);
        // Reading the (small) body hands the connection back for the requests that follow,
        // instead of a second TCP and TLS handshake.
        let mut resp = resp;
        let _ = read_limited(&mut resp, MAX_ERROR_SIZE);
        match status {
            200..=299 => Ok(None),
            401 => Ok(challenge),
            code => Err(StoreError::ServerUnavailable { code }),
        }
    }

    /// Notary's `tokenAuth` ping, once, before the first request: a server that cannot be
    /// reached (or answers neither 2xx nor 401 on `/v2/`) makes this remote offline, as Notary
    /// then uses an `OfflineStore`: every request fails with `client is offline` (which lets an
    /// update fall back to the cache), after Notary's `could not reach <url>: <error>`. A
    /// server whose certificate is not trusted says so instead (still falling back to the
    /// cache), since "offline" would send the user looking in the wrong place.
    fn check_online(&self) -> Result<(), StoreError> {
        self.online
            .get_or_init(|| match self.ping() {
                Ok(challenge) => {
                    if challenge.is_some() {
                        log::debug!(
                            "the server wants a token: {}",
                            challenge.as_deref().unwrap_or("")
                        );
                    }
                    // Reads ask anonymously first, as Notary does.
                    let creds = match self.permission {
                        Permission::ReadOnly => None,
                        _ => challenge.as_ref().and_then(|_| self.credentials()),
                    };
                    let token = challenge
                        .as_deref()
                        .and_then(|c| self.fetch_token(c, creds.as_ref()));
                    *self.token.lock().unwrap_or_else(PoisonError::into_inner) = token;
                    let _ = self.challenge.set(challenge);
                    Ok(())
                }
                Err(e @ StoreError::Network(_)) if is_tls_trust_error(&e) => {
                    log::error!("could not reach {}: {e}", self.base);
                    Err(e)
                }
                Err(e) => {
                    log::error!("could not reach {}: {e}", self.base);
                    log::info!("continuing in offline mode");
                    Err(StoreError::Offline)
                }
            })
            .clone()
    }

    /// Sends one request (built afresh by `send` for each try) and, when the server refuses a
    /// read made anonymously, asks for a token with credentials and tries once more (Notary's
    /// `authRoundTripper` over an anonymous and a credentialed transport).
    fn call(
        &self,
        what: &str,
        send: &dyn Fn(&HttpRemote) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<ureq::http::Response<ureq::Body>, StoreError> {
        self.check_online()?;
        let resp = send(self).map_err(net)?;
        log::debug!("{what}: {}", resp.status().as_u16());
        if resp.status().as_u16() != 401
            || self.permission != Permission::ReadOnly
            || self.escalated.set(()).is_err()
        {
            return Ok(resp);
        }
        let Some(Some(challenge)) = self.challenge.get().cloned() else {
            return Ok(resp);
        };
        let Some(creds) = self.credentials() else {
            return Ok(resp);
        };
        let mut resp = resp;
        let _ = read_limited(&mut resp, MAX_ERROR_SIZE);
        log::info!("the server refused an anonymous read; trying again with credentials");
        let Some(token) = self.fetch_token(&challenge, Some(&creds)) else {
            return send(self).map_err(net);
        };
        *self.token.lock().unwrap_or_else(PoisonError::into_inner) = Some(token);
        let resp = send(self).map_err(net)?;
        log::debug!("{what} (with credentials): {}", resp.status().as_u16());
        Ok(resp)
    }
}

impl Remote for HttpRemote {
    /// Asks for the server-held key of `role` on another thread, so that the server makes it
    /// while this one works; the next [`Remote::get_key`] for `role` takes the answer.
    fn prefetch_key(&self, role: &str) {
        let mut asker = self.clone();
        asker.pending_key = Arc::default();
        let r = role.to_owned();
        let handle = std::thread::spawn(move || asker.get_key(&r));
        *self
            .pending_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((role.to_owned(), handle));
    }

    /// The server-held public key of `role` (`snapshot` or `timestamp`), created on demand.
    fn get_key(&self, role: &str) -> Result<Vec<u8>, StoreError> {
        let pending = {
            let mut slot = self
                .pending_key
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match slot.take() {
                Some((r, handle)) if r == role => Some(handle),
                other => {
                    *slot = other;
                    None
                }
            }
        };
        if let Some(handle) = pending {
            return handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        }
        let url = self.meta_url(&format!("{role}.key"));
        let resp = self.call(&format!("GET {url}"), &|r| {
            r.authed(r.agent.get(&url)).call()
        })?;
        read_ok(resp, &format!("{role} key"), MAX_KEY_SIZE)
    }

    /// A new server-held key for `role` (key rotation to the server).
    fn rotate_key(&self, role: &str) -> Result<Vec<u8>, StoreError> {
        let url = self.meta_url(&format!("{role}.key"));
        let resp = self.call(&format!("POST {url}"), &|r| {
            r.authed(r.agent.post(&url)).send_empty()
        })?;
        read_ok(resp, &format!("{role} key"), MAX_KEY_SIZE)
    }

    /// Publishes `files` (role name → bytes) in one multipart POST, as Notary's client does.
    fn set_multi(&self, files: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
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
        let url = self.meta_url("");
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let resp = self.call(&format!("POST {url} ({} bytes)", body.len()), &|r| {
            r.authed(r.agent.post(&url))
                .header("Content-Type", &content_type)
                .send(&body[..])
        })?;
        read_ok(resp, "POST metadata endpoint", MAX_ERROR_SIZE).map(|_| ())
    }

    /// `DELETE` of the whole GUN on the server.
    fn delete_all(&self) -> Result<(), StoreError> {
        let url = self.meta_url("");
        let resp = self.call(&format!("DELETE {url}"), &|r| {
            r.authed(r.agent.delete(&url)).call()
        })?;
        read_ok(resp, "DELETE metadata endpoint", MAX_ERROR_SIZE).map(|_| ())
    }
}

impl RemoteStore for HttpRemote {
    fn get_sized(&mut self, name: &str, size: Option<u64>) -> Result<Vec<u8>, StoreError> {
        let url = self.meta_url(&format!("{name}.json"));
        let resp = self.call(&format!("GET {url}"), &|r| {
            r.authed(r.agent.get(&url)).call()
        })?;
        read_ok(resp, name, notarius_tuf::store::read_limit(size))
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
    use notarius_tuf::store::MAX_DOWNLOAD_SIZE;

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

    /// DOS-03: a file the metadata declares 2^62 bytes long, served as an endless body without
    /// a Content-Length, is read no further than the global cap (100 MiB and one byte), then
    /// refused as Notary's `ErrMaliciousServer`.
    #[test]
    fn dos03_a_declared_length_never_lifts_the_global_cap() {
        use std::io::{BufRead as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            // The ping (`/v2/`) first, then the file; each on its own connection.
            for _ in 0..4 {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = std::io::BufReader::new(&stream);
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                let mut s = &stream;
                if request.starts_with("GET /v2/ ") {
                    let _ = s.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                    );
                    continue;
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
                let chunk = vec![b' '; 1 << 16];
                let mut sent: u64 = 0;
                // At most twice the cap, so a client that does not stop makes the test fail
                // instead of running forever.
                while sent < 2 * MAX_DOWNLOAD_SIZE {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                    sent += chunk.len() as u64;
                }
                return sent;
            }
            0
        });
        let gun = Gun::new("example.com/app").unwrap();
        let mut r = HttpRemote::new(&url, &gun, &TlsFiles::default()).unwrap();
        let e = r.get_sized("targets", Some(1 << 62)).unwrap_err();
        assert_eq!(e, StoreError::MaliciousServer);
        drop(r);
        let sent = server.join().unwrap();
        assert!(
            sent < 2 * MAX_DOWNLOAD_SIZE,
            "the client read on past the cap ({sent} bytes sent)"
        );
    }
}
