//! TUF metadata exactly as Notary 0.7 writes it: the signed envelope, root, targets (and
//! delegated targets), snapshot and timestamp.
//!
//! Every object keeps the fields we do not model in `extra`, so a load-edit-sign cycle does not
//! lose them (Notary itself drops them; we are stricter about preserving).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::cjson::{self, NumberMode};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::role;
use crate::time::{self as gotime, Instant, serde_go_time};

/// Fields of the JSON objects we model, for the case-variant check below.
const COMMON_FIELDS: &[&str] = &["_type", "expires", "version"];

pub const SHA256: &str = "sha256";
pub const SHA512: &str = "sha512";

/// Unknown members of an object, kept verbatim.
pub type Extra = BTreeMap<String, Value>;

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    #[serde(deserialize_with = "lowercase")]
    pub method: String,
    #[serde(with = "b64")]
    pub sig: Vec<u8>,
}

fn lowercase<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(String::deserialize(d)?.to_lowercase())
}

/// `[]byte` as Go's JSON encodes it: standard base64 with padding.
pub mod b64 {
    use super::*;
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<u8>, D::Error> {
        // `Option<String>` decoded without a copy of the text: a targets file holds two
        // digests per target.
        struct Text;
        impl<'de> serde::de::Visitor<'de> for Text {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Vec<u8>, E> {
                B64.decode(v.as_bytes())
                    .map_err(|e| E::custom(format!("illegal base64 data: {e}")))
            }
        }
        struct Nullable;
        impl<'de> serde::de::Visitor<'de> for Nullable {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("option")
            }
            fn visit_none<E>(self) -> std::result::Result<Vec<u8>, E> {
                Ok(Vec::new())
            }
            fn visit_unit<E>(self) -> std::result::Result<Vec<u8>, E> {
                Ok(Vec::new())
            }
            fn visit_some<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Vec<u8>, D::Error> {
                d.deserialize_str(Text)
            }
        }
        d.deserialize_option(Nullable)
    }
}

/// Hash algorithm name to digest bytes.
pub type Hashes = BTreeMap<String, HashBytes>;

/// Digest bytes, base64 on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct HashBytes(pub Vec<u8>);

impl std::fmt::Debug for HashBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl Serialize for HashBytes {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        b64::serialize(&self.0, s)
    }
}
impl<'de> Deserialize<'de> for HashBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        b64::deserialize(d).map(HashBytes)
    }
}

/// `null` decodes to the empty collection, as Go's nil slices and maps do.
fn nullable<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Length and hashes of a target or metadata file, with optional `custom` data.
/// (`Deserialize` is hand-written, in `decode.rs`.)
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Value>,
    #[serde(default, deserialize_with = "nullable")]
    pub hashes: Hashes,
    pub length: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

impl FileMeta {
    /// sha256 and sha512 of `bytes`, as Notary records every file.
    pub fn from_bytes(bytes: &[u8]) -> FileMeta {
        let mut hashes = Hashes::new();
        hashes.insert(SHA256.into(), HashBytes(sha256(bytes).to_vec()));
        hashes.insert(
            SHA512.into(),
            HashBytes(
                ring::digest::digest(&ring::digest::SHA512, bytes)
                    .as_ref()
                    .to_vec(),
            ),
        );
        FileMeta {
            custom: None,
            hashes,
            length: bytes.len() as i64,
            extra: Extra::new(),
        }
    }

    pub fn sha256(&self) -> Option<&[u8]> {
        self.hashes.get(SHA256).map(|h| h.0.as_slice())
    }

    /// Notary's `CheckHashes`: every supported hash listed must match, and at least one must be
    /// listed.
    pub fn check_hashes(&self, payload: &[u8], name: &str) -> Result<()> {
        check_hashes(payload, name, &self.hashes)
    }

    /// Notary's `FileMeta.Equals`.
    pub fn same_as(&self, other: &FileMeta) -> bool {
        self.length == other.length && self.hashes == other.hashes && self.custom == other.custom
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Notary's `data.CheckHashes`.
pub fn check_hashes(payload: &[u8], name: &str, hashes: &Hashes) -> Result<()> {
    let mut count = 0;
    for (alg, expected) in hashes {
        let actual: Vec<u8> = match alg.as_str() {
            SHA256 => sha256(payload).to_vec(),
            SHA512 => ring::digest::digest(&ring::digest::SHA512, payload)
                .as_ref()
                .to_vec(),
            _ => continue,
        };
        if !constant_time_eq(&actual, &expected.0) {
            return Err(Error::MismatchedChecksum {
                alg: alg.clone(),
                name: name.to_owned(),
                expected: hex::encode(&expected.0),
            });
        }
        count += 1;
    }
    if count == 0 {
        return Err(Error::MissingMeta {
            role: name.to_owned(),
        });
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Notary's `CheckValidHashStructures`.
pub fn check_valid_hash_structures(hashes: &Hashes) -> std::result::Result<(), String> {
    let mut count = 0;
    for (alg, v) in hashes {
        match alg.as_str() {
            SHA256 if v.0.len() != 32 => return Err(format!("{SHA256} checksum invalid")),
            SHA512 if v.0.len() != 64 => return Err(format!("{SHA512} checksum invalid")),
            SHA256 | SHA512 => count += 1,
            _ => {}
        }
    }
    if count == 0 {
        return Err("at least one supported hash needed".into());
    }
    Ok(())
}

/// Keys and threshold of a base role in root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootRole {
    #[serde(default, deserialize_with = "nullable")]
    pub keyids: Vec<String>,
    pub threshold: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `root.json`'s signed part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type", default)]
    pub typ: String,
    #[serde(default)]
    pub consistent_snapshot: bool,
    #[serde(with = "serde_go_time")]
    pub expires: DateTime<FixedOffset>,
    #[serde(default, deserialize_with = "nullable")]
    pub keys: BTreeMap<String, PublicKey>,
    #[serde(default, deserialize_with = "nullable")]
    pub roles: BTreeMap<String, RootRole>,
    pub version: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A delegation entry in `delegations.roles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DelegationEntry {
    #[serde(default, deserialize_with = "nullable")]
    pub keyids: Vec<String>,
    pub name: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    pub threshold: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Delegations {
    #[serde(default, deserialize_with = "nullable")]
    pub keys: BTreeMap<String, PublicKey>,
    #[serde(default, deserialize_with = "nullable")]
    pub roles: Vec<DelegationEntry>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `targets.json` or a delegated `targets/<name>.json`. (`Deserialize` is hand-written, in
/// `decode.rs`.)
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Targets {
    #[serde(rename = "_type", default)]
    pub typ: String,
    #[serde(default, deserialize_with = "nullable")]
    pub delegations: Delegations,
    #[serde(with = "serde_go_time")]
    pub expires: DateTime<FixedOffset>,
    #[serde(default, deserialize_with = "nullable")]
    pub targets: BTreeMap<String, FileMeta>,
    pub version: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `snapshot.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(rename = "_type", default)]
    pub typ: String,
    #[serde(with = "serde_go_time")]
    pub expires: DateTime<FixedOffset>,
    #[serde(default, deserialize_with = "nullable")]
    pub meta: BTreeMap<String, FileMeta>,
    pub version: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `timestamp.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timestamp {
    #[serde(rename = "_type", default)]
    pub typ: String,
    #[serde(with = "serde_go_time")]
    pub expires: DateTime<FixedOffset>,
    #[serde(default, deserialize_with = "nullable")]
    pub meta: BTreeMap<String, FileMeta>,
    pub version: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Behaviour shared by the four kinds of signed part.
pub trait SignedPart: Serialize + DeserializeOwned + Clone {
    /// The `_type` value.
    const TYPE: &'static str;
    /// Fields this struct models, for the case-variant check.
    const FIELDS: &'static [&'static str];
    fn version(&self) -> i64;
    fn set_version(&mut self, v: i64);
    fn expires(&self) -> &DateTime<FixedOffset>;
    fn set_expires(&mut self, t: DateTime<FixedOffset>);
    fn typ(&self) -> &str;
    /// The members not modelled: every member whose name is not in [`SignedPart::FIELDS`].
    fn extra(&self) -> &Extra;
    /// Structural checks Notary runs when loading (`isValid…Structure`); `role` is the slot the
    /// file is loaded into.
    fn validate(&self, role: &str) -> Result<()>;
}

macro_rules! common_accessors {
    () => {
        fn version(&self) -> i64 {
            self.version
        }
        fn set_version(&mut self, v: i64) {
            self.version = v;
        }
        fn expires(&self) -> &DateTime<FixedOffset> {
            &self.expires
        }
        fn set_expires(&mut self, t: DateTime<FixedOffset>) {
            self.expires = t;
        }
        fn typ(&self) -> &str {
            &self.typ
        }
        fn extra(&self) -> &Extra {
            &self.extra
        }
    };
}

fn check_type_and_version(
    role: &str,
    expected: &str,
    typ: &str,
    version: i64,
    one: &str,
) -> Result<()> {
    if typ != expected {
        return Err(Error::invalid(
            role,
            format!("expected type {expected}, not {typ}"),
        ));
    }
    if version < 1 {
        return Err(Error::invalid(
            role,
            format!("version cannot be less than {one}"),
        ));
    }
    Ok(())
}

fn check_role_structure(
    containing: &str,
    role_name: &str,
    keyids: &[String],
    threshold: i64,
    keys: &BTreeMap<String, PublicKey>,
) -> Result<()> {
    if threshold < 1 {
        return Err(Error::invalid(
            containing,
            format!("invalid threshold specified for {role_name}: {threshold} "),
        ));
    }
    for id in keyids {
        if !keys.contains_key(id) {
            return Err(Error::invalid(
                containing,
                format!("key ID {id} specified in {role_name} without corresponding key"),
            ));
        }
    }
    Ok(())
}

impl SignedPart for Root {
    const TYPE: &'static str = "Root";
    const FIELDS: &'static [&'static str] = &[
        "_type",
        "consistent_snapshot",
        "expires",
        "keys",
        "roles",
        "version",
    ];
    common_accessors!();

    fn validate(&self, _role: &str) -> Result<()> {
        let r = role::ROOT;
        check_type_and_version(r, Self::TYPE, &self.typ, self.version, "1")?;
        for base in role::BASE_ROLES {
            let Some(rr) = self.roles.get(base) else {
                return Err(Error::invalid(
                    r,
                    format!("missing {base} role specification"),
                ));
            };
            check_role_structure(r, base, &rr.keyids, rr.threshold, &self.keys)?;
        }
        Ok(())
    }
}

impl SignedPart for Targets {
    const TYPE: &'static str = "Targets";
    const FIELDS: &'static [&'static str] =
        &["_type", "delegations", "expires", "targets", "version"];
    common_accessors!();

    fn validate(&self, role_name: &str) -> Result<()> {
        if role_name != role::TARGETS && !role::is_delegation(role_name) {
            return Err(Error::InvalidRole {
                role: role_name.to_owned(),
                reason: String::new(),
            });
        }
        check_type_and_version(role_name, Self::TYPE, &self.typ, self.version, "one")?;
        for d in &self.delegations.roles {
            if !role::is_delegation(&d.name) || role::parent(&d.name) != role_name {
                return Err(Error::invalid(
                    role_name,
                    format!("delegation role {} invalid", d.name),
                ));
            }
            check_role_structure(
                role_name,
                &d.name,
                &d.keyids,
                d.threshold,
                &self.delegations.keys,
            )?;
        }
        for (name, meta) in &self.targets {
            if meta.length < 0 {
                return Err(Error::invalid(
                    role_name,
                    format!("target {name:?} has a negative length"),
                ));
            }
        }
        Ok(())
    }
}

impl SignedPart for Snapshot {
    const TYPE: &'static str = "Snapshot";
    const FIELDS: &'static [&'static str] = &["_type", "expires", "meta", "version"];
    common_accessors!();

    fn validate(&self, _role: &str) -> Result<()> {
        let r = role::SNAPSHOT;
        check_type_and_version(r, Self::TYPE, &self.typ, self.version, "one")?;
        for file in [role::ROOT, role::TARGETS] {
            let meta = self.meta.get(file);
            if meta.and_then(|m| m.hashes.get(SHA256)).is_none() {
                return Err(Error::invalid(
                    r,
                    format!("missing {file} sha256 checksum information"),
                ));
            }
            if let Err(e) = check_valid_hash_structures(&meta.expect("checked").hashes) {
                return Err(Error::invalid(
                    r,
                    format!("invalid {file} checksum information, {e}"),
                ));
            }
        }
        for (name, meta) in &self.meta {
            if meta.length < 0 {
                return Err(Error::invalid(
                    r,
                    format!("meta for {name} has a negative length"),
                ));
            }
        }
        Ok(())
    }
}

impl SignedPart for Timestamp {
    const TYPE: &'static str = "Timestamp";
    const FIELDS: &'static [&'static str] = &["_type", "expires", "meta", "version"];
    common_accessors!();

    fn validate(&self, _role: &str) -> Result<()> {
        let r = role::TIMESTAMP;
        check_type_and_version(r, Self::TYPE, &self.typ, self.version, "one")?;
        let meta = self.meta.get(role::SNAPSHOT);
        if meta.and_then(|m| m.hashes.get(SHA256)).is_none() {
            return Err(Error::invalid(
                r,
                "missing snapshot sha256 checksum information",
            ));
        }
        if let Err(e) = check_valid_hash_structures(&meta.expect("checked").hashes) {
            return Err(Error::invalid(
                r,
                format!("invalid snapshot checksum information, {e}"),
            ));
        }
        if meta.is_some_and(|m| m.length < 0) {
            return Err(Error::invalid(r, "snapshot meta has a negative length"));
        }
        Ok(())
    }
}

impl Root {
    /// The keys and threshold of a base role (`BuildBaseRole`).
    pub fn base_role(&self, name: &str) -> Result<BaseRole> {
        let rr = self.roles.get(name).ok_or_else(|| Error::InvalidRole {
            role: name.to_owned(),
            reason: "role not found in root file".into(),
        })?;
        let mut keys = BTreeMap::new();
        for id in &rr.keyids {
            let k = self.keys.get(id).ok_or_else(|| Error::InvalidRole {
                role: name.to_owned(),
                reason: format!("key with ID {id} was not found in root metadata"),
            })?;
            keys.insert(id.clone(), k.clone());
        }
        Ok(BaseRole {
            name: name.to_owned(),
            keys,
            threshold: rr.threshold,
        })
    }
}

impl Targets {
    /// The role a delegation entry describes (`BuildDelegationRole`), paths unrestricted.
    pub fn delegation_role(&self, name: &str) -> Result<DelegationRole> {
        let entry = self
            .delegations
            .roles
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| Error::NoSuchRole {
                role: name.to_owned(),
            })?;
        let mut keys = BTreeMap::new();
        for id in &entry.keyids {
            let k = self
                .delegations
                .keys
                .get(id)
                .ok_or_else(|| Error::InvalidRole {
                    role: name.to_owned(),
                    reason: format!("role lists unknown key {id} as a signing key"),
                })?;
            keys.insert(id.clone(), k.clone());
        }
        Ok(DelegationRole {
            base: BaseRole {
                name: entry.name.clone(),
                keys,
                threshold: entry.threshold,
            },
            paths: entry.paths.clone(),
        })
    }

    /// The child delegations of this role, each restricted to `parent`'s paths
    /// (`GetValidDelegations`); entries that cannot be built are skipped, as Notary does.
    pub fn valid_delegations(&self, parent: &DelegationRole) -> Vec<DelegationRole> {
        self.delegations
            .roles
            .iter()
            .filter_map(|d| self.delegation_role(&d.name).ok())
            .filter_map(|child| parent.restrict(&child))
            .collect()
    }
}

/// A role's trusted keys and threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseRole {
    pub name: String,
    pub keys: BTreeMap<String, PublicKey>,
    pub threshold: i64,
}

/// A delegated role with the paths it may sign for.
#[derive(Debug, Clone, PartialEq)]
pub struct DelegationRole {
    pub base: BaseRole,
    pub paths: Vec<String>,
}

impl DelegationRole {
    /// The top-level targets role seen as a delegation covering every path.
    pub fn top(targets: BaseRole) -> DelegationRole {
        DelegationRole {
            base: targets,
            paths: vec![String::new()],
        }
    }

    pub fn is_parent_of(&self, child: &DelegationRole) -> bool {
        role::parent(&child.base.name) == self.base.name
    }

    /// Notary's `Restrict`: `None` when `child` is not a direct child.
    pub fn restrict(&self, child: &DelegationRole) -> Option<DelegationRole> {
        if !self.is_parent_of(child) {
            return None;
        }
        Some(DelegationRole {
            base: child.base.clone(),
            paths: role::restrict_paths(&self.paths, &child.paths),
        })
    }

    pub fn check_paths(&self, target: &str) -> bool {
        role::check_paths(target, &self.paths)
    }
}

/// A parsed envelope: the `signed` object as a generic value (what signatures cover) plus the
/// signatures.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub signed: Value,
    pub signatures: Vec<Signature>,
}

impl Envelope {
    /// Parses bytes strictly. Only `signed` and `signatures` may appear at the top level
    /// (Cure53 TUF-01-001).
    pub fn parse(role: &str, bytes: &[u8]) -> Result<Envelope> {
        let v = cjson::parse_strict(bytes).map_err(|e| Error::from_parse(role, e))?;
        let Value::Object(mut top) = v else {
            return Err(Error::malformed(role, "metadata is not a JSON object"));
        };
        if let Some(k) = top.keys().find(|k| *k != "signed" && *k != "signatures") {
            return Err(Error::malformed(
                role,
                format!("unexpected top-level member {k:?}"),
            ));
        }
        let signed = top.remove("signed").unwrap_or(Value::Null);
        if !signed.is_object() {
            return Err(Error::malformed(role, "\"signed\" is not a JSON object"));
        }
        let signatures = top
            .remove("signatures")
            .map_or(Ok(Vec::new()), signatures_of)
            .map_err(|e| Error::malformed(role, e))?;
        Ok(Envelope { signed, signatures })
    }

    /// The bytes signatures are made over, found verbatim in `bytes` (the file this envelope
    /// was parsed from) when they are there: `{"signed":` followed by a value already in
    /// canonical form, as Notary and notarius write files whose names need no HTML escaping.
    /// `None` when that is not certain; [`Envelope::canonical_signed`] then writes them.
    /// Reading a large targets file spent a sixth of its time writing out again the bytes it
    /// had just read (callgrind).
    pub fn canonical_signed_in(bytes: &[u8]) -> Option<&[u8]> {
        let rest = bytes.strip_prefix(b"{\"signed\":")?;
        let n = cjson::canonical_prefix(rest)?;
        matches!(rest.get(n), Some(b',' | b'}')).then(|| &rest[..n])
    }

    /// The bytes signatures are made over, as Notary's verifier recomputes them.
    pub fn canonical_signed(&self) -> Result<Vec<u8>> {
        Ok(cjson::to_canonical_with(&self.signed, NumberMode::GoFloat)?)
    }

    /// Decodes the signed part into its type and runs the structural checks for slot `role`.
    pub fn decode<T: SignedPart>(&self, role: &str) -> Result<T> {
        decode_tree(role, &self.signed)
    }

    /// Serialises as Notary's client does: `{"signed":…,"signatures":[…]}`, with Go's HTML
    /// escaping inside strings.
    pub fn to_wire_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(b"{\"signed\":");
        cjson::go_compact_escaped(&self.signed, &mut out, NumberMode::Exact)?;
        out.extend_from_slice(b",\"signatures\":[");
        for (i, s) in self.signatures.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"keyid\":");
            cjson::go_escape_string(&mut out, &s.keyid);
            out.extend_from_slice(b",\"method\":");
            cjson::go_escape_string(&mut out, &s.method);
            out.extend_from_slice(b",\"sig\":\"");
            out.extend_from_slice(B64.encode(&s.sig).as_bytes());
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }
}

/// A metadata file as received, ready to load: its signatures, and its signed part either still
/// in the received bytes or parsed into a tree.
///
/// Files written by Notary or notarius carry their signed part in canonical form, and then
/// the strict parser's checks (UTF-8, control characters, duplicate members, depth) hold for it
/// by construction, so it is decoded straight into its type and its signatures are checked over
/// those bytes. Building the generic tree first and decoding that was over half of a cold
/// `list` of 10,000 targets (callgrind). Anything else, and every error, goes through
/// [`Envelope::parse`], so both ways accept the same files and say the same thing.
#[derive(Debug)]
pub struct Received<'a> {
    bytes: &'a [u8],
    body: Body<'a>,
    pub signatures: Vec<Signature>,
}

#[derive(Debug)]
enum Body<'a> {
    Canonical(&'a [u8]),
    Parsed(Value),
}

impl<'a> Received<'a> {
    pub fn parse(role: &str, bytes: &'a [u8]) -> Result<Received<'a>> {
        if let Some(r) = Self::canonical(bytes) {
            return Ok(r);
        }
        let env = Envelope::parse(role, bytes)?;
        Ok(Received {
            bytes,
            body: Body::Parsed(env.signed),
            signatures: env.signatures,
        })
    }

    /// `Some` only for files [`Envelope::parse`] accepts, with the same signatures.
    fn canonical(bytes: &'a [u8]) -> Option<Received<'a>> {
        let signed = Envelope::canonical_signed_in(bytes)?;
        // Canonical form has no whitespace, so a byte below 0x20 is a raw control character
        // in a string, which the strict parser refuses; so is invalid UTF-8.
        if signed.first() != Some(&b'{')
            || signed.iter().any(|&c| c < 0x20)
            || std::str::from_utf8(signed).is_err()
        {
            return None;
        }
        let rest = &bytes[b"{\"signed\":".len() + signed.len()..];
        let signatures = match rest.split_first()? {
            (b'}', tail) => {
                if !tail
                    .iter()
                    .all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
                {
                    return None;
                }
                Vec::new()
            }
            (b',', tail) => {
                // The rest is `"signatures":…}`: parsed strictly as an object of its own, which
                // must hold that one member (a second `signed` is a duplicate).
                let mut obj = Vec::with_capacity(tail.len() + 1);
                obj.push(b'{');
                obj.extend_from_slice(tail);
                let Value::Object(mut top) = cjson::parse_strict(&obj).ok()? else {
                    return None;
                };
                let sigs = top.remove("signatures")?;
                if !top.is_empty() {
                    return None;
                }
                signatures_of(sigs).ok()?
            }
            _ => return None,
        };
        Some(Received {
            bytes,
            body: Body::Canonical(signed),
            signatures,
        })
    }

    /// [`Envelope::decode`]: the signed part as its type, structurally checked for slot `role`.
    pub fn decode<T: SignedPart>(&self, role: &str) -> Result<T> {
        match &self.body {
            Body::Parsed(signed) => decode_tree(role, signed),
            Body::Canonical(signed) => {
                let mut de = serde_json::Deserializer::from_slice(signed);
                match T::deserialize(&mut de) {
                    Ok(part) => {
                        // Every member not in `FIELDS` is in `extra`: the same names the tree's
                        // check looks at.
                        reject_case_variants(role, part.extra().keys(), T::FIELDS)?;
                        part.validate(role)?;
                        Ok(part)
                    }
                    // The tree's way says what is wrong, in its words.
                    Err(_) => Envelope::parse(role, self.bytes)?.decode(role),
                }
            }
        }
    }

    /// [`verify_signatures`] over the signed part.
    pub fn verify(&self, role: &BaseRole) -> Result<()> {
        match &self.body {
            Body::Canonical(signed) => verify_signatures_over(&self.signatures, signed, role),
            Body::Parsed(signed) => {
                let msg = cjson::to_canonical_with(signed, NumberMode::GoFloat)?;
                verify_signatures_over(&self.signatures, &msg, role)
            }
        }
    }
}

/// An envelope's `signatures` member; `null` is none, as Go's nil slice.
fn signatures_of(v: Value) -> serde_json::Result<Vec<Signature>> {
    match v {
        Value::Null => Ok(Vec::new()),
        v => serde_json::from_value(v),
    }
}

fn decode_tree<T: SignedPart>(role: &str, signed: &Value) -> Result<T> {
    let obj = signed.as_object().expect("checked at parse");
    reject_case_variants(role, obj.keys(), T::FIELDS)?;
    // From a borrowed value: `from_value` would need a deep copy of the whole tree first,
    // which was a fifth of a cold `list` of 10,000 targets (perf).
    let part = T::deserialize(signed).map_err(|e| Error::malformed(role, e))?;
    part.validate(role)?;
    Ok(part)
}

/// Go matches JSON members to struct fields case-insensitively; refusing case variants keeps us
/// from reading a different value than Go would (`"Version": 9` next to `"version": 1`).
fn reject_case_variants<'k>(
    role: &str,
    keys: impl Iterator<Item = &'k String>,
    fields: &[&str],
) -> Result<()> {
    for k in keys {
        if fields.contains(&k.as_str()) {
            continue;
        }
        let lower = k.to_lowercase();
        if fields.iter().any(|f| *f == lower) || COMMON_FIELDS.contains(&lower.as_str()) {
            return Err(Error::malformed(
                role,
                format!("member {k:?} differs from a known field only in case"),
            ));
        }
    }
    Ok(())
}

/// Verifies the signatures of `env` against `role` (Notary's `VerifySignatures`).
///
/// A signature counts once per distinct public key: the same key listed under two IDs (bare and
/// inside a certificate) cannot meet a threshold of two (beyond Notary; GHSA-3633-5h82-39pq).
pub fn verify_signatures(env: &Envelope, role: &BaseRole) -> Result<()> {
    if env.signatures.is_empty() || role.threshold < 1 {
        // The same errors, before any canonical bytes are written.
        return verify_signatures_over(&env.signatures, &[], role);
    }
    verify_signatures_over(&env.signatures, &env.canonical_signed()?, role)
}

/// [`verify_signatures`] of `signatures` over `msg`, the canonical signed part.
fn verify_signatures_over(signatures: &[Signature], msg: &[u8], role: &BaseRole) -> Result<()> {
    if signatures.is_empty() {
        return Err(Error::NoSignatures);
    }
    if role.threshold < 1 {
        return Err(Error::RoleThreshold {
            role: None,
            detail: None,
        });
    }
    let mut valid_ids: BTreeSet<&str> = BTreeSet::new();
    let mut valid_keys: BTreeSet<String> = BTreeSet::new();
    let mut attempts: BTreeMap<&str, u32> = BTreeMap::new();
    // For the error only: who signed, validly or not.
    let mut invalid: BTreeSet<String> = BTreeSet::new();
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    for sig in signatures {
        let Some(key) = role.keys.get(&sig.keyid) else {
            unknown.insert(sig.keyid.clone());
            continue;
        };
        if key.id() != sig.keyid {
            return Err(Error::InvalidKeyId);
        }
        if valid_ids.contains(sig.keyid.as_str()) {
            continue;
        }
        // Bounds the work a file stuffed with bad signatures for one key can cause.
        let n = attempts.entry(sig.keyid.as_str()).or_default();
        *n += 1;
        if *n > 4 {
            continue;
        }
        if key.verify(&sig.method, &sig.sig, msg).is_ok() {
            valid_ids.insert(sig.keyid.as_str());
            valid_keys.insert(key.fingerprint());
        } else {
            invalid.insert(key.canonical_id().to_owned());
        }
    }
    if (valid_keys.len() as i64) < role.threshold {
        let canonical = |ids: &mut dyn Iterator<Item = &str>| -> Vec<String> {
            let set: BTreeSet<String> = ids
                .map(|id| {
                    role.keys
                        .get(id)
                        .map_or(id, |k| k.canonical_id())
                        .to_owned()
                })
                .collect();
            set.into_iter().collect()
        };
        let valid = canonical(&mut valid_ids.iter().copied());
        let detail = crate::error::ThresholdDetail {
            threshold: role.threshold,
            role_keys: canonical(&mut role.keys.keys().map(String::as_str)),
            invalid: invalid.into_iter().filter(|i| !valid.contains(i)).collect(),
            valid,
            unknown: unknown.into_iter().collect(),
        };
        return Err(Error::RoleThreshold {
            role: Some(role.name.clone()),
            detail: Some(Box::new(detail)),
        });
    }
    Ok(())
}

/// Notary's `VerifyExpiry`.
pub fn verify_expiry<T: SignedPart>(part: &T, role: &str, now: Instant) -> Result<()> {
    if *part.expires() < now {
        return Err(Error::Expired {
            role: role.to_owned(),
            expired: gotime::format_go_expired(part.expires()),
        });
    }
    Ok(())
}

/// Notary's `VerifyVersion`.
pub fn verify_version<T: SignedPart>(part: &T, min_version: i64) -> Result<()> {
    if part.version() < min_version {
        return Err(Error::LowVersion {
            actual: part.version(),
            current: min_version,
        });
    }
    Ok(())
}

/// A decoded, structurally valid metadata file and the exact bytes it came from.
#[derive(Debug, Clone)]
pub struct Signed<T> {
    pub signed: T,
    pub signatures: Vec<Signature>,
    /// The bytes as received (what snapshot/timestamp hashes cover), if it was parsed.
    pub raw: Option<Vec<u8>>,
}

impl<T: SignedPart> Signed<T> {
    /// Parses and structurally validates, without checking signatures.
    pub fn from_bytes(role: &str, bytes: &[u8]) -> Result<(Signed<T>, Envelope)> {
        let env = Envelope::parse(role, bytes)?;
        let signed = env.decode::<T>(role)?;
        Ok((
            Signed {
                signed,
                signatures: env.signatures.clone(),
                raw: Some(bytes.to_vec()),
            },
            env,
        ))
    }

    pub fn new(signed: T) -> Signed<T> {
        Signed {
            signed,
            signatures: Vec::new(),
            raw: None,
        }
    }

    /// The canonical bytes of the signed part: what a signer signs.
    pub fn canonical_signed(&self) -> Result<Vec<u8>> {
        Ok(cjson::to_canonical_serialize(&self.signed)?)
    }

    /// The envelope for the current signed part and signatures.
    pub fn envelope(&self) -> Result<Envelope> {
        let signed =
            serde_json::to_value(&self.signed).map_err(|e| Error::malformed(T::TYPE, e))?;
        Ok(Envelope {
            signed,
            signatures: self.signatures.clone(),
        })
    }

    /// The wire bytes: the received bytes if untouched, otherwise a fresh Go-style encoding.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        match &self.raw {
            Some(b) => Ok(b.clone()),
            None => self.envelope()?.to_wire_bytes(),
        }
    }

    /// Drops the received bytes after an edit, so `to_bytes` re-encodes.
    pub fn touch(&mut self) {
        self.raw = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = r#"{"signed":{"_type":"Timestamp","expires":"2026-12-09T00:52:03.441Z","meta":{"snapshot":{"hashes":{"sha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","sha512":"z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="},"length":0}},"version":1},"signatures":[]}"#;

    #[test]
    fn digests_decode_as_option_string_did() {
        use serde_json::json;
        #[derive(Debug, Deserialize)]
        struct H(#[serde(with = "b64")] Vec<u8>);
        let de = |v: Value| H::deserialize(&v).map(|h| h.0).map_err(|e| e.to_string());
        let de_text = |t: &str| {
            serde_json::from_str::<H>(t)
                .map(|h| h.0)
                .map_err(|e| e.to_string())
        };
        assert_eq!(de(json!("AAEC")), Ok(vec![0, 1, 2]));
        assert_eq!(de_text("\"AAEC\""), Ok(vec![0, 1, 2]));
        assert_eq!(de(json!(null)), Ok(vec![]));
        assert_eq!(de_text("null"), Ok(vec![]));
        assert_eq!(de(json!("")), Ok(vec![]));
        assert_eq!(
            de(json!(7)),
            Err("invalid type: integer `7`, expected a string".into())
        );
        assert!(
            de(json!("not base64!"))
                .unwrap_err()
                .starts_with("illegal base64 data")
        );
    }

    #[test]
    fn round_trips_go_bytes() {
        let (s, env) = Signed::<Timestamp>::from_bytes("timestamp", TS.as_bytes()).unwrap();
        assert_eq!(s.signed.version, 1);
        assert_eq!(env.to_wire_bytes().unwrap(), TS.as_bytes());
        let mut s2 = s.clone();
        s2.touch();
        assert_eq!(s2.to_bytes().unwrap(), TS.as_bytes());
    }

    #[test]
    fn refuses_extra_top_level_and_case_variants() {
        let extra = TS.replacen("{\"signed\"", "{\"abc\":\"xyz\",\"signed\"", 1);
        assert!(matches!(
            Envelope::parse("timestamp", extra.as_bytes()),
            Err(Error::Malformed { .. })
        ));
        let case = TS.replacen("\"version\":1", "\"version\":1,\"Version\":9", 1);
        let env = Envelope::parse("timestamp", case.as_bytes()).unwrap();
        assert!(matches!(
            env.decode::<Timestamp>("timestamp"),
            Err(Error::Malformed { .. })
        ));
        let dup = TS.replacen("\"version\":1", "\"version\":1,\"version\":9", 1);
        assert!(Envelope::parse("timestamp", dup.as_bytes()).is_err());
    }

    #[test]
    fn structural_errors_match_notary() {
        let wrong = TS.replacen("\"Timestamp\"", "\"Snapshot\"", 1);
        let env = Envelope::parse("timestamp", wrong.as_bytes()).unwrap();
        assert_eq!(
            env.decode::<Timestamp>("timestamp")
                .unwrap_err()
                .to_string(),
            "timestamp type metadata invalid: expected type Timestamp, not Snapshot"
        );
        let v0 = TS.replacen("\"version\":1", "\"version\":0", 1);
        let env = Envelope::parse("timestamp", v0.as_bytes()).unwrap();
        assert_eq!(
            env.decode::<Timestamp>("timestamp")
                .unwrap_err()
                .to_string(),
            "timestamp type metadata invalid: version cannot be less than one"
        );
        for bad_version in ["1.5", "\"1\"", "18446744073709551616", "1e400"] {
            let b = TS.replacen("\"version\":1", &format!("\"version\":{bad_version}"), 1);
            let r = Envelope::parse("timestamp", b.as_bytes())
                .and_then(|e| e.decode::<Timestamp>("timestamp"));
            assert!(r.is_err(), "{bad_version}");
        }
    }

    #[test]
    fn unknown_fields_survive_re_encoding() {
        let with_extra = TS.replacen(
            "\"version\":1",
            "\"version\":1,\"x-custom\":{\"b\":1,\"a\":[true]}",
            1,
        );
        let (mut s, _) =
            Signed::<Timestamp>::from_bytes("timestamp", with_extra.as_bytes()).unwrap();
        s.signed.version = 2;
        s.touch();
        let again = String::from_utf8(s.to_bytes().unwrap()).unwrap();
        assert!(
            again.contains(r#""x-custom":{"a":[true],"b":1}"#),
            "{again}"
        );
    }

    #[test]
    fn hashes_all_must_match() {
        let mut meta = FileMeta::from_bytes(b"abc");
        assert!(meta.check_hashes(b"abc", "targets").is_ok());
        meta.hashes.get_mut(SHA512).unwrap().0[0] ^= 1;
        assert!(
            matches!(meta.check_hashes(b"abc", "targets"), Err(Error::MismatchedChecksum { alg, .. }) if alg == "sha512")
        );
        let only_unknown: Hashes = [("md5".to_string(), HashBytes(vec![0; 16]))].into();
        assert!(matches!(
            check_hashes(b"abc", "targets", &only_unknown),
            Err(Error::MissingMeta { .. })
        ));
    }
}
