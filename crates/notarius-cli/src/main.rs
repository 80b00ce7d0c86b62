//! `notarius`: parses `notary`'s flags and config file, then calls the client library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use notarius_client::commands::{self, Context};
use notarius_client::remote::TlsFiles;
use notarius_tuf::trust::TrustPinConfig;

/// mimalloc instead of glibc's malloc: reading a large targets file builds and frees hundreds
/// of thousands of small objects, and glibc's allocator was over a third of a cold `list` of
/// 10,000 targets (perf; docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "notarius",
    about = "Notary's client, in Rust",
    disable_version_flag = true
)]
struct Cli {
    /// Path to the configuration file
    #[arg(short = 'c', long = "configFile", global = true)]
    config: Option<PathBuf>,
    /// Directory where the trust data is persisted to
    #[arg(short = 'd', long = "trustDir", global = true)]
    trust_dir: Option<PathBuf>,
    /// Remote trust server location
    #[arg(short = 's', long = "server", global = true)]
    server: Option<String>,
    /// Trust certs signed only by this CA will be considered
    #[arg(long = "tlscacert", global = true)]
    tls_ca: Option<PathBuf>,
    /// Path to TLS certificate file
    #[arg(long = "tlscert", global = true)]
    tls_cert: Option<PathBuf>,
    /// Path to TLS key file
    #[arg(long = "tlskey", global = true)]
    tls_key: Option<PathBuf>,
    /// Debug output
    #[arg(short = 'D', long = "debug", global = true)]
    debug: bool,
    /// Verbose output
    #[arg(short = 'v', long = "verbose", global = true)]
    verbose: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Initializes a local trusted collection
    Init {
        gun: String,
        #[arg(short = 'p', long = "publish")]
        publish: bool,
        /// Root key to initialize the repository with (an encrypted PEM file)
        #[arg(long = "rootkey")]
        rootkey: Option<PathBuf>,
        /// Root certificate for the root key (must match it)
        #[arg(long = "rootcert")]
        rootcert: Option<PathBuf>,
    },
    /// Adds the file as a target to the trusted collection
    #[command(after_long_help = BULK_HELP)]
    Add {
        gun: String,
        #[arg(required_unless_present = "from_file")]
        target: Option<String>,
        #[arg(required_unless_present = "from_file")]
        file: Option<PathBuf>,
        /// Add every target listed in this file ("-" for standard input), one per line (beyond
        /// notary; see below)
        #[arg(long = "from-file", value_name = "LIST", conflicts_with_all = ["target", "file"])]
        from_file: Option<PathBuf>,
        #[arg(short = 'r', long = "roles", value_delimiter = ',')]
        roles: Vec<String>,
        #[arg(long = "custom")]
        custom: Option<PathBuf>,
        #[arg(short = 'p', long = "publish")]
        publish: bool,
    },
    /// Adds the byte size and hash(es) as a target to the trusted collection
    Addhash {
        gun: String,
        target: String,
        size: String,
        #[arg(long = "sha256")]
        sha256: Option<String>,
        #[arg(long = "sha512")]
        sha512: Option<String>,
        #[arg(short = 'r', long = "roles", value_delimiter = ',')]
        roles: Vec<String>,
        #[arg(short = 'p', long = "publish")]
        publish: bool,
    },
    /// Removes a target from a trusted collection
    Remove {
        gun: String,
        target: String,
        #[arg(short = 'r', long = "roles", value_delimiter = ',')]
        roles: Vec<String>,
        #[arg(short = 'p', long = "publish")]
        publish: bool,
    },
    /// Lists targets for a remote trusted collection
    List {
        gun: String,
        #[arg(short = 'r', long = "roles", value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Looks up a specific target in a remote trusted collection
    Lookup { gun: String, target: String },
    /// Displays status of unpublished changes to the local trusted collection
    Status { gun: String },
    /// Resets unpublished changes for the local trusted collection
    Reset {
        gun: String,
        #[arg(short = 'n', long = "number")]
        number: Vec<usize>,
        #[arg(long = "all")]
        all: bool,
    },
    /// Publishes the local trusted collection
    Publish { gun: String },
    /// Verifies that a payload matches a target in the trusted collection
    Verify {
        gun: String,
        target: String,
        #[arg(short = 'i', long = "input")]
        input: Option<PathBuf>,
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        #[arg(short = 'q', long = "quiet")]
        quiet: bool,
    },
    /// Marks roles to be re-signed as they are on the next publish
    Witness {
        gun: String,
        #[arg(required = true)]
        roles: Vec<String>,
        #[arg(short = 'p', long = "publish")]
        publish: bool,
    },
    /// Deletes the trust data of a repository
    Delete {
        gun: String,
        #[arg(long = "remote")]
        remote: bool,
    },
    /// Operates on keys
    Key {
        #[command(subcommand)]
        cmd: KeyCmd,
    },
    /// Operates on delegations
    Delegation {
        #[command(subcommand)]
        cmd: DelegationCmd,
    },
    /// Archives the private keys (still encrypted) into a tar file, gzip-compressed when the
    /// name ends in .gz or .tgz; the file is written with mode 0600 (beyond notary)
    Backup { file: PathBuf },
    /// Restores private keys from a backup archive; every key must decrypt with its passphrase
    /// before anything is written (beyond notary)
    Restore { file: PathBuf },
    /// Print the version number of notarius
    Version,
}

#[derive(Subcommand)]
enum DelegationCmd {
    /// Add a delegation: keys (certificate or public key PEM) and/or paths
    Add {
        gun: String,
        role: String,
        keys: Vec<PathBuf>,
        #[arg(long = "paths", value_delimiter = ',')]
        paths: Vec<String>,
        #[arg(long = "all-paths")]
        all_paths: bool,
        #[arg(short = 'p', long = "publish")]
        publish: bool,
    },
    /// List the delegations of a repository
    List { gun: String },
    /// Remove KeyID(s) and/or paths from the specified Role delegation, or (with neither) the
    /// whole delegation
    Remove {
        gun: String,
        role: String,
        key_ids: Vec<String>,
        /// List of paths to remove
        #[arg(long = "paths", value_delimiter = ',')]
        paths: Option<Vec<String>>,
        /// Remove all paths from this delegation
        #[arg(long = "all-paths")]
        all_paths: bool,
        /// Answer yes to the removal question (no confirmation)
        #[arg(short = 'y', long = "yes")]
        yes: bool,
        #[arg(short = 'p', long = "publish")]
        publish: bool,
    },
    /// Remove KeyID(s) from all delegation roles in the given GUN
    Purge {
        gun: String,
        /// Delegation key IDs to be removed from the GUN
        #[arg(long = "key", value_delimiter = ',')]
        keys: Vec<String>,
        #[arg(short = 'p', long = "publish")]
        publish: bool,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Lists keys
    List,
    /// Generates a new key
    Generate {
        #[arg(default_value = "ecdsa")]
        algorithm: String,
        #[arg(short = 'r', long = "role", default_value = "root")]
        role: String,
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Rotates a key of a repository and publishes the new root
    Rotate {
        gun: String,
        role: String,
        #[arg(short = 'r', long = "server-managed")]
        server_managed: bool,
        /// New private key(s) to rotate to (PEM files; root keys must be encrypted); else one
        /// is generated
        #[arg(short = 'k', long = "key")]
        keys: Vec<PathBuf>,
        /// Number of old root versions whose keys also sign, to support old clients (-1: all)
        #[arg(
            short = 'l',
            long = "legacy",
            default_value_t = 0,
            allow_negative_numbers = true
        )]
        legacy: i64,
    },
    /// Exports all keys from all local keystores. Can be filtered using the --key and --gun flags
    Export {
        /// GUNs for which to export keys
        #[arg(long = "gun", value_delimiter = ',')]
        guns: Vec<String>,
        /// Key IDs to export
        #[arg(long = "key", value_delimiter = ',')]
        keys: Vec<String>,
        /// Filepath to write export output to
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Removes the key with the given keyID
    Remove {
        key_id: String,
        /// Answer yes to the removal question (beyond notary)
        #[arg(short = 'y', long = "yes")]
        yes: bool,
    },
    /// Changes the passphrase for the key with the given keyID
    Passwd { key_id: String },
    /// Imports private keys from PEM files
    Import {
        files: Vec<PathBuf>,
        #[arg(short = 'r', long = "role")]
        role: Option<String>,
        #[arg(short = 'g', long = "gun")]
        gun: Option<String>,
    },
}

const BULK_HELP: &str = "\
Bulk add (beyond notary): notarius add <GUN> --from-file <LIST>

Each line of LIST (or of standard input with \"-\") names one target:

    <name><TAB><path>                 the file is read and hashed (sha256, sha512), as `add` does
    <name><TAB>sha256:<hex>:<size>    a known digest and size, as `addhash --sha256` does
    <name><TAB><hex>:<size>           the same, without the prefix

A run of spaces may separate the name from the rest instead of a TAB (the name then has no
spaces). Paths are relative to the current directory. Blank lines and lines starting with #
are skipped; a name listed twice is an error. Every file is hashed before anything is staged,
so a bad line stages nothing; each target is then staged as its own change (one per role with
--roles), exactly as one `add` would, and --custom applies to the file entries. A progress bar
is shown on standard error when it is a terminal.

Example:
    printf 'v1.0\\tdist/app-1.0.tgz\\nv1.0.sig\\tdist/app-1.0.sig\\n' | notarius add example.com/app --from-file - -p";

/// `~/.notary/config.json`, the parts notarius reads.
fn load_config(cli: &Cli) -> Result<(serde_json::Value, PathBuf), String> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let (path, explicit) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (home.join(".notary/config.json"), false),
    };
    match std::fs::read(&path) {
        Ok(b) => {
            let v = serde_json::from_slice(&b)
                .map_err(|e| format!("error opening config file: {e}"))?;
            Ok((v, path.parent().map(Path::to_path_buf).unwrap_or_default()))
        }
        Err(e) if explicit => Err(format!("error opening config file: {e}")),
        Err(_) => Ok((
            serde_json::Value::Null,
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
        )),
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

fn context(cli: &Cli) -> Result<Context, String> {
    let (cfg, cfg_dir) = load_config(cli)?;
    let rel = |v: &serde_json::Value| v.as_str().map(|s| cfg_dir.join(expand_home(s)));
    let trust_dir = cli
        .trust_dir
        .clone()
        .or_else(|| cfg["trust_dir"].as_str().map(expand_home))
        .unwrap_or_else(|| expand_home("~/.notary"));
    let server = cli
        .server
        .clone()
        .or_else(|| cfg["remote_server"]["url"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "https://notary-server:4443".to_owned());
    let tls = TlsFiles {
        ca: cli
            .tls_ca
            .clone()
            .or_else(|| rel(&cfg["remote_server"]["root_ca"])),
        client_cert: cli
            .tls_cert
            .clone()
            .or_else(|| rel(&cfg["remote_server"]["tls_client_cert"])),
        client_key: cli
            .tls_key
            .clone()
            .or_else(|| rel(&cfg["remote_server"]["tls_client_key"])),
    };
    let tp = &cfg["trust_pinning"];
    let mut trust_pinning = TrustPinConfig {
        disable_tofu: tp["disable_tofu"].as_bool().unwrap_or(false),
        ..Default::default()
    };
    for (gun, ids) in tp["certs"].as_object().into_iter().flatten() {
        let ids = ids
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        trust_pinning.certs.insert(gun.clone(), ids);
    }
    for (prefix, file) in tp["ca"].as_object().into_iter().flatten() {
        let bundle = file
            .as_str()
            .and_then(|f| std::fs::read(expand_home(f)).ok());
        trust_pinning.ca.insert(prefix.clone(), bundle);
    }
    Ok(Context {
        trust_dir,
        server,
        tls,
        trust_pinning,
    })
}

fn run(cli: &Cli, out: &mut dyn std::io::Write) -> commands::CmdResult {
    let ctx = context(cli)?;
    match &cli.cmd {
        Cmd::Init {
            gun,
            publish,
            rootkey,
            rootcert,
        } => commands::init(
            &ctx,
            gun,
            *publish,
            rootkey.as_deref(),
            rootcert.as_deref(),
            out,
        ),
        Cmd::Add {
            gun,
            target,
            file,
            from_file,
            roles,
            custom,
            publish,
        } => {
            let custom = match custom {
                Some(p) => Some(serde_json::from_slice(&std::fs::read(p)?)?),
                None => None,
            };
            match (from_file, target, file) {
                (Some(list), _, _) => {
                    let text = read_list(list)?;
                    let mut bar = Progress::new();
                    commands::add_bulk(
                        &ctx,
                        gun,
                        &text,
                        roles,
                        custom,
                        *publish,
                        &mut |done, total, name| bar.update(done, total, name),
                        out,
                    )
                }
                (None, Some(target), Some(file)) => {
                    commands::add(&ctx, gun, target, file, roles, custom, *publish, out)
                }
                _ => Err("Must specify a GUN, target, and path to target data".into()),
            }
        }
        Cmd::Addhash {
            gun,
            target,
            size,
            sha256,
            sha512,
            roles,
            publish,
        } => {
            // Go's ParseInt with base 0: decimal, 0x hex, 0 octal.
            let size = if let Some(h) = size.strip_prefix("0x") {
                i64::from_str_radix(h, 16)
            } else if size.len() > 1 && size.starts_with('0') {
                i64::from_str_radix(&size[1..], 8)
            } else {
                size.parse()
            }
            .map_err(|e| format!("invalid size {size:?}: {e}"))?;
            commands::addhash(
                &ctx,
                gun,
                target,
                size,
                sha256.as_deref(),
                sha512.as_deref(),
                roles,
                *publish,
                out,
            )
        }
        Cmd::Remove {
            gun,
            target,
            roles,
            publish,
        } => commands::remove(&ctx, gun, target, roles, *publish, out),
        Cmd::List { gun, roles } => commands::list(&ctx, gun, roles, out),
        Cmd::Lookup { gun, target } => commands::lookup(&ctx, gun, target, out),
        Cmd::Status { gun } => commands::status(&ctx, gun, out),
        Cmd::Reset { gun, number, all } => commands::reset(&ctx, gun, number, *all, out),
        Cmd::Publish { gun } => commands::publish_cmd(&ctx, gun, out),
        Cmd::Key { cmd: KeyCmd::List } => commands::key_list(&ctx, out),
        Cmd::Key {
            cmd:
                KeyCmd::Rotate {
                    gun,
                    role,
                    server_managed,
                    keys,
                    legacy,
                },
        } => commands::key_rotate(
            &ctx,
            gun,
            role,
            *server_managed,
            keys,
            *legacy,
            &mut std::io::stdin().lock(),
            out,
        ),
        Cmd::Key {
            cmd:
                KeyCmd::Generate {
                    algorithm,
                    role,
                    output,
                },
        } => commands::key_generate(&ctx, algorithm, role, output.as_deref(), out),
        Cmd::Verify {
            gun,
            target,
            input,
            output,
            quiet,
        } => {
            let payload = match input {
                Some(p) => std::fs::read(p)?,
                None => {
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
                    b
                }
            };
            commands::verify(&ctx, gun, target, &payload, *quiet, output.as_deref(), out)
        }
        Cmd::Delete { gun, remote } => commands::delete(&ctx, gun, *remote, out),
        Cmd::Witness {
            gun,
            roles,
            publish,
        } => commands::witness(&ctx, gun, roles, *publish, out),
        Cmd::Key {
            cmd: KeyCmd::Import { files, role, gun },
        } => commands::key_import(&ctx, files, role.as_deref(), gun.as_deref()),
        Cmd::Key {
            cmd: KeyCmd::Export { guns, keys, output },
        } => commands::key_export(&ctx, keys, guns, output.as_deref(), out),
        Cmd::Key {
            cmd: KeyCmd::Remove { key_id, yes },
        } => commands::key_remove(&ctx, key_id, *yes, &mut std::io::stdin().lock(), out),
        Cmd::Key {
            cmd: KeyCmd::Passwd { key_id },
        } => commands::key_passwd(
            &ctx,
            key_id,
            &mut commands::retriever(),
            &mut commands::retriever(),
            out,
        ),
        Cmd::Delegation {
            cmd:
                DelegationCmd::Add {
                    gun,
                    role,
                    keys,
                    paths,
                    all_paths,
                    publish,
                },
        } => commands::delegation_add(&ctx, gun, role, keys, paths, *all_paths, *publish, out),
        Cmd::Delegation {
            cmd: DelegationCmd::List { gun },
        } => commands::delegation_list(&ctx, gun, out),
        Cmd::Delegation {
            cmd:
                DelegationCmd::Remove {
                    gun,
                    role,
                    key_ids,
                    paths,
                    all_paths,
                    yes,
                    publish,
                },
        } => commands::delegation_remove(
            &ctx,
            gun,
            role,
            key_ids,
            paths.as_deref(),
            *all_paths,
            *yes,
            *publish,
            &mut std::io::stdin().lock(),
            out,
        ),
        Cmd::Delegation {
            cmd: DelegationCmd::Purge { gun, keys, publish },
        } => commands::delegation_purge(&ctx, gun, keys, *publish, out),
        Cmd::Backup { file } => commands::backup(&ctx, file, out),
        Cmd::Restore { file } => commands::restore(&ctx, file, out),
        Cmd::Version => {
            writeln!(
                out,
                "notarius\n Version:    {}\n Git commit: \n Go version: none (Rust)",
                env!("CARGO_PKG_VERSION")
            )?;
            Ok(())
        }
    }
}

/// A bulk-add list from a file or, for `-`, standard input (at most 64 MiB).
fn read_list(path: &Path) -> Result<String, String> {
    use std::io::Read as _;
    const LIMIT: u64 = 64 << 20;
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(LIMIT + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(LIMIT + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > LIMIT {
        return Err(format!("{}: larger than {LIMIT} bytes", path.display()));
    }
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
}

/// The bulk-add progress bar: drawn on stderr only when it is a terminal.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal as _;
        Progress(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} hashing {wide_msg}")
            {
                bar.set_style(style);
            }
            bar
        }))
    }

    fn update(&mut self, done: usize, total: usize, name: &str) {
        if let Some(bar) = &self.0 {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(name.to_owned());
            if done == total {
                bar.finish_and_clear();
            }
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = (cli.debug, cli.verbose);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run(&cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // notary prints fatal errors on stdout, after an empty line (except those it
            // reports with `fatalf` directly).
            let blank = if e.downcast_ref::<commands::BareFatal>().is_some() {
                ""
            } else {
                "\n"
            };
            let _ = std::io::Write::write_fmt(&mut out, format_args!("{blank}* fatal: {e}\n"));
            // Beyond notary: what to make of it, on the lines after notary's message.
            if let Some(more) = commands::explanation(&*e) {
                let _ = std::io::Write::write_fmt(&mut out, format_args!("{more}\n"));
            }
            ExitCode::FAILURE
        }
    }
}
