//! How a command fails, and the one place that turns a failure into what `notary` prints: the
//! usage of the command when the arguments were wrong, then `* fatal: <message>` on stdout and
//! exit code 1; and, beyond Notary, the lines after it that say what to do next.

use std::io::Write;

use notarius_tuf::store::StoreError;

/// A command's failure.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Wrong arguments: the command's usage, then the message (Notary's `cmd.Usage()` before a
    /// returned error).
    #[error("{0}")]
    Usage(String),
    /// Wrong arguments that Notary reports without the usage.
    #[error("{0}")]
    Args(String),
    /// A failure Notary reports with `fatalf` directly: no empty line before `* fatal:`.
    #[error("{0}")]
    Bare(String),
    /// Any other failure, in Notary's words.
    #[error("{0}")]
    Fatal(String),
    /// A failure of the client library.
    #[error("{0}")]
    Client(#[from] notarius_client::Error),
    /// A failure of a `trust` command, printed as the docker CLI prints it: on stderr,
    /// without `* fatal:`.
    #[error("{0}")]
    Docker(String),
    /// Output could not be written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// A failure in Notary's words.
    pub fn fatal(msg: impl Into<String>) -> CliError {
        CliError::Fatal(msg.into())
    }
}

macro_rules! from_library_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> CliError {
                CliError::Client(e.into())
            }
        }
    )*};
}
from_library_errors!(
    notarius_tuf::Error,
    StoreError,
    notarius_crypto::keystore::KeyStoreError,
    notarius_client::changelist::ChangelistError,
    notarius_client::remote::RemoteSetupError
);

macro_rules! from_worded_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> CliError {
                CliError::Fatal(e.to_string())
            }
        }
    )*};
}
from_worded_errors!(
    notarius_tuf::role::InvalidGun,
    notarius_crypto::keystore::ReadKeyError
);

/// The command's result.
pub type CmdResult = Result<(), CliError>;

/// Writes `* fatal: …` as `notary` does (after an empty line, except for `fatalf` failures),
/// preceded by `usage` for a usage error and followed by what to do next when we know.
pub fn report(e: &CliError, usage: Option<&str>, out: &mut dyn Write) {
    if let CliError::Docker(msg) = e {
        let _ = out.flush();
        eprintln!("{msg}");
        return;
    }
    let mut text = String::new();
    if let (CliError::Usage(_), Some(u)) = (e, usage) {
        text.push_str(u);
    }
    if !matches!(e, CliError::Bare(_)) {
        text.push('\n');
    }
    text.push_str(&format!("* fatal: {e}\n"));
    if let Some(more) = explanation(e) {
        text.push_str(&more);
        text.push('\n');
    }
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The lines a failure adds after `* fatal: <message>` (beyond Notary): what went wrong in
/// plain words and what to do next, from the first error in the chain we know about.
pub fn explanation(e: &CliError) -> Option<String> {
    let CliError::Client(client) = e else {
        return None;
    };
    use notarius_client::Error as C;
    if let C::SigningKeysUnavailable { unusable, .. } = client {
        return Some(keys_explanation(unusable));
    }
    let store = match client {
        C::Tuf(t) => {
            if let Some(text) = t.explanation() {
                return Some(text);
            }
            match t {
                notarius_tuf::Error::Store(s) => Some(s),
                _ => None,
            }
        }
        C::Remote(s) | C::RotateRemote(s) => Some(s),
        _ => None,
    };
    match store? {
        StoreError::InvalidOperation(m)
            if m.contains("A newer version of metadata is already available") =>
        {
            Some(
                "next: another publish reached the trust server first. Nothing was lost: your \
                 changes are still staged; run the same publish again to apply them on top of it."
                    .to_owned(),
            )
        }
        StoreError::Closed(_) => Some(
            "next: nothing is lost: staged changes stay staged until a publish succeeds. Check \
             that the trust server is up (and what is between you and it), then run the same \
             command again."
                .to_owned(),
        ),
        StoreError::Offline => Some(
            "next: the trust server could not be reached (the line above says why). Check the \
             address in -s or remote_server.url, and that the server is running."
                .to_owned(),
        ),
        _ => None,
    }
}

/// Why the keys a role needs could not be used, and what to do.
fn keys_explanation(unusable: &[notarius_client::UnusableKey]) -> String {
    if unusable.is_empty() {
        return "next: none of these keys is in this trust directory (private/) or on a hardware \
                token. Import it (`notarius key import FILE`), restore a backup (`notarius \
                restore FILE`), or publish from the machine that holds it."
            .to_owned();
    }
    let mut lines = Vec::new();
    for k in unusable {
        let role = if k.role.is_empty() {
            "a"
        } else {
            k.role.as_str()
        };
        if k.passphrase {
            let lookup = |v: &str| std::env::var(v).ok();
            let source = match notarius_crypto::passphrase::env_passphrase_named(&k.role, &lookup) {
                Some((var, _)) => format!("the passphrase in {var}"),
                None => "the passphrase given".to_owned(),
            };
            lines.push(format!(
                "key {} ({role} key) is here, but {source} does not open it: set the passphrase it was made with.",
                k.id
            ));
        } else {
            lines.push(format!(
                "key {} ({role} key) is here, but cannot be used: {}",
                k.id, k.why
            ));
        }
    }
    lines.join("\n")
}
