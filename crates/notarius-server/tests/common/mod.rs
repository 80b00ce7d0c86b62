//! Shared fixtures: a fresh database per test on each backend, and `notarius-server` started
//! in-process on an ephemeral loopback port with a generated CA.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::Output;

use notarius_server::{Config, Running, StartOptions};

pub use notarius_testpeer::ci;
pub use notarius_testpeer::db::{Backend, available};

/// A database of its own for one test.
pub struct TestDb(notarius_testpeer::db::TestDb);

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        TestDb(notarius_testpeer::db::TestDb::create(
            backend,
            "notarius_t",
            false,
        ))
    }
}

impl std::ops::Deref for TestDb {
    type Target = notarius_testpeer::db::TestDb;
    fn deref(&self) -> &Self::Target {
        &self.0
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
