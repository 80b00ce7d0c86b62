//! notarius-server in this process (SQLite, generated TLS, loopback, an ephemeral port),
//! stopped when dropped.

use std::path::PathBuf;

use notarius_server::{Config, Running, StartOptions};

pub struct Server {
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
    pub url: String,
    pub ca: PathBuf,
    pub db: PathBuf,
    _data: tempfile::TempDir,
}

impl Server {
    pub fn start() -> Server {
        Self::start_in(tempfile::tempdir().unwrap())
    }

    /// Stops this server and starts another on the same data (a restart).
    pub fn restart(mut self) -> Server {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.shutdown());
        }
        let data = std::mem::replace(&mut self._data, tempfile::tempdir().unwrap());
        drop(self);
        Self::start_in(data)
    }

    fn start_in(data: tempfile::TempDir) -> Server {
        let mut cfg = Config::embedded(data.path());
        cfg.server.http_addr = "127.0.0.1:0".into();
        cfg.logging.level = "error".into();
        let db = PathBuf::from(&cfg.storage.db_url);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt
            .block_on(notarius_server::start(
                cfg,
                StartOptions {
                    data_dir: Some(data.path().to_owned()),
                    passphrase: Some("pw".into()),
                    ..Default::default()
                },
            ))
            .unwrap();
        Server {
            url: running.url.clone(),
            ca: running.ca_cert.clone().unwrap(),
            rt,
            running: Some(running),
            db,
            _data: data,
        }
    }

    /// Runs SQL on the server's database behind its back (a compromised or restored server).
    pub fn tamper(&self, sql: &'static str) {
        let db = self.db.clone();
        self.rt.block_on(async move {
            use sqlx::Connection as _;
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.shutdown());
        }
    }
}
