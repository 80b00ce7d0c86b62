//! Logs on stderr at the config's `logging.level`, and the wait for a signal to stop.

/// Notary's level names (`debug`, `info`, `warn`, `error`; anything else is `error`).
pub fn level(name: &str) -> tracing::Level {
    match name {
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        "warn" | "warning" => tracing::Level::WARN,
        _ => tracing::Level::ERROR,
    }
}

/// Installs the logger on stderr; colour codes only when stderr is a terminal.
pub fn init(level_name: &str) {
    tracing_subscriber::fmt()
        .with_max_level(level(level_name))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Returns at SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
