//! Reading targets out of a verified repository, and printing them the way `notary` does.

use std::borrow::Cow;
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

/// A target and the role that provides it, borrowed from the repository: a listing of 10,000
/// targets copied every name twice and every `FileMeta` once (callgrind: a fifth of a cold
/// `list`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetRef<'a> {
    pub name: &'a str,
    pub meta: &'a FileMeta,
    pub role: &'a str,
}

/// Notary's `ListTargets`: for each requested role (default `targets`), walk its subtree; the
/// first role to define a name wins, and a role's names outside its paths are ignored.
pub fn list_targets<'a>(
    repo: &'a Repo,
    roles: &[String],
) -> notarius_tuf::Result<Vec<TargetRef<'a>>> {
    let default = [role::TARGETS.to_owned()];
    let roles = if roles.is_empty() {
        &default[..]
    } else {
        roles
    };
    // Collected in the order the walk finds them, then sorted by name keeping that order among
    // equal names, so that the first role to list a name wins. A map keyed by name compared
    // each of 10,000 names with a dozen others (callgrind).
    let mut found: Vec<TargetRef<'a>> = Vec::new();
    for r in roles {
        let skip: Vec<&str> = roles
            .iter()
            .filter(|o| *o != r)
            .map(String::as_str)
            .collect();
        repo.walk_targets("", r, &skip, |t, valid| {
            // The role's name as the repository holds it, so that it outlives the walk.
            let Some((role_name, _)) = repo.targets_roles().get_key_value(&valid.base.name) else {
                return Ok(Walk::Continue);
            };
            found.reserve(t.signed.targets.len());
            for (name, meta) in &t.signed.targets {
                if valid.check_paths(name) {
                    found.push(TargetRef {
                        name,
                        meta,
                        role: role_name,
                    });
                }
            }
            Ok(Walk::Continue)
        })?;
    }
    found.sort_by(|a, b| a.name.cmp(b.name));
    found.dedup_by(|later, first| later.name == first.name);
    Ok(found)
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
pub fn tabwrite<R: AsRef<[S]>, S: AsRef<str>>(rows: &[R]) -> String {
    tabwrite_with(rows, 4, 4)
}

/// Go's `text/tabwriter` with spaces, `minwidth` and `padding` (Docker's formatter uses 10
/// and 3): every column but the last is padded to its widest cell plus `padding`, and at
/// least `minwidth`.
pub fn tabwrite_with<R: AsRef<[S]>, S: AsRef<str>>(
    rows: &[R],
    minwidth: usize,
    padding: usize,
) -> String {
    let cols = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let mut widths = vec![minwidth; cols];
    let mut total = 0;
    for row in rows {
        let row = row.as_ref();
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max(chars(cell.as_ref()) + padding);
        }
    }
    for row in rows {
        let row = row.as_ref();
        total += widths.iter().take(row.len()).sum::<usize>()
            + row.last().map_or(0, |c| c.as_ref().len())
            + 1;
    }
    let mut out = String::with_capacity(total);
    for row in rows {
        let row = row.as_ref();
        for (i, cell) in row.iter().enumerate() {
            let cell = cell.as_ref();
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - chars(cell);
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

fn chars(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

fn with_header<'c>(
    columns: &[&'c str],
    body: impl IntoIterator<Item = Vec<Cow<'c, str>>>,
) -> String {
    let mut rows = vec![
        columns
            .iter()
            .map(|c| Cow::Borrowed(*c))
            .collect::<Vec<_>>(),
        columns
            .iter()
            .map(|c| Cow::Owned("-".repeat(c.len())))
            .collect(),
    ];
    rows.extend(body);
    tabwrite(&rows)
}

/// `notary list` output.
pub fn pretty_targets(mut ts: Vec<TargetRef<'_>>) -> String {
    if ts.is_empty() {
        return "\nNo targets present in this repository.\n\n".to_owned();
    }
    // Go sorts by the raw bytes of the name.
    ts.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    with_header(
        &["NAME", "DIGEST", "SIZE (BYTES)", "ROLE"],
        ts.into_iter().map(|t| {
            let digest = t.meta.sha256().map(to_hex).unwrap_or_default();
            vec![
                Cow::Borrowed(t.name),
                Cow::Owned(digest),
                Cow::Owned(t.meta.length.to_string()),
                Cow::Borrowed(t.role),
            ]
        }),
    )
}

/// Lower-case hex, without `hex::encode`'s character-at-a-time collection (a tenth of a
/// `list` of 10,000 targets, callgrind).
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
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
                Cow::Owned(k.role),
                Cow::Owned(truncate_left(&k.gun, 25)),
                Cow::Owned(k.key_id),
                Cow::Owned(truncate_left(&k.location, 40))
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
        let t = tabwrite(&[vec!["a", "bb", "c"], vec!["dddddd", "e", "f"]]);
        assert_eq!(t, "a         bb    c\ndddddd    e     f\n");
        // Width in characters, not bytes.
        let t = tabwrite(&[["é", "x"], ["ab", "y"]]);
        assert_eq!(t, "é     x\nab    y\n");
    }

    #[test]
    fn hex_is_lower_case_and_complete() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(to_hex(&all), hex::encode(&all));
        assert_eq!(to_hex(&[]), "");
    }
}
