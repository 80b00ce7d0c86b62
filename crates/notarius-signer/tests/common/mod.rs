//! Shared fixtures: a fresh database per test, generated PKI (good and bad client
//! certificates), notarius-signer in-process or as a process, and a gRPC client.
#![allow(dead_code, unused_imports)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notarius_signer::client::{self, HealthClient, KeyManagementClient, SignerClient};
use notarius_signer::{Config, Passphrases, Running};
use zeroize::Zeroizing;

pub use notarius_testpeer::ci;
pub use notarius_testpeer::db::{ALL, Backend, available};

pub const ALIAS: &str = "testalias";
pub const PASSPHRASE: &str = "test-signer-passphrase";

/// A database of its own for one test (MySQL as a Go DSN, as notary-signer's configs write it).
pub struct TestDb(notarius_testpeer::db::TestDb);

impl TestDb {
    pub fn new(backend: Backend) -> TestDb {
        TestDb(notarius_testpeer::db::TestDb::create(
            backend,
            "notarius_sg",
            true,
        ))
    }
}

impl std::ops::Deref for TestDb {
    type Target = notarius_testpeer::db::TestDb;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A CA with the signer's server certificate and client certificates of every kind.
pub struct Pki {
    pub dir: tempfile::TempDir,
}

fn write(dir: &Path, name: &str, data: &str) {
    std::fs::write(dir.join(name), data).unwrap();
}

fn ca(name: &str) -> (rcgen::Certificate, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let cert = p.self_signed(&key).unwrap();
    (cert, rcgen::Issuer::new(p, key))
}

fn leaf(
    cn: &str,
    eku: Vec<rcgen::ExtendedKeyUsagePurpose>,
    validity: (time::OffsetDateTime, time::OffsetDateTime),
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.extended_key_usages = eku;
    p.not_before = validity.0;
    p.not_after = validity.1;
    let cert = p.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    pub fn new() -> Pki {
        use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let now = time::OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let valid = (now - day, now + 30 * day);
        let (ca_cert, issuer) = ca("notarius-signer test CA");
        write(d, "ca.crt", &ca_cert.pem());
        let put = |name: &str, (cert, key): (String, String)| {
            write(d, &format!("{name}.crt"), &cert);
            write(d, &format!("{name}.key"), &key);
        };
        put(
            "signer",
            leaf("notary-signer", vec![ServerAuth], valid, &issuer),
        );
        put(
            "client",
            leaf(
                "notary-server",
                vec![ServerAuth, ClientAuth],
                valid,
                &issuer,
            ),
        );
        put(
            "expired",
            leaf(
                "expired",
                vec![ClientAuth],
                (now - 30 * day, now - day),
                &issuer,
            ),
        );
        put(
            "notyet",
            leaf(
                "not yet",
                vec![ClientAuth],
                (now + day, now + 30 * day),
                &issuer,
            ),
        );
        put(
            "noclientauth",
            leaf("server only", vec![ServerAuth], valid, &issuer),
        );
        // The CA's own certificate and key presented as a client certificate.
        write(d, "caleaf.crt", &ca_cert.pem());
        write(d, "caleaf.key", &issuer.key().serialize_pem());
        let (_other_cert, other) = ca("some other CA");
        put("otherca", leaf("other", vec![ClientAuth], valid, &other));
        Pki { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A notary-signer config JSON for this PKI on `db` (`None`: memory).
    pub fn config_json(&self, db: Option<&TestDb>) -> serde_json::Value {
        let storage = match db {
            Some(db) => serde_json::json!({
                "backend": db.backend_name(), "db_url": db.url, "default_alias": ALIAS
            }),
            None => serde_json::json!({"backend": "memory"}),
        };
        serde_json::json!({
            "server": {
                "grpc_addr": "127.0.0.1:0",
                "tls_cert_file": self.path("signer.crt"),
                "tls_key_file": self.path("signer.key"),
                "client_ca_file": self.path("ca.crt"),
            },
            "logging": {"level": "info"},
            "storage": storage,
        })
    }

    pub fn config(&self, db: Option<&TestDb>) -> Config {
        Config::parse(&self.config_json(db).to_string(), self.dir.path(), |_| None).unwrap()
    }
}

pub fn passphrases(pairs: &[(&str, &str)]) -> Passphrases {
    Passphrases::Fixed(Arc::new(
        pairs
            .iter()
            .map(|(a, p)| ((*a).to_owned(), Zeroizing::new((*p).to_owned())))
            .collect::<HashMap<_, _>>(),
    ))
}

/// notarius-signer in this process, on its own runtime; stopped when dropped.
pub struct InProcess {
    pub rt: tokio::runtime::Runtime,
    running: Option<Running>,
    pub addr: SocketAddr,
}

impl InProcess {
    pub fn start(cfg: &Config, p: Passphrases) -> InProcess {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt.block_on(notarius_signer::start(cfg, p)).unwrap();
        let addr = running.addr;
        InProcess {
            rt,
            running: Some(running),
            addr,
        }
    }

    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.shutdown());
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// gRPC clients presenting `who`'s certificate (a name in [`Pki`]).
pub struct Clients {
    pub km: KeyManagementClient,
    pub signer: SignerClient,
    pub health: HealthClient,
}

/// The channel's background task runs on `rt`, which must outlive the clients.
pub fn clients(pki: &Pki, addr: SocketAddr, who: &str, rt: &tokio::runtime::Runtime) -> Clients {
    let _guard = rt.enter();
    clients_here(pki, addr, who)
}

/// As [`clients`], from inside a runtime.
pub fn clients_here(pki: &Pki, addr: SocketAddr, who: &str) -> Clients {
    let ch = client::channel(&client::SignerAddress {
        hostname: "localhost",
        port: &addr.port().to_string(),
        ca: &pki.path("ca.crt"),
        client_cert: &pki.path(&format!("{who}.crt")),
        client_key: &pki.path(&format!("{who}.key")),
    })
    .unwrap();
    Clients {
        km: KeyManagementClient::new(ch.clone()),
        signer: SignerClient::new(ch.clone()),
        health: HealthClient::new(ch),
    }
}

/// The notarius-signer binary as a process, stopped (SIGKILL) when dropped.
pub struct Proc {
    pub child: Child,
    pub addr: Option<SocketAddr>,
    pub log: Arc<std::sync::Mutex<String>>,
}

impl Proc {
    /// Starts `notarius-signer -config <file> <extra>` with `env`; waits for its listening line
    /// or its exit.
    pub fn spawn(config: &Path, extra: &[&str], env: &[(&str, &str)]) -> Proc {
        Proc::spawn_via(&[], config, extra, env)
    }

    /// As [`spawn`](Self::spawn), run through `wrapper` (e.g. `setpriv --reuid …`).
    pub fn spawn_via(
        wrapper: &[&str],
        config: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Proc {
        let bin = env!("CARGO_BIN_EXE_notarius-signer");
        let mut cmd = match wrapper {
            [] => Command::new(bin),
            [w, rest @ ..] => {
                let mut c = Command::new(w);
                c.args(rest).arg(bin);
                c
            }
        };
        let mut child = cmd
            .arg("-config")
            .arg(config)
            .args(extra)
            .env_remove(notarius_signer::config::passphrase_env(ALIAS))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(a) = line.strip_prefix("notarius-signer listening on ") {
                    let _ = tx.send(a.trim().parse::<SocketAddr>().ok());
                }
                let mut l = log2.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
            let _ = tx.send(None);
        });
        let addr = rx.recv_timeout(Duration::from_secs(60)).ok().flatten();
        Proc { child, addr, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for the process to end by itself; its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(s) = self.child.try_wait().unwrap() {
                // Let the reader thread drain stderr.
                std::thread::sleep(Duration::from_millis(100));
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Verifies a signature as a notary client would (ECDSA P-256 r‖s over SHA-256, Ed25519).
pub fn verify(keytype: &str, public: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
    match keytype {
        // SPKI DER: the point is the last 65 bytes.
        "ecdsa" => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public[public.len() - 65..])
            .verify(msg, sig)
            .is_ok(),
        "ed25519" => UnparsedPublicKey::new(&ED25519, public)
            .verify(msg, sig)
            .is_ok(),
        _ => false,
    }
}

/// Rows in `private_keys` (to check nothing was created).
pub fn count_keys(cfg: &Config) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = notarius_signer::storage::Store::connect(&cfg.storage.backend, &cfg.storage.db_url)
            .await
            .unwrap();
        let n = s.all().await.unwrap().len();
        s.close().await;
        n
    })
}
