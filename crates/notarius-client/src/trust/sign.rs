//! How `docker trust` decides where a tag's signature goes and how a repository's first
//! signer is set up (`cli/trust/trust.go`, `cli/command/trust/sign.go`, `signer_add.go`): a
//! signer is a delegation `targets/<name>` with all paths, and its keys are also put into
//! `targets/releases`, the role consumers read tags from.

use notarius_tuf::keys::PublicKey;
use notarius_tuf::metadata::{FileMeta, HashBytes};
use notarius_tuf::role;

use super::registry::Manifest;
use super::view::{DelegationInfo, RELEASES_ROLE};
use crate::changelist::{Change, TufDelegation};

/// Docker's `GetSignableRoles` found nothing to sign with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no valid signing keys for delegation roles")]
pub struct NoSignableRoles;

/// Docker's `GetSignableRoles`: `targets` when the repository has no delegations; otherwise
/// every direct child of `targets` whose paths cover `target` and one of whose keys is held.
pub fn signable_roles(
    delegations: &[DelegationInfo],
    held_key_ids: &[String],
    target: &str,
) -> Result<Vec<String>, NoSignableRoles> {
    if delegations.is_empty() {
        return Ok(vec![role::TARGETS.to_owned()]);
    }
    let mut out: Vec<String> = Vec::new();
    for d in delegations {
        if role::parent(&d.name) != role::TARGETS || !role::check_paths(target, &d.paths) {
            continue;
        }
        if d.key_ids.iter().any(|k| held_key_ids.contains(k)) && !out.contains(&d.name) {
            out.push(d.name.clone());
        }
    }
    if out.is_empty() {
        return Err(NoSignableRoles);
    }
    Ok(out)
}

/// A signer's name: what Docker allows (`^[a-z0-9][a-z0-9_-]*$`, not `releases`), or why not.
pub fn check_signer_name(name: &str, what: &str) -> Result<(), String> {
    let b = name.as_bytes();
    let ok = !b.is_empty()
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-');
    if !ok {
        return Err(format!(
            "{what} name \"{name}\" must start with lowercase alphanumeric characters and can include \"-\" or \"_\" after the first character"
        ));
    }
    if what == "signer" && name == "releases" {
        return Err("releases is a reserved keyword, use a different signer name".into());
    }
    Ok(())
}

/// Docker's `addStagedSigner`: `targets/<name>` and `targets/releases` each with the keys and
/// all paths, as the four changes Notary's `AddDelegationRoleAndKeys` and `AddDelegationPaths`
/// stage.
pub fn signer_changes(signer: &str, keys: &[PublicKey]) -> Vec<Change> {
    let mut out = Vec::new();
    for r in [format!("targets/{signer}"), RELEASES_ROLE.to_owned()] {
        out.push(Change::Delegation {
            role: r.clone(),
            create: true,
            edit: TufDelegation {
                threshold: 1,
                add_keys: keys.to_vec(),
                ..Default::default()
            },
        });
        out.push(Change::Delegation {
            role: r,
            create: true,
            edit: TufDelegation {
                add_paths: vec![String::new()],
                ..Default::default()
            },
        });
    }
    out
}

/// The target Docker signs for a manifest: its sha256 and length.
pub fn manifest_target(m: &Manifest) -> FileMeta {
    FileMeta {
        custom: None,
        hashes: [("sha256".to_owned(), HashBytes(m.sha256()))].into(),
        length: m.size as i64,
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(name: &str, paths: &[&str], keys: &[&str]) -> DelegationInfo {
        DelegationInfo {
            name: name.into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            key_ids: keys.iter().map(|k| k.to_string()).collect(),
            threshold: 1,
        }
    }

    #[test]
    fn signable_roles_as_docker_picks_them() {
        assert_eq!(signable_roles(&[], &[], "v1").unwrap(), ["targets"]);
        let ds = [
            d("targets/releases", &[""], &["a", "b"]),
            d("targets/alice", &[""], &["a"]),
            d("targets/bob", &[""], &["b"]),
            d("targets/alice/sub", &[""], &["a"]),
            d("targets/prod", &["prod/"], &["a"]),
        ];
        assert_eq!(
            signable_roles(&ds, &["a".into()], "v1").unwrap(),
            ["targets/releases", "targets/alice"]
        );
        assert_eq!(
            signable_roles(&ds, &["a".into()], "prod/v1").unwrap(),
            ["targets/releases", "targets/alice", "targets/prod"]
        );
        assert_eq!(
            signable_roles(&ds, &["z".into()], "v1"),
            Err(NoSignableRoles)
        );
        assert!(check_signer_name("alice_1-x", "signer").is_ok());
        for bad in ["Alice", "-a", "", "a.b", "releases"] {
            assert!(check_signer_name(bad, "signer").is_err(), "{bad}");
        }
        assert!(check_signer_name("releases", "key").is_ok());
        assert_eq!(signer_changes("alice", &[]).len(), 4);
    }
}
