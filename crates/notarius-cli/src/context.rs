//! What every command shares: the global flags, the configuration file they point to (read
//! only when a command needs it, after its own argument checks, as Notary does), and the
//! trust directory, trust server and key service built from them.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use notarius_client::Repository;
use notarius_client::changelist::FileChangelist;
use notarius_client::remote::{HttpRemote, Permission, TlsFiles};
use notarius_crypto::service::CryptoService;
use notarius_tuf::role::Gun;
use notarius_tuf::trust::TrustPinConfig;

use crate::config::{Config, expand_home};
use crate::error::CliError;
use crate::passphrase::Passphrases;

/// Notary's default trust server.
pub const DEFAULT_SERVER: &str = "https://notary-server:4443";

/// The global flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Globals {
    /// Path to the configuration file to use (default ~/.notary/config.json)
    #[arg(short = 'c', long = "configFile", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory where the trust data is persisted to (default ~/.notary)
    #[arg(short = 'd', long = "trustDir", global = true, value_name = "DIR")]
    pub trust_dir: Option<PathBuf>,
    /// Remote trust server location, as https://host:port
    #[arg(short = 's', long = "server", global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Trust certs signed only by this CA (PEM file; instead of the system roots)
    #[arg(long = "tlscacert", global = true, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Path to TLS certificate file (a client certificate; needs --tlskey)
    #[arg(long = "tlscert", global = true, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Path to TLS key file (the client certificate's key; needs --tlscert)
    #[arg(long = "tlskey", global = true, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Debug output: requests, TLS, authentication and keys used, on stderr
    #[arg(short = 'D', long = "debug", global = true)]
    pub debug: bool,
    /// Verbose output: what the command does, on stderr
    #[arg(short = 'v', long = "verbose", global = true)]
    pub verbose: bool,
}

/// Everything resolved from flags, the config file and the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub trust_dir: PathBuf,
    pub server: String,
    pub tls: TlsFiles,
    pub trust_pinning: TrustPinConfig,
    pub passphrase_command: Option<String>,
}

/// A command's view of the world.
pub struct Context {
    globals: Globals,
    settings: OnceCell<Settings>,
}

/// Notary's `passwordStore` prompt, when the token service wants credentials and
/// `NOTARY_AUTH` has none: a username on stdin, the password without echo. Only on a
/// terminal; a script gets the server's 401 instead of a hang.
fn prompt_credentials() -> Option<zeroize::Zeroizing<String>> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() {
        return None;
    }
    print!("Enter username: ");
    let _ = std::io::stdout().flush();
    let mut user = String::new();
    std::io::stdin().lock().read_line(&mut user).ok()?;
    let user = user.trim();
    if user.is_empty() {
        return None;
    }
    let password = zeroize::Zeroizing::new(rpassword::prompt_password("Enter password: ").ok()?);
    Some(zeroize::Zeroizing::new(format!(
        "{user}:{}",
        password.trim()
    )))
}

/// Notary's `pathRelativeToCwd`: a relative path made absolute and clean.
fn absolute(p: &Path) -> PathBuf {
    if p.as_os_str().is_empty() || p.is_absolute() {
        return p.to_owned();
    }
    let joined = std::env::current_dir().map_or_else(|_| p.to_owned(), |cwd| cwd.join(p));
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl Context {
    pub fn new(globals: Globals) -> Context {
        Context {
            globals,
            settings: OnceCell::new(),
        }
    }

    /// The settings, reading the config file the first time.
    pub fn settings(&self) -> Result<&Settings, CliError> {
        if let Some(s) = self.settings.get() {
            return Ok(s);
        }
        let s = self.resolve()?;
        Ok(self.settings.get_or_init(|| s))
    }

    fn resolve(&self) -> Result<Settings, CliError> {
        let g = &self.globals;
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        if home.is_none() {
            log::warn!("cannot get current user home directory: environment variable not set");
        }
        let default_dir = home.clone().unwrap_or_default().join(".notary");
        let (config_path, named) = match &g.config {
            Some(p) => (absolute(p), true),
            None => (default_dir.join("config.json"), false),
        };
        let cfg = Config::load(&config_path, named).map_err(|e| CliError::Fatal(e.to_string()))?;
        let cfg_dir = config_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // Paths in the config file are relative to its folder (Notary's
        // `GetPathRelativeToConfig`); flags are relative to the current directory.
        let from_config = |v: &Option<String>| {
            v.as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| cfg_dir.join(expand_home(s, home.as_deref())))
        };
        let trust_dir = match &g.trust_dir {
            Some(d) => absolute(&expand_home(&d.to_string_lossy(), home.as_deref())),
            None => match &cfg.trust_dir {
                Some(d) => expand_home(d, home.as_deref()),
                None => default_dir,
            },
        };
        log::debug!(
            "Using the following trust directory: {}",
            trust_dir.display()
        );
        let server = g
            .server
            .clone()
            .or_else(|| cfg.remote_server.url.clone().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let tls = TlsFiles {
            ca: g
                .tls_ca
                .as_deref()
                .map(absolute)
                .or_else(|| from_config(&cfg.remote_server.root_ca)),
            client_cert: g
                .tls_cert
                .as_deref()
                .map(absolute)
                .or_else(|| from_config(&cfg.remote_server.tls_client_cert)),
            client_key: g
                .tls_key
                .as_deref()
                .map(absolute)
                .or_else(|| from_config(&cfg.remote_server.tls_client_key)),
            skip_verify: cfg.remote_server.skip_tls_verify.unwrap_or(false),
            extra_cas: Vec::new(),
        };
        if tls.client_cert.is_some() != tls.client_key.is_some() {
            return Err(CliError::fatal(
                "either pass both client key and cert, or neither",
            ));
        }
        if tls.skip_verify {
            log::warn!(
                "remote_server.skipTLSVerify is set in {}: the trust server's certificate is not checked. Signatures still are, but a first read trusts whatever root such a server hands out; pass the server's CA with --tlscacert (remote_server.root_ca) instead",
                config_path.display()
            );
        }
        let tp = &cfg.trust_pinning;
        let mut trust_pinning = TrustPinConfig {
            disable_tofu: tp.disable_tofu,
            ..Default::default()
        };
        trust_pinning.certs = tp.certs.clone().into_iter().collect();
        for (prefix, file) in &tp.ca {
            let path = expand_home(file, home.as_deref());
            trust_pinning
                .ca
                .insert(prefix.clone(), std::fs::read(&path).ok());
        }
        Ok(Settings {
            trust_dir,
            server,
            tls,
            trust_pinning,
            passphrase_command: cfg.passphrase_command.clone(),
        })
    }

    /// The trust directory given with `-d`, if any (`trust` commands otherwise use Docker's).
    pub fn explicit_trust_dir(&self) -> Option<PathBuf> {
        self.globals.trust_dir.as_deref().map(absolute)
    }

    /// The CA given with `--tlscacert`, if any.
    pub fn explicit_tls_ca(&self) -> Option<PathBuf> {
        self.globals.tls_ca.as_deref().map(absolute)
    }

    /// The trust directory.
    pub fn trust_dir(&self) -> Result<&Path, CliError> {
        Ok(&self.settings()?.trust_dir)
    }

    /// A validated GUN.
    pub fn gun(&self, gun: &str) -> Result<Gun, CliError> {
        Ok(Gun::new(gun)?)
    }

    /// The passphrase sources of a command. A fresh one where a cached answer must not be
    /// reused (the new passphrase of `key passwd`).
    pub fn passphrases(&self) -> Passphrases {
        let cmd = self
            .settings
            .get()
            .and_then(|s| s.passphrase_command.as_deref());
        Passphrases::new(cmd)
    }

    /// The key service: a hardware token when present, then the trust directory's key files.
    pub fn crypto(&self) -> Result<CryptoService, CliError> {
        let dir = self.trust_dir()?.to_owned();
        Ok(notarius_client::keys::crypto_service(
            &dir,
            Box::new(self.passphrases()),
        )?)
    }

    /// The staged changes of `gun`.
    pub fn changelist(&self, gun: &Gun) -> Result<FileChangelist, CliError> {
        Ok(FileChangelist::new(self.trust_dir()?, gun))
    }

    /// The collection `gun` on the trust server, with the access a command needs (Notary's
    /// `getTransport`); `NOTARY_AUTH` supplies the credentials for the token service.
    pub fn repository(
        &self,
        gun: &Gun,
        permission: Permission,
    ) -> Result<Repository<HttpRemote>, CliError> {
        let s = self.settings()?;
        let auth = std::env::var("NOTARY_AUTH").ok();
        let remote = HttpRemote::new(&s.server, gun, &s.tls)?
            .with_access(permission, auth.as_deref())
            .with_credential_prompt(std::sync::Arc::new(prompt_credentials));
        Ok(Repository::new(
            &s.trust_dir,
            gun.clone(),
            remote,
            s.trust_pinning.clone(),
        ))
    }
}
