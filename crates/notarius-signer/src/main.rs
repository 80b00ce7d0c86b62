//! `notarius-signer`: Notary's flags (`-config`, `-debug`, `-logf`, `-version`, `-bootstrap`),
//! plus `-reencrypt ALIAS`, then the library.

use std::path::PathBuf;

use anyhow::Context as _;
use notarius_service::flags::GoFlags;
use notarius_signer::{Config, Passphrases, keys, protect, start, storage};

const USAGE: &str =
    "usage: notarius-signer -config FILE [-logf json|logfmt] [-debug] [-bootstrap] [-version]
       notarius-signer -config FILE -reencrypt NEW_ALIAS

-config takes a notary-signer JSON config file as it is. Mutual TLS is mandatory:
server.tls.tls_cert_file, server.tls.tls_key_file and server.tls.client_ca_file must be set. The passphrase
of storage.default_alias is read from NOTARY_SIGNER_<ALIAS>.

-reencrypt NEW_ALIAS re-encrypts every stored key under the passphrase in
NOTARY_SIGNER_<NEW_ALIAS> (the passphrases of the aliases the keys have now must be set too),
all in one transaction, then exits; set storage.default_alias to NEW_ALIAS afterwards.
-bootstrap creates the private_keys table if it is missing, then exits.
-debug keeps the process dumpable (for a debugger); without it the process is non-dumpable.";

const PROGRAM: notarius_service::flags::Program = notarius_service::flags::Program {
    name: "notarius-signer",
    version: env!("CARGO_PKG_VERSION"),
    usage: USAGE,
};

#[derive(Default)]
struct Args {
    config: Option<PathBuf>,
    debug: bool,
    bootstrap: bool,
    reencrypt: Option<String>,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut a = Args::default();
    let mut flags = GoFlags::from_env();
    while let Some(flag) = flags.next_flag() {
        match flag.name.as_str() {
            "config" => a.config = Some(flags.value(&flag)?.into()),
            "logf" => {
                let f = flags.value(&flag)?;
                anyhow::ensure!(
                    f == "json" || f == "logfmt",
                    "Only 'json' and 'logfmt' are supported log formats, not {f:?}"
                );
            }
            "debug" => a.debug = GoFlags::boolean(&flag)?,
            "bootstrap" => a.bootstrap = GoFlags::boolean(&flag)?,
            "reencrypt" => a.reencrypt = Some(flags.value(&flag)?),
            other if PROGRAM.common(other)? => return Ok(None),
            _ => {}
        }
    }
    Ok(Some(a))
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
    notarius_service::logging::init(&cfg.logging.level);
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
    notarius_service::logging::shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}
