//! `notarius-signer`: a drop-in for notary-signer 0.7. Notary's gRPC API (`proto/signer.proto`:
//! `KeyManagement`, `Signer`, plus gRPC health), its config file, and its `private_keys` table
//! with keys encrypted at rest exactly as notary-signer encrypts them (JWE, PBES2 + AES-GCM), so
//! a notary-signer database is taken over as it is.
//!
//! Stricter than Notary: mutual TLS is mandatory, the JWE algorithms are pinned and the
//! iteration count capped, the passphrase of the default alias must be there at start-up.
//!
//! Layers: [`config`], [`jwe`] (the at-rest format), [`storage`] (SQL), [`keys`] (create,
//! decrypt-and-cache, sign), [`service`] (the gRPC handlers), [`tls`], and [`start`].

pub mod config;
pub mod jwe;
pub mod keys;
pub mod protect;
pub mod service;
pub mod storage;
pub mod tls;

/// Code generated from Notary's `proto/signer.proto` (package `proto`) and gRPC's health
/// protocol (`grpc.health.v1`).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub use notarius_signer_api::{client, proto};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use zeroize::Zeroizing;

pub use config::Config;
pub use keys::Passphrases;

/// The largest request accepted (a `Sign` message, in practice a snapshot): gRPC's usual 4 MiB.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
/// Concurrent requests on one connection; more wait (HTTP/2 flow control pushes back).
pub const MAX_STREAMS_PER_CONNECTION: u32 = 128;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("unable to set up TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("storage: {0}")]
    Storage(#[from] storage::StorageError),
    #[error(transparent)]
    Listen(#[from] notarius_service::serve::BindError),
    #[error("{0}")]
    Passphrase(String),
}

/// A running signer; [`Running::shutdown`] stops it.
pub struct Running {
    pub addr: SocketAddr,
    serving: notarius_service::serve::Serving,
}

impl Running {
    pub async fn shutdown(self) {
        self.serving.stop().await;
    }
}

/// The alias and passphrase source keys are written with. The memory store makes up its own
/// (its keys die with the process, like Notary's memory store with its constant passphrase).
fn key_source(cfg: &Config, passphrases: Passphrases) -> Result<(String, Passphrases), StartError> {
    if cfg.storage.backend == "memory" {
        use base64::Engine as _;
        let mut b = Zeroizing::new([0u8; 32]);
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), b.as_mut())
            .expect("system randomness");
        let p = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b.as_ref());
        let alias = "memory".to_owned();
        let map = HashMap::from([(alias.clone(), Zeroizing::new(p))]);
        return Ok((alias, Passphrases::Fixed(Arc::new(map))));
    }
    let alias = cfg.storage.default_alias.clone();
    if passphrases.get(&alias).is_none() {
        return Err(StartError::Passphrase(format!(
            "expected env variable to not be empty: {alias} (set {})",
            config::passphrase_env(&alias)
        )));
    }
    Ok((alias, passphrases))
}

/// Opens storage and the listener, and serves until shut down.
pub async fn start(cfg: &Config, passphrases: Passphrases) -> Result<Running, StartError> {
    let tls_config = Arc::new(tls::server_config(
        cfg.server.tls.tls_cert_file.as_ref(),
        cfg.server.tls.tls_key_file.as_ref(),
        cfg.server.tls.client_ca_file.as_ref(),
    )?);
    let (alias, passphrases) = key_source(cfg, passphrases)?;
    let store = Arc::new(storage::Store::connect(&cfg.storage.backend, &cfg.storage.db_url).await?);
    let keys = Arc::new(keys::KeyService::new(store.clone(), alias, passphrases));

    let addr = cfg.listen_addr();
    let (listener, local) = notarius_service::serve::bind(&addr).await?;
    let serving = notarius_service::serve::Serving::spawn(|rx| {
        serve(listener, tls_config, service::Api { keys }, rx)
    });
    Ok(Running {
        addr: local,
        serving: serving.then(move || async move { store.close().await }),
    })
}

type TlsConn = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

/// Accepts TCP connections and completes the TLS handshake (client certificate included)
/// before tonic sees the connection: a client that fails it never reaches a handler.
async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    api: service::Api,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use proto::health::health_server::HealthServer;
    use proto::key_management_server::KeyManagementServer;
    use proto::signer_server::SignerServer;

    let (conn_tx, conn_rx) = tokio::sync::mpsc::channel::<std::io::Result<TlsConn>>(64);
    // Handshakes done (client certificate checked) in the shared accept loop; tonic gets
    // only connections that passed.
    let accept = tokio::spawn(notarius_service::serve::accept_loop(
        listener,
        Some(tls),
        stop.clone(),
        move |conn, _peer| {
            let conn_tx = conn_tx.clone();
            async move {
                if let notarius_service::serve::Conn::Tls(tls) = conn {
                    let _ = conn_tx.send(Ok(*tls)).await;
                }
            }
        },
    ));
    let result = tonic::transport::Server::builder()
        .max_concurrent_streams(Some(MAX_STREAMS_PER_CONNECTION))
        .timeout(Duration::from_secs(60))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .add_service(
            KeyManagementServer::new(api.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(SignerServer::new(api.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(HealthServer::new(api))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::ReceiverStream::new(conn_rx),
            async move {
                let _ = stop.changed().await;
            },
        )
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "gRPC server stopped");
    }
    accept.abort();
}
