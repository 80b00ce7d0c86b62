//! Notary's token authentication, the parts that are plain text: what a command asks for
//! (its scope), `NOTARY_AUTH`, `WWW-Authenticate: Bearer` challenges, and where credentials
//! may be sent.

use std::sync::Arc;

use zeroize::Zeroizing;

/// What a command may do on the server, as Notary's transports ask for it in a token scope:
/// `pull` (read-only), `push,pull` (publish), `*` (delete, key rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Permission {
    ReadOnly,
    #[default]
    ReadWrite,
    Admin,
}

impl Permission {
    pub fn actions(self) -> &'static str {
        match self {
            Permission::ReadOnly => "pull",
            Permission::ReadWrite => "push,pull",
            Permission::Admin => "*",
        }
    }
}

/// Asks the user for `user:password` when the token service wants credentials and
/// `NOTARY_AUTH` has none (Notary's `passwordStore` prompt); `None` when there is no one to ask.
pub type CredentialPrompt = Arc<dyn Fn() -> Option<Zeroizing<String>> + Send + Sync>;

/// `user:password` from `NOTARY_AUTH` (base64), as Notary's `passwordStore` reads it.
pub(super) fn decode_notary_auth(b: &str) -> Option<Zeroizing<String>> {
    use base64::Engine as _;
    let raw = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok(),
    );
    let Some(raw) = raw.as_ref() else {
        log::error!("Could not base64-decode authentication string");
        return None;
    };
    let s = std::str::from_utf8(raw).ok()?;
    match s.find(':') {
        Some(0) => {
            log::error!("Authentication string with zero-length username");
            None
        }
        Some(_) => Some(Zeroizing::new(s.trim_end().to_owned())),
        None => {
            log::error!("Malformatted authentication string; format must be <username>:<password>");
            None
        }
    }
}

/// Whether `host[:port]` is this machine, where plain HTTP crosses no network.
pub(super) fn is_loopback(host_port: &str) -> bool {
    let host = match host_port.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether credentials may go to the token service at `realm`: over HTTPS, or in clear only
/// to this machine (catalogue TR-06).
pub(super) fn may_send_credentials(realm: &str) -> bool {
    realm.starts_with("https://") || (realm.starts_with("http://") && is_loopback(host_of(realm)))
}

/// `host[:port]` of a URL.
pub(super) fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// `key="value"` pairs of a `Bearer …` challenge.
pub(super) fn parse_challenge(h: &str) -> Option<Vec<(String, String)>> {
    let rest = h.get(7..)?;
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
    Some(out)
}

/// Percent-encodes a query value.
pub(super) fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tr06_credentials_go_in_clear_only_to_this_machine() {
        for realm in [
            "https://auth.example/token",
            "https://auth.example:8443/token?service=x",
            "http://127.0.0.1:5001/token",
            "http://localhost/token",
        ] {
            assert!(may_send_credentials(realm), "{realm}");
        }
        for realm in [
            "http://auth.example/token",
            "http://localhost.evil.com/token",
            "http://10.0.0.1/token",
            "ftp://auth.example/token",
            "auth.example/token",
            "",
        ] {
            assert!(!may_send_credentials(realm), "{realm}");
        }
        for h in ["127.0.0.1:5000", "localhost", "[::1]:443", "127.9.9.9"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1:5000",
            "example.com",
            "[2001:db8::1]:443",
            "localhost.evil.com",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
        assert_eq!(
            host_of("https://auth.example:8443/token?x=1"),
            "auth.example:8443"
        );
    }

    #[test]
    fn bearer_challenges_parse() {
        let p = parse_challenge(
            "Bearer realm=\"https://auth.example/token\",service=\"notary\",scope=\"repository:a/b:pull,push\",error=\"invalid_token\"",
        )
        .unwrap();
        assert_eq!(
            p,
            vec![
                ("realm".into(), "https://auth.example/token".into()),
                ("service".into(), "notary".into()),
                ("scope".into(), "repository:a/b:pull,push".into()),
                ("error".into(), "invalid_token".into()),
            ]
        );
        assert_eq!(url_escape("repository:a/b:*"), "repository%3Aa%2Fb%3A%2A");
    }
}
