//! What never changes needs no second database round trip: a file addressed by its checksum
//! (the same bytes forever), and what a timestamp or snapshot says (its expiry and the
//! checksums it lists), keyed by the checksum of its bytes. Only the newest timestamp of a GUN
//! is read from the database on every request, so replicas stay consistent without any
//! invalidation.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, Utc};

/// Bytes of file content kept at most.
pub const MAX_BYTES: usize = 4 << 20;
/// Parsed summaries kept at most.
pub const MAX_PARSED: usize = 2_048;

type Key = (String, String, String);

#[derive(Clone)]
pub struct File {
    pub data: Arc<Vec<u8>>,
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
    files: HashMap<Key, File>,
    order: VecDeque<Key>,
    bytes: usize,
    parsed: HashMap<String, Arc<Parsed>>,
}

#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
}

impl Cache {
    pub fn file(&self, gun: &str, role: &str, sha: &str) -> Option<File> {
        let inner = self.inner.lock().expect("not poisoned");
        inner
            .files
            .get(&(gun.to_owned(), role.to_owned(), sha.to_owned()))
            .cloned()
    }

    pub fn put_file(&self, gun: &str, role: &str, sha: &str, file: File) {
        let size = file.data.len();
        if size > MAX_BYTES / 4 {
            return;
        }
        let mut inner = self.inner.lock().expect("not poisoned");
        let key = (gun.to_owned(), role.to_owned(), sha.to_owned());
        if inner.files.contains_key(&key) {
            return;
        }
        while inner.bytes + size > MAX_BYTES {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(f) = inner.files.remove(&old) {
                inner.bytes -= f.data.len();
            }
        }
        inner.bytes += size;
        inner.order.push_back(key.clone());
        inner.files.insert(key, file);
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
        let Inner {
            files,
            order,
            bytes,
            ..
        } = &mut *inner;
        files.retain(|k, f| {
            let keep = k.0 != gun;
            if !keep {
                *bytes -= f.data.len();
            }
            keep
        });
        order.retain(|k| k.0 != gun);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize) -> File {
        File {
            data: Arc::new(vec![0; n]),
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
}
