//! The transport limit for scripts/bench.sh: the stack notarius-server serves HTTPS with (tokio
//! multi-threaded runtime, tokio-rustls with ring, TLS 1.2/1.3, ALPN h2 and http/1.1,
//! hyper-util's auto builder, TCP_NODELAY) answering every request with the same bytes and no
//! routing, storage or metrics. Whatever a real server does on top shows up as the distance to
//! this one under the same `wrk` settings.
//!
//!     bare_tls CERT.pem KEY.pem BODY_FILE [ADDR]      (ADDR defaults to 127.0.0.1:0)
//!
//! Prints `bare_tls listening on https://ADDR` on stderr once it accepts connections.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn die(msg: String) -> ! {
    eprintln!("bare_tls: {msg}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        die("usage: bare_tls CERT.pem KEY.pem BODY_FILE [ADDR]".into());
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&args[0])
        .unwrap_or_else(|e| die(format!("{}: {e}", args[0])))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| die(format!("{}: {e}", args[0])));
    let key =
        PrivateKeyDer::from_pem_file(&args[1]).unwrap_or_else(|e| die(format!("{}: {e}", args[1])));
    let body =
        Bytes::from(std::fs::read(&args[2]).unwrap_or_else(|e| die(format!("{}: {e}", args[2]))));
    let addr = args.get(3).map_or("127.0.0.1:0", String::as_str);

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| die(e.to_string()))
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap_or_else(|e| die(e.to_string()));
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| die(format!("{addr}: {e}")));
    let local = listener.local_addr().unwrap_or_else(|e| die(e.to_string()));
    eprintln!("bare_tls listening on https://{local}");
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |_req: Request<Incoming>| {
                let body = body.clone();
                async move {
                    Ok::<_, Infallible>(
                        Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(body))
                            .expect("static response"),
                    )
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}
