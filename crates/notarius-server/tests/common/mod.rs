//! Shared fixtures: a fresh database per test on each backend, and `notarius-server` started
//! in-process on an ephemeral loopback port with a generated CA.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use notarius_server::{Config, Running, StartOptions};
use sqlx::{AssertSqlSafe, Connection};

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const MYSQL_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn reachable(addr: &str) -> bool {
    std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), std::time::Duration::from_secs(2))
        .is_ok()
}

/// Whether the backend's service is there; a skip note otherwise, a failure under CI.
pub fn available(b: Backend) -> bool {
    let addr = match b {
        Backend::Sqlite => return true,
        Backend::Postgres => "127.0.0.1:5432",
        Backend::MySql => "127.0.0.1:3306",
    };
    if reachable(addr) {
        return true;
    }
    let msg = format!("{b:?} is not running on {addr}");
    assert!(!ci(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

/// A database of its own, dropped with this value.
pub struct TestDb {
    pub backend: Backend,
    pub name: String,
    pub url: String,
    _dir: tempfile::TempDir,
}

fn unique_name() -> String {
    let mut b = [0u8; 6];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap();
    format!("notarius_t_{}", hex::encode(b))
}

fn admin(sql: String, backend: Backend) {
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

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let name = unique_name();
        let url = match backend {
            Backend::Sqlite => dir.path().join("server.db").display().to_string(),
            Backend::Postgres => {
                admin(format!("CREATE DATABASE {name}"), backend);
                format!("postgres://postgres@127.0.0.1:5432/{name}")
            }
            Backend::MySql => {
                admin(format!("CREATE DATABASE {name}"), backend);
                format!("mysql://root@127.0.0.1:3306/{name}")
            }
        };
        TestDb {
            backend,
            name,
            url,
            _dir: dir,
        }
    }

    /// The name notary-server's config uses for this backend.
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

/// `notarius-server` in this process, on its own runtime; stopped when dropped.
pub struct TestServer {
    pub rt: tokio::runtime::Runtime,
    running: Option<Running>,
    pub url: String,
    pub ca: PathBuf,
    pub data: tempfile::TempDir,
}

impl TestServer {
    pub fn start(db: &TestDb) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let mut cfg = Config::embedded(data.path());
        cfg.server.http_addr = "127.0.0.1:0".into();
        cfg.storage.backend = db.backend_name().into();
        cfg.storage.db_url = db.url.clone();
        cfg.logging.level = "error".into();
        Self::start_with(
            cfg,
            data,
            StartOptions {
                passphrase: Some("test-server-passphrase".into()),
                ..Default::default()
            },
        )
    }

    pub fn start_with(cfg: Config, data: tempfile::TempDir, mut opts: StartOptions) -> TestServer {
        opts.data_dir = Some(data.path().to_owned());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt.block_on(notarius_server::start(cfg, opts)).unwrap();
        let url = running.url.clone();
        let ca = running.ca_cert.clone().unwrap();
        TestServer {
            rt,
            running: Some(running),
            url,
            ca,
            data,
        }
    }

    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.shutdown());
        }
    }

    /// An HTTPS agent that trusts this server.
    pub fn agent(&self) -> ureq::Agent {
        agent_for(&self.ca)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn agent_for(ca: &Path) -> ureq::Agent {
    use ureq::tls::{PemItem, RootCerts, TlsConfig};
    let pem = std::fs::read(ca).unwrap();
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    ureq::Agent::config_builder()
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&certs))
                .build(),
        )
        .http_status_as_error(false)
        .build()
        .new_agent()
}

pub fn require_notary() -> bool {
    if notarius_testpeer::have("notary") {
        return true;
    }
    assert!(
        !ci(),
        "the real notary CLI (Debian package notary) is needed"
    );
    eprintln!("SKIPPED: the real notary CLI is not installed");
    false
}

/// The real `notary` CLI against `srv`.
pub fn notary(trust: &Path, srv: &TestServer, args: &[&str]) -> Output {
    notarius_testpeer::client_at("notary", trust, args, Some((&srv.url, &srv.ca)))
}

pub fn ok(o: Output, what: &str) -> String {
    let t = notarius_testpeer::text(&o);
    assert!(o.status.success(), "{what} failed: {t}");
    t
}
