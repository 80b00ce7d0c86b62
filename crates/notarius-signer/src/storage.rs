//! Key storage: notary-signer's `private_keys` table (gorm's `GormPrivateKey`) on SQLite (the
//! embedded default), PostgreSQL or MySQL/MariaDB, created as Notary's schema has it when
//! missing and taken over as it is when present. `memory` is an in-process SQLite database.
//!
//! Rows hold the public key in the clear and the private key as a JWE (see [`crate::jwe`]) under
//! the passphrase of the row's `passphrase_alias`. Rows Notary soft-deleted (`deleted_at` set)
//! are ignored, as gorm ignores them.

use chrono::{NaiveDateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use notarius_sql::{Database, on_pool};
pub use notarius_sql::{Dialect, mysql_url};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0}")]
    BadQuery(String),
    #[error("stored key {key_id} is unusable: {msg}")]
    Corrupt { key_id: String, msg: String },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// One `private_keys` row (the columns a signer needs).
#[derive(Clone)]
pub struct KeyRecord {
    pub key_id: String,
    pub algorithm: String,
    pub passphrase_alias: String,
    pub public: Vec<u8>,
    /// The JWE compact serialisation.
    pub private: String,
    pub gun: String,
    pub role: String,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("passphrase_alias", &self.passphrase_alias)
            .field("gun", &self.gun)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

pub struct Store {
    db: Database,
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

const SQLITE: &[&str] = &["CREATE TABLE IF NOT EXISTS private_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TIMESTAMP NULL DEFAULT NULL,
    updated_at TIMESTAMP NULL DEFAULT NULL,
    deleted_at TIMESTAMP NULL DEFAULT NULL,
    key_id VARCHAR(255) NOT NULL,
    encryption_alg VARCHAR(255) NOT NULL,
    keywrap_alg VARCHAR(255) NOT NULL,
    algorithm VARCHAR(50) NOT NULL,
    passphrase_alias VARCHAR(50) NOT NULL,
    public BLOB NOT NULL,
    private BLOB NOT NULL,
    gun VARCHAR(255) NOT NULL,
    role VARCHAR(255) NOT NULL,
    last_used TIMESTAMP NULL DEFAULT NULL,
    CONSTRAINT key_id UNIQUE (key_id),
    CONSTRAINT key_id_2 UNIQUE (key_id, algorithm))"];

/// As `shared/peer/start.sh` and Notary's PostgreSQL initdb scripts create it.
const POSTGRES: &[&str] = &[r#"CREATE TABLE IF NOT EXISTS "private_keys" (
    "id" serial PRIMARY KEY,
    "created_at" timestamp NULL DEFAULT NULL,
    "updated_at" timestamp NULL DEFAULT NULL,
    "deleted_at" timestamp NULL DEFAULT NULL,
    "key_id" varchar(255) NOT NULL,
    "encryption_alg" varchar(255) NOT NULL,
    "keywrap_alg" varchar(255) NOT NULL,
    "algorithm" varchar(50) NOT NULL,
    "passphrase_alias" varchar(50) NOT NULL,
    "public" bytea NOT NULL,
    "private" bytea NOT NULL,
    "gun" varchar(255) NOT NULL,
    "role" varchar(255) NOT NULL,
    "last_used" timestamp NULL DEFAULT NULL,
    CONSTRAINT "key_id" UNIQUE ("key_id"),
    CONSTRAINT "key_id_2" UNIQUE ("key_id","algorithm"))"#];

/// Notary's MySQL signer migrations 0001 (table) and 0002 (gun, role, last_used) in one.
const MYSQL: &[&str] = &["CREATE TABLE IF NOT EXISTS `private_keys` (
    `id` int(11) NOT NULL AUTO_INCREMENT,
    `created_at` timestamp NULL DEFAULT NULL,
    `updated_at` timestamp NULL DEFAULT NULL,
    `deleted_at` timestamp NULL DEFAULT NULL,
    `key_id` varchar(255) NOT NULL,
    `encryption_alg` varchar(255) NOT NULL,
    `keywrap_alg` varchar(255) NOT NULL,
    `algorithm` varchar(50) NOT NULL,
    `passphrase_alias` varchar(50) NOT NULL,
    `public` blob NOT NULL,
    `private` blob NOT NULL,
    `gun` varchar(255) NOT NULL,
    `role` varchar(255) NOT NULL,
    `last_used` datetime NULL DEFAULT NULL,
    PRIMARY KEY (`id`),
    UNIQUE KEY `key_id` (`key_id`),
    UNIQUE KEY `key_id_2` (`key_id`,`algorithm`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8"];

const COLUMNS: &str = "key_id, algorithm, passphrase_alias, public, private, gun, role";

impl Store {
    /// Connects by backend name as notary-signer's config spells it.
    pub async fn connect(backend: &str, url: &str) -> Result<Store> {
        let db = Database::connect(backend, url).await.map_err(|e| match e {
            notarius_sql::ConnectError::Unsupported(b) => StorageError::BadQuery(format!(
                "unsupported storage backend {b:?} (use sqlite3, memory, postgres or mysql)"
            )),
            notarius_sql::ConnectError::Db(e) => e.into(),
        })?;
        let store = Store { db };
        let ddl = match store.dialect() {
            Dialect::Sqlite => SQLITE,
            Dialect::Postgres => POSTGRES,
            Dialect::MySql => MYSQL,
        };
        for stmt in ddl {
            on_pool!(&store.db.pool, p => { sqlx::query(*stmt).execute(p).await?; });
        }
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    /// `?` placeholders as the dialect wants them; quoted identifiers for `public`/`private`.
    fn sql(&self, q: &str) -> String {
        match self.dialect() {
            Dialect::MySql => q.replace("\"", "`"),
            _ => self.db.placeholders(q),
        }
    }

    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.db.write_guard().await
    }

    /// notary-signer's health check: the table is there and answers.
    pub async fn health(&self) -> Result<()> {
        let q = "SELECT 1 FROM private_keys LIMIT 1";
        on_pool!(&self.db.pool, p => { sqlx::query(q).fetch_optional(p).await?; });
        Ok(())
    }

    pub async fn insert(&self, k: &KeyRecord) -> Result<()> {
        let _guard = self.write_guard().await;
        let q = self.sql(
            "INSERT INTO private_keys (created_at, updated_at, key_id, encryption_alg, \
             keywrap_alg, algorithm, passphrase_alias, \"public\", \"private\", gun, role) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        let t = now();
        on_pool!(&self.db.pool, p => {
            sqlx::query(AssertSqlSafe(q.as_str()))
                .bind(t).bind(t).bind(&k.key_id)
                .bind(crate::jwe::ENCRYPTION_ALG).bind(crate::jwe::KEYWRAP_ALG)
                .bind(&k.algorithm).bind(&k.passphrase_alias)
                .bind(&k.public).bind(k.private.as_bytes())
                .bind(&k.gun).bind(&k.role)
                .execute(p).await?;
        });
        Ok(())
    }

    async fn query_keys(&self, q: &str, binds: &[&str]) -> Result<Vec<KeyRecord>> {
        let q = self.sql(q);
        on_pool!(&self.db.pool, p => {
            let mut query = sqlx::query(AssertSqlSafe(q.as_str()));
            for b in binds {
                query = query.bind(*b);
            }
            let rows = query.fetch_all(p).await?;
            rows.iter().map(|r| -> Result<KeyRecord> {
                let key_id: String = r.try_get(0)?;
                let private: Vec<u8> = r.try_get(4)?;
                let private = String::from_utf8(private).map_err(|_| StorageError::Corrupt {
                    key_id: key_id.clone(),
                    msg: "private column is not a JWE string".into(),
                })?;
                Ok(KeyRecord {
                    key_id,
                    algorithm: r.try_get(1)?,
                    passphrase_alias: r.try_get(2)?,
                    public: r.try_get(3)?,
                    private,
                    gun: r.try_get(5)?,
                    role: r.try_get(6)?,
                })
            }).collect()
        })
    }

    pub async fn get(&self, key_id: &str) -> Result<Option<KeyRecord>> {
        Ok(self
            .query_keys(
                &format!(
                    "SELECT {COLUMNS_Q} FROM private_keys WHERE key_id = ? AND deleted_at IS NULL",
                    COLUMNS_Q = quoted_columns()
                ),
                &[key_id],
            )
            .await?
            .into_iter()
            .next())
    }

    /// A key for this role, GUN and algorithm that has never signed (Notary's `Create` hands it
    /// out again rather than making one per request): the lowest key ID, as Notary orders.
    pub async fn pending(
        &self,
        gun: &str,
        role: &str,
        algorithm: &str,
    ) -> Result<Option<KeyRecord>> {
        Ok(self
            .query_keys(
                &format!(
                    "SELECT {} FROM private_keys WHERE role = ? AND gun = ? AND algorithm = ? \
                     AND last_used IS NULL AND deleted_at IS NULL ORDER BY key_id LIMIT 1",
                    quoted_columns()
                ),
                &[role, gun, algorithm],
            )
            .await?
            .into_iter()
            .next())
    }

    pub async fn all(&self) -> Result<Vec<KeyRecord>> {
        self.query_keys(
            &format!(
                "SELECT {} FROM private_keys WHERE deleted_at IS NULL ORDER BY id",
                quoted_columns()
            ),
            &[],
        )
        .await
    }

    /// Records a signature (Notary's `markActive`).
    pub async fn mark_used(&self, key_id: &str) -> Result<()> {
        let _guard = self.write_guard().await;
        let q = self.sql("UPDATE private_keys SET last_used = ?, updated_at = ? WHERE key_id = ?");
        let t = now();
        on_pool!(&self.db.pool, p => {
            sqlx::query(AssertSqlSafe(q.as_str())).bind(t).bind(t).bind(key_id).execute(p).await?;
        });
        Ok(())
    }

    /// Deletes a key for good (Notary soft-deletes, leaving the encrypted key in the table).
    pub async fn delete(&self, key_id: &str) -> Result<u64> {
        let _guard = self.write_guard().await;
        let q = self.sql("DELETE FROM private_keys WHERE key_id = ?");
        let n = on_pool!(&self.db.pool, p => {
            sqlx::query(AssertSqlSafe(q.as_str())).bind(key_id).execute(p).await?.rows_affected()
        });
        Ok(n)
    }

    /// Replaces the encrypted private parts of several keys in one transaction: all or nothing.
    pub async fn reencrypt_all(&self, rows: &[(String, String, String)]) -> Result<()> {
        let _guard = self.write_guard().await;
        let begin = self.db.begin_statement();
        let q = self.sql(
            "UPDATE private_keys SET \"private\" = ?, passphrase_alias = ?, updated_at = ? \
             WHERE key_id = ?",
        );
        let t = now();
        on_pool!(&self.db.pool, p => {
            let mut conn = p.acquire().await?;
            sqlx::query(begin).execute(&mut *conn).await?;
            let mut result: std::result::Result<(), sqlx::Error> = Ok(());
            for (key_id, private, alias) in rows {
                if let Err(e) = sqlx::query(AssertSqlSafe(q.as_str()))
                    .bind(private.as_bytes()).bind(alias).bind(t).bind(key_id)
                    .execute(&mut *conn).await
                {
                    result = Err(e);
                    break;
                }
            }
            match result {
                Ok(()) => { sqlx::query("COMMIT").execute(&mut *conn).await?; }
                Err(e) => {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    return Err(e.into());
                }
            }
        });
        Ok(())
    }

    pub async fn close(&self) {
        self.db.close().await
    }
}

fn quoted_columns() -> String {
    COLUMNS
        .replace("public", "\"public\"")
        .replace("private", "\"private\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_mysql_dsns_become_urls() {
        assert_eq!(
            mysql_url("signer@tcp(mysql:3306)/notarysigner?parseTime=True"),
            "mysql://signer@mysql:3306/notarysigner"
        );
        assert_eq!(mysql_url("mysql://a@b/c"), "mysql://a@b/c");
    }
}
