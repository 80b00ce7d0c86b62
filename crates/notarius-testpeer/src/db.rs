//! A database of its own for each test, on SQLite, the local PostgreSQL (127.0.0.1:5432, user
//! `postgres`, trust auth) or the local MariaDB (127.0.0.1:3306, `root` without a password),
//! dropped when the value is. Under `CI=true` a missing service is a failure, never a skip.

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection};

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const MYSQL_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

/// Whether the backend's service is there; a skip note otherwise, a failure under CI.
pub fn available(b: Backend) -> bool {
    let addr = match b {
        Backend::Sqlite => return true,
        Backend::Postgres => "127.0.0.1:5432",
        Backend::MySql => "127.0.0.1:3306",
    };
    if std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_ok()
    {
        return true;
    }
    let msg = format!("{b:?} is not running on {addr}");
    assert!(!crate::ci(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

/// Runs one administrative statement (CREATE/DROP DATABASE) on its own small runtime.
pub fn admin(sql: String, backend: Backend) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        match backend {
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(PG_ADMIN).await.unwrap();
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            Backend::MySql => {
                let mut c = sqlx::MySqlConnection::connect(MYSQL_ADMIN).await.unwrap();
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            Backend::Sqlite => {}
        }
    });
}

/// A database of its own, dropped with this value.
pub struct TestDb {
    pub backend: Backend,
    pub name: String,
    /// The URL (a file path on SQLite) as the programs' configs take it.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestDb {
    /// `prefix` names the database (`<prefix>_<random>`); `mysql_go_dsn` writes the MySQL URL
    /// the way Notary's configs do (`root@tcp(host:port)/db?parseTime=True`).
    pub fn create(backend: Backend, prefix: &str, mysql_go_dsn: bool) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let mut b = [0u8; 6];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap();
        let name = format!("{prefix}_{}", hex::encode(b));
        let url = match backend {
            Backend::Sqlite => dir.path().join("test.db").display().to_string(),
            Backend::Postgres => {
                admin(format!("CREATE DATABASE {name}"), backend);
                format!("postgres://postgres@127.0.0.1:5432/{name}")
            }
            Backend::MySql => {
                admin(format!("CREATE DATABASE {name}"), backend);
                if mysql_go_dsn {
                    format!("root@tcp(127.0.0.1:3306)/{name}?parseTime=True")
                } else {
                    format!("mysql://root@127.0.0.1:3306/{name}")
                }
            }
        };
        TestDb {
            backend,
            name,
            url,
            _dir: dir,
        }
    }

    /// The name notary's configs use for this backend.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite3",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {}
            Backend::Postgres => admin(
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                self.backend,
            ),
            Backend::MySql => admin(
                format!("DROP DATABASE IF EXISTS {}", self.name),
                self.backend,
            ),
        }
    }
}
