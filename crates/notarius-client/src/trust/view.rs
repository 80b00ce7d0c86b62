//! What `docker trust inspect` shows of a verified repository, computed as the docker CLI
//! computes it (`cli/command/trust/common.go`): a tag is *released* when `targets` or
//! `targets/releases` holds it, and its signers are the other delegations that hold the same
//! name and digest; signers are the delegations with their canonical key IDs (but
//! `targets/releases`); the administrative keys are root's (as root.json lists them) and
//! targets'.

use std::cmp::Ordering;

use notarius_tuf::metadata::FileMeta;
use notarius_tuf::repo::{Repo, Walk};
use notarius_tuf::role;

/// The delegation every signer's key is also in.
pub const RELEASES_ROLE: &str = "targets/releases";
/// What Docker calls the `targets` and `targets/releases` roles as signers.
pub const RELEASED_ROLE_NAME: &str = "Repo Admin";

/// A target and the role that holds it.
#[derive(Debug, Clone)]
pub struct SignedTarget {
    pub role: String,
    pub name: String,
    pub meta: FileMeta,
}

/// A released tag: its name, the hex sha256 of what it points at, and who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub tag: String,
    pub digest: String,
    pub signers: Vec<String>,
}

/// A delegation as `delegation list` and `trust inspect` show it: key IDs canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationInfo {
    pub name: String,
    pub paths: Vec<String>,
    pub key_ids: Vec<String>,
    pub threshold: i64,
}

/// A signer: a delegation's name without `targets/`, and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub name: String,
    pub keys: Vec<String>,
}

/// `targets` or `targets/releases`.
pub fn is_released_role(r: &str) -> bool {
    r == role::TARGETS || r == RELEASES_ROLE
}

/// Docker's `notaryRoleToSigner`.
pub fn role_to_signer(r: &str) -> String {
    if is_released_role(r) {
        return RELEASED_ROLE_NAME.to_owned();
    }
    r.strip_prefix("targets/").unwrap_or(r).to_owned()
}

/// Notary's `GetAllTargetMetadataByName`: every target (or every target named `tag`) in
/// every role that may hold it, breadth first from `targets`.
pub fn signed_targets(repo: &Repo, tag: Option<&str>) -> notarius_tuf::Result<Vec<SignedTarget>> {
    let mut out = Vec::new();
    repo.walk_targets(tag.unwrap_or(""), "", &[], |t, r| {
        for (name, meta) in &t.signed.targets {
            if tag.is_none_or(|want| want == name) {
                out.push(SignedTarget {
                    role: r.base.name.clone(),
                    name: name.clone(),
                    meta: meta.clone(),
                });
            }
        }
        Ok(Walk::Continue)
    })?;
    Ok(out)
}

/// Docker's `matchReleasedSignatures`, sorted naturally by tag.
pub fn released_rows(targets: &[SignedTarget]) -> Vec<TagRow> {
    let key = |t: &SignedTarget| {
        (
            t.name.clone(),
            t.meta.sha256().map(hex::encode).unwrap_or_default(),
        )
    };
    let mut rows: Vec<TagRow> = Vec::new();
    for t in targets.iter().filter(|t| is_released_role(&t.role)) {
        let (tag, digest) = key(t);
        if !rows.iter().any(|r| r.tag == tag && r.digest == digest) {
            rows.push(TagRow {
                tag,
                digest,
                signers: Vec::new(),
            });
        }
    }
    for t in targets.iter().filter(|t| !is_released_role(&t.role)) {
        let (tag, digest) = key(t);
        if let Some(r) = rows.iter_mut().find(|r| r.tag == tag && r.digest == digest) {
            r.signers.push(role_to_signer(&t.role));
        }
    }
    rows.sort_by(|a, b| natural_cmp(&a.tag, &b.tag));
    rows
}

/// Notary's `GetDelegationRoles`: every delegation of the tree, key IDs made canonical.
pub fn delegations(repo: &Repo) -> notarius_tuf::Result<Vec<DelegationInfo>> {
    let mut out = Vec::new();
    repo.walk_targets("", "", &[], |t, _| {
        for d in &t.signed.delegations.roles {
            let key_ids = d
                .keyids
                .iter()
                .map(|id| {
                    t.signed
                        .delegations
                        .keys
                        .get(id)
                        .map(|k| k.canonical_id().to_owned())
                        .unwrap_or_else(|| id.clone())
                })
                .collect();
            out.push(DelegationInfo {
                name: d.name.clone(),
                paths: d.paths.clone(),
                key_ids,
                threshold: d.threshold,
            });
        }
        Ok(Walk::Continue)
    })?;
    Ok(out)
}

/// Docker's `getDelegationRoleToKeyMap`: each signer (a delegation but `targets/releases`)
/// and its canonical key IDs.
pub fn signers(delegations: &[DelegationInfo]) -> Vec<Signer> {
    let mut out: Vec<Signer> = Vec::new();
    for d in delegations.iter().filter(|d| d.name != RELEASES_ROLE) {
        let name = role_to_signer(&d.name);
        out.retain(|s| s.name != name);
        out.push(Signer {
            name,
            keys: d.key_ids.clone(),
        });
    }
    out
}

/// The key IDs root.json lists for `role_name` (for root, those of its certificates).
pub fn role_key_ids(repo: &Repo, role_name: &str) -> Vec<String> {
    repo.root()
        .and_then(|r| r.signed.roles.get(role_name))
        .map(|r| r.keyids.clone())
        .unwrap_or_default()
}

/// fvbommel/sortorder's `NaturalLess` as an ordering: digit runs compare by value (the shorter
/// significant run is less; then fewer leading zeros), other bytes bytewise, digits before
/// other characters.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        let (dx, dy) = (x[i].is_ascii_digit(), y[j].is_ascii_digit());
        if dx != dy {
            return if dx {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if !dx {
            if x[i] != y[j] {
                return x[i].cmp(&y[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let (zi, zj) = (i, j);
        while i < x.len() && x[i] == b'0' {
            i += 1;
        }
        while j < y.len() && y[j] == b'0' {
            j += 1;
        }
        let (si, sj) = (i, j);
        while i < x.len() && x[i].is_ascii_digit() {
            i += 1;
        }
        while j < y.len() && y[j].is_ascii_digit() {
            j += 1;
        }
        let by_value = (i - si)
            .cmp(&(j - sj))
            .then_with(|| x[si..i].cmp(&y[sj..j]));
        if by_value != Ordering::Equal {
            return by_value;
        }
        let zeros = (si - zi).cmp(&(sj - zj));
        if zeros != Ordering::Equal {
            return zeros;
        }
    }
    x.len().cmp(&y.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_as_sortorder() {
        let mut v = vec![
            "v10", "v2", "v02", "latest", "1", "v2a", "v1.10", "v1.9", "a",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "1", "a", "latest", "v1.9", "v1.10", "v2", "v2a", "v02", "v10"
            ]
        );
    }

    #[test]
    fn released_tags_collect_their_signers() {
        let meta = |b: &[u8]| FileMeta::from_bytes(b);
        let t = |role: &str, name: &str, m: FileMeta| SignedTarget {
            role: role.into(),
            name: name.into(),
            meta: m,
        };
        let rows = released_rows(&[
            t("targets/releases", "v1", meta(b"a")),
            t("targets/alice", "v1", meta(b"a")),
            t("targets/bob", "v1", meta(b"a")),
            t("targets/bob", "v1", meta(b"other")),
            t("targets/alice", "unreleased", meta(b"x")),
            t("targets", "v10", meta(b"b")),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].tag, "v1");
        assert_eq!(rows[0].signers, ["alice", "bob"]);
        assert_eq!(rows[1].tag, "v10");
        assert!(rows[1].signers.is_empty());
        assert_eq!(role_to_signer("targets/releases"), RELEASED_ROLE_NAME);
    }
}
