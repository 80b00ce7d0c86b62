//! Sign RPCs per second against a notary-signer (Notary's or ours), over mutual TLS, per key
//! type; and the raw signing speed of notarius-crypto on this machine for comparison.
//!
//!   sign_bench raw SECONDS
//!   sign_bench rpc HOST:PORT CA CLIENT_CERT CLIENT_KEY SECONDS [CONCURRENCY]
//!
//! One HTTP/2 connection, CONCURRENCY requests in flight (default 32), each signing a 512-byte
//! message with a key made for the run by CreateKey. Prints `keytype ops/s` lines.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_signer::client::{self, KeyManagementClient, SignerClient};
use notarius_signer::proto;

fn raw(secs: u64) {
    for (name, alg) in [("ecdsa", Algorithm::Ecdsa), ("ed25519", Algorithm::Ed25519)] {
        let key = PrivateKey::generate(alg).unwrap();
        let msg = [7u8; 512];
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            for _ in 0..100 {
                std::hint::black_box(key.sign_bytes(&msg).unwrap());
            }
            n += 100;
        }
        println!("{name} {:.0}", n as f64 / start.elapsed().as_secs_f64());
    }
}

async fn rpc(args: &[String]) {
    let (addr, ca, cert, key) = (&args[0], &args[1], &args[2], &args[3]);
    let secs: u64 = args[4].parse().unwrap();
    let conc: usize = args.get(5).map(|c| c.parse().unwrap()).unwrap_or(32);
    let (host, port) = addr.rsplit_once(':').unwrap();
    let ch = client::channel(&client::SignerAddress {
        hostname: host,
        port,
        ca: Path::new(ca),
        client_cert: Path::new(cert),
        client_key: Path::new(key),
    })
    .unwrap();
    for alg in ["ecdsa", "ed25519"] {
        let k = KeyManagementClient::new(ch.clone())
            .create_key(proto::CreateKeyRequest {
                algorithm: alg.into(),
                gun: format!("bench/{alg}"),
                role: "timestamp".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let id = k.key_info.unwrap().key_id.unwrap().id;
        let done = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        // Warm up (first Sign decrypts and caches the key, marks it used).
        SignerClient::new(ch.clone())
            .sign(proto::SignatureRequest {
                key_id: Some(proto::KeyId { id: id.clone() }),
                content: vec![7u8; 512],
            })
            .await
            .unwrap();
        let start = Instant::now();
        let end = start + Duration::from_secs(secs);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..conc {
            let mut c = SignerClient::new(ch.clone());
            let (id, done, errors) = (id.clone(), done.clone(), errors.clone());
            set.spawn(async move {
                while Instant::now() < end {
                    let r = c
                        .sign(proto::SignatureRequest {
                            key_id: Some(proto::KeyId { id: id.clone() }),
                            content: vec![7u8; 512],
                        })
                        .await;
                    match r {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        while set.join_next().await.is_some() {}
        let n = done.load(Ordering::Relaxed);
        println!(
            "{alg} {:.0} errors={}",
            n as f64 / start.elapsed().as_secs_f64(),
            errors.load(Ordering::Relaxed)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("raw") => raw(args[1].parse().unwrap()),
        Some("rpc") => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
            .block_on(rpc(&args[1..])),
        _ => eprintln!(
            "usage: sign_bench raw SECONDS | rpc HOST:PORT CA CERT KEY SECONDS [CONCURRENCY]"
        ),
    }
}
