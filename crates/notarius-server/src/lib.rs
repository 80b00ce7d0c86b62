//! `notarius-server`: a drop-in for notary-server 0.7. The same HTTP API, config file and
//! database schema; SQLite embedded by default, PostgreSQL or MySQL/MariaDB for replicas.
//!
//! Layers: [`route`] (pure path matching), [`validate`] (pure update validation and
//! re-signing), [`storage`] (SQL), [`signer`] (the signing service trait and the built-in
//! service), [`app`] (thin HTTP handlers), and [`start`] which wires them from a [`Config`].

pub mod app;
pub mod auth;
pub mod config;
pub mod errors;
pub mod metrics;
pub mod remote_signer;
pub mod roots;
pub mod route;
pub mod signer;
pub mod storage;
pub mod tls;
pub mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use zeroize::Zeroizing;

pub use config::Config;

/// The environment variable holding the passphrase of the built-in signer's keys.
pub const PASSPHRASE_ENV: &str = "NOTARIUS_SERVER_KEY_PASSPHRASE";

/// Default upper bound of one update request.
pub const MAX_UPDATE_BYTES: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    Auth(#[from] auth::AuthConfigError),
    #[error("storage: {0}")]
    Storage(#[from] storage::StorageError),
    #[error(transparent)]
    Listen(#[from] notarius_service::serve::BindError),
    #[error("{0}")]
    Unsupported(String),
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
}

/// What start-up needs beyond the config file.
#[derive(Clone, Default)]
pub struct StartOptions {
    /// Embedded mode: where the generated TLS material and signer passphrase live.
    pub data_dir: Option<PathBuf>,
    /// The built-in signer's passphrase (else [`PASSPHRASE_ENV`], else the data directory).
    pub passphrase: Option<String>,
    /// Upper bound of one update request (default [`MAX_UPDATE_BYTES`]).
    pub max_update_bytes: Option<usize>,
    /// The clock for expiry decisions (default: the system clock).
    pub clock: Option<app::Clock>,
}

/// A running server; dropping it does not stop it, [`Running::shutdown`] does.
pub struct Running {
    pub addr: SocketAddr,
    /// `https://…` or `http://…` as a client should use it.
    pub url: String,
    /// The CA a client should trust, when the certificate was generated.
    pub ca_cert: Option<PathBuf>,
    serving: notarius_service::serve::Serving,
}

impl Running {
    pub async fn shutdown(self) {
        self.serving.stop().await;
    }
}

fn passphrase(cfg: &Config, opts: &StartOptions) -> Result<Zeroizing<String>, StartError> {
    if let Some(p) = &opts.passphrase {
        return Ok(Zeroizing::new(p.clone()));
    }
    if let Ok(p) = std::env::var(PASSPHRASE_ENV)
        && !p.is_empty()
    {
        return Ok(Zeroizing::new(p));
    }
    let random = || {
        use base64::Engine as _;
        let mut b = Zeroizing::new([0u8; 32]);
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), b.as_mut())
            .expect("system randomness");
        Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b.as_ref()))
    };
    if cfg.storage.backend == "memory" {
        // Keys die with the process, like the data they sign.
        return Ok(random());
    }
    if let Some(dir) = &opts.data_dir {
        let path = dir.join("signer.passphrase");
        let file_err = |e: std::io::Error| StartError::File {
            path: path.display().to_string(),
            msg: e.to_string(),
        };
        if path.is_file() {
            let p = Zeroizing::new(std::fs::read_to_string(&path).map_err(file_err)?);
            return Ok(Zeroizing::new(p.trim().to_owned()));
        }
        let p = random();
        tls::write_private(&path, p.as_bytes())?;
        return Ok(p);
    }
    Err(StartError::Unsupported(format!(
        "the built-in signing service encrypts its keys with a passphrase: set {PASSPHRASE_ENV}"
    )))
}

/// Opens storage, the signing service and the listener, and serves until shut down.
pub async fn start(mut cfg: Config, opts: StartOptions) -> Result<Running, StartError> {
    // A remote signer (notary-signer or notarius-signer over mutual TLS) replaces the built-in
    // one; it needs no passphrase here.
    let remote: Option<Arc<dyn signer::TrustService>> = if cfg.trust_service.kind == "remote" {
        let r =
            remote_signer::RemoteSigner::new(&cfg.trust_service, tokio::runtime::Handle::current())
                .map_err(StartError::Unsupported)?;
        Some(Arc::new(r))
    } else {
        None
    };
    let auth = match cfg.auth.kind.as_str() {
        "token" => Some(auth::TokenAuth::from_options(
            &cfg.auth.options,
            &cfg.base_dir,
        )?),
        "" => {
            tracing::warn!(
                "no auth configured: anyone who can reach this server can publish and delete \
                 (set auth.type \"token\" for registry token auth)"
            );
            None
        }
        other => {
            return Err(StartError::Unsupported(format!(
                "auth.type {other:?} is not supported; use \"token\" or leave it unset"
            )));
        }
    };
    let mut ca_cert = None;
    if cfg.server.tls.tls_cert_file.is_empty()
        && let Some(dir) = &opts.data_dir
    {
        let g = tls::ensure_generated(&dir.join("tls"))?;
        cfg.server.tls.tls_cert_file = g.cert.display().to_string();
        cfg.server.tls.tls_key_file = g.key.display().to_string();
        ca_cert = Some(g.ca_cert);
    }
    let tls_config = match cfg.tls_files() {
        Some((cert, key, ca)) => Some(Arc::new(tls::server_config(&cert, &key, ca.as_deref())?)),
        None => None,
    };

    if let Some(dir) = &opts.data_dir {
        std::fs::create_dir_all(dir).map_err(|e| StartError::File {
            path: dir.display().to_string(),
            msg: e.to_string(),
        })?;
    }
    let store = Arc::new(storage::Store::connect(&cfg.storage.backend, &cfg.storage.db_url).await?);
    let trust: Arc<dyn signer::TrustService> = match remote {
        Some(r) => r,
        None => Arc::new(signer::LocalSigner::new(
            store.clone(),
            passphrase(&cfg, &opts)?,
        )),
    };

    let defaults = app::Caching::default();
    let to_secs = |v: Option<i64>, d: u64| v.map(|n| n as u64).unwrap_or(d);
    let state = Arc::new(app::App {
        store: store.clone(),
        trust,
        key_algorithm: cfg.key_algorithm(),
        caching: app::Caching {
            current: to_secs(cfg.caching.max_age.current_metadata, defaults.current),
            consistent: to_secs(cfg.caching.max_age.consistent_metadata, defaults.consistent),
        }
        .into(),
        gun_prefixes: cfg.repositories.gun_prefixes.clone(),
        max_body: opts.max_update_bytes.unwrap_or(MAX_UPDATE_BYTES),
        metrics: Default::default(),
        clock: opts.clock.clone().unwrap_or_else(app::system_clock),
        auth,
        resign: Default::default(),
        roots: Default::default(),
        validating: app::validation_slots(),
    });

    let addr = cfg.listen_addr();
    let (listener, local) = notarius_service::serve::bind(&addr).await?;
    let scheme = if tls_config.is_some() {
        "https"
    } else {
        "http"
    };
    let host = if local.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        local.ip().to_string()
    };
    let url = format!("{scheme}://{host}:{}", local.port());

    let serving =
        notarius_service::serve::Serving::spawn(|rx| serve(listener, tls_config, state, rx));
    Ok(Running {
        addr: local,
        url,
        ca_cert,
        serving: serving.then(move || async move { store.close().await }),
    })
}

async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Arc<app::App>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let stop_conns = stop.clone();
    notarius_service::serve::accept_loop(listener, tls, stop, move |conn, _peer| {
        let app = app.clone();
        let mut stop = stop_conns.clone();
        async move {
            let svc = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(app::dispatch(app, req).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30));
            let conn = builder.serve_connection(TokioIo::new(conn), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {}
            }
        }
    })
    .await;
}

/// The data directory on embedded defaults: `$NOTARIUS_DATA_DIR`, else
/// `~/.notarius/server`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("NOTARIUS_DATA_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(".").into());
    home.join(".notarius").join("server")
}
