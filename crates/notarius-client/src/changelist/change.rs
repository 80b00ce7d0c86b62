//! One staged change, typed (what a publish applies) and as Notary writes it in a change
//! file (Go's `json.Marshal` of a `TUFChange`), so either tool publishes what the other staged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use notarius_tuf::cjson::go_escape_string;
use notarius_tuf::metadata::FileMeta;
use notarius_tuf::repo_edit::DelegationUpdate;

const ACTION_CREATE: &str = "create";
const ACTION_UPDATE: &str = "update";
const ACTION_DELETE: &str = "delete";
const SCOPE_TARGETS: &str = "targets";
const TYPE_TARGET: &str = "target";
const TYPE_DELEGATION: &str = "delegation";
const TYPE_WITNESS: &str = "witness";

/// A staged change, as a publish applies it. Each variant is written exactly as `notary`
/// stages it, so either tool can publish what the other staged.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `add`/`addhash`: a target into `scope` (`targets` or a delegation).
    AddTarget {
        scope: String,
        name: String,
        meta: FileMeta,
        /// `--custom` as the user wrote it: Notary keeps the file's own key order in the
        /// change file (it stages the raw JSON, compacted), which a parsed value would sort.
        custom_json: Option<Vec<u8>>,
    },
    /// `remove`: a target out of `scope`.
    RemoveTarget { scope: String, name: String },
    /// `delegation add` (`create`) and `delegation remove` of keys or paths (an update of a
    /// role that must exist).
    Delegation {
        role: String,
        create: bool,
        edit: TufDelegation,
    },
    /// `delegation purge`: these keys out of every delegation under `scope` (`targets/*`).
    PurgeKeys { scope: String, key_ids: Vec<String> },
    /// `delegation remove` with neither keys nor paths: the whole role.
    DeleteDelegation { role: String },
    /// `witness`: re-sign the role as it is.
    Witness { role: String },
}

impl Change {
    /// A target added to `targets`, or to the delegations in `scope`.
    pub fn add_target(scope: Option<&str>, name: &str, meta: FileMeta) -> Change {
        Change::AddTarget {
            scope: scope.unwrap_or(SCOPE_TARGETS).to_owned(),
            name: name.to_owned(),
            meta,
            custom_json: None,
        }
    }

    /// A target added with custom data (`--custom`), given as the JSON text of the file: it
    /// must be JSON, and is staged in its own key order, as Notary stages it.
    pub fn add_target_with_custom(
        scope: Option<&str>,
        name: &str,
        mut meta: FileMeta,
        custom_json: &[u8],
    ) -> Result<Change, serde_json::Error> {
        meta.custom = Some(serde_json::from_slice(custom_json)?);
        Ok(Change::AddTarget {
            scope: scope.unwrap_or(SCOPE_TARGETS).to_owned(),
            name: name.to_owned(),
            meta,
            custom_json: Some(go_compact(custom_json)),
        })
    }

    /// A target removed from `targets`, or from the delegation `scope`.
    pub fn remove_target(scope: Option<&str>, name: &str) -> Change {
        Change::RemoveTarget {
            scope: scope.unwrap_or(SCOPE_TARGETS).to_owned(),
            name: name.to_owned(),
        }
    }

    /// The raw change file's fields, in Notary's `TUFChange` shape.
    pub(super) fn to_raw(&self) -> Result<RawChange, serde_json::Error> {
        let raw =
            |action: &str, scope: &str, t: &str, path: &str, data: Option<Vec<u8>>| RawChange {
                action: action.to_owned(),
                role: scope.to_owned(),
                change_type: t.to_owned(),
                path: path.to_owned(),
                data,
            };
        Ok(match self {
            Change::AddTarget {
                scope,
                name,
                meta,
                custom_json,
            } => raw(
                ACTION_CREATE,
                scope,
                TYPE_TARGET,
                name,
                Some(go_file_meta(meta, custom_json.as_deref())?),
            ),
            Change::RemoveTarget { scope, name } => {
                raw(ACTION_DELETE, scope, TYPE_TARGET, name, None)
            }
            Change::Delegation { role, create, edit } => raw(
                if *create {
                    ACTION_CREATE
                } else {
                    ACTION_UPDATE
                },
                role,
                TYPE_DELEGATION,
                "",
                Some(serde_json::to_vec(edit)?),
            ),
            Change::PurgeKeys { scope, key_ids } => raw(
                ACTION_UPDATE,
                scope,
                TYPE_DELEGATION,
                "",
                Some(serde_json::to_vec(&TufDelegation {
                    remove_keys: key_ids.clone(),
                    ..Default::default()
                })?),
            ),
            Change::DeleteDelegation { role } => {
                raw(ACTION_DELETE, role, TYPE_DELEGATION, "", None)
            }
            Change::Witness { role } => raw(ACTION_UPDATE, role, TYPE_WITNESS, "", None),
        })
    }
}

/// Go's `json.Compact` with HTML escaping, as `json.Marshal` writes a `json.RawMessage`:
/// whitespace between tokens dropped, `<`, `>`, `&`, U+2028 and U+2029 escaped in strings,
/// everything else (key order included) as written. `src` is valid JSON.
fn go_compact(src: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(src);
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            match c {
                _ if escaped => {
                    escaped = false;
                    out.push(c);
                }
                '\\' => {
                    escaped = true;
                    out.push(c);
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c => out.push(c),
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out.into_bytes()
}

/// Go's `json.Marshal` of a `data.FileMeta`, as `notary add` stores it in a change file:
/// `length`, `hashes`, then `custom` when present (struct order, not sorted): as the user
/// wrote it when that is known, else from the parsed value.
fn go_file_meta(meta: &FileMeta, custom_json: Option<&[u8]>) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = format!("{{\"length\":{},\"hashes\":", meta.length).into_bytes();
    out.extend_from_slice(&serde_json::to_vec(&meta.hashes)?);
    if let Some(raw) = custom_json {
        out.extend_from_slice(b",\"custom\":");
        out.extend_from_slice(raw);
    } else if let Some(custom) = &meta.custom {
        out.extend_from_slice(b",\"custom\":");
        notarius_tuf::cjson::go_compact_escaped(
            custom,
            &mut out,
            notarius_tuf::cjson::NumberMode::Exact,
        )
        .map_err(serde::ser::Error::custom)?;
    }
    out.push(b'}');
    Ok(out)
}

/// One change file as it is on disk (Notary's `TUFChange`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RawChange {
    action: String,
    /// The scope: `targets`, a delegation, or `root`.
    role: String,
    #[serde(rename = "type")]
    change_type: String,
    path: String,
    /// The payload, itself JSON (base64 on disk).
    #[serde(default, with = "opt_b64")]
    data: Option<Vec<u8>>,
}

mod opt_b64 {
    use super::*;
    use serde::Deserialize as _;
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => B64.decode(s).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

impl RawChange {
    /// `create`, `update` or `delete` (the `ACTION` column of `status`).
    pub fn action(&self) -> &str {
        &self.action
    }
    /// The role the change applies to (`SCOPE`).
    pub fn scope(&self) -> &str {
        &self.role
    }
    /// `target`, `delegation`, `witness` (`TYPE`).
    pub fn change_type(&self) -> &str {
        &self.change_type
    }
    /// The target's name, empty for other changes (`PATH`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The typed change, or why this client cannot apply it.
    pub fn decode(&self) -> Result<Change, String> {
        let data = || self.data.as_deref().unwrap_or_default();
        let delegation = || -> Result<TufDelegation, String> {
            serde_json::from_slice(data()).map_err(|e| e.to_string())
        };
        Ok(match (self.change_type.as_str(), self.action.as_str()) {
            (TYPE_TARGET, ACTION_CREATE) => Change::AddTarget {
                scope: self.role.clone(),
                name: self.path.clone(),
                meta: serde_json::from_slice(data()).map_err(|e| e.to_string())?,
                custom_json: None,
            },
            (TYPE_TARGET, ACTION_DELETE) => Change::RemoveTarget {
                scope: self.role.clone(),
                name: self.path.clone(),
            },
            (TYPE_DELEGATION, ACTION_UPDATE)
                if notarius_tuf::role::is_wild_delegation(&self.role) =>
            {
                Change::PurgeKeys {
                    scope: self.role.clone(),
                    key_ids: delegation()?.remove_keys,
                }
            }
            (TYPE_DELEGATION, action @ (ACTION_CREATE | ACTION_UPDATE)) => Change::Delegation {
                role: self.role.clone(),
                create: action == ACTION_CREATE,
                edit: delegation()?,
            },
            (TYPE_DELEGATION, ACTION_DELETE) => Change::DeleteDelegation {
                role: self.role.clone(),
            },
            (TYPE_WITNESS, _) => Change::Witness {
                role: self.role.clone(),
            },
            (t, a) => return Err(format!("{a} of {t} changes")),
        })
    }

    /// Go's `json.Marshal` of the change: fields in struct order, HTML-escaped strings,
    /// `data` base64 or `null`.
    pub(super) fn to_go_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"{\"action\":");
        go_escape_string(&mut out, &self.action);
        out.extend_from_slice(b",\"role\":");
        go_escape_string(&mut out, &self.role);
        out.extend_from_slice(b",\"type\":");
        go_escape_string(&mut out, &self.change_type);
        out.extend_from_slice(b",\"path\":");
        go_escape_string(&mut out, &self.path);
        out.extend_from_slice(b",\"data\":");
        match &self.data {
            Some(d) => {
                out.push(b'"');
                out.extend_from_slice(B64.encode(d).as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        out
    }
}

/// The payload of a delegation change (Notary's `TUFDelegation`; every field omitted when empty).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TufDelegation {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_name: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub threshold: i64,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_vec"
    )]
    pub add_keys: Vec<notarius_tuf::keys::PublicKey>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_vec"
    )]
    pub remove_keys: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_vec"
    )]
    pub add_paths: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_vec"
    )]
    pub remove_paths: Vec<String>,
    #[serde(
        default,
        rename = "clear_paths",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub clear_paths: bool,
}

impl TufDelegation {
    /// The edit a publish makes of it (a threshold of 0, absent on disk, is Notary's 1).
    pub fn to_update(&self) -> DelegationUpdate {
        DelegationUpdate {
            add_keys: self.add_keys.clone(),
            remove_keys: self.remove_keys.clone(),
            add_paths: self.add_paths.clone(),
            remove_paths: self.remove_paths.clone(),
            clear_paths: self.clear_paths,
            threshold: if self.threshold == 0 {
                1
            } else {
                self.threshold
            },
        }
    }
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn null_vec<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    use serde::Deserialize as _;
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> FileMeta {
        serde_json::from_str(r#"{"length":1,"hashes":{"sha256":"AA=="}}"#).unwrap()
    }

    fn target_change(path: &str) -> Change {
        Change::add_target(None, path, meta())
    }

    fn go_json(c: &Change) -> String {
        String::from_utf8(c.to_raw().unwrap().to_go_json()).unwrap()
    }

    #[test]
    fn go_encoding_of_a_change() {
        let c = target_change("t&<x>");
        assert_eq!(
            go_json(&c),
            r#"{"action":"create","role":"targets","type":"target","path":"t\u0026\u003cx\u003e","data":"eyJsZW5ndGgiOjEsImhhc2hlcyI6eyJzaGEyNTYiOiJBQT09In19"}"#
        );
        let back: RawChange = serde_json::from_str(&go_json(&c)).unwrap();
        assert_eq!(back.decode().unwrap(), c);
        let w = Change::Witness {
            role: "targets".into(),
        };
        assert!(go_json(&w).ends_with(r#""type":"witness","path":"","data":null}"#));
    }

    #[test]
    fn custom_data_is_staged_in_its_own_order_as_go_compacts_it() {
        let c = Change::add_target_with_custom(
            None,
            "t",
            meta(),
            b"{ \"z\": \"a <b> & c\",\n  \"a\": [1, 2] }",
        )
        .unwrap();
        let json = go_json(&c);
        let raw: RawChange = serde_json::from_str(&json).unwrap();
        let data = String::from_utf8(raw.data.clone().unwrap()).unwrap();
        assert!(
            data.ends_with(r#","custom":{"z":"a \u003cb\u003e \u0026 c","a":[1,2]}}"#),
            "{data}"
        );
        let Change::AddTarget { meta: decoded, .. } = raw.decode().unwrap() else {
            panic!("a target")
        };
        assert_eq!(decoded.custom.unwrap()["z"], "a <b> & c");
        assert!(Change::add_target_with_custom(None, "t", meta(), b"{").is_err());
    }

    #[test]
    fn every_change_decodes_to_itself() {
        let edit = TufDelegation {
            threshold: 1,
            add_paths: vec!["a/".into()],
            ..Default::default()
        };
        for c in [
            target_change("a"),
            Change::remove_target(Some("targets/releases"), "a"),
            Change::Delegation {
                role: "targets/releases".into(),
                create: true,
                edit: edit.clone(),
            },
            Change::Delegation {
                role: "targets/releases".into(),
                create: false,
                edit,
            },
            Change::PurgeKeys {
                scope: "targets/*".into(),
                key_ids: vec!["ab".into()],
            },
            Change::DeleteDelegation {
                role: "targets/releases".into(),
            },
            Change::Witness {
                role: "targets/releases".into(),
            },
        ] {
            let raw: RawChange = serde_json::from_str(&go_json(&c)).unwrap();
            assert_eq!(raw.decode().unwrap(), c, "{c:?}");
        }
        let odd: RawChange = serde_json::from_str(
            r#"{"action":"create","role":"root","type":"role","path":"","data":null}"#,
        )
        .unwrap();
        assert_eq!(odd.decode().unwrap_err(), "create of role changes");
    }
}
