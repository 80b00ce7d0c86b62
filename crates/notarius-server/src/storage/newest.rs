//! The newest timestamp of each GUN, remembered between GETs only while this process is sure to
//! hear of every write to it:
//! - SQLite belongs to one server process, which sees its own writes;
//! - on PostgreSQL a trigger on `tuf_files` sends `NOTIFY` for every changed row, whoever wrote
//!   it (another notarius-server replica or a notary-server in a mixed fleet), and [`listen`]
//!   forgets the GUN it names; while the listening connection is down nothing is remembered.
//!
//! MySQL has no such notification, so MySQL replicas ask the database on every GET.
//!
//! A ticket taken before the database is asked makes sure that an answer read before a write
//! was heard of is not remembered after it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use super::Stored;

/// The `NOTIFY` channel the PostgreSQL trigger sends each changed row's GUN on.
pub const CHANNEL: &str = "notarius_tuf_files";

/// How long a remembered timestamp is served at most, even when no write was heard of: a
/// bound on any notification that never came (and, on SQLite, on a second process writing the
/// same file after all).
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);

/// GUNs remembered at most; past it the memory starts again empty.
pub const MAX_GUNS: usize = 4_096;

pub struct Newest {
    map: Mutex<HashMap<String, (Instant, Stored), foldhash::fast::RandomState>>,
    /// Moves on every write heard of; a ticket from before it is stale.
    generation: AtomicU64,
    enabled: AtomicBool,
    ttl: Duration,
}

impl Newest {
    pub fn new(enabled: bool, ttl: Duration) -> Newest {
        Newest {
            map: Mutex::default(),
            generation: AtomicU64::new(0),
            enabled: AtomicBool::new(enabled),
            ttl,
        }
    }

    pub fn get(&self, gun: &str) -> Option<Stored> {
        if !self.enabled.load(SeqCst) {
            return None;
        }
        let m = self.map.lock().expect("not poisoned");
        match m.get(gun) {
            Some((at, s)) if at.elapsed() < self.ttl => Some(s.clone()),
            _ => None,
        }
    }

    /// Taken before reading the database; `None` when nothing may be remembered now.
    pub fn ticket(&self) -> Option<u64> {
        self.enabled
            .load(SeqCst)
            .then(|| self.generation.load(SeqCst))
    }

    /// Remembers what was read under `ticket`, unless a write was heard of since.
    pub fn remember(&self, ticket: u64, gun: &str, s: &Stored) {
        let mut m = self.map.lock().expect("not poisoned");
        if !self.enabled.load(SeqCst) || self.generation.load(SeqCst) != ticket {
            return;
        }
        if m.len() >= MAX_GUNS {
            m.clear();
        }
        m.insert(gun.to_owned(), (Instant::now(), s.clone()));
    }

    /// A write to `gun` was made or heard of.
    pub fn forget(&self, gun: &str) {
        let mut m = self.map.lock().expect("not poisoned");
        self.generation.fetch_add(1, SeqCst);
        m.remove(gun);
    }

    /// Writes may have gone unheard (a lost connection); `on` says whether they will be heard
    /// from now on.
    pub fn reset(&self, on: bool) {
        let mut m = self.map.lock().expect("not poisoned");
        self.generation.fetch_add(1, SeqCst);
        m.clear();
        self.enabled.store(on, SeqCst);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(SeqCst)
    }
}

/// Listens for the trigger's notifications on a connection of `pool` until the pool closes.
pub async fn listen(pool: sqlx::PgPool, newest: std::sync::Arc<Newest>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "no connection to LISTEN on; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Listening from here on: what was remembered before may have missed a write.
        newest.reset(true);
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => newest.forget(n.payload()),
                // The connection was lost and is back (sqlx listens again before returning).
                Ok(None) => newest.reset(true),
                Err(sqlx::Error::PoolClosed) => {
                    newest.reset(false);
                    return;
                }
                Err(e) => {
                    newest.reset(false);
                    tracing::warn!(
                        error = %e,
                        "lost the change notifications; every GET asks the database until they are back"
                    );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(b: &'static [u8]) -> Stored {
        Stored {
            data: bytes::Bytes::from_static(b),
            modified: None,
            sha256: None,
        }
    }

    #[test]
    fn an_answer_read_before_a_write_is_not_remembered() {
        let n = Newest::new(true, Duration::from_secs(60));
        let t = n.ticket().unwrap();
        n.forget("g");
        n.remember(t, "g", &stored(b"old"));
        assert!(n.get("g").is_none());
        let t = n.ticket().unwrap();
        n.remember(t, "g", &stored(b"new"));
        assert_eq!(&n.get("g").unwrap().data[..], b"new");
        n.forget("g");
        assert!(n.get("g").is_none());
    }

    #[test]
    fn nothing_is_remembered_while_writes_may_go_unheard() {
        let n = Newest::new(true, Duration::from_secs(60));
        let t = n.ticket().unwrap();
        n.remember(t, "g", &stored(b"a"));
        n.reset(false);
        assert!(n.get("g").is_none());
        assert!(n.ticket().is_none());
        n.remember(t, "g", &stored(b"a"));
        assert!(n.get("g").is_none());
        n.reset(true);
        let t = n.ticket().unwrap();
        n.remember(t, "g", &stored(b"b"));
        assert_eq!(&n.get("g").unwrap().data[..], b"b");
    }

    #[test]
    fn a_remembered_answer_expires() {
        let n = Newest::new(true, Duration::ZERO);
        let t = n.ticket().unwrap();
        n.remember(t, "g", &stored(b"a"));
        assert!(n.get("g").is_none());
    }
}
