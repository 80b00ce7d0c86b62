//! What never changes needs no second database round trip: a file addressed by its checksum
//! (the same bytes forever), and what a timestamp or snapshot says (its expiry and the
//! checksums it lists), keyed by the checksum of its bytes. Only the newest timestamp of a GUN
//! is read from the database on every request, so replicas stay consistent without any
//! invalidation.

use std::collections::{BTreeMap, HashMap, VecDeque};

// Keyed per process, as std's SipHash is, and a fraction of its cost (SipHash was 4 % of a
// GET's instructions, callgrind).
use foldhash::fast::RandomState;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, Utc};

/// Bytes of file content kept at most.
pub const MAX_BYTES: usize = 4 << 20;
/// Parsed summaries kept at most.
pub const MAX_PARSED: usize = 2_048;

/// Checksum, GUN, role.
type Key = (String, String, String);

#[derive(Clone)]
pub struct File {
    pub data: bytes::Bytes,
    pub modified: Option<DateTime<Utc>>,
}

/// What a timestamp or snapshot says, as far as serving needs it.
#[derive(Debug)]
pub struct Parsed {
    pub expires: DateTime<FixedOffset>,
    /// Role name to hex sha256, from `meta`.
    pub meta: BTreeMap<String, String>,
}

#[derive(Default)]
struct Inner {
    /// By checksum: the (rare) same bytes under several GUNs or roles share a slot.
    files: HashMap<String, Vec<(String, String, File)>, RandomState>,
    order: VecDeque<Key>,
    bytes: usize,
    parsed: HashMap<String, Arc<Parsed>, RandomState>,
}

#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
}

impl Cache {
    pub fn file(&self, gun: &str, role: &str, sha: &str) -> Option<File> {
        self.inner
            .lock()
            .expect("not poisoned")
            .find(gun, role, sha)
            .cloned()
    }

    pub fn put_file(&self, gun: &str, role: &str, sha: &str, file: File) {
        let size = file.data.len();
        if size > MAX_BYTES / 4 {
            return;
        }
        let mut inner = self.inner.lock().expect("not poisoned");
        if inner.find(gun, role, sha).is_some() {
            return;
        }
        while inner.bytes + size > MAX_BYTES {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            inner.remove(&old);
        }
        inner.bytes += size;
        inner
            .order
            .push_back((sha.to_owned(), gun.to_owned(), role.to_owned()));
        inner.files.entry(sha.to_owned()).or_default().push((
            gun.to_owned(),
            role.to_owned(),
            file,
        ));
    }

    pub fn parsed(&self, sha: &str) -> Option<Arc<Parsed>> {
        self.inner
            .lock()
            .expect("not poisoned")
            .parsed
            .get(sha)
            .cloned()
    }

    pub fn put_parsed(&self, sha: &str, p: Arc<Parsed>) {
        let mut inner = self.inner.lock().expect("not poisoned");
        if inner.parsed.len() >= MAX_PARSED {
            inner.parsed.clear();
        }
        inner.parsed.insert(sha.to_owned(), p);
    }

    /// Forgets a GUN's files (after a delete, so re-created data is read afresh).
    pub fn forget_gun(&self, gun: &str) {
        let mut inner = self.inner.lock().expect("not poisoned");
        let gone: Vec<Key> = inner.order.iter().filter(|k| k.1 == gun).cloned().collect();
        for k in &gone {
            inner.remove(k);
        }
        inner.order.retain(|k| k.1 != gun);
    }
}

impl Inner {
    /// Looked up by checksum first, so that a hit builds no owned key.
    fn find(&self, gun: &str, role: &str, sha: &str) -> Option<&File> {
        self.files
            .get(sha)?
            .iter()
            .find(|(g, r, _)| g == gun && r == role)
            .map(|(_, _, f)| f)
    }

    fn remove(&mut self, (sha, gun, role): &Key) {
        let Some(v) = self.files.get_mut(sha) else {
            return;
        };
        if let Some(i) = v.iter().position(|(g, r, _)| g == gun && r == role) {
            let (_, _, f) = v.swap_remove(i);
            self.bytes -= f.data.len();
        }
        if v.is_empty() {
            self.files.remove(sha);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize) -> File {
        File {
            data: vec![0; n].into(),
            modified: None,
        }
    }

    #[test]
    fn the_oldest_files_go_first_when_full() {
        let c = Cache::default();
        let chunk = MAX_BYTES / 4;
        for i in 0..5 {
            c.put_file("g", "targets", &i.to_string(), file(chunk));
        }
        assert!(c.file("g", "targets", "0").is_none());
        for i in 1..5 {
            assert!(c.file("g", "targets", &i.to_string()).is_some(), "{i}");
        }
        c.put_file("g", "targets", "huge", file(MAX_BYTES));
        assert!(c.file("g", "targets", "huge").is_none());
        c.forget_gun("g");
        assert!(c.file("g", "targets", "4").is_none());
        c.put_file("g", "targets", "again", file(chunk));
        assert!(c.file("g", "targets", "again").is_some());
    }

    #[test]
    fn the_same_bytes_under_another_gun_or_role_are_not_a_hit() {
        let c = Cache::default();
        c.put_file("a", "targets", "sum", file(10));
        assert!(c.file("b", "targets", "sum").is_none());
        assert!(c.file("a", "targets/x", "sum").is_none());
        c.put_file("b", "targets", "sum", file(20));
        assert_eq!(c.file("a", "targets", "sum").unwrap().data.len(), 10);
        assert_eq!(c.file("b", "targets", "sum").unwrap().data.len(), 20);
        c.forget_gun("a");
        assert!(c.file("a", "targets", "sum").is_none());
        assert_eq!(c.file("b", "targets", "sum").unwrap().data.len(), 20);
        assert_eq!(c.inner.lock().unwrap().bytes, 20);
    }
}
