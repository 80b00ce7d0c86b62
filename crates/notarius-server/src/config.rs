//! notary-server's JSON configuration, read as Notary reads it (viper): relative paths are
//! relative to the file, and `NOTARY_SERVER_<SECTION>_<KEY>` environment variables override
//! keys. Without a file, the embedded defaults apply (see [`Config::embedded`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

pub use notarius_service::config::ConfigError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServerSection {
    pub http_addr: String,
    #[serde(flatten)]
    pub tls: notarius_service::config::ServerTls,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrustServiceSection {
    #[serde(rename = "type")]
    pub kind: String,
    pub hostname: String,
    pub port: Value,
    pub key_algorithm: String,
    pub tls_ca_file: String,
    pub tls_client_cert: String,
    pub tls_client_key: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StorageSection {
    pub backend: String,
    pub db_url: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuthSection {
    #[serde(rename = "type")]
    pub kind: String,
    pub options: Value,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LoggingSection {
    pub level: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MaxAge {
    pub current_metadata: Option<i64>,
    pub consistent_metadata: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CachingSection {
    pub max_age: MaxAge,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RepositoriesSection {
    pub gun_prefixes: Vec<String>,
}

/// The whole file. Unknown sections (bugsnag reporting, …) are accepted and ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub server: ServerSection,
    pub trust_service: TrustServiceSection,
    pub storage: StorageSection,
    pub auth: AuthSection,
    pub logging: LoggingSection,
    pub caching: CachingSection,
    pub repositories: RepositoriesSection,
    /// The directory relative paths are taken from (the config file's).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// Keys an environment variable may override, as viper binds them.
const ENV_KEYS: &[&str] = &[
    "server.http_addr",
    "server.tls.tls_cert_file",
    "server.tls.tls_key_file",
    "server.tls.client_ca_file",
    "trust_service.type",
    "trust_service.hostname",
    "trust_service.port",
    "trust_service.key_algorithm",
    "trust_service.tls_ca_file",
    "trust_service.tls_client_cert",
    "trust_service.tls_client_key",
    "storage.backend",
    "storage.db_url",
    "auth.type",
    "logging.level",
    "caching.max_age.current_metadata",
    "caching.max_age.consistent_metadata",
];

impl Config {
    /// Reads and parses the config file at `path` (overrides from the process environment).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        notarius_service::config::load(path, |t, b, e| Config::parse(t, b, e))
    }

    /// Parses a notary-server config, applies `env` overrides, and resolves relative paths
    /// against `base_dir`.
    pub fn parse(
        text: &str,
        base_dir: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let v = notarius_service::config::parse_with_env(
            text,
            "NOTARY_SERVER",
            ENV_KEYS,
            &["caching"],
            env,
        )?;
        let mut c: Config =
            serde_json::from_value(v).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        c.base_dir = base_dir.to_owned();
        // The signer's TLS files (trust_service.type remote).
        let t = &mut c.trust_service;
        for p in [
            &mut t.tls_ca_file,
            &mut t.tls_client_cert,
            &mut t.tls_client_key,
        ] {
            notarius_service::config::resolve(base_dir, p);
        }
        let (tls, storage) = (&mut c.server.tls, &mut c.storage);
        notarius_service::config::resolve_common(
            base_dir,
            tls,
            &storage.backend,
            &mut storage.db_url,
        );
        c.check()?;
        Ok(c)
    }

    /// The defaults with no file: loopback, SQLite in `data_dir`, the built-in signer, and TLS
    /// from a generated CA (filled in at start-up).
    pub fn embedded(data_dir: &Path) -> Config {
        Config {
            server: ServerSection {
                http_addr: "127.0.0.1:4443".into(),
                ..Default::default()
            },
            trust_service: TrustServiceSection {
                kind: "local".into(),
                key_algorithm: "ecdsa".into(),
                ..Default::default()
            },
            storage: StorageSection {
                backend: "sqlite3".into(),
                db_url: data_dir.join("notarius-server.db").display().to_string(),
            },
            logging: LoggingSection {
                level: "info".into(),
            },
            base_dir: data_dir.to_owned(),
            ..Default::default()
        }
    }

    /// Notary's start-up checks, with messages that say what to change.
    fn check(&self) -> Result<(), ConfigError> {
        if self.server.http_addr.is_empty() {
            return Err(ConfigError::Invalid(
                "server.http_addr is required (e.g. \":4443\")".into(),
            ));
        }
        if self.server.tls.tls_cert_file.is_empty() != self.server.tls.tls_key_file.is_empty() {
            return Err(ConfigError::Invalid(
                "server.tls.tls_cert_file and server.tls.tls_key_file must be given together"
                    .into(),
            ));
        }
        match self.trust_service.kind.as_str() {
            "local" | "remote" => {}
            other => {
                return Err(ConfigError::Invalid(format!(
                    "trust_service.type must be \"local\" or \"remote\", not {other:?}"
                )));
            }
        }
        if !self.trust_service.key_algorithm.is_empty()
            && !matches!(
                self.trust_service.key_algorithm.as_str(),
                "ecdsa" | "ed25519" | "rsa"
            )
        {
            return Err(ConfigError::Invalid(format!(
                "trust_service.key_algorithm {:?} is not one of ecdsa, ed25519, rsa",
                self.trust_service.key_algorithm
            )));
        }
        match self.storage.backend.as_str() {
            "memory" | "sqlite3" | "sqlite" | "postgres" | "mysql" => {}
            "rethinkdb" => {
                return Err(ConfigError::Invalid(
                    "storage.backend rethinkdb is not supported; use postgres, mysql or sqlite3"
                        .into(),
                ));
            }
            other => {
                return Err(ConfigError::Invalid(format!(
                    "storage.backend {other:?} is not one of memory, sqlite3, postgres, mysql"
                )));
            }
        }
        if self.storage.backend != "memory" && self.storage.db_url.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "storage.db_url is required for the {} backend",
                self.storage.backend
            )));
        }
        for p in &self.repositories.gun_prefixes {
            let clean = !p.starts_with('/')
                && !p.starts_with("..")
                && p.ends_with('/')
                && !p.contains("//")
                && !p.split('/').any(|s| s == "." || s == "..");
            if !clean {
                return Err(ConfigError::Invalid(format!(
                    "invalid GUN prefix {p:?}: it must end with '/', be clean, and not start with '/' or '..'"
                )));
            }
        }
        for (name, v) in [
            ("current_metadata", self.caching.max_age.current_metadata),
            (
                "consistent_metadata",
                self.caching.max_age.consistent_metadata,
            ),
        ] {
            if let Some(n) = v
                && !(0..=31_536_000).contains(&n)
            {
                return Err(ConfigError::Invalid(format!(
                    "caching.max_age.{name} must be between 0 and 31536000 seconds, not {n}"
                )));
            }
        }
        Ok(())
    }

    /// The key algorithm for server-made keys: configured, else Notary's choice per service
    /// type (ed25519 for the local one, ecdsa otherwise).
    pub fn key_algorithm(&self) -> String {
        match self.trust_service.key_algorithm.as_str() {
            "" if self.trust_service.kind == "local" => "ed25519".into(),
            "" => "ecdsa".into(),
            a => a.into(),
        }
    }

    /// `:4443` means every interface, as in Go.
    pub fn listen_addr(&self) -> String {
        let a = &self.server.http_addr;
        if a.starts_with(':') {
            format!("0.0.0.0{a}")
        } else {
            a.clone()
        }
    }

    pub fn tls_files(&self) -> Option<(PathBuf, PathBuf, Option<PathBuf>)> {
        if self.server.tls.tls_cert_file.is_empty() {
            return None;
        }
        Some((
            PathBuf::from(&self.server.tls.tls_cert_file),
            PathBuf::from(&self.server.tls.tls_key_file),
            (!self.server.tls.client_ca_file.is_empty())
                .then(|| PathBuf::from(&self.server.tls.client_ca_file)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_config_files_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config");
        for f in ["server-config.json", "server-config-postgres-signer.json"] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            let c = Config::parse(&text, &dir, |_| None).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(
                c.server.tls.tls_cert_file.ends_with("tls/server.crt"),
                "{f}"
            );
        }
    }

    const NOTARY_EXAMPLE: &str = r#"{
        "server": {"http_addr": ":4443", "tls_key_file": "./notary-server.key",
                   "tls_cert_file": "./notary-server.crt"},
        "trust_service": {"type": "remote", "hostname": "notarysigner", "port": "7899",
                          "tls_ca_file": "./root-ca.crt", "key_algorithm": "ecdsa",
                          "tls_client_cert": "./notary-server.crt",
                          "tls_client_key": "./notary-server.key"},
        "logging": {"level": "debug"},
        "storage": {"backend": "mysql",
                    "db_url": "server@tcp(mysql:3306)/notaryserver?parseTime=True"},
        "reporting": {"bugsnag": {"api_key": "x"}},
        "repositories": {"gun_prefixes": ["docker.io/"]}
    }"#;

    #[test]
    fn notarys_own_example_config_loads() {
        let c = Config::parse(NOTARY_EXAMPLE, Path::new("/etc/notary"), |_| None).unwrap();
        assert_eq!(
            c.server.tls.tls_cert_file,
            "/etc/notary/./notary-server.crt"
        );
        assert_eq!(c.trust_service.kind, "remote");
        assert_eq!(c.trust_service.port, Value::String("7899".into()));
        assert_eq!(c.storage.backend, "mysql");
        assert_eq!(c.repositories.gun_prefixes, vec!["docker.io/".to_owned()]);
        assert_eq!(c.listen_addr(), "0.0.0.0:4443");
    }

    #[test]
    fn env_overrides_keys() {
        let c = Config::parse(NOTARY_EXAMPLE, Path::new("/x"), |k| match k {
            "NOTARY_SERVER_STORAGE_DB_URL" => Some("postgres://a@b/c".into()),
            "NOTARY_SERVER_STORAGE_BACKEND" => Some("postgres".into()),
            "NOTARY_SERVER_CACHING_MAX_AGE_CURRENT_METADATA" => Some("0".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.storage.backend, "postgres");
        assert_eq!(c.storage.db_url, "postgres://a@b/c");
        assert_eq!(c.caching.max_age.current_metadata, Some(0));
    }

    #[test]
    fn bad_configs_say_what_to_change() {
        for (text, needle) in [
            (r#"{"storage":{"backend":"memory"}}"#, "http_addr"),
            (
                r#"{"server":{"http_addr":":1","tls_cert_file":"a"},"trust_service":{"type":"local"},"storage":{"backend":"memory"}}"#,
                "together",
            ),
            (
                r#"{"server":{"http_addr":":1"},"trust_service":{"type":"local"},"storage":{"backend":"redis"}}"#,
                "storage.backend",
            ),
            (
                r#"{"server":{"http_addr":":1"},"trust_service":{"type":"local"},"storage":{"backend":"mysql"}}"#,
                "db_url",
            ),
            (
                r#"{"server":{"http_addr":":1"},"trust_service":{"type":"local"},"storage":{"backend":"memory"},"repositories":{"gun_prefixes":["/abs/"]}}"#,
                "GUN prefix",
            ),
            (
                r#"{"server":{"http_addr":":1"},"trust_service":{"type":"local"},"storage":{"backend":"memory"},"caching":{"max_age":{"current_metadata":-1}}}"#,
                "between",
            ),
            ("[1]", "object"),
            ("{", "EOF"),
        ] {
            let e = Config::parse(text, Path::new("/"), |_| None).unwrap_err();
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
