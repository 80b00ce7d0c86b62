//! Reading targets out of a verified repository, and printing them the way `notary` does.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use notarius_tuf::metadata::FileMeta;
use notarius_tuf::repo::{Repo, Walk};
use notarius_tuf::role;

/// A target and the role that provides it (Notary's `TargetWithRole`).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetWithRole {
    pub name: String,
    pub meta: FileMeta,
    pub role: String,
}

/// Notary's `ListTargets`: for each requested role (default `targets`), walk its subtree; the
/// first role to define a name wins, and a role's names outside its paths are ignored.
pub fn list_targets(repo: &Repo, roles: &[String]) -> notarius_tuf::Result<Vec<TargetWithRole>> {
    let default = [role::TARGETS.to_owned()];
    let roles = if roles.is_empty() {
        &default[..]
    } else {
        roles
    };
    let mut found: BTreeMap<String, TargetWithRole> = BTreeMap::new();
    for r in roles {
        let skip: Vec<&str> = roles
            .iter()
            .filter(|o| *o != r)
            .map(String::as_str)
            .collect();
        repo.walk_targets("", r, &skip, |t, valid| {
            for (name, meta) in &t.signed.targets {
                // One lookup per target; the first role to list a name wins.
                if let std::collections::btree_map::Entry::Vacant(slot) = found.entry(name.clone())
                    && valid.check_paths(name)
                {
                    slot.insert(TargetWithRole {
                        name: name.clone(),
                        meta: meta.clone(),
                        role: valid.base.name.clone(),
                    });
                }
            }
            Ok(Walk::Continue)
        })?;
    }
    Ok(found.into_values().collect())
}

/// Notary's `GetTargetByName`.
pub fn lookup_target(repo: &Repo, name: &str, roles: &[String]) -> Option<TargetWithRole> {
    let default = [role::TARGETS.to_owned()];
    let roles = if roles.is_empty() {
        &default[..]
    } else {
        roles
    };
    for r in roles {
        let skip: Vec<&str> = roles
            .iter()
            .filter(|o| *o != r)
            .map(String::as_str)
            .collect();
        let mut hit = None;
        let walked = repo.walk_targets(name, r, &skip, |t, valid| {
            if let Some(m) = t.signed.targets.get(name) {
                hit = Some(TargetWithRole {
                    name: name.to_owned(),
                    meta: m.clone(),
                    role: valid.base.name.clone(),
                });
                return Ok(Walk::Stop);
            }
            Ok(Walk::Continue)
        });
        if walked.is_ok() && hit.is_some() {
            return hit;
        }
    }
    None
}

/// Go's `text/tabwriter` as Notary configures it (minwidth 4, padding 4, spaces): every column
/// but the last is padded to its widest cell (counted in characters) plus four.
pub fn tabwrite(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![4usize; cols];
    let mut total = 0;
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count() + 4);
        }
    }
    for row in rows {
        total +=
            widths.iter().take(row.len()).sum::<usize>() + row.last().map_or(0, String::len) + 1;
    }
    let mut out = String::with_capacity(total);
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

fn with_header(columns: &[&str], body: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut rows = vec![
        columns.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        columns.iter().map(|c| "-".repeat(c.len())).collect(),
    ];
    rows.extend(body);
    tabwrite(&rows)
}

/// `notary list` output.
pub fn pretty_targets(mut ts: Vec<TargetWithRole>) -> String {
    if ts.is_empty() {
        return "\nNo targets present in this repository.\n\n".to_owned();
    }
    // Go sorts by the raw bytes of the name.
    ts.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    with_header(
        &["NAME", "DIGEST", "SIZE (BYTES)", "ROLE"],
        ts.into_iter().map(|t| {
            let digest = t.meta.sha256().map(hex::encode).unwrap_or_default();
            vec![t.name, digest, t.meta.length.to_string(), t.role]
        }),
    )
}

/// One row of `notary key list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub role: String,
    pub gun: String,
    pub key_id: String,
    pub location: String,
}

fn truncate_left(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_owned()
    } else {
        // Go slices bytes; key store paths and GUNs are ASCII in practice.
        let cut = s.len() - (max - 3);
        let cut = (cut..s.len())
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(s.len());
        format!("...{}", &s[cut..])
    }
}

/// `notary key list` output: root keys first, then by GUN, role, key ID, location.
pub fn pretty_keys(mut keys: Vec<KeyRow>) -> String {
    if keys.is_empty() {
        return "No signing keys found.\n".to_owned();
    }
    keys.sort_by(|a, b| {
        let ra = a.role != role::ROOT;
        let rb = b.role != role::ROOT;
        (ra, &a.gun, &a.role, &a.key_id, &a.location).cmp(&(
            rb,
            &b.gun,
            &b.role,
            &b.key_id,
            &b.location,
        ))
    });
    let mut out = String::new();
    let _ = write!(
        out,
        "{}",
        with_header(
            &["ROLE", "GUN", "KEY ID", "LOCATION"],
            keys.into_iter().map(|k| vec![
                k.role,
                truncate_left(&k.gun, 25),
                k.key_id,
                truncate_left(&k.location, 40)
            ]),
        )
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabwriter_pads_like_go() {
        let t = tabwrite(&[
            vec!["a".into(), "bb".into(), "c".into()],
            vec!["dddddd".into(), "e".into(), "f".into()],
        ]);
        assert_eq!(t, "a         bb    c\ndddddd    e     f\n");
    }
}
