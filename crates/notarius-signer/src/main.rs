//! `notarius-signer`: Notary's flags (`-config`, `-debug`, `-logf`, `-version`, `-bootstrap`),
//! plus `-reencrypt ALIAS`, then the library.

use std::path::PathBuf;

use anyhow::Context as _;
use notarius_signer::{Config, Passphrases, keys, protect, start, storage};

const USAGE: &str =
    "usage: notarius-signer -config FILE [-logf json|logfmt] [-debug] [-bootstrap] [-version]
       notarius-signer -config FILE -reencrypt NEW_ALIAS

-config takes a notary-signer JSON config file as it is. Mutual TLS is mandatory:
server.tls_cert_file, server.tls_key_file and server.client_ca_file must be set. The passphrase
of storage.default_alias is read from NOTARY_SIGNER_<ALIAS>.

-reencrypt NEW_ALIAS re-encrypts every stored key under the passphrase in
NOTARY_SIGNER_<NEW_ALIAS> (the passphrases of the aliases the keys have now must be set too),
all in one transaction, then exits; set storage.default_alias to NEW_ALIAS afterwards.
-bootstrap creates the private_keys table if it is missing, then exits.
-debug keeps the process dumpable (for a debugger); without it the process is non-dumpable.";

struct Args {
    config: Option<PathBuf>,
    debug: bool,
    bootstrap: bool,
    reencrypt: Option<String>,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut a = Args {
        config: None,
        debug: false,
        bootstrap: false,
        reencrypt: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        // Go's flag package: one or two dashes, `-name value` or `-name=value`.
        let trimmed = arg.trim_start_matches('-');
        let (name, inline) = match trimmed.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (trimmed.to_owned(), None),
        };
        let mut value = |what: &str| -> anyhow::Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .with_context(|| format!("flag needs an argument: -{what}")),
            }
        };
        let boolean = |v: Option<String>| -> anyhow::Result<bool> {
            match v.as_deref() {
                None | Some("true") | Some("1") => Ok(true),
                Some("false") | Some("0") => Ok(false),
                Some(o) => anyhow::bail!("invalid boolean value {o:?}"),
            }
        };
        match name.as_str() {
            "config" => a.config = Some(value("config")?.into()),
            "logf" => {
                let f = value("logf")?;
                anyhow::ensure!(
                    f == "json" || f == "logfmt",
                    "Only 'json' and 'logfmt' are supported log formats, not {f:?}"
                );
            }
            "debug" => a.debug = boolean(inline.clone())?,
            "bootstrap" => a.bootstrap = boolean(inline.clone())?,
            "reencrypt" => a.reencrypt = Some(value("reencrypt")?),
            "version" => {
                println!("notarius-signer {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "h" | "help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => anyhow::bail!("flag provided but not defined: -{other}\n{USAGE}"),
        }
    }
    Ok(Some(a))
}

fn log_level(level: &str) -> tracing::Level {
    match level {
        "debug" => tracing::Level::DEBUG,
        "info" => tracing::Level::INFO,
        "warn" | "warning" => tracing::Level::WARN,
        _ => tracing::Level::ERROR,
    }
}

fn main() -> anyhow::Result<()> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    // First, before any key is read: no core dumps, no same-user ptrace.
    if !args.debug {
        protect::non_dumpable().context("could not make the process non-dumpable")?;
    }
    let path = args
        .config
        .clone()
        .with_context(|| format!("-config FILE is required\n{USAGE}"))?;
    let cfg = Config::load(&path)?;
    tracing_subscriber::fmt()
        .with_max_level(log_level(&cfg.logging.level))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args, cfg))
}

async fn run(args: Args, cfg: Config) -> anyhow::Result<()> {
    if args.bootstrap || args.reencrypt.is_some() {
        anyhow::ensure!(
            cfg.storage.backend != "memory",
            "the memory store has nothing to bootstrap or re-encrypt"
        );
        let store = storage::Store::connect(&cfg.storage.backend, &cfg.storage.db_url)
            .await
            .context("storage")?;
        if let Some(alias) = &args.reencrypt {
            let n = keys::reencrypt_all(&store, &Passphrases::Env, alias).await?;
            println!("re-encrypted {n} keys under alias {alias}");
        }
        store.close().await;
        return Ok(());
    }
    let running = start(&cfg, Passphrases::Env)
        .await
        .context("notarius-signer could not start")?;
    eprintln!("notarius-signer listening on {}", running.addr);
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
    running.shutdown().await;
    Ok(())
}
