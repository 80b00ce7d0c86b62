//! The accept loop of both services: connections taken until told to stop, each TLS
//! handshake (client certificate included, where the config asks for one) completed within a
//! deadline on a task of its own before the connection is handed over, so that a client
//! that fails it never reaches a handler and a slow one never holds up the others.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How long a client may take over its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// An accepted connection: TLS when the service has a certificate, else plain TCP.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The listen address could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {msg}")]
pub struct BindError {
    pub addr: String,
    pub msg: String,
}

/// Binds `addr`; returns the listener and the address it got (the port, for `:0`).
pub async fn bind(addr: &str) -> Result<(TcpListener, SocketAddr), BindError> {
    let err = |e: std::io::Error| BindError {
        addr: addr.to_owned(),
        msg: e.to_string(),
    };
    let listener = TcpListener::bind(addr).await.map_err(err)?;
    let local = listener.local_addr().map_err(err)?;
    Ok((listener, local))
}

/// Accepts on `listener` until `stop` changes, and runs `serve` on each connection (after the
/// TLS handshake when `tls` is set) on a task of its own; at the end, waits for those tasks to
/// be cut off. A failed or slow handshake is logged with the peer and the connection closed.
pub async fn accept_loop<S, F>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    serve: S,
) where
    S: Fn(Conn, SocketAddr) -> F + Clone + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            a = listener.accept() => a,
        };
        let Ok((tcp, peer)) = accepted else {
            // Out of descriptors and the like: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let serve = serve.clone();
        conns.spawn(async move {
            let conn = match acceptor {
                None => Conn::Plain(tcp),
                Some(acc) => match tokio::time::timeout(HANDSHAKE_TIMEOUT, acc.accept(tcp)).await
                {
                    Ok(Ok(tls)) => Conn::Tls(Box::new(tls)),
                    Ok(Err(e)) => {
                        tracing::warn!(%peer, error = %e, "TLS handshake refused; connection closed");
                        return;
                    }
                    Err(_) => {
                        tracing::warn!(%peer, "TLS handshake timed out; connection closed");
                        return;
                    }
                },
            };
            serve(conn, peer).await;
        });
        while conns.try_join_next().is_some() {}
    }
    conns.shutdown().await;
}

type AfterStop = dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// A service's serving task, the switch that stops it, and what to close after it (the
/// database pool).
pub struct Serving {
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    after: Option<Box<AfterStop>>,
}

impl Serving {
    /// Spawns `serve` with the receiver it must stop on.
    pub fn spawn<F>(serve: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> F) -> Serving
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (shutdown, rx) = tokio::sync::watch::channel(false);
        Serving {
            shutdown,
            task: tokio::spawn(serve(rx)),
            after: None,
        }
    }

    /// Runs the future `after` makes once the task has stopped.
    pub fn then<F>(mut self, after: impl FnOnce() -> F + Send + Sync + 'static) -> Serving
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.after = Some(Box::new(move || Box::pin(after())));
        self
    }

    /// Stops accepting, ends the connections, waits for the task, then runs what comes after.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        if let Some(after) = self.after {
            after().await;
        }
    }
}
