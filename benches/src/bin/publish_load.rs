//! Publish load for a Notary-compatible trust server (notary-server 0.7 or notarius-server).
//!
//! Each of `--workers` threads creates its own repository (GUN `<prefix>/w<i>`): root and
//! targets keys made and held here (the root key under a Notary-shaped root certificate), the
//! snapshot and timestamp keys the server's (`GET /v2/<gun>/_trust/tuf/{snapshot,timestamp}.key`).
//! Version 1 of root and targets goes up in one multipart POST, as the notary client sends it;
//! then, for `--seconds`, each worker adds one target, signs targets (version + 1) and POSTs it
//! alone, so the server validates it and signs a new snapshot and timestamp for every update.
//!
//! Prints one line: `updates=N seconds=S updates_per_s=R p50_ms=A p99_ms=B errors=E
//! uploaded_mb=M`, M being the targets files the accepted updates carried (10^6 bytes): a
//! server that keeps what it is sent in memory grows with it.
//!
//!     publish_load --url https://127.0.0.1:4443 --ca ca.crt [--workers 16] [--seconds 10]
//!                  [--prefix bench/run1] [--init-targets 0]
//!
//! `--seconds 0` only creates the repositories (with `--init-targets` targets each), which
//! scripts/bench.sh uses to set up the repository it GETs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use notarius_crypto::cert::root_certificate;
use notarius_crypto::private::{Algorithm, CertifiedKey, PrivateKey};
use notarius_tuf::keys::PublicKey;
use notarius_tuf::metadata::{BaseRole, FileMeta};
use notarius_tuf::repo::Repo;
use notarius_tuf::sign::Signer;
use notarius_tuf::time::{ROOT_EXPIRY, TARGETS_EXPIRY};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

type Res<T> = Result<T, String>;

struct Opts {
    url: String,
    ca: String,
    workers: usize,
    seconds: f64,
    prefix: String,
    init_targets: usize,
}

fn opts() -> Res<Opts> {
    let mut o = Opts {
        url: String::new(),
        ca: String::new(),
        workers: 16,
        seconds: 10.0,
        prefix: format!("bench.invalid/load{}", std::process::id()),
        init_targets: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--url" => o.url = val()?.trim_end_matches('/').to_owned(),
            "--ca" => o.ca = val()?,
            "--workers" => o.workers = val()?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--seconds" => o.seconds = val()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--prefix" => o.prefix = val()?,
            "--init-targets" => {
                o.init_targets = val()?.parse().map_err(|e| format!("--init-targets: {e}"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.url.is_empty() || o.ca.is_empty() {
        return Err("usage: publish_load --url URL --ca CA.crt [--workers N] [--seconds S] [--prefix P] [--init-targets N]".into());
    }
    Ok(o)
}

fn agent(ca: &str) -> Res<ureq::Agent> {
    let pem = std::fs::read(ca).map_err(|e| format!("{ca}: {e}"))?;
    let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i {
            Ok(PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::Specific(Arc::new(certs)))
        .build();
    Ok(ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into())
}

fn single(name: &str, key: &PublicKey) -> BaseRole {
    BaseRole {
        name: name.to_owned(),
        keys: BTreeMap::from([(key.id().to_owned(), key.clone())]),
        threshold: 1,
    }
}

/// One repository on the server and the keys that sign it.
struct Publisher {
    agent: ureq::Agent,
    base: String,
    repo: Repo,
    targets_key: PrivateKey,
    next: u64,
}

impl Publisher {
    fn get_key(agent: &ureq::Agent, base: &str, role: &str) -> Res<PublicKey> {
        let mut resp = agent
            .get(&format!("{base}/{role}.key"))
            .call()
            .map_err(|e| format!("GET {role}.key: {e}"))?;
        let body = resp
            .body_mut()
            .read_to_vec()
            .map_err(|e| format!("GET {role}.key: {e}"))?;
        if resp.status() != 200 {
            return Err(format!(
                "GET {role}.key: {} {}",
                resp.status(),
                String::from_utf8_lossy(&body)
            ));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{role}.key: {e}"))
    }

    fn post(&self, files: &[(&str, Vec<u8>)]) -> Res<()> {
        let boundary = "notariusbenchboundary7f3a9c";
        let mut body = Vec::new();
        for (role, bytes) in files {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"files\"; filename=\"{role}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut resp = self
            .agent
            .post(&format!("{}/", self.base))
            .header(
                "Content-Type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body[..])
            .map_err(|e| format!("POST: {e}"))?;
        let out = resp.body_mut().read_to_vec().unwrap_or_default();
        if resp.status() != 200 {
            return Err(format!(
                "POST: {} {}",
                resp.status(),
                String::from_utf8_lossy(&out)
            ));
        }
        Ok(())
    }

    fn target(&mut self) -> BTreeMap<String, FileMeta> {
        let n = self.next;
        self.next += 1;
        BTreeMap::from([(
            format!("target-{n:08}"),
            FileMeta::from_bytes(format!("artifact {n}").as_bytes()),
        )])
    }

    /// Creates the repository: version 1 of root and targets, signed here, in one POST.
    fn create(url: &str, ca: &str, gun: &str, init_targets: usize) -> Res<Publisher> {
        let agent = agent(ca)?;
        let base = format!("{url}/v2/{gun}/_trust/tuf");
        let snapshot = Self::get_key(&agent, &base, "snapshot")?;
        let timestamp = Self::get_key(&agent, &base, "timestamp")?;
        let now = Utc::now();
        let local = now.fixed_offset();
        let root_key = PrivateKey::generate(Algorithm::Ecdsa).map_err(|e| e.to_string())?;
        let not_before = time::OffsetDateTime::from_unix_timestamp(now.timestamp())
            .map_err(|e| e.to_string())?;
        let cert = root_certificate(&root_key, gun, not_before).map_err(|e| e.to_string())?;
        let targets_key = PrivateKey::generate(Algorithm::Ecdsa).map_err(|e| e.to_string())?;
        let mut repo = Repo::default();
        repo.init_root(
            [
                &single("root", &cert),
                &single("targets", targets_key.public_key()),
                &single("snapshot", &snapshot),
                &single("timestamp", &timestamp),
            ],
            false,
            local + ROOT_EXPIRY,
        );
        repo.init_targets("targets", local + TARGETS_EXPIRY)
            .map_err(|e| e.to_string())?;
        let mut p = Publisher {
            agent,
            base,
            repo,
            targets_key,
            next: 0,
        };
        let all = |_: &str| true;
        let mut initial = BTreeMap::new();
        for _ in 0..init_targets {
            initial.extend(p.target());
        }
        p.repo
            .add_targets("targets", &initial, &all, local + TARGETS_EXPIRY)
            .map_err(|e| e.to_string())?;
        let certified = CertifiedKey::new(&root_key, cert).map_err(|e| e.to_string())?;
        let root = p
            .repo
            .sign_root(local + ROOT_EXPIRY, &[&certified as &dyn Signer], &[])
            .map_err(|e| e.to_string())?;
        let targets = p
            .repo
            .sign_targets(
                "targets",
                local + TARGETS_EXPIRY,
                &[&p.targets_key as &dyn Signer],
            )
            .map_err(|e| e.to_string())?;
        p.post(&[("root", root), ("targets", targets)])?;
        Ok(p)
    }

    /// One more target, targets version + 1, uploaded alone; the size of what went up.
    fn update(&mut self) -> Res<usize> {
        let expires = Utc::now().fixed_offset() + TARGETS_EXPIRY;
        let t = self.target();
        self.repo
            .add_targets("targets", &t, &|_: &str| true, expires)
            .map_err(|e| e.to_string())?;
        let targets = self
            .repo
            .sign_targets("targets", expires, &[&self.targets_key as &dyn Signer])
            .map_err(|e| e.to_string())?;
        let len = targets.len();
        self.post(&[("targets", targets)])?;
        Ok(len)
    }
}

/// What one worker thread did in the timed part.
#[derive(Default)]
struct Worker {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    /// Bytes of the targets files its accepted updates carried.
    uploaded: usize,
}

fn main() {
    let o = match opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Set up every repository first, so the timed part is only updates.
    let created: Vec<Res<Publisher>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..o.workers)
            .map(|i| {
                let o = &o;
                s.spawn(move || {
                    Publisher::create(&o.url, &o.ca, &format!("{}/w{i}", o.prefix), o.init_targets)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    let mut pubs = Vec::new();
    for c in created {
        match c {
            Ok(p) => pubs.push(p),
            Err(e) => {
                eprintln!("publish_load: creating a repository failed: {e}");
                std::process::exit(1);
            }
        }
    }
    if o.seconds <= 0.0 {
        println!("created={}", pubs.len());
        return;
    }
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let results: Vec<Worker> = std::thread::scope(|s| {
        let hs: Vec<_> = pubs
            .into_iter()
            .map(|mut p| {
                let stop = &stop;
                s.spawn(move || {
                    let mut w = Worker::default();
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        match p.update() {
                            Ok(len) => {
                                w.latencies.push(t.elapsed());
                                w.uploaded += len;
                            }
                            Err(e) => {
                                w.errors += 1;
                                w.first_error.get_or_insert(e);
                                // A refused update leaves our copy ahead of the server's; the
                                // next one would be refused too.
                                break;
                            }
                        }
                    }
                    w
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(o.seconds));
        stop.store(true, Ordering::Relaxed);
        hs.into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| Worker {
                    errors: 1,
                    first_error: Some("panicked".into()),
                    ..Worker::default()
                })
            })
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut all: Vec<Duration> = Vec::new();
    let mut errors = 0;
    let mut uploaded = 0;
    for w in results {
        all.extend(w.latencies);
        uploaded += w.uploaded;
        errors += w.errors;
        if let Some(f) = w.first_error {
            eprintln!("publish_load: {f}");
        }
    }
    all.sort();
    let pct = |p: f64| {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all[i].as_secs_f64() * 1000.0
    };
    println!(
        "updates={} seconds={elapsed:.2} updates_per_s={:.1} p50_ms={:.1} p99_ms={:.1} errors={errors} uploaded_mb={:.2}",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        uploaded as f64 / 1e6
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
