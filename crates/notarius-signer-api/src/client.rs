//! A gRPC client for a notary-signer (ours or Notary's) over mutual TLS, as notary-server dials
//! it: the signer's certificate checked against one CA under `hostname`, a client certificate
//! presented. Used by notarius-server's remote trust service, the tests and the benchmark.

use std::path::Path;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::proto;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{path}: {msg}")]
    File { path: String, msg: String },
    #[error("signer address: {0}")]
    Address(String),
    #[error("TLS to the signer: {0}")]
    Tls(String),
}

fn read(p: &Path) -> Result<Vec<u8>, ClientError> {
    std::fs::read(p).map_err(|e| ClientError::File {
        path: p.display().to_string(),
        msg: e.to_string(),
    })
}

/// Where a signer is and how to talk to it.
#[derive(Debug, Clone)]
pub struct SignerAddress<'a> {
    pub hostname: &'a str,
    pub port: &'a str,
    pub ca: &'a Path,
    pub client_cert: &'a Path,
    pub client_key: &'a Path,
}

/// A lazily connected channel: nothing is dialled until the first call, and a signer that is
/// down (or comes back) is retried on each call.
pub fn channel(a: &SignerAddress<'_>) -> Result<Channel, ClientError> {
    let host = if a.hostname.contains(':') && !a.hostname.starts_with('[') {
        format!("[{}]", a.hostname)
    } else {
        a.hostname.to_owned()
    };
    let port: u16 = a
        .port
        .parse()
        .map_err(|_| ClientError::Address(format!("port {:?} is not a number", a.port)))?;
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(a.ca)?))
        .identity(Identity::from_pem(
            read(a.client_cert)?,
            read(a.client_key)?,
        ))
        .domain_name(a.hostname.trim_matches(['[', ']']));
    let ep = Endpoint::from_shared(format!("https://{host}:{port}"))
        .map_err(|e| ClientError::Address(e.to_string()))?
        .tls_config(tls)
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true);
    Ok(ep.connect_lazy())
}

pub type KeyManagementClient = proto::key_management_client::KeyManagementClient<Channel>;
pub type SignerClient = proto::signer_client::SignerClient<Channel>;
pub type HealthClient = proto::health::health_client::HealthClient<Channel>;
