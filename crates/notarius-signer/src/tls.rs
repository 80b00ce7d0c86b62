//! Mutual TLS for the gRPC listener: the signer's certificate and key, and the CA whose
//! certificates clients must present. TLS 1.2 and 1.3 only, rustls' safe cipher suites (ECDHE
//! key exchange only, no RSA key exchange, no CBC), ring as the crypto provider, ALPN `h2`.

use std::path::Path;

pub use notarius_tls::{TlsError, load_certs, load_key, provider, roots};

/// The listener's configuration: every client must present a certificate from `client_ca`
/// (with the clientAuth extended key usage when it lists any), there is no other mode.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
) -> Result<rustls::ServerConfig, TlsError> {
    notarius_tls::server_config(cert, key, Some(client_ca), &[b"h2"])
}
