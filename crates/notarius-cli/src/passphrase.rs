//! Where `notarius` gets passphrases, in order: Notary's and Docker's environment variables,
//! then (beyond Notary, since the seed advises keeping them in a password manager) a configured
//! command or a file descriptor, then the terminal. Never from the command line, where every
//! user of the machine could read them.
//!
//! - `NOTARIUS_PASSPHRASE_COMMAND` (or `passphrase_command` in the config file): run with
//!   `sh -c`, its standard output (first line) is the passphrase. It sees
//!   `NOTARIUS_KEY_ALIAS` (`root`, `targets`, `snapshot`, a delegation role), `NOTARIUS_KEY_ID`
//!   and `NOTARIUS_KEY_NEW` (`1` when choosing a passphrase for a new key), e.g.
//!   `pass show notary/$NOTARIUS_KEY_ALIAS` or `op read op://vault/notary-$NOTARIUS_KEY_ALIAS/password`.
//! - `NOTARIUS_PASSPHRASE_FD=N`: lines read once from file descriptor N, each `<alias>=<passphrase>`
//!   or a bare passphrase for every alias (`3< passphrases.txt`, or a pipe from a vault agent).

use std::collections::BTreeMap;
use std::io::Read as _;

use notarius_crypto::passphrase::{
    GiveUp, MIN_PASSPHRASE_LEN, Passphrase, PassphraseRetriever, PromptRetriever, Terminal,
    env_passphrase_named,
};
use zeroize::Zeroizing;

/// The environment variable naming a passphrase command.
pub const COMMAND_ENV: &str = "NOTARIUS_PASSPHRASE_COMMAND";
/// The environment variable naming a file descriptor to read passphrases from.
pub const FD_ENV: &str = "NOTARIUS_PASSPHRASE_FD";
/// At most this much is read from a passphrase command or descriptor.
const MAX_SOURCE: u64 = 64 << 10;

/// The controlling terminal, for passphrase prompts (`/dev/tty`, so they work with redirected
/// standard streams and never echo).
pub struct TtyTerminal;

impl Terminal for TtyTerminal {
    fn read_hidden(&mut self, prompt: &str) -> Option<String> {
        rpassword::prompt_password(prompt).ok()
    }
    fn say(&mut self, line: &str) {
        println!("{line}");
    }
}

/// Every passphrase source of a command, in order.
pub struct Passphrases {
    command: Option<String>,
    fd: Option<String>,
    fd_lines: Option<Result<BTreeMap<String, Passphrase>, String>>,
    prompt: PromptRetriever<TtyTerminal>,
    warned: Vec<&'static str>,
}

impl Passphrases {
    /// The sources the environment and the config file name.
    pub fn new(config_command: Option<&str>) -> Passphrases {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Passphrases {
            command: env(COMMAND_ENV).or_else(|| config_command.map(str::to_owned)),
            fd: env(FD_ENV),
            fd_lines: None,
            prompt: PromptRetriever::new(TtyTerminal),
            warned: Vec::new(),
        }
    }

    fn ask_command(
        &self,
        command: &str,
        key_name: &str,
        alias: &str,
        create_new: bool,
    ) -> Result<Passphrase, GiveUp> {
        log::debug!("asking the passphrase command for the {alias} key");
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("NOTARIUS_KEY_ALIAS", alias)
            .env("NOTARIUS_KEY_ID", key_name)
            .env("NOTARIUS_KEY_NEW", if create_new { "1" } else { "0" })
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|e| GiveUp::Other(format!("the passphrase command could not start: {e}")))?;
        let mut out = Zeroizing::new(Vec::new());
        let read = match child.stdout.take() {
            Some(stdout) => stdout.take(MAX_SOURCE).read_to_end(&mut out).map(|_| ()),
            None => Ok(()),
        };
        let status = child
            .wait()
            .map_err(|e| GiveUp::Other(format!("the passphrase command: {e}")))?;
        read.map_err(|e| GiveUp::Other(format!("the passphrase command: {e}")))?;
        if !status.success() {
            return Err(GiveUp::Other(format!(
                "the passphrase command ({COMMAND_ENV}) failed for the {alias} key: {status}"
            )));
        }
        let text = std::str::from_utf8(&out)
            .map_err(|_| GiveUp::Other("the passphrase command printed no text".into()))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(GiveUp::Other(format!(
                "the passphrase command ({COMMAND_ENV}) printed nothing for the {alias} key"
            )));
        }
        Ok(Zeroizing::new(line.to_owned()))
    }

    fn read_from_fd(&mut self, fd: &str, alias: &str) -> Result<Option<Passphrase>, GiveUp> {
        if self.fd_lines.is_none() {
            self.fd_lines = Some(read_fd(fd));
        }
        let lines = match self.fd_lines.as_ref().expect("just read") {
            Ok(l) => l,
            Err(e) => return Err(GiveUp::Other(e.clone())),
        };
        Ok(lines.get(alias).or_else(|| lines.get("")).cloned())
    }

    fn warn_short(&mut self, var: &'static str, pass: &str) {
        if pass.chars().count() < MIN_PASSPHRASE_LEN && !self.warned.contains(&var) {
            self.warned.push(var);
            eprintln!(
                "warning: the passphrase in {var} is shorter than {MIN_PASSPHRASE_LEN} characters, the least notary accepts at its prompt; a key encrypted with it is easy to guess. Use a long random passphrase (a password manager can make and keep one)."
            );
        }
    }
}

/// `alias=passphrase` lines (or one bare passphrase) from descriptor `fd`.
fn read_fd(fd: &str) -> Result<BTreeMap<String, Passphrase>, String> {
    let n: u32 = fd
        .parse()
        .map_err(|_| format!("{FD_ENV}={fd:?} is not a file descriptor number"))?;
    // /dev/fd/N reopens the descriptor without unsafe code.
    let mut f = std::fs::File::open(format!("/dev/fd/{n}"))
        .map_err(|e| format!("{FD_ENV}: descriptor {n} cannot be read: {e}"))?;
    let mut bytes = Zeroizing::new(Vec::new());
    f.by_ref()
        .take(MAX_SOURCE)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{FD_ENV}: descriptor {n}: {e}"))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|_| format!("{FD_ENV}: descriptor {n} is not text"))?;
    let mut out = BTreeMap::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if line.is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((alias, pass)) if !alias.is_empty() && !alias.contains(' ') => {
                out.insert(alias.to_owned(), Zeroizing::new(pass.to_owned()))
            }
            _ => out.insert(String::new(), Zeroizing::new(line.to_owned())),
        };
    }
    Ok(out)
}

impl PassphraseRetriever for Passphrases {
    fn passphrase(
        &mut self,
        key_name: &str,
        alias: &str,
        create_new: bool,
        attempt: u32,
    ) -> Result<Passphrase, GiveUp> {
        let lookup = |k: &str| std::env::var(k).ok();
        if let Some((var, p)) = env_passphrase_named(alias, &lookup) {
            // Notary offers an environment passphrase twice, then gives up.
            if attempt > 1 {
                return Err(GiveUp::TooManyAttempts);
            }
            if create_new {
                self.warn_short(var, &p);
            }
            log::debug!("passphrase for the {alias} key from {var}");
            return Ok(p);
        }
        if let Some(cmd) = self.command.clone() {
            if attempt > 1 {
                return Err(GiveUp::TooManyAttempts);
            }
            return self.ask_command(&cmd, key_name, alias, create_new);
        }
        if let Some(fd) = self.fd.clone()
            && let Some(p) = self.read_from_fd(&fd, alias)?
        {
            if attempt > 1 {
                return Err(GiveUp::TooManyAttempts);
            }
            log::debug!("passphrase for the {alias} key from descriptor {fd}");
            return Ok(p);
        }
        self.prompt.passphrase(key_name, alias, create_new, attempt)
    }
}
