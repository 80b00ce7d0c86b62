//! Which root to trust: root certificates, trust pinning and root rotation, as Notary's
//! `trustpinning` package decides them (`ValidateRoot`).
//!
//! Root keys are X.509 certificates (`ecdsa-x509`, `rsa-x509`) whose CN names the GUN. The key
//! that verifies a signature is rebuilt from the certificate (re-encoded as Go's PEM), so a root
//! whose certificate text is not byte-identical to Go's encoding does not verify — exactly as in
//! Notary.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use x509_parser::prelude::*;

use crate::error::{Error, Result};
use crate::keys::{KeyType, PublicKey};
use crate::metadata::{BaseRole, Envelope, Root, verify_signatures};
use crate::role;
use crate::time::Instant;

/// A CA bundle named by `trust_pinning.ca`: its PEM text, or `None` when the file could not be
/// read (reading files is the caller's job; the error only matters if the entry is chosen).
pub type CaBundle = Option<Vec<u8>>;

/// The client's `trust_pinning` configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustPinConfig {
    /// GUN (or `prefix*`) → allowed root certificate key IDs.
    pub certs: BTreeMap<String, Vec<String>>,
    /// GUN prefix → CA bundle the root certificate must chain to.
    pub ca: BTreeMap<String, CaBundle>,
    /// Refuse trust on first use for GUNs no other rule covers.
    pub disable_tofu: bool,
}

/// What we need of a certificate, parsed once.
#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    pub common_name: String,
    pub is_ca: bool,
    pub not_before: i64,
    pub not_after: i64,
    sig_oid: String,
    key_kind: CertKeyKind,
    rsa_bits: usize,
    subject_raw: Vec<u8>,
    issuer_raw: Vec<u8>,
    /// ExtKeyUsage OIDs, `None` when the extension is absent.
    ext_key_usage: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CertKeyKind {
    Rsa,
    Ecdsa,
    Other,
}

const SHA1_SIG_OIDS: [&str; 3] = [
    "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
    "1.2.840.10040.4.3",    // dsaWithSHA1
    "1.2.840.10045.4.1",    // ecdsa-with-SHA1
];
const OID_EKU_ANY: &str = "2.5.29.37.0";
const OID_EKU_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const MAX_CHAIN_DEPTH: usize = 8;

impl Cert {
    pub fn parse(der: &[u8]) -> std::result::Result<Cert, String> {
        let (rest, c) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err("trailing data after certificate".into());
        }
        let common_name = c
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        let spki = c.public_key();
        let (key_kind, rsa_bits) = match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => (CertKeyKind::Rsa, rsa.key_size()),
            Ok(x509_parser::public_key::PublicKey::EC(_)) => (CertKeyKind::Ecdsa, 0),
            _ => (CertKeyKind::Other, 0),
        };
        let ext_key_usage = c.extended_key_usage().ok().flatten().map(|eku| {
            let e = eku.value;
            let mut oids: Vec<String> = e.other.iter().map(|o| o.to_id_string()).collect();
            if e.any {
                oids.push(OID_EKU_ANY.into());
            }
            if e.server_auth {
                oids.push(OID_EKU_SERVER_AUTH.into());
            }
            oids
        });
        Ok(Cert {
            der: der.to_vec(),
            common_name,
            is_ca: c.is_ca(),
            not_before: c.validity().not_before.timestamp(),
            not_after: c.validity().not_after.timestamp(),
            sig_oid: c.signature_algorithm.algorithm.to_id_string(),
            key_kind,
            rsa_bits,
            subject_raw: c.subject().as_raw().to_vec(),
            issuer_raw: c.issuer().as_raw().to_vec(),
            ext_key_usage,
        })
    }

    /// Notary's `ValidateCertificate`. Expiry allows a day of clock skew on `not_before`.
    pub fn validate(&self, check_expiry: bool, now: Instant) -> Result<()> {
        if self.not_before > self.not_after {
            return Err(Error::ValidationFail(
                "certificate validity window is invalid".into(),
            ));
        }
        if SHA1_SIG_OIDS.contains(&self.sig_oid.as_str()) {
            return Err(Error::ValidationFail(format!(
                "certificate with CN {} uses invalid SHA1 signature algorithm",
                self.common_name
            )));
        }
        if self.key_kind == CertKeyKind::Rsa && self.rsa_bits < 2048 {
            return Err(Error::ValidationFail("RSA bit length is too short".into()));
        }
        if check_expiry {
            let now = now.timestamp();
            if now + 86_400 < self.not_before || now > self.not_after {
                return Err(Error::CertExpired {
                    cn: self.common_name.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Go's `pem.EncodeToMemory` for one block without headers.
pub fn go_pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Notary's `LoadCertBundleFromPEM`: every block must be a parsable `CERTIFICATE`.
pub fn load_cert_bundle(pem_bytes: &[u8]) -> std::result::Result<Vec<Cert>, String> {
    let blocks = ::pem::parse_many(pem_bytes).map_err(|e| e.to_string())?;
    let mut certs = Vec::with_capacity(blocks.len());
    for b in blocks {
        if b.tag() != "CERTIFICATE" {
            return Err(format!("invalid pem block type: {}", b.tag()));
        }
        certs.push(Cert::parse(b.contents())?);
    }
    if certs.is_empty() {
        return Err("no valid certificates found".into());
    }
    Ok(certs)
}

/// Notary's `CertBundleToKey`: the x509 key for a leaf plus intermediates, as Go encodes it.
pub fn cert_bundle_to_key(leaf: &Cert, ints: &[Cert]) -> Option<PublicKey> {
    let keytype = match leaf.key_kind {
        CertKeyKind::Rsa => KeyType::RsaX509,
        CertKeyKind::Ecdsa => KeyType::EcdsaX509,
        CertKeyKind::Other => return None,
    };
    let mut pem_text = go_pem("CERTIFICATE", &leaf.der);
    for c in ints {
        pem_text.push_str(&go_pem("CERTIFICATE", &c.der));
    }
    Some(PublicKey::new(keytype, pem_text.into_bytes()))
}

/// Notary's `MatchCNToGun`: a CN ending in `*` is a prefix.
pub fn match_cn_to_gun(cn: &str, gun: &str) -> bool {
    match cn.strip_suffix('*') {
        // Go's TrimRight removes every trailing '*'.
        Some(_) => gun.starts_with(cn.trim_end_matches('*')),
        None => cn == gun,
    }
}

type LeafCerts = BTreeMap<String, Cert>;
type IntCerts = BTreeMap<String, Vec<Cert>>;

fn parse_all_certs(root: &Root) -> (LeafCerts, IntCerts) {
    let mut leaves = LeafCerts::new();
    let mut ints = IntCerts::new();
    let Some(rr) = root.roles.get(role::ROOT) else {
        return (leaves, ints);
    };
    for id in &rr.keyids {
        let Some(key) = root.keys.get(id) else {
            continue;
        };
        let Ok(certs) = load_cert_bundle(key.public()) else {
            continue;
        };
        let leaf: Vec<&Cert> = certs.iter().filter(|c| !c.is_ca).collect();
        if leaf.len() != 1 || certs[0].is_ca {
            continue;
        }
        leaves.insert(key.id().to_owned(), leaf[0].clone());
        ints.insert(
            key.id().to_owned(),
            certs.iter().filter(|c| c.is_ca).cloned().collect(),
        );
    }
    (leaves, ints)
}

fn valid_root_leaf_certs(
    all: &LeafCerts,
    gun: &str,
    check_expiry: bool,
    now: Instant,
) -> Option<LeafCerts> {
    let valid: LeafCerts = all
        .iter()
        .filter(|(_, c)| {
            match_cn_to_gun(&c.common_name, gun) && c.validate(check_expiry, now).is_ok()
        })
        .map(|(id, c)| (id.clone(), c.clone()))
        .collect();
    (!valid.is_empty()).then_some(valid)
}

fn valid_root_int_certs(all: &IntCerts, now: Instant) -> IntCerts {
    all.iter()
        .map(|(id, list)| {
            (
                id.clone(),
                list.iter()
                    .filter(|c| c.validate(true, now).is_ok())
                    .cloned()
                    .collect(),
            )
        })
        .filter(|(_, l): &(String, Vec<Cert>)| !l.is_empty())
        .collect()
}

fn certs_to_keys(leaves: &LeafCerts, ints: &IntCerts) -> BTreeMap<String, PublicKey> {
    let empty = Vec::new();
    leaves
        .iter()
        .filter_map(|(id, leaf)| cert_bundle_to_key(leaf, ints.get(id).unwrap_or(&empty)))
        .map(|k| (k.id().to_owned(), k))
        .collect()
}

enum PinCheck {
    Certs(Vec<String>),
    Ca(Vec<Cert>),
    Tofu,
}

fn new_trust_pin_checker(
    cfg: &TrustPinConfig,
    gun: &str,
    first_bootstrap: bool,
    now: Instant,
) -> std::result::Result<PinCheck, String> {
    if let Some(ids) = cfg.certs.get(gun) {
        return Ok(PinCheck::Certs(ids.clone()));
    }
    // The longest `prefix*` entry that covers the GUN.
    let wildcard = cfg
        .certs
        .iter()
        .filter(|(p, _)| p.strip_suffix('*').is_some_and(|pre| gun.starts_with(pre)))
        .max_by_key(|(p, _)| p.len());
    if let Some((_, ids)) = wildcard {
        return Ok(PinCheck::Certs(ids.clone()));
    }
    let ca = cfg
        .ca
        .iter()
        .filter(|(p, _)| gun.starts_with(p.as_str()))
        .max_by_key(|(p, _)| p.len());
    if let Some((_, bundle)) = ca {
        let pem_bytes = bundle
            .as_ref()
            .ok_or("could not load root cert from CA path")?;
        let certs =
            load_cert_bundle(pem_bytes).map_err(|_| "could not load root cert from CA path")?;
        let pool: Vec<Cert> = certs
            .into_iter()
            .filter(|c| c.validate(true, now).is_ok())
            .collect();
        if pool.is_empty() {
            return Err("invalid CA certs provided".into());
        }
        return Ok(PinCheck::Ca(pool));
    }
    if cfg.disable_tofu && first_bootstrap {
        return Err("invalid trust pinning specified".into());
    }
    Ok(PinCheck::Tofu)
}

impl PinCheck {
    fn check(&self, leaf: &Cert, ints: &[Cert], now: Instant) -> bool {
        match self {
            PinCheck::Tofu => true,
            PinCheck::Certs(ids) => {
                cert_bundle_to_key(leaf, ints).is_some_and(|k| ids.iter().any(|i| i == k.id()))
            }
            PinCheck::Ca(pool) => chains_to(leaf, ints, pool, now, 0),
        }
    }
}

/// Go's `x509.Certificate.Verify` as Notary calls it: a chain through `ints` to a certificate in
/// `pool`, every certificate valid now, intermediates marked CA, and — because Go defaults the
/// usage to server authentication — every certificate with an ExtKeyUsage must allow it.
fn chains_to(cert: &Cert, ints: &[Cert], pool: &[Cert], now: Instant, depth: usize) -> bool {
    if depth > MAX_CHAIN_DEPTH || !time_ok(cert, now) || !eku_allows_server_auth(cert) {
        return false;
    }
    let signed_by =
        |issuer: &Cert| issuer.subject_raw == cert.issuer_raw && signature_ok(cert, issuer);
    if pool
        .iter()
        .any(|root| signed_by(root) && time_ok(root, now) && eku_allows_server_auth(root))
    {
        return true;
    }
    ints.iter()
        .filter(|i| i.is_ca && i.der != cert.der)
        .any(|i| signed_by(i) && chains_to(i, ints, pool, now, depth + 1))
}

fn time_ok(c: &Cert, now: Instant) -> bool {
    let t = now.timestamp();
    c.not_before <= t && t <= c.not_after
}

fn eku_allows_server_auth(c: &Cert) -> bool {
    match &c.ext_key_usage {
        None => true,
        Some(oids) => oids
            .iter()
            .any(|o| o == OID_EKU_ANY || o == OID_EKU_SERVER_AUTH),
    }
}

fn signature_ok(cert: &Cert, issuer: &Cert) -> bool {
    let (Ok((_, c)), Ok((_, i))) = (
        X509Certificate::from_der(&cert.der),
        X509Certificate::from_der(&issuer.der),
    ) else {
        return false;
    };
    c.verify_signature(Some(i.public_key())).is_ok()
}

/// Notary's `ValidateRoot`: decides whether the root in `env` is trusted for `gun`.
///
/// The whole seconds `[from, until)` around `now` in which no certificate of `root`'s root
/// role changes validity ([`Cert::validate`], a day of skew on `not_before` included). Without
/// a previous root and with no CA pinned, [`validate_root`] gives the same outcome for `root`
/// at any time in it: what lets a server keep a stored root it has verified.
pub fn certificate_stable_span(root: &Root, now: Instant) -> (i64, i64) {
    let now = now.timestamp();
    let (leaves, ints) = parse_all_certs(root);
    let mut span = (i64::MIN, i64::MAX);
    for c in leaves.values().chain(ints.values().flatten()) {
        // Valid from `not_before - 1 day`, invalid from `not_after + 1`.
        for edge in [
            c.not_before.saturating_sub(86_400),
            c.not_after.saturating_add(1),
        ] {
            if edge <= now {
                span.0 = span.0.max(edge);
            } else {
                span.1 = span.1.min(edge);
            }
        }
    }
    span
}

/// With a previous root, the new one must carry the previous root role's threshold of signatures
/// from the previous root certificates (a rotation). In every case it must satisfy the trust
/// pinning configuration and its own root role's threshold. Expiry of the root metadata itself is
/// the caller's check.
pub fn validate_root(
    prev: Option<&Root>,
    env: &Envelope,
    gun: &str,
    pin: &TrustPinConfig,
    now: Instant,
) -> Result<Root> {
    let root: Root = env.decode(role::ROOT)?;
    let root_role = root.base_role(role::ROOT)?;

    let (all_leaves, all_ints) = parse_all_certs(&root);
    let certs_from_root = valid_root_leaf_certs(&all_leaves, gun, true, now).ok_or_else(|| {
        Error::ValidationFail("unable to retrieve valid leaf certificates".into())
    })?;
    let valid_ints = valid_root_int_certs(&all_ints, now);

    if let Some(prev) = prev {
        let (trusted_all, trusted_ints) = parse_all_certs(prev);
        let trusted = valid_root_leaf_certs(&trusted_all, gun, false, now).ok_or_else(|| {
            Error::ValidationFail(
                "could not retrieve trusted certs from previous root role data".into(),
            )
        })?;
        let prev_role = prev.roles.get(role::ROOT).ok_or_else(|| {
            Error::ValidationFail("could not retrieve previous root role data".into())
        })?;
        let trusted_role = BaseRole {
            name: String::new(),
            keys: certs_to_keys(&trusted, &trusted_ints),
            threshold: prev_role.threshold,
        };
        verify_signatures(env, &trusted_role).map_err(|_| {
            Error::RootRotationFail(
                "failed to validate data with current trusted certificates".into(),
            )
        })?;
    }

    let checker =
        new_trust_pin_checker(pin, gun, prev.is_none(), now).map_err(Error::ValidationFail)?;
    let empty = Vec::new();
    let pinned: LeafCerts = certs_from_root
        .into_iter()
        .filter(|(id, c)| checker.check(c, valid_ints.get(id).unwrap_or(&empty), now))
        .collect();
    if pinned.is_empty() {
        return Err(Error::ValidationFail(
            "unable to match any certificates to trust_pinning config".into(),
        ));
    }

    let self_role = BaseRole {
        name: role::ROOT.into(),
        keys: certs_to_keys(&pinned, &valid_ints),
        threshold: root_role.threshold,
    };
    verify_signatures(env, &self_role)
        .map_err(|_| Error::ValidationFail("failed to validate integrity of roots".into()))?;
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{RootRole, Signed};
    use crate::sign::testing::{TestCa, TestKey};
    use crate::sign::{Signer, sign_with_roles};
    use chrono::{Duration, Utc};

    const GUN: &str = "example.com/app";

    /// A root listing `root_keys` (threshold `threshold`) for every base role, signed by
    /// `signers`.
    fn root(
        root_keys: &[&TestKey],
        threshold: i64,
        version: i64,
        signers: &[&TestKey],
    ) -> Envelope {
        let ids: Vec<String> = root_keys
            .iter()
            .map(|k| k.public_key().id().to_owned())
            .collect();
        let keys = root_keys
            .iter()
            .map(|k| (k.public_key().id().to_owned(), k.public_key().clone()))
            .collect();
        let roles = role::BASE_ROLES
            .iter()
            .map(|r| {
                let rr = RootRole {
                    keyids: ids.clone(),
                    threshold,
                    extra: Default::default(),
                };
                (r.to_string(), rr)
            })
            .collect();
        let root = Root {
            typ: "Root".into(),
            consistent_snapshot: false,
            expires: (Utc::now() + Duration::days(3650)).fixed_offset(),
            keys,
            roles,
            version,
            extra: Default::default(),
        };
        let mut signed = Signed::new(root);
        let role = signed.signed.base_role(role::ROOT).unwrap();
        // Sign with whatever subset the test asks for, bypassing the threshold check.
        let msg = signed.canonical_signed().unwrap();
        let _ = &role;
        signed.signatures = signers
            .iter()
            .map(|s| {
                let (method, sig) = s.sign(&msg).unwrap();
                crate::metadata::Signature {
                    keyid: s.public_key().id().to_owned(),
                    method,
                    sig,
                }
            })
            .collect();
        signed.touch();
        Envelope::parse("root", &signed.to_bytes().unwrap()).unwrap()
    }

    fn tofu() -> TrustPinConfig {
        TrustPinConfig::default()
    }

    fn err(r: Result<Root>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn tofu_accepts_a_self_signed_root_certificate() {
        let k = TestKey::root(GUN);
        let env = root(&[&k], 1, 1, &[&k]);
        let r = validate_root(None, &env, GUN, &tofu(), Utc::now()).unwrap();
        assert_eq!(r.version, 1);
    }

    #[test]
    fn certificate_must_name_the_gun_and_be_current() {
        let other = TestKey::root("example.com/other");
        let env = root(&[&other], 1, 1, &[&other]);
        assert_eq!(
            err(validate_root(None, &env, GUN, &tofu(), Utc::now())),
            "could not validate the path to a trusted root: unable to retrieve valid leaf certificates"
        );
        let now = ::time::OffsetDateTime::now_utc();
        let expired = TestKey::ecdsa_x509(
            GUN,
            now - ::time::Duration::days(20),
            now - ::time::Duration::days(10),
        );
        let env = root(&[&expired], 1, 1, &[&expired]);
        assert!(matches!(
            validate_root(None, &env, GUN, &tofu(), Utc::now()),
            Err(Error::ValidationFail(_))
        ));
        let wildcard = TestKey::root("example.com/*");
        let env = root(&[&wildcard], 1, 1, &[&wildcard]);
        assert!(validate_root(None, &env, GUN, &tofu(), Utc::now()).is_ok());
        assert!(validate_root(None, &env, "other.com/app", &tofu(), Utc::now()).is_err());
    }

    #[test]
    fn validation_is_the_same_throughout_the_stable_span() {
        let t = |days: i64| ::time::OffsetDateTime::now_utc() + ::time::Duration::days(days);
        let (a, b) = (
            TestKey::ecdsa_x509(GUN, t(-10), t(10)),
            TestKey::ecdsa_x509(GUN, t(5), t(30)),
        );
        let env = root(&[&a, &b], 1, 1, &[&b]);
        let parsed: Root = env.decode(role::ROOT).unwrap();
        let secs = |days: i64| t(days).unix_timestamp();
        let at = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        // Now: a is valid, b (the only signer) is not yet (5 days ahead, 1 day of skew).
        let (from, until) = certificate_stable_span(&parsed, at(secs(0)));
        assert!((secs(-10) - 86_400 - 1..=secs(-10) - 86_400 + 1).contains(&from));
        assert!(
            (secs(4) - 1..=secs(4) + 1).contains(&until),
            "{until} {}",
            secs(4)
        );
        for s in [from, secs(0), until - 1] {
            assert!(
                validate_root(None, &env, GUN, &tofu(), at(s)).is_err(),
                "{s}"
            );
        }
        // From `until` on, b counts: the outcome changes, and a new span begins.
        assert!(validate_root(None, &env, GUN, &tofu(), at(until)).is_ok());
        assert_eq!(certificate_stable_span(&parsed, at(until)).0, until);
        // After the last edge the span is open-ended.
        assert_eq!(certificate_stable_span(&parsed, at(secs(31))).1, i64::MAX);
        assert!(validate_root(None, &env, GUN, &tofu(), at(secs(31))).is_err());
    }

    #[test]
    fn plain_keys_never_validate_as_root() {
        for k in [TestKey::ecdsa(), TestKey::ed25519()] {
            let env = root(&[&k], 1, 1, &[&k]);
            assert!(matches!(
                validate_root(None, &env, GUN, &tofu(), Utc::now()),
                Err(Error::ValidationFail(_))
            ));
        }
    }

    #[test]
    fn root_must_meet_its_own_threshold() {
        let (a, b) = (TestKey::root(GUN), TestKey::root(GUN));
        let env = root(&[&a, &b], 2, 1, &[&a]);
        assert_eq!(
            err(validate_root(None, &env, GUN, &tofu(), Utc::now())),
            "could not validate the path to a trusted root: failed to validate integrity of roots"
        );
        let env = root(&[&a, &b], 2, 1, &[&a, &b]);
        assert!(validate_root(None, &env, GUN, &tofu(), Utc::now()).is_ok());
    }

    #[test]
    fn rotation_needs_old_and_new_signatures() {
        let (old, new) = (TestKey::root(GUN), TestKey::root(GUN));
        let v1 = validate_root(
            None,
            &root(&[&old], 1, 1, &[&old]),
            GUN,
            &tofu(),
            Utc::now(),
        )
        .unwrap();
        // CV-21: signed only by the new key.
        let only_new = root(&[&new], 1, 2, &[&new]);
        assert_eq!(
            err(validate_root(
                Some(&v1),
                &only_new,
                GUN,
                &tofu(),
                Utc::now()
            )),
            "could not rotate trust to a new trusted root: failed to validate data with current trusted certificates"
        );
        // CV-22: signed only by the old key.
        let only_old = root(&[&new], 1, 2, &[&old]);
        assert!(matches!(
            validate_root(Some(&v1), &only_old, GUN, &tofu(), Utc::now()),
            Err(Error::ValidationFail(_))
        ));
        let both = root(&[&new], 1, 2, &[&old, &new]);
        assert_eq!(
            validate_root(Some(&v1), &both, GUN, &tofu(), Utc::now())
                .unwrap()
                .version,
            2
        );
    }

    #[test]
    fn pinned_certificate_ids() {
        let (k, other) = (TestKey::root(GUN), TestKey::root(GUN));
        let env = root(&[&k], 1, 1, &[&k]);
        let mut pin = tofu();
        pin.certs
            .insert(GUN.into(), vec![k.public_key().id().into()]);
        assert!(validate_root(None, &env, GUN, &pin, Utc::now()).is_ok());
        pin.certs
            .insert(GUN.into(), vec![other.public_key().id().into()]);
        assert_eq!(
            err(validate_root(None, &env, GUN, &pin, Utc::now())),
            "could not validate the path to a trusted root: unable to match any certificates to trust_pinning config"
        );
        let mut wild = tofu();
        wild.certs
            .insert("example.com/*".into(), vec![other.public_key().id().into()]);
        wild.certs
            .insert("example.*".into(), vec![k.public_key().id().into()]);
        assert!(
            validate_root(None, &env, GUN, &wild, Utc::now()).is_err(),
            "longest prefix wins"
        );
    }

    #[test]
    fn disable_tofu_refuses_first_contact() {
        let k = TestKey::root(GUN);
        let env = root(&[&k], 1, 1, &[&k]);
        let pin = TrustPinConfig {
            disable_tofu: true,
            ..Default::default()
        };
        assert_eq!(
            err(validate_root(None, &env, GUN, &pin, Utc::now())),
            "could not validate the path to a trusted root: invalid trust pinning specified"
        );
        let prev: Root = env.decode("root").unwrap();
        assert!(validate_root(Some(&prev), &env, GUN, &pin, Utc::now()).is_ok());
    }

    #[test]
    fn ca_pinning_follows_go_chain_rules() {
        let ca = TestCa::new("Test Root CA");
        let leaf = ca.issue(GUN, false);
        let env = root(&[&leaf], 1, 1, &[&leaf]);
        let mut pin = tofu();
        pin.ca
            .insert("example.com/".into(), Some(ca.pem().as_bytes().to_vec()));
        assert!(validate_root(None, &env, GUN, &pin, Utc::now()).is_ok());

        // Go verifies for server authentication by default, so a code-signing-only leaf fails.
        let cs_leaf = ca.issue(GUN, true);
        let env_cs = root(&[&cs_leaf], 1, 1, &[&cs_leaf]);
        assert!(validate_root(None, &env_cs, GUN, &pin, Utc::now()).is_err());

        let stranger = TestCa::new("Other CA").issue(GUN, false);
        let env2 = root(&[&stranger], 1, 1, &[&stranger]);
        assert_eq!(
            err(validate_root(None, &env2, GUN, &pin, Utc::now())),
            "could not validate the path to a trusted root: unable to match any certificates to trust_pinning config"
        );
        pin.ca.insert("example.com/".into(), None);
        assert_eq!(
            err(validate_root(None, &env, GUN, &pin, Utc::now())),
            "could not validate the path to a trusted root: could not load root cert from CA path"
        );
        pin.ca
            .insert("example.com/".into(), Some(b"not pem".to_vec()));
        assert!(validate_root(None, &env, GUN, &pin, Utc::now()).is_err());
    }

    #[test]
    fn go_pem_layout() {
        let der = vec![0u8; 100];
        let p = go_pem("CERTIFICATE", &der);
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert!(p.ends_with("-----END CERTIFICATE-----\n"));
    }

    #[test]
    fn sign_with_roles_meets_root_threshold() {
        let k = TestKey::root(GUN);
        let env = root(&[&k], 1, 1, &[]);
        let r: Root = env.decode("root").unwrap();
        let mut s = Signed::new(r.clone());
        sign_with_roles(&mut s, &[&r.base_role("root").unwrap()], &[&k]).unwrap();
        let env = Envelope::parse("root", &s.to_bytes().unwrap()).unwrap();
        assert!(validate_root(None, &env, GUN, &tofu(), Utc::now()).is_ok());
    }
}
