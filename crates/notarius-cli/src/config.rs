//! `~/.notary/config.json`, typed: the keys `notary` reads (viper, so they are matched without
//! regard to case), and beyond Notary a `passphrase_command`. Paths in it are relative to the
//! file's folder, `~/` to the home directory, as Notary resolves them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub trust_dir: Option<String>,
    pub remote_server: RemoteServer,
    pub trust_pinning: TrustPinning,
    /// Beyond Notary: a command (run with `sh -c`) whose standard output is a key's
    /// passphrase, e.g. `pass show notary/$NOTARIUS_KEY_ALIAS` (see `passphrase.rs`).
    pub passphrase_command: Option<String>,
}

/// `remote_server`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RemoteServer {
    pub url: Option<String>,
    pub root_ca: Option<String>,
    pub tls_client_cert: Option<String>,
    pub tls_client_key: Option<String>,
    #[serde(rename = "skiptlsverify")]
    pub skip_tls_verify: Option<bool>,
}

/// `trust_pinning`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrustPinning {
    pub certs: BTreeMap<String, Vec<String>>,
    pub ca: BTreeMap<String, String>,
    pub disable_tofu: bool,
}

/// Why the configuration could not be used (Notary's words first).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("error opening config file {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("error opening config file {}: {msg}", path.display())]
    Parse { path: PathBuf, msg: String },
}

impl Config {
    /// Reads `path`; a missing file is the defaults unless the user named it (`-c`).
    pub fn load(path: &Path, named: bool) -> Result<Config, ConfigError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
                log::debug!("Configuration file not found, using defaults");
                return Ok(Config::default());
            }
            Err(source) => {
                return Err(ConfigError::Open {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                msg: e.to_string(),
            })?;
        serde_json::from_value(lowercase_keys(value)).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            msg: e.to_string(),
        })
    }
}

/// Viper matches keys without regard to case (`skipTLSVerify`, `Trust_Dir`); the names of
/// GUNs and prefixes under `trust_pinning` are data and keep their case.
fn lowercase_keys(v: serde_json::Value) -> serde_json::Value {
    fn walk(v: serde_json::Value, depth: usize, data: bool) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let key = if data { k } else { k.to_lowercase() };
                        // Below trust_pinning.certs / .ca the keys are GUNs.
                        let child_data = depth == 1 && (key == "certs" || key == "ca");
                        (key, walk(v, depth + 1, child_data))
                    })
                    .collect(),
            ),
            other => other,
        }
    }
    walk(v, 0, false)
}

/// `~/` expanded with `home`, as Notary's `homeExpand` does.
pub fn expand_home(p: &str, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_config_file_reads() {
        let p =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config/notary-config.json");
        let c = Config::load(&p, true).unwrap();
        assert_eq!(
            c.remote_server.url.as_deref(),
            Some("https://127.0.0.1:4443")
        );
        assert!(c.remote_server.root_ca.is_some());
    }

    #[test]
    fn notary_config_files_read_whatever_the_case_of_their_keys() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("config.json");
        std::fs::write(
            &p,
            br#"{"Trust_Dir":"~/t","remote_server":{"url":"https://s:4443","skipTLSVerify":true,"root_ca":"ca.crt"},
               "trust_pinning":{"certs":{"Example.com/App":["abc"]},"disable_tofu":true}}"#,
        )
        .unwrap();
        let c = Config::load(&p, true).unwrap();
        assert_eq!(c.trust_dir.as_deref(), Some("~/t"));
        assert_eq!(c.remote_server.url.as_deref(), Some("https://s:4443"));
        assert_eq!(c.remote_server.skip_tls_verify, Some(true));
        assert_eq!(c.trust_pinning.certs["Example.com/App"], ["abc"]);
        assert!(c.trust_pinning.disable_tofu);
        assert!(Config::load(&t.path().join("none.json"), false).is_ok());
        let e = Config::load(&t.path().join("none.json"), true).unwrap_err();
        assert!(
            e.to_string().starts_with("error opening config file "),
            "{e}"
        );
        std::fs::write(&p, b"{").unwrap();
        assert!(
            Config::load(&p, true)
                .unwrap_err()
                .to_string()
                .contains("config.json")
        );
        assert_eq!(
            expand_home("~/x", Some(Path::new("/h"))),
            PathBuf::from("/h/x")
        );
    }
}
