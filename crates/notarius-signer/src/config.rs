//! notary-signer's JSON configuration as Notary reads it (viper): paths relative to the file,
//! `NOTARY_SIGNER_<SECTION>_<KEY>` environment overrides, `NOTARY_SIGNER_DEFAULT_ALIAS` as the
//! old spelling of `storage.default_alias`.
//!
//! Stricter than Notary: TLS with client certificates is mandatory (`server.tls.client_ca_file` is
//! required, Notary serves without client authentication when it is missing).

use std::path::Path;

use serde::Deserialize;

pub use notarius_service::config::ConfigError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServerSection {
    pub grpc_addr: String,
    #[serde(flatten)]
    pub tls: notarius_service::config::ServerTls,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StorageSection {
    pub backend: String,
    pub db_url: String,
    pub default_alias: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LoggingSection {
    pub level: String,
}

/// The whole file; other sections (bugsnag reporting, …) are accepted and ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub server: ServerSection,
    pub storage: StorageSection,
    pub logging: LoggingSection,
}

const ENV_KEYS: &[&str] = &[
    "server.grpc_addr",
    "server.tls.tls_cert_file",
    "server.tls.tls_key_file",
    "server.tls.client_ca_file",
    "storage.backend",
    "storage.db_url",
    "storage.default_alias",
    "logging.level",
];

/// The embedded default store when the file names none: SQLite beside the config file.
pub const DEFAULT_SQLITE_FILE: &str = "notarius-signer.db";

/// The environment variable holding the passphrase of `alias` (viper's key mapping).
pub fn passphrase_env(alias: &str) -> String {
    format!("NOTARY_SIGNER_{}", alias.to_uppercase().replace('.', "_"))
}

impl Config {
    /// Reads and parses the config file at `path` (overrides from the process environment).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        notarius_service::config::load(path, |t, b, e| Config::parse(t, b, e))
    }

    pub fn parse(
        text: &str,
        base_dir: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let v =
            notarius_service::config::parse_with_env(text, "NOTARY_SIGNER", ENV_KEYS, &[], &env)?;
        let mut c: Config =
            serde_json::from_value(v).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if c.storage.default_alias.is_empty()
            && let Some(a) = env("NOTARY_SIGNER_DEFAULT_ALIAS")
        {
            c.storage.default_alias = a;
        }
        if c.storage.backend.is_empty() {
            c.storage.backend = "sqlite3".into();
            if c.storage.db_url.is_empty() {
                c.storage.db_url = DEFAULT_SQLITE_FILE.into();
            }
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

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        if self.server.grpc_addr.is_empty() {
            return bad(
                "grpc listen address required for server (server.grpc_addr, e.g. \":7899\")",
            );
        }
        if self.server.tls.tls_cert_file.is_empty() || self.server.tls.tls_key_file.is_empty() {
            return bad(
                "unable to set up TLS: server.tls.tls_cert_file and server.tls.tls_key_file are required",
            );
        }
        if self.server.tls.client_ca_file.is_empty() {
            return bad(
                "server.tls.client_ca_file is required: notarius-signer only serves clients with a \
                 certificate from that CA (notary-server's trust_service.tls_client_cert)",
            );
        }
        match self.storage.backend.as_str() {
            "memory" => {}
            "sqlite3" | "sqlite" | "postgres" | "mysql" => {
                if self.storage.db_url.is_empty() {
                    return bad("storage.db_url is required for SQL backends");
                }
                if self.storage.default_alias.is_empty() {
                    return bad(
                        "must provide a default alias for the key DB (storage.default_alias)",
                    );
                }
            }
            other => {
                return Err(ConfigError::Invalid(format!(
                    "{other} is not an allowed backend, must be one of: [mysql postgres sqlite3 memory]"
                )));
            }
        }
        Ok(())
    }

    /// `:7899` means every interface, as in Go.
    pub fn listen_addr(&self) -> String {
        notarius_service::config::listen_addr(&self.server.grpc_addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_config_file_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config");
        let text = std::fs::read_to_string(dir.join("signer-config.json")).unwrap();
        let c = Config::parse(&text, &dir, |_| None).unwrap();
        assert_eq!(c.storage.default_alias, "timestamp_1");
        assert!(
            c.server
                .tls
                .client_ca_file
                .ends_with("tls/server-client-ca.crt")
        );
    }

    /// Notary's own `fixtures/signer-config.json` shape.
    const NOTARY_EXAMPLE: &str = r#"{
        "server": {"grpc_addr": ":7899", "tls_cert_file": "./notary-signer.crt",
                   "tls_key_file": "./notary-signer.key", "client_ca_file": "./notary-server.crt"},
        "logging": {"level": "debug"},
        "storage": {"backend": "mysql",
                    "db_url": "signer@tcp(mysql:3306)/notarysigner?parseTime=True",
                    "default_alias": "timestamp_1"},
        "reporting": {"bugsnag": {"api_key": "x"}}
    }"#;

    #[test]
    fn notarys_example_loads() {
        let c = Config::parse(NOTARY_EXAMPLE, Path::new("/etc/notary"), |_| None).unwrap();
        assert_eq!(
            c.server.tls.tls_cert_file,
            "/etc/notary/./notary-signer.crt"
        );
        assert_eq!(
            c.server.tls.client_ca_file,
            "/etc/notary/./notary-server.crt"
        );
        assert_eq!(c.storage.default_alias, "timestamp_1");
        assert_eq!(c.listen_addr(), "0.0.0.0:7899");
        assert_eq!(passphrase_env("timestamp_1"), "NOTARY_SIGNER_TIMESTAMP_1");
    }

    #[test]
    fn env_overrides_and_old_alias_variable() {
        let text = NOTARY_EXAMPLE.replace("\"default_alias\": \"timestamp_1\"", "\"x\": 1");
        let c = Config::parse(&text, Path::new("/x"), |k| match k {
            "NOTARY_SIGNER_STORAGE_BACKEND" => Some("postgres".into()),
            "NOTARY_SIGNER_STORAGE_DB_URL" => Some("postgres://a@b/c".into()),
            "NOTARY_SIGNER_DEFAULT_ALIAS" => Some("old".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.storage.backend, "postgres");
        assert_eq!(c.storage.db_url, "postgres://a@b/c");
        assert_eq!(c.storage.default_alias, "old");
    }

    #[test]
    fn sqlite_is_the_default_store() {
        let c = Config::parse(
            r#"{"server":{"grpc_addr":"127.0.0.1:0","tls_cert_file":"c","tls_key_file":"k","client_ca_file":"ca"},"storage":{"default_alias":"a"}}"#,
            Path::new("/srv"),
            |_| None,
        )
        .unwrap();
        assert_eq!(c.storage.backend, "sqlite3");
        assert_eq!(c.storage.db_url, "/srv/notarius-signer.db");
    }

    /// SG-03 at the config level: no client CA, no start.
    #[test]
    fn bad_configs_say_what_to_change() {
        let tls = r#""tls_cert_file":"c","tls_key_file":"k""#;
        for (text, needle) in [
            (
                r#"{"storage":{"backend":"memory"}}"#.to_owned(),
                "grpc_addr",
            ),
            (
                r#"{"server":{"grpc_addr":":1"},"storage":{"backend":"memory"}}"#.to_owned(),
                "tls_cert_file",
            ),
            (
                format!(
                    r#"{{"server":{{"grpc_addr":":1",{tls}}},"storage":{{"backend":"memory"}}}}"#
                ),
                "client_ca_file",
            ),
            (
                format!(
                    r#"{{"server":{{"grpc_addr":":1",{tls},"client_ca_file":"ca"}},"storage":{{"backend":"mysql","db_url":"x"}}}}"#
                ),
                "default alias",
            ),
            (
                format!(
                    r#"{{"server":{{"grpc_addr":":1",{tls},"client_ca_file":"ca"}},"storage":{{"backend":"rethinkdb"}}}}"#
                ),
                "not an allowed backend",
            ),
            ("[1]".to_owned(), "object"),
        ] {
            let e = Config::parse(&text, Path::new("/"), |_| None).unwrap_err();
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
