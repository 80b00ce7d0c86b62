//! Docker registry token auth (docker/distribution `registry/auth/token`), as notary-server
//! uses it: a bearer JWT signed by a key whose certificate chains to `rootcertbundle` (`x5c`)
//! or is one of its keys (`kid`, a libtrust fingerprint), from the configured issuer, for the
//! configured service, granting the actions a route needs. Anything short of that is a 401
//! with a `WWW-Authenticate: Bearer` challenge naming the scope to ask for.
//!
//! Pure: the caller passes the header value and the time.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Clock skew tolerated on `exp` and `nbf` (distribution's `Leeway`).
pub const LEEWAY_SECS: i64 = 60;
/// Longest token we look at.
pub const MAX_TOKEN_BYTES: usize = 64 << 10;

/// One access a request needs: `repository:<gun>:push` or `registry:catalog:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub typ: String,
    pub name: String,
    pub action: String,
}

impl Access {
    pub fn repository(gun: &str, actions: &[&str]) -> Vec<Access> {
        actions
            .iter()
            .map(|a| Access {
                typ: "repository".into(),
                name: gun.into(),
                action: (*a).into(),
            })
            .collect()
    }

    pub fn catalog() -> Vec<Access> {
        vec![Access {
            typ: "registry".into(),
            name: "catalog".into(),
            action: "*".into(),
        }]
    }

    /// Go's `json.Marshal` of `auth.Access` (the UNAUTHORIZED detail).
    pub fn detail(items: &[Access]) -> Value {
        Value::Array(
            items
                .iter()
                .map(|a| serde_json::json!({"Type": a.typ, "Name": a.name, "Action": a.action}))
                .collect(),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No bearer token: the challenge carries no error.
    Required,
    /// Malformed, badly signed, expired, or for someone else: `invalid_token`.
    Invalid,
    /// Valid, but without the actions needed: `insufficient_scope`.
    InsufficientScope,
}

/// A refusal: why, and the `WWW-Authenticate` value to send.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub failure: Failure,
    pub header: String,
    /// For logs only; never sent.
    pub reason: String,
}

/// The `token` auth settings of a notary-server config.
pub struct TokenAuth {
    pub realm: String,
    pub service: String,
    pub issuer: String,
    roots: Vec<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("auth.options.{0} is required for token auth")]
    Missing(&'static str),
    #[error("auth.options.rootcertbundle {path}: {msg}")]
    Bundle { path: String, msg: String },
}

impl TokenAuth {
    /// From `auth.options` (`realm`, `service`, `issuer`, `rootcertbundle`); relative bundle
    /// paths are relative to `base_dir`.
    pub fn from_options(
        options: &Value,
        base_dir: &std::path::Path,
    ) -> Result<TokenAuth, AuthConfigError> {
        let get = |k: &'static str| {
            options
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or(AuthConfigError::Missing(k))
        };
        let bundle = get("rootcertbundle")?;
        let path = base_dir.join(&bundle);
        let pem = std::fs::read(&path).map_err(|e| AuthConfigError::Bundle {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        let roots = Self::roots_from_pem(&pem).map_err(|msg| AuthConfigError::Bundle {
            path: path.display().to_string(),
            msg,
        })?;
        Ok(TokenAuth {
            realm: get("realm")?,
            service: get("service")?,
            issuer: get("issuer")?,
            roots,
        })
    }

    pub fn new(
        realm: &str,
        service: &str,
        issuer: &str,
        roots_pem: &[u8],
    ) -> Result<TokenAuth, String> {
        Ok(TokenAuth {
            realm: realm.into(),
            service: service.into(),
            issuer: issuer.into(),
            roots: Self::roots_from_pem(roots_pem)?,
        })
    }

    fn roots_from_pem(pem_bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let blocks = pem::parse_many(pem_bytes).map_err(|e| e.to_string())?;
        let roots: Vec<Vec<u8>> = blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| b.into_contents())
            .collect();
        for r in &roots {
            X509Certificate::from_der(r).map_err(|e| format!("unparsable certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err("no certificates found".into());
        }
        Ok(roots)
    }

    /// The challenge header for `required` (`scope` lists the actions sorted, per resource).
    fn challenge(&self, required: &[Access], failure: Failure, reason: String) -> Challenge {
        let mut header = format!("Bearer realm={:?},service={:?}", self.realm, self.service);
        let mut resources: Vec<(String, String, Vec<String>)> = Vec::new();
        for a in required {
            match resources
                .iter_mut()
                .find(|(t, n, _)| *t == a.typ && *n == a.name)
            {
                Some((_, _, acts)) => acts.push(a.action.clone()),
                None => resources.push((a.typ.clone(), a.name.clone(), vec![a.action.clone()])),
            }
        }
        let scopes: Vec<String> = resources
            .into_iter()
            .map(|(t, n, mut acts)| {
                acts.sort();
                acts.dedup();
                format!("{t}:{n}:{}", acts.join(","))
            })
            .collect();
        if !scopes.is_empty() {
            header.push_str(&format!(",scope={:?}", scopes.join(" ")));
        }
        match failure {
            Failure::Required => {}
            Failure::Invalid => header.push_str(",error=\"invalid_token\""),
            Failure::InsufficientScope => header.push_str(",error=\"insufficient_scope\""),
        }
        Challenge {
            failure,
            header,
            reason,
        }
    }

    /// Checks the `Authorization` header against what the route needs.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        required: &[Access],
        now: DateTime<Utc>,
    ) -> Result<(), Challenge> {
        let token = authorization
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.is_empty())
            .map(|(_, t)| t.trim());
        let Some(token) = token else {
            return Err(self.challenge(required, Failure::Required, "no bearer token".into()));
        };
        let granted = self
            .verify(token, now)
            .map_err(|reason| self.challenge(required, Failure::Invalid, reason))?;
        for need in required {
            let ok = granted.iter().any(|g| {
                g.typ == need.typ
                    && g.name == need.name
                    && g.actions.iter().any(|a| a == "*" || *a == need.action)
            });
            if !ok {
                return Err(self.challenge(
                    required,
                    Failure::InsufficientScope,
                    format!(
                        "token does not grant {}:{}:{}",
                        need.typ, need.name, need.action
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Verifies a compact JWS and returns the access it grants.
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Vec<Granted>, String> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err("token too large".into());
        }
        let mut parts = token.split('.');
        let (Some(h64), Some(c64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("token must have three parts".into());
        };
        let dec = |s: &str, what: &str| {
            URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .map_err(|e| format!("{what}: {e}"))
        };
        let header: Header =
            serde_json::from_slice(&dec(h64, "header")?).map_err(|e| format!("header: {e}"))?;
        let claims: Claims =
            serde_json::from_slice(&dec(c64, "claims")?).map_err(|e| format!("claims: {e}"))?;
        let sig = dec(s64, "signature")?;

        if claims.iss != self.issuer {
            return Err(format!("token from untrusted issuer {:?}", claims.iss));
        }
        let aud_ok = match &claims.aud {
            Some(Value::String(s)) => *s == self.service,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&self.service)),
            _ => false,
        };
        if !aud_ok {
            return Err("token intended for another audience".into());
        }
        let t = now.timestamp();
        if t > claims.exp.saturating_add(LEEWAY_SECS) {
            return Err("token expired".into());
        }
        if t < claims.nbf.unwrap_or(0).saturating_sub(LEEWAY_SECS) {
            return Err("token not yet valid".into());
        }
        if sig.is_empty() {
            return Err("token has no signature".into());
        }
        let key_der = self.signing_key(&header, now)?;
        let cert = X509Certificate::from_der(&key_der)
            .map_err(|e| format!("signing certificate: {e}"))?
            .1;
        let spki = cert.public_key();
        let key_bytes: &[u8] = &spki.subject_public_key.data;
        let key_oid = spki.algorithm.algorithm.to_id_string();
        let alg: &'static dyn ring::signature::VerificationAlgorithm =
            match (header.alg.as_str(), key_oid.as_str()) {
                ("ES256", "1.2.840.10045.2.1") => &ring::signature::ECDSA_P256_SHA256_FIXED,
                ("ES384", "1.2.840.10045.2.1") => &ring::signature::ECDSA_P384_SHA384_FIXED,
                ("RS256", "1.2.840.113549.1.1.1") => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                ("RS384", "1.2.840.113549.1.1.1") => &ring::signature::RSA_PKCS1_2048_8192_SHA384,
                ("RS512", "1.2.840.113549.1.1.1") => &ring::signature::RSA_PKCS1_2048_8192_SHA512,
                (alg, _) => {
                    return Err(format!(
                        "signing algorithm {alg:?} not accepted for this key"
                    ));
                }
            };
        let signing_input = &token[..h64.len() + 1 + c64.len()];
        ring::signature::UnparsedPublicKey::new(alg, key_bytes)
            .verify(signing_input.as_bytes(), &sig)
            .map_err(|_| "bad token signature".to_owned())?;
        Ok(claims.access)
    }

    /// The DER certificate whose key signed the token: the `x5c` leaf once it chains to a
    /// root, or the root whose libtrust key ID is `kid`.
    fn signing_key(&self, header: &Header, now: DateTime<Utc>) -> Result<Vec<u8>, String> {
        if let Some(x5c) = header.x5c.as_ref().filter(|c| !c.is_empty()) {
            let chain: Vec<Vec<u8>> = x5c
                .iter()
                .map(|c| STANDARD.decode(c).map_err(|e| format!("x5c: {e}")))
                .collect::<Result<_, _>>()?;
            self.verify_chain(&chain, now)?;
            return Ok(chain[0].clone());
        }
        if let Some(kid) = &header.kid {
            for r in &self.roots {
                let (_, c) = X509Certificate::from_der(r).map_err(|e| e.to_string())?;
                if libtrust_key_id(c.public_key().raw) == *kid {
                    return Ok(r.clone());
                }
            }
            return Err(format!("token signed by untrusted key with ID: {kid:?}"));
        }
        Err("unable to get token signing key".into())
    }

    fn verify_chain(&self, chain: &[Vec<u8>], now: DateTime<Utc>) -> Result<(), String> {
        let valid_now = |c: &X509Certificate<'_>| {
            let t = now.timestamp();
            c.validity().not_before.timestamp() <= t && t <= c.validity().not_after.timestamp()
        };
        let leaf = parse(&chain[0])?;
        if !valid_now(&leaf) {
            return Err("signing certificate is expired or not yet valid".into());
        }
        if self.roots.iter().any(|r| *r == chain[0]) {
            return Ok(());
        }
        let mut current = leaf;
        // Bounded walk: leaf, intermediates from x5c, then a root.
        for _ in 0..chain.len() + 1 {
            for r in &self.roots {
                let root = parse(r)?;
                if root.subject() == current.issuer()
                    && valid_now(&root)
                    && current.verify_signature(Some(root.public_key())).is_ok()
                {
                    return Ok(());
                }
            }
            let next = chain[1..].iter().find_map(|d| {
                let c = parse(d).ok()?;
                (c.subject() == current.issuer()
                    && c.is_ca()
                    && valid_now(&c)
                    && current.verify_signature(Some(c.public_key())).is_ok())
                .then_some(c)
            });
            match next {
                Some(c) => current = c,
                None => break,
            }
        }
        Err("certificate chain does not lead to a trusted root".into())
    }
}

fn parse(d: &[u8]) -> Result<X509Certificate<'_>, String> {
    X509Certificate::from_der(d)
        .map(|(_, c)| c)
        .map_err(|e| format!("certificate: {e}"))
}

/// libtrust's key ID: the first 240 bits of SHA-256 over the DER SubjectPublicKeyInfo, in
/// base32, as twelve groups of four joined by `:`.
pub fn libtrust_key_id(spki_der: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = ring::digest::digest(&ring::digest::SHA256, spki_der);
    let bytes = &digest.as_ref()[..30];
    let mut out = String::with_capacity(59);
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut n = 0;
    for &b in bytes {
        bits = (bits << 8) | u32::from(b);
        nbits += 8;
        while nbits >= 5 {
            nbits -= 5;
            if n > 0 && n % 4 == 0 {
                out.push(':');
            }
            out.push(ALPHABET[((bits >> nbits) & 31) as usize] as char);
            n += 1;
        }
    }
    out
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    x5c: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    access: Vec<Granted>,
}

#[derive(Deserialize, Debug)]
struct Granted {
    #[serde(rename = "type", default)]
    typ: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    actions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtrust_ids_have_twelve_groups() {
        let id = libtrust_key_id(b"anything");
        assert_eq!(id.len(), 59);
        assert_eq!(id.split(':').count(), 12);
        assert!(id.chars().all(|c| c == ':' || ALPHA.contains(c)));
    }
    const ALPHA: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    #[test]
    fn challenge_lists_sorted_actions_per_resource() {
        let a = TokenAuth {
            realm: "https://auth/token".into(),
            service: "notary".into(),
            issuer: "iss".into(),
            roots: vec![],
        };
        let c = a.challenge(
            &Access::repository("g/x", &["push", "pull"]),
            Failure::InsufficientScope,
            String::new(),
        );
        assert_eq!(
            c.header,
            "Bearer realm=\"https://auth/token\",service=\"notary\",scope=\"repository:g/x:pull,push\",error=\"insufficient_scope\""
        );
        let none = a
            .authorize(None, &Access::catalog(), Utc::now())
            .unwrap_err();
        assert_eq!(none.failure, Failure::Required);
        assert!(none.header.ends_with("scope=\"registry:catalog:*\""));
        for bad in [
            "Bearer",
            "Basic abc",
            "Bearer a.b",
            "Bearer a.b.c.d",
            "Bearer !!.!!.!!",
        ] {
            let e = a
                .authorize(Some(bad), &Access::catalog(), Utc::now())
                .unwrap_err();
            assert_ne!(e.failure, Failure::InsufficientScope, "{bad}");
        }
    }
}
