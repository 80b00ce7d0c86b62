//! Notary's JSON config files, the parts both services read the same way.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read config file {path}: {msg}")]
    Read { path: String, msg: String },
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// The text of the config file at `path`, and the folder its relative paths start from.
pub fn read(path: &Path) -> Result<(String, PathBuf), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        msg: e.to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new(".")).to_owned();
    Ok((text, base))
}

/// The file's JSON, which must be an object, with viper's environment overrides applied:
/// `<PREFIX>_<SECTION>_<NAME>` (`NOTARY_SERVER_STORAGE_DB_URL`) for each dotted key of `keys`.
/// A value is a string, except under the sections in `numeric` where it parses as a number.
pub fn parse_with_env(
    text: &str,
    prefix: &str,
    keys: &[&str],
    numeric: &[&str],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Value, ConfigError> {
    let mut v: Value =
        serde_json::from_str(text).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    if !v.is_object() {
        return Err(ConfigError::Invalid(
            "the config must be a JSON object".into(),
        ));
    }
    for key in keys {
        let var = format!("{prefix}_{}", key.replace('.', "_").to_uppercase());
        if let Some(val) = env(&var) {
            let number = numeric.iter().any(|s| key.starts_with(&format!("{s}.")));
            set_path(&mut v, key, &val, number);
        }
    }
    Ok(v)
}

fn set_path(v: &mut Value, dotted: &str, value: &str, number: bool) {
    let mut cur = v;
    let parts: Vec<&str> = dotted.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Default::default());
        }
        let obj = cur.as_object_mut().expect("object");
        if i + 1 == parts.len() {
            let val = match value.parse::<i64>() {
                Ok(n) if number => Value::from(n),
                _ => Value::String(value.to_owned()),
            };
            obj.insert((*p).to_owned(), val);
            return;
        }
        cur = obj.entry((*p).to_owned()).or_insert(Value::Null);
    }
}

/// Reads the config file at `path` and parses it with `parse` (its text, its folder for
/// relative paths, and the process environment for overrides).
pub fn load<C>(
    path: &Path,
    parse: impl FnOnce(&str, &Path, &dyn Fn(&str) -> Option<String>) -> Result<C, ConfigError>,
) -> Result<C, ConfigError> {
    let (text, base) = read(path)?;
    parse(&text, &base, &|k| std::env::var(k).ok())
}

/// The TLS files of a service's `server` section: its certificate and key, and the CA its
/// clients' certificates must come from (mandatory for the signer).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct ServerTls {
    pub tls_cert_file: String,
    pub tls_key_file: String,
    pub client_ca_file: String,
}

/// What both services resolve against the file's folder: the TLS files of their `server`
/// section and a SQLite database named as a file.
pub fn resolve_common(base: &Path, tls: &mut ServerTls, backend: &str, db_url: &mut String) {
    for p in [
        &mut tls.tls_cert_file,
        &mut tls.tls_key_file,
        &mut tls.client_ca_file,
    ] {
        resolve(base, p);
    }
    resolve_db_url(base, backend, db_url);
}

/// A relative path of the file made relative to its folder, as Notary resolves them.
pub fn resolve(base: &Path, p: &mut String) {
    if !p.is_empty() && Path::new(p.as_str()).is_relative() {
        *p = base.join(&*p).display().to_string();
    }
}

/// A SQLite `db_url` that is a plain file name resolved as a path; URLs and other databases'
/// DSNs are left as they are.
pub fn resolve_db_url(base: &Path, backend: &str, db_url: &mut String) {
    if matches!(backend, "sqlite3" | "sqlite") && !db_url.starts_with("sqlite:") {
        resolve(base, db_url);
    }
}

/// Go's listen address: `:7899` means every interface.
pub fn listen_addr(a: &str) -> String {
    if a.starts_with(':') {
        format!("0.0.0.0{a}")
    } else {
        a.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_relative_paths() {
        let env = |k: &str| match k {
            "NOTARY_X_STORAGE_DB_URL" => Some("db.sqlite".to_owned()),
            "NOTARY_X_CACHING_MAX_AGE" => Some("30".to_owned()),
            _ => None,
        };
        let v = parse_with_env(
            r#"{"storage":{"backend":"sqlite3"}}"#,
            "NOTARY_X",
            &["storage.db_url", "caching.max_age"],
            &["caching"],
            env,
        )
        .unwrap();
        assert_eq!(v["storage"]["db_url"], "db.sqlite");
        assert_eq!(v["caching"]["max_age"], 30);
        assert!(parse_with_env("[]", "P", &[], &[], |_| None).is_err());
        let mut p = "db.sqlite".to_owned();
        resolve_db_url(Path::new("/etc/n"), "sqlite3", &mut p);
        assert_eq!(p, "/etc/n/db.sqlite");
        let mut dsn = "user@tcp(db:3306)/n".to_owned();
        resolve_db_url(Path::new("/etc/n"), "mysql", &mut dsn);
        assert_eq!(dsn, "user@tcp(db:3306)/n");
        assert_eq!(listen_addr(":7899"), "0.0.0.0:7899");
    }
}
