//! `notarius-server`: arguments, logging, then the library.

use std::path::PathBuf;

use anyhow::Context as _;
use notarius_server::{Config, StartOptions, start};
use notarius_service::flags::GoFlags;

const USAGE: &str =
    "usage: notarius-server [-config FILE] [-data-dir DIR] [-logf json|logfmt] [-debug] [-version]

Without -config it runs on embedded defaults: 127.0.0.1:4443, SQLite and a generated TLS
certificate in the data directory ($NOTARIUS_DATA_DIR or ~/.notarius/server), and the built-in
signing service. -config takes a notary-server JSON config file as it is.";

const PROGRAM: notarius_service::flags::Program = notarius_service::flags::Program {
    name: "notarius-server",
    version: env!("CARGO_PKG_VERSION"),
    usage: USAGE,
};

#[derive(Default)]
struct Args {
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    addr: Option<String>,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut a = Args::default();
    let mut flags = GoFlags::from_env();
    while let Some(flag) = flags.next_flag() {
        match flag.name.as_str() {
            "config" => a.config = Some(flags.value(&flag)?.into()),
            "data-dir" => a.data_dir = Some(flags.value(&flag)?.into()),
            "http-addr" => a.addr = Some(flags.value(&flag)?),
            "logf" => {
                flags.value(&flag)?;
            }
            "debug" | "bootstrap" => {}
            other if PROGRAM.common(other)? => return Ok(None),
            _ => {}
        }
    }
    Ok(Some(a))
}

fn main() -> anyhow::Result<()> {
    one_malloc_arena();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve_main())
}

/// glibc gives each thread that allocates its own heap arena and rarely hands freed memory
/// back, so the server's RSS grew with every thread that ever took a request (samples under
/// the publish load: 35 → 56 MiB in 10 s and still rising; flat at 31 MiB with one arena, at
/// the same updates per second). glibc reads the limit only at process start, and `mallopt`
/// would need `unsafe`, so the process starts itself again once with `MALLOC_ARENA_MAX=1`
/// (same PID, same arguments). A `MALLOC_ARENA_MAX` already in the environment wins.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none()
        && let Ok(exe) = std::env::current_exe()
    {
        use std::os::unix::process::CommandExt as _;
        let mut args = std::env::args_os();
        let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        // exec only returns on failure; the server then simply runs with glibc's default.
        let _ = std::process::Command::new(&exe)
            .arg0(arg0)
            .args(args)
            .env("MALLOC_ARENA_MAX", "1")
            .exec();
    }
}

async fn serve_main() -> anyhow::Result<()> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let (mut cfg, data_dir) = match &args.config {
        Some(path) => (Config::load(path)?, args.data_dir.clone()),
        None => {
            let dir = args
                .data_dir
                .clone()
                .unwrap_or_else(notarius_server::default_data_dir);
            (Config::embedded(&dir), Some(dir))
        }
    };
    if let Some(a) = args.addr {
        cfg.server.http_addr = a;
    }
    notarius_service::logging::init(&cfg.logging.level);
    let embedded = args.config.is_none();
    let running = start(
        cfg,
        StartOptions {
            data_dir,
            ..Default::default()
        },
    )
    .await
    .context("notarius-server could not start")?;
    eprintln!("notarius-server listening on {}", running.url);
    if embedded && let Some(ca) = &running.ca_cert {
        eprintln!(
            "connect with: notarius -s {} --tlscacert {} <command>",
            running.url,
            ca.display()
        );
    }
    notarius_service::logging::shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}
