//! Role names, GUNs and delegation path rules, validated once at the edge.

use std::fmt;

pub const ROOT: &str = "root";
pub const TARGETS: &str = "targets";
pub const SNAPSHOT: &str = "snapshot";
pub const TIMESTAMP: &str = "timestamp";
pub const BASE_ROLES: [&str; 4] = [ROOT, TARGETS, SNAPSHOT, TIMESTAMP];

/// Notary's `data.IsDelegation`: `targets/` prefix, `[-a-z0-9_/]`, shorter than 256 bytes, and
/// already clean (no empty segment, no trailing slash). `.` is outside the alphabet, so `..`
/// cannot appear.
pub fn is_delegation(role: &str) -> bool {
    role.len() < 256
        && role.starts_with("targets/")
        && role
            .bytes()
            .all(|b| matches!(b, b'-' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'/'))
        && is_clean(role)
}

fn is_clean(p: &str) -> bool {
    !p.is_empty()
        && !p.ends_with('/')
        && !p.contains("//")
        && p.split('/').all(|s| s != "." && s != "..")
}

pub fn is_base_role(role: &str) -> bool {
    BASE_ROLES.contains(&role)
}

/// Notary's `data.ValidRole`.
pub fn is_valid_role(role: &str) -> bool {
    is_base_role(role) || is_delegation(role)
}

/// `targets/x/*`: only used to address every delegation under a parent (delegation purge).
pub fn is_wild_delegation(role: &str) -> bool {
    match role.strip_suffix("/*") {
        Some(parent) => parent == TARGETS || is_delegation(parent),
        None => false,
    }
}

/// `path.Dir` of a role name.
pub fn parent(role: &str) -> &str {
    match role.rfind('/') {
        Some(i) => &role[..i],
        None => ".",
    }
}

/// Does `target` fall under one of `permitted` prefixes? Notary paths are plain string
/// prefixes: `"rel"` also covers `"releases/x"`, and `""` covers everything.
pub fn check_paths(target: &str, permitted: &[String]) -> bool {
    permitted.iter().any(|p| target.starts_with(p.as_str()))
}

/// Notary's `RestrictDelegationPathPrefixes`: a child keeps only the paths that lie inside some
/// path of its parent.
pub fn restrict_paths(parent_paths: &[String], child_paths: &[String]) -> Vec<String> {
    child_paths
        .iter()
        .filter(|c| parent_paths.iter().any(|p| c.starts_with(p.as_str())))
        .cloned()
        .collect()
}

/// A globally unique name of a trusted collection, checked before it touches a path or URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gun(String);

/// Why a GUN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid GUN {gun:?}: {reason}")]
pub struct InvalidGun {
    pub gun: String,
    pub reason: &'static str,
}

impl Gun {
    /// Accepts what Docker repository names need (`host:port/a/b`), refuses anything that could
    /// escape a directory when joined into a path (Cure53 TUF-01-004).
    pub fn new(s: &str) -> Result<Gun, InvalidGun> {
        let bad = |reason| {
            Err(InvalidGun {
                gun: s.chars().take(300).collect(),
                reason,
            })
        };
        if s.is_empty() {
            return bad("it is empty");
        }
        if s.len() > 255 {
            return bad("it is longer than 255 bytes");
        }
        if s.starts_with('/') || s.ends_with('/') {
            return bad("it starts or ends with '/'");
        }
        if s.chars()
            .any(|c| c.is_control() || matches!(c, '\\' | '%' | '*'))
        {
            return bad("it contains a control character, '\\', '%' or '*'");
        }
        if s.split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            return bad("it contains an empty, '.' or '..' path segment");
        }
        Ok(Gun(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegation_names() {
        for ok in ["targets/a", "targets/a/b", "targets/releases-1_x"] {
            assert!(is_delegation(ok), "{ok}");
        }
        for bad in [
            "targets",
            "targets/",
            "targets//a",
            "targets/a/",
            "targets/../root",
            "targets/a/../b",
            "targets/.",
            "Targets/a",
            "targets/A",
            "targets/a\\b",
            "targets/a\0",
            "targets/a%2Fb",
            "root",
        ] {
            assert!(!is_delegation(bad), "{bad:?}");
        }
        let long = format!("targets/{}", "a".repeat(247));
        assert_eq!(long.len(), 255);
        assert!(is_delegation(&long));
        assert!(!is_delegation(&format!("{long}a")));
        assert!(is_wild_delegation("targets/*"));
        assert!(is_wild_delegation("targets/a/*"));
        assert!(!is_wild_delegation("targets/a*"));
        assert_eq!(parent("targets/a/b"), "targets/a");
        assert_eq!(parent("targets"), ".");
    }

    #[test]
    fn path_prefixes_follow_notary() {
        let p = vec!["releases/".to_owned()];
        assert!(check_paths("releases/x", &p));
        assert!(!check_paths("releases-evil", &p));
        assert!(check_paths("releases/x", &["rel".to_owned()]));
        assert!(check_paths("anything", &["".to_owned()]));
        assert!(!check_paths("anything", &[]));
        assert_eq!(
            restrict_paths(&["a/".into()], &["a/x".into(), "b/".into(), "a".into()]),
            vec!["a/x".to_owned()]
        );
    }

    #[test]
    fn guns() {
        for ok in [
            "docker.io/library/alpine",
            "localhost:5000/a",
            "example.com/app",
        ] {
            assert!(Gun::new(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(300);
        for bad in [
            "",
            "../x",
            "a/../../x",
            "/abs",
            "a//b",
            "a/./b",
            "a\\..\\b",
            "a%2f..%2fb",
            "a/",
            "a\nb",
            long.as_str(),
        ] {
            assert!(Gun::new(bad).is_err(), "{bad:?}");
        }
    }
}
