//! Stored roots this process has verified, one per GUN. Every publish is validated against the
//! GUN's stored root; verifying it again each time (parse, certificates, signatures) was 8 % of
//! the server's CPU per update under the publish benchmark. A kept root is used only for the
//! same bytes and only while no certificate in it can have changed validity, so the outcome
//! is the one a fresh verification would give.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use foldhash::fast::RandomState;
use notarius_tuf::builder::RepoBuilder;
use notarius_tuf::time::Instant;
use notarius_tuf::trust::certificate_stable_span;

use crate::errors::Validation;
use crate::validate;

/// GUNs kept at most; past that the map starts over (a cache miss only costs a verification).
const MAX_GUNS: usize = 1024;

struct Entry {
    sha256: [u8; 32],
    /// Whole seconds `[from, until)` in which the verification holds.
    span: (i64, i64),
    builder: Arc<RepoBuilder>,
}

#[derive(Default)]
pub struct VerifiedRoots {
    map: Mutex<HashMap<String, Entry, RandomState>>,
}

impl VerifiedRoots {
    /// [`validate::root_builder`] for `gun`'s stored root, from what was verified before when
    /// that still holds.
    pub fn builder(
        &self,
        gun: &str,
        root: Option<&[u8]>,
        now: Instant,
    ) -> Result<RepoBuilder, Validation> {
        let Some(bytes) = root else {
            return validate::root_builder(gun, None, now);
        };
        let sha256 = notarius_tuf::metadata::sha256(bytes);
        let t = now.timestamp();
        let kept = {
            let map = self.map.lock().expect("not poisoned");
            map.get(gun)
                .filter(|e| e.sha256 == sha256 && e.span.0 <= t && t < e.span.1)
                .map(|e| e.builder.clone())
        };
        if let Some(b) = kept {
            return Ok(RepoBuilder::clone(&b));
        }
        let builder = validate::root_builder(gun, Some(bytes), now)?;
        let Some(root) = builder.loaded_root() else {
            return Ok(builder);
        };
        let span = certificate_stable_span(root, now);
        let mut map = self.map.lock().expect("not poisoned");
        if map.len() >= MAX_GUNS && !map.contains_key(gun) {
            map.clear();
        }
        map.insert(
            gun.to_owned(),
            Entry {
                sha256,
                span,
                builder: Arc::new(builder.clone()),
            },
        );
        Ok(builder)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().expect("not poisoned").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notarius_tuf::role;
    use notarius_tuf::testrepo::TestRepo;

    #[test]
    fn a_kept_root_is_used_only_for_the_same_bytes_within_its_span() {
        let now = chrono::Utc::now();
        let repo = TestRepo::new("g", now);
        let root = repo.current[role::ROOT].clone();
        let roots = VerifiedRoots::default();
        let b = roots.builder("g", Some(&root), now).unwrap();
        assert!(b.loaded_root().is_some());
        assert_eq!(roots.len(), 1);
        // Same bytes, same time: the kept builder, which has the root loaded.
        let again = roots.builder("g", Some(&root), now).unwrap();
        assert_eq!(again.loaded_root(), b.loaded_root());
        // Other bytes for the GUN are verified, and refused when they do not verify.
        let mut bad = root.clone();
        let at = bad.len() - 10;
        bad[at] ^= 1;
        assert!(roots.builder("g", Some(&bad), now).is_err());
        // Past the test certificate's expiry the kept root is not used: verification runs and
        // refuses it (no valid certificate), as it would without a cache.
        let later = now + chrono::Duration::days(365 * 20);
        assert!(roots.builder("g", Some(&root), later).is_err());
        // No stored root: an empty builder, nothing kept.
        let empty = roots.builder("h", None, now).unwrap();
        assert!(empty.loaded_root().is_none());
    }

    #[test]
    fn the_map_stays_bounded() {
        let now = chrono::Utc::now();
        let repo = TestRepo::new("g", now);
        let root = repo.current[role::ROOT].clone();
        let roots = VerifiedRoots::default();
        // The root names GUN "g" only; other GUNs fail before anything is kept.
        for i in 0..3 {
            assert!(roots.builder(&format!("x{i}"), Some(&root), now).is_err());
        }
        assert_eq!(roots.len(), 0);
        roots.builder("g", Some(&root), now).unwrap();
        assert_eq!(roots.len(), 1);
    }
}
