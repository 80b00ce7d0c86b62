//! TLS for the server: the configured certificate and key (and client CA, which makes client
//! certificates mandatory), or, on embedded defaults, a CA and server certificate generated once
//! into the data directory. A TLS file that does not load stops start-up: there is no silent
//! fallback to plain HTTP.

use std::path::{Path, PathBuf};

use notarius_tls::file_err;
pub use notarius_tls::{TlsError, load_certs, load_key, provider};

/// The server's configuration: HTTP/2 and HTTP/1.1; with `client_ca`, every client must present
/// a certificate issued by it.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<rustls::ServerConfig, TlsError> {
    notarius_tls::server_config(cert, key, client_ca, &[b"h2", b"http/1.1"])
}

/// Paths of the generated TLS material in a data directory.
pub struct Generated {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Makes (once) a private CA and a server certificate for `localhost`, `127.0.0.1` and `::1`
/// signed by it. Clients trust the CA file (`--tlscacert`).
pub fn ensure_generated(dir: &Path) -> Result<Generated, TlsError> {
    let g = Generated {
        ca_cert: dir.join("ca.crt"),
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    if g.ca_cert.is_file() && g.cert.is_file() && g.key.is_file() {
        return Ok(g);
    }
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    let cfg = |e: rcgen::Error| TlsError::Config(e.to_string());

    let ca_key = rcgen::KeyPair::generate().map_err(cfg)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(cfg)?;
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Notarius server CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    ca_params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    ca_params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(cfg)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let key = rcgen::KeyPair::generate().map_err(cfg)?;
    let mut params = rcgen::CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .map_err(cfg)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let cert = params.signed_by(&key, &issuer).map_err(cfg)?;

    write_private(&g.key, key.serialize_pem().as_bytes())?;
    std::fs::write(&g.cert, cert.pem()).map_err(|e| file_err(&g.cert, e))?;
    std::fs::write(&g.ca_cert, ca_cert.pem()).map_err(|e| file_err(&g.ca_cert, e))?;
    Ok(g)
}

/// Writes a secret with mode 0600 from the start.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o.open(path).map_err(|e| file_err(path, e))?;
    f.write_all(bytes).map_err(|e| file_err(path, e))
}
