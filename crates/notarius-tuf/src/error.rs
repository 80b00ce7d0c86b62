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
    #[error("{}", threshold_msg(.role))]
    RoleThreshold { role: Option<String> },
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
    fn messages_match_notary() {
        assert_eq!(
            Error::RoleThreshold {
                role: Some("targets".into())
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
