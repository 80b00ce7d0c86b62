//! Errors of the TUF core. Each kind Notary distinguishes is a variant, and each message is the
//! one Notary prints, because clients and scripts match on them.

use crate::cjson::{CanonicalError, ParseError};

/// Why metadata was refused or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not the JSON we expect (syntax, duplicate keys, wrong field types).
    #[error("{role} metadata could not be parsed: {msg}")]
    Malformed { role: String, msg: String },
    #[error("{role} type metadata invalid: {msg}")]
    InvalidMetadata { role: String, msg: String },
    #[error("tuf: data has no signatures")]
    NoSignatures,
    /// Too few valid signatures. The message is Notary's (scripts match it); `detail` says who
    /// signed and who should have, for [`Error::explanation`].
    #[error("{}", threshold_msg(.role))]
    RoleThreshold {
        role: Option<String>,
        detail: Option<Box<ThresholdDetail>>,
    },
    #[error("key ID is not valid for key content")]
    InvalidKeyId,
    #[error("{role} expired at {expired}")]
    Expired { role: String, expired: String },
    #[error("version {actual} is lower than current version {current}")]
    LowVersion { actual: i64, current: i64 },
    #[error("{alg} checksum for {name} did not match: expected {expected}")]
    MismatchedChecksum {
        alg: String,
        name: String,
        expected: String,
    },
    #[error("no checksums for supported algorithms were provided for {role}")]
    MissingMeta { role: String },
    #[error("{alg} checksum invalid")]
    InvalidChecksum { alg: String },
    #[error("{}", invalid_role_msg(.role, .reason))]
    InvalidRole { role: String, reason: String },
    #[error("role does not exist: {role}")]
    NoSuchRole { role: String },
    #[error("{0}")]
    InvalidBuilderInput(String),
    #[error(
        "the builder has finished building and cannot accept any more input or produce any more output"
    )]
    BuildDone,
    /// A root that trust pinning, certificates or its own signatures do not support.
    #[error("could not validate the path to a trusted root: {0}")]
    ValidationFail(String),
    #[error("could not rotate trust to a new trusted root: {0}")]
    RootRotationFail(String),
    #[error("certificate with CN {cn} is expired")]
    CertExpired { cn: String },
    #[error("{0}")]
    Canonical(#[from] CanonicalError),
    /// More bytes than the parent metadata (or the fixed cap) allows.
    #[error("{role} metadata is larger than the {limit} bytes allowed")]
    TooLarge { role: String, limit: u64 },
    #[error("{}", insufficient_msg(*.found, *.needed, .missing))]
    InsufficientSignatures {
        found: usize,
        needed: usize,
        missing: Vec<String>,
    },
    #[error("could not find necessary signing keys, at least one of these keys must be available: {}", .0.join(", "))]
    NoKeys(Vec<String>),
    #[error("signing failed: {0}")]
    Signing(String),
    /// The remote or cache could not deliver.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{remote} does not have trust data for {gun}")]
    RepositoryNotExist { remote: String, gun: String },
    #[error("repository has not been initialized")]
    RepoNotInitialized,
}

/// Which keys signed a role's metadata and which the role needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThresholdDetail {
    pub threshold: i64,
    /// Canonical IDs of the keys the trusted metadata lists for the role.
    pub role_keys: Vec<String>,
    /// Listed keys with a valid signature (canonical IDs).
    pub valid: Vec<String>,
    /// Listed keys whose signature did not verify (canonical IDs).
    pub invalid: Vec<String>,
    /// Key IDs of signatures from keys the role does not list.
    pub unknown: Vec<String>,
}

fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(", ")
    }
}

impl Error {
    /// More lines for a human after the one-line message, where the error has them: for a
    /// threshold failure, which keys signed, which were needed and what to do next.
    pub fn explanation(&self) -> Option<String> {
        let Error::RoleThreshold {
            role: Some(role),
            detail: Some(d),
        } = self
        else {
            return None;
        };
        let mut lines = vec![
            format!(
                "  needed: {} valid signature{} from the {role} key{} the trusted metadata lists: {}",
                d.threshold,
                if d.threshold == 1 { "" } else { "s" },
                if d.role_keys.len() == 1 { "" } else { "s" },
                list_or_none(&d.role_keys)
            ),
            format!("  valid signatures from: {}", list_or_none(&d.valid)),
        ];
        if !d.invalid.is_empty() {
            lines.push(format!(
                "  signatures that did not verify, from listed keys: {}",
                d.invalid.join(", ")
            ));
        }
        if !d.unknown.is_empty() {
            lines.push(format!(
                "  signatures from keys {role} does not list: {}",
                d.unknown.join(", ")
            ));
        }
        let next = if role == crate::role::ROOT {
            "  next: the new root must also be signed by the root keys trusted until now. If the \
             root key was rotated on purpose, the repository owner must sign the new root with the \
             old key too; otherwise do not trust this data."
                .to_owned()
        } else if crate::role::is_delegation(role) {
            format!(
                "  next: {role} is a delegation, and its targets are not trusted until {} of the \
                 signers {} lists for it sign it again (`notarius trust sign IMAGE:TAG`, or a \
                 publish by one of them), or the repository owner changes its keys or threshold.",
                d.threshold,
                crate::role::parent(role)
            )
        } else {
            format!(
                "  next: this {role} metadata was not signed by the keys the trusted root lists for \
                 it. If the {role} key was rotated, the rotation must be published in root.json \
                 (`notarius key rotate`); otherwise do not trust this data, and ask the repository \
                 owner to publish it again. A damaged local cache can be dropped with `notarius \
                 delete <GUN>` (keys are kept)."
            )
        };
        lines.push(next);
        Some(lines.join("\n"))
    }
}

fn threshold_msg(role: &Option<String>) -> String {
    match role {
        Some(r) => format!("valid signatures did not meet threshold for {r}"),
        None => "valid signatures did not meet threshold".to_owned(),
    }
}

fn invalid_role_msg(role: &str, reason: &str) -> String {
    if reason.is_empty() {
        format!("tuf: invalid role {role}.")
    } else {
        format!("tuf: invalid role {role}. {reason}")
    }
}

fn insufficient_msg(found: usize, needed: usize, missing: &[String]) -> String {
    let candidates = if missing.is_empty() {
        String::new()
    } else {
        format!(" ({})", missing.join(", "))
    };
    if found == 0 {
        format!(
            "signing keys not available: need {needed} keys from {} possible keys{candidates}",
            missing.len()
        )
    } else {
        format!(
            "not enough signing keys: found {found} of {needed} needed keys - {} other possible keys{candidates}",
            missing.len()
        )
    }
}

impl Error {
    pub(crate) fn malformed(role: &str, e: impl std::fmt::Display) -> Error {
        Error::Malformed {
            role: role.to_owned(),
            msg: e.to_string(),
        }
    }

    pub(crate) fn invalid(role: &str, msg: impl Into<String>) -> Error {
        Error::InvalidMetadata {
            role: role.to_owned(),
            msg: msg.into(),
        }
    }

    pub(crate) fn from_parse(role: &str, e: ParseError) -> Error {
        Error::malformed(role, e.0)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_explanations_say_who_signed() {
        let e = Error::RoleThreshold {
            role: Some("targets".into()),
            detail: Some(Box::new(ThresholdDetail {
                threshold: 2,
                role_keys: vec!["aa".into(), "bb".into()],
                valid: vec!["aa".into()],
                invalid: vec!["bb".into()],
                unknown: vec!["cc".into()],
            })),
        };
        assert_eq!(
            e.to_string(),
            "valid signatures did not meet threshold for targets"
        );
        let x = e.explanation().unwrap();
        let lines: Vec<&str> = x.lines().collect();
        assert_eq!(
            lines[..4],
            [
                "  needed: 2 valid signatures from the targets keys the trusted metadata lists: aa, bb",
                "  valid signatures from: aa",
                "  signatures that did not verify, from listed keys: bb",
                "  signatures from keys targets does not list: cc",
            ]
        );
        assert!(lines[4].starts_with("  next: this targets metadata was not signed"));
        assert_eq!(lines.len(), 5);
        let root = Error::RoleThreshold {
            role: Some("root".into()),
            detail: Some(Box::default()),
        };
        assert!(root.explanation().unwrap().contains("old key too"));
        let releases = Error::RoleThreshold {
            role: Some("targets/releases".into()),
            detail: Some(Box::new(ThresholdDetail {
                threshold: 2,
                ..Default::default()
            })),
        };
        let x = releases.explanation().unwrap();
        assert!(
            x.contains("targets/releases is a delegation")
                && x.contains("until 2 of the signers targets lists"),
            "{x}"
        );
        assert!(Error::NoSignatures.explanation().is_none());
    }

    #[test]
    fn messages_match_notary() {
        assert_eq!(
            Error::RoleThreshold {
                role: Some("targets".into()),
                detail: None,
            }
            .to_string(),
            "valid signatures did not meet threshold for targets"
        );
        assert_eq!(
            Error::InvalidRole {
                role: "targets/x".into(),
                reason: String::new()
            }
            .to_string(),
            "tuf: invalid role targets/x."
        );
        assert_eq!(
            Error::InsufficientSignatures {
                found: 0,
                needed: 1,
                missing: vec!["ab".into()]
            }
            .to_string(),
            "signing keys not available: need 1 keys from 1 possible keys (ab)"
        );
        assert_eq!(
            Error::InsufficientSignatures {
                found: 1,
                needed: 2,
                missing: vec![]
            }
            .to_string(),
            "not enough signing keys: found 1 of 2 needed keys - 0 other possible keys"
        );
    }
}
