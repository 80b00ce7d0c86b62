//! The database layer the server and the signer share: one [`Database`] over SQLite (a file,
//! or `memory`), PostgreSQL or MySQL/MariaDB, named as Notary's configs name them. Queries are
//! written once with `?` placeholders and run on whichever pool there is through [`on_pool!`];
//! only placeholders and DDL differ between dialects.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Connections to a PostgreSQL or MySQL server. Each holds its own buffers and statement
/// cache; with validations capped at two per CPU (the server's `validation_slots`), 8 served
/// 16 publishers as fast as 16 did (446 against 443 updates/s on 2 CPUs) in about 0.6 MB less.
const NETWORK_POOL: u32 = 8;

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// Runs `$body` with `$p` bound to whichever pool `$pool` (a `&Pool`) is.
#[macro_export]
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
            $crate::Pool::MySql($p) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported storage backend {0:?} (use sqlite3, memory, postgres or mysql)")]
    Unsupported(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub struct Database {
    pub pool: Pool,
    /// Keeps the `memory` backend's database alive whatever the pool does.
    _keeper: Option<tokio::sync::Mutex<sqlx::SqliteConnection>>,
    /// SQLite has one writer at a time; queueing writers here instead of in SQLite's busy
    /// handler keeps a read-then-insert transaction from failing with SQLITE_BUSY.
    write_lock: tokio::sync::Mutex<()>,
}

impl Database {
    /// Connects by backend name as Notary's configs spell it: `sqlite3`/`sqlite` (a file path
    /// or `sqlite:` URL), `memory` (an in-memory SQLite), `postgres`, `mysql` (a URL or a Go
    /// DSN).
    pub async fn connect(backend: &str, url: &str) -> Result<Database, ConnectError> {
        let mut keeper = None;
        let pool = match backend {
            "memory" => {
                // A named, shared in-memory database, held open by a connection of its own:
                // the pool may drop and reopen its connection (after a broken query, say), and
                // a private `:memory:` database would vanish with it.
                let mut name = [0u8; 12];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut name)
                    .map_err(|_| ConnectError::Unsupported("memory (no randomness)".into()))?;
                // SQLite's memdb VFS (a name starting with `/` is shared within the process),
                // not `mode=memory&cache=shared`: there every page of the database lives in
                // the page cache, and each commit's cache truncation scanned all of it, so
                // publishing slowed as the database grew (a third of the server's CPU after
                // 15,000 updates). To the pager a memdb database is a file with a bounded cache.
                let opts = SqliteConnectOptions::new()
                    .filename(format!("/notarius-memory-{}", hex::encode(name)))
                    .vfs("memdb")
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Memory)
                    .synchronous(SqliteSynchronous::Off);
                keeper = Some(tokio::sync::Mutex::new(
                    sqlx::ConnectOptions::connect(&opts).await?,
                ));
                // One pooled connection: writers never meet shared-cache table locks.
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                        .connect_with(opts)
                        .await?,
                )
            }
            "sqlite" | "sqlite3" => {
                let opts = if url.starts_with("sqlite:") {
                    SqliteConnectOptions::from_str(url)?
                } else {
                    SqliteConnectOptions::new().filename(url)
                };
                let opts = opts
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(8)
                        .connect_with(opts)
                        .await?,
                )
            }
            "postgres" => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(NETWORK_POOL)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(PgConnectOptions::from_str(url)?)
                    .await?,
            ),
            "mysql" => Pool::MySql(
                MySqlPoolOptions::new()
                    .max_connections(NETWORK_POOL)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(MySqlConnectOptions::from_str(&mysql_url(url))?)
                    .await?,
            ),
            other => return Err(ConnectError::Unsupported(other.to_owned())),
        };
        Ok(Database {
            pool,
            _keeper: keeper,
            write_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.pool {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// `?` placeholders as the dialect wants them (`$1`, `$2`… on PostgreSQL).
    pub fn placeholders(&self, q: &str) -> String {
        if self.dialect() != Dialect::Postgres {
            return q.to_owned();
        }
        let mut out = String::with_capacity(q.len() + 8);
        let mut n = 0;
        for c in q.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// SQLite takes the write lock at the start of a writing transaction: a deferred one that
    /// reads first cannot wait for another process's writer and fails with "database is locked".
    pub fn begin_statement(&self) -> &'static str {
        match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            _ => "BEGIN",
        }
    }

    /// Held around a write on SQLite (one writer at a time in this process); nothing elsewhere.
    pub async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.pool {
            Pool::Sqlite(_) => Some(self.write_lock.lock().await),
            _ => None,
        }
    }

    pub async fn close(&self) {
        on_pool!(&self.pool, p => p.close().await)
    }
}

/// Notary's MySQL DSNs are Go-style (`user:pass@tcp(host:port)/db?parseTime=True`); sqlx wants
/// a URL. Both are accepted.
pub fn mysql_url(dsn: &str) -> String {
    if dsn.starts_with("mysql://") || dsn.starts_with("mariadb://") {
        return dsn.to_owned();
    }
    let (userinfo, rest) = match dsn.rsplit_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, dsn),
    };
    let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = addr
        .strip_prefix("tcp(")
        .and_then(|a| a.strip_suffix(')'))
        .unwrap_or(addr);
    let host = if host.is_empty() {
        "127.0.0.1:3306"
    } else {
        host
    };
    // Go DSN options (parseTime, charset…) mean nothing to sqlx.
    let db = path.split('?').next().unwrap_or("");
    match userinfo {
        Some(u) => format!("mysql://{u}@{host}/{db}"),
        None => format!("mysql://{host}/{db}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_mysql_dsns_become_urls() {
        assert_eq!(
            mysql_url("server@tcp(mysql:3306)/notaryserver?parseTime=True"),
            "mysql://server@mysql:3306/notaryserver"
        );
        assert_eq!(
            mysql_url("root:pw@tcp(127.0.0.1:3306)/test"),
            "mysql://root:pw@127.0.0.1:3306/test"
        );
        assert_eq!(mysql_url("mysql://a@b/c"), "mysql://a@b/c");
    }

    /// The `memory` backend's database outlives the pool's connection and is private to its
    /// `Database`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_memory_backend_survives_a_new_connection() {
        let db = Database::connect("memory", "").await.unwrap();
        on_pool!(&db.pool, p => {
            sqlx::query("CREATE TABLE t (x INTEGER)").execute(p).await.unwrap();
            sqlx::query("INSERT INTO t VALUES (7)").execute(p).await.unwrap();
            // Reconnect the pool's only connection, as sqlx does after a broken query.
            let mut c = p.acquire().await.unwrap();
            c.close_on_drop();
        });
        let n: i64 = on_pool!(&db.pool, p => {
            sqlx::query_scalar("SELECT x FROM t").fetch_one(p).await.unwrap()
        });
        assert_eq!(n, 7);
        let other = Database::connect("memory", "").await.unwrap();
        let missing = on_pool!(&other.pool, p => {
            sqlx::query("SELECT x FROM t").fetch_one(p).await.is_err()
        });
        assert!(missing);
        assert!(matches!(
            Database::connect("redis", "").await,
            Err(ConnectError::Unsupported(_))
        ));
    }
}
