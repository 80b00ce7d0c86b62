//! What comes back from the trust server, read within limits and turned into the errors
//! Notary's client gives (`translateStatusToError`), with transport failures in words that
//! say what happened.

use std::io::Read;

use notarius_tuf::store::StoreError;

/// Notary reads at most this much of a key response.
pub const MAX_KEY_SIZE: u64 = 256 << 10;
/// And at most this much of an error body (TR-04).
pub const MAX_ERROR_SIZE: u64 = 10 << 20;

/// A transport failure in words that say what happened and what to do (rustls' own text
/// names a documentation page, not the cause).
pub(super) fn net(e: ureq::Error) -> StoreError {
    use rustls::{CertificateError, Error as Tls};
    let tls = |msg: String| StoreError::Network(format!("{TLS_TRUST_PREFIX}{msg}"));
    match e {
        ureq::Error::Rustls(Tls::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer => tls(
                "it is not signed by a CA this client trusts. Pass the CA certificate that signed it with --tlscacert (or remote_server.root_ca in the config file)".into(),
            ),
            CertificateError::Other(o) if o.to_string().contains("CaUsedAsEndEntity") => tls(
                "it is a CA certificate (basicConstraints CA:TRUE, openssl's default for a self-signed certificate), which is not accepted as a server's own. Give the server a certificate with CA:FALSE signed by that CA (openssl req -x509 ... -addext basicConstraints=critical,CA:FALSE)".into(),
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => tls(
                "it is not issued for this host name. Use the name the certificate was issued for in -s".into(),
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                tls("it has expired".into())
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                tls("it is not valid yet (check this machine's clock)".into())
            }
            other => tls(format!("{other:?}")),
        },
        ureq::Error::Io(io) if is_disconnect(&io) => StoreError::Closed(io.kind().to_string()),
        // rustls' certificate errors reach ureq inside an I/O error.
        ureq::Error::Io(io)
            if io
                .get_ref()
                .and_then(|e| e.downcast_ref::<Tls>())
                .is_some() =>
        {
            let inner = io.into_inner().expect("checked above");
            match inner.downcast::<Tls>() {
                Ok(tls_err) => net(ureq::Error::Rustls(*tls_err)),
                Err(other) => StoreError::Network(other.to_string()),
            }
        }
        other => StoreError::Network(other.to_string()),
    }
}

/// How a failed certificate check starts, so the ping can tell it from being offline.
const TLS_TRUST_PREFIX: &str = "the trust server's TLS certificate is not trusted: ";

pub(super) fn is_tls_trust_error(e: &StoreError) -> bool {
    matches!(e, StoreError::Network(m) if m.starts_with(TLS_TRUST_PREFIX))
}

/// A connection the other side dropped (the server stopped, a proxy cut it).
pub(super) fn is_disconnect(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
    )
}

/// Reads a body of at most `limit` bytes; one byte more is Notary's `ErrMaliciousServer`.
pub(super) fn read_limited(
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
        .map_err(|e| {
            if is_disconnect(&e) {
                StoreError::Closed(e.kind().to_string())
            } else {
                StoreError::Network(e.to_string())
            }
        })?;
    if out.len() as u64 > limit {
        return Err(StoreError::MaliciousServer);
    }
    Ok(out)
}

/// Notary's `translateStatusToError`, then the body.
pub(super) fn read_ok(
    mut resp: ureq::http::Response<ureq::Body>,
    resource: &str,
    limit: u64,
) -> Result<Vec<u8>, StoreError> {
    match resp.status().as_u16() {
        200 => read_limited(&mut resp, limit),
        404 => {
            // A body read to its end hands the connection back for the next request (a new
            // repository's first publish starts with a 404 for root.json).
            let _ = read_limited(&mut resp, MAX_ERROR_SIZE);
            Err(StoreError::MetaNotFound {
                resource: resource.to_owned(),
            })
        }
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
}
