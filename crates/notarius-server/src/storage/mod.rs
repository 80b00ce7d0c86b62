//! Metadata storage: Notary's `tuf_files` and `changefeed` tables on SQLite (embedded, the
//! default), PostgreSQL or MySQL/MariaDB. One implementation serves all three; only the SQL
//! dialect differs (placeholders, DDL).
//!
//! Concurrency: two replicas (or two requests) racing to publish the same version both try to
//! insert `(gun, role, version)`; the unique key lets exactly one win and the other gets
//! [`StorageError::OldVersion`], which becomes Notary's `VERSION` error.

pub mod cache;
pub mod newest;
mod schema;

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use notarius_tuf::metadata::{Snapshot, Timestamp};
use notarius_tuf::role;
use serde::Serialize;
use sqlx::{AssertSqlSafe, Row};

use notarius_sql::{Database, on_pool};
pub use notarius_sql::{Dialect, mysql_url};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no record found")]
    NotFound,
    /// A row for this GUN and role with an equal or higher version exists.
    #[error("Error updating metadata. A newer version of the metadata exists")]
    OldVersion,
    #[error("{0}")]
    BadQuery(String),
    /// Stored data that does not parse (e.g. a timestamp naming no snapshot).
    #[error("stored metadata is unusable: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// One file of an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaUpdate {
    pub role: String,
    pub version: i64,
    pub data: Vec<u8>,
}

/// A stored file and when it was written (`Last-Modified`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Shared with the content cache: serving a cached file copies no bytes.
    pub data: bytes::Bytes,
    pub modified: Option<DateTime<Utc>>,
    /// The SHA-256 (lowercase hex) of `data` when it is known without hashing: a file read by
    /// its checksum, or a timestamp this process remembers. Saves hashing on every GET.
    pub sha256: Option<String>,
}

/// A changefeed row, serialised as Notary's `storage.Change` (Go field names, ID as a string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "CreatedAt", serialize_with = "go_time")]
    pub created_at: DateTime<Utc>,
    #[serde(rename = "GUN")]
    pub gun: String,
    #[serde(rename = "Version")]
    pub version: i64,
    #[serde(rename = "SHA256")]
    pub sha256: String,
    #[serde(rename = "Category")]
    pub category: String,
}

fn go_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&notarius_tuf::time::format_go(&t.fixed_offset()))
}

/// A server-held private key, encrypted (see `signer.rs`).
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub key_id: String,
    pub gun: String,
    pub role: String,
    pub algorithm: String,
    pub keytype: String,
    pub public_key: Vec<u8>,
    pub private_key: Vec<u8>,
}

pub struct Store {
    db: Database,
    /// The newest timestamp of each GUN, while every write to it is sure to be heard of.
    newest: std::sync::Arc<newest::Newest>,
    /// PostgreSQL: the task hearing of other replicas' writes (`newest::listen`).
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    cache: cache::Cache,
    /// The largest version the `version` columns hold: `i64::MAX` once they are 64-bit (new
    /// databases; Notary's 32-bit columns are widened at start), `i32::MAX` where that could
    /// not be done (the database user does not own Notary's tables).
    max_version: std::sync::atomic::AtomicI64,
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// A `version` column: 64-bit, or 32-bit where Notary's column could not be widened.
fn version_column<R: sqlx::Row>(r: &R, i: usize) -> std::result::Result<i64, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i32: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    r.try_get::<i64, _>(i)
        .or_else(|_| r.try_get::<i32, _>(i).map(i64::from))
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(notarius_tuf::metadata::sha256(data))
}

impl Store {
    /// Connects by backend name as notary-server's config spells it: `sqlite3`/`sqlite`
    /// (a file path or `sqlite:` URL), `memory` (an in-memory SQLite), `postgres`, `mysql`.
    pub async fn connect(backend: &str, url: &str) -> Result<Store> {
        Store::connect_remembering(backend, url, newest::DEFAULT_TTL).await
    }

    /// [`Store::connect`], remembering a GUN's newest timestamp for at most `ttl` (tests use
    /// a long one to show that writes are heard of without it).
    pub async fn connect_remembering(backend: &str, url: &str, ttl: Duration) -> Result<Store> {
        let db = Database::connect(backend, url).await.map_err(|e| match e {
            notarius_sql::ConnectError::Unsupported(b) => StorageError::BadQuery(format!(
                "unsupported storage backend {b:?} (use sqlite3, memory, postgres or mysql)"
            )),
            notarius_sql::ConnectError::Db(e) => StorageError::Db(e),
        })?;
        // SQLite remembers from the start; PostgreSQL once it listens (below); MySQL never.
        let sole_writer = db.dialect() == Dialect::Sqlite;
        let store = Store {
            db,
            newest: std::sync::Arc::new(newest::Newest::new(sole_writer, ttl)),
            listener: Default::default(),
            cache: Default::default(),
            max_version: std::sync::atomic::AtomicI64::new(i64::MAX),
        };
        store.migrate().await?;
        store.widen_versions().await;
        if let notarius_sql::Pool::Postgres(pool) = &store.db.pool {
            match store.install_change_trigger(pool).await {
                Ok(()) => {
                    let task = tokio::spawn(newest::listen(pool.clone(), store.newest.clone()));
                    *store.listener.lock().expect("not poisoned") = Some(task);
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    "could not install the change trigger on tuf_files; every GET of a current \
                     file asks the database"
                ),
            }
        }
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    fn sql(&self, q: &str) -> String {
        self.db.placeholders(q)
    }

    async fn migrate(&self) -> Result<()> {
        for stmt in schema::statements(self.dialect()) {
            on_pool!(&self.db.pool, p => { sqlx::query(*stmt).execute(p).await?; });
        }
        Ok(())
    }

    /// The largest version this database stores.
    pub fn max_version(&self) -> i64 {
        self.max_version.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Notary's `version` columns are 32-bit (`integer`, `int(11)`): one upload at 2^31-1
    /// locked a role for good (Cure53 TUF-01-002). They are widened in place to 64 bits, which
    /// notary-server reads as it did (its model's `Version` is a Go `int`); where the database
    /// user may not alter Notary's tables, versions stay capped at 2^31-1 with a warning.
    async fn widen_versions(&self) {
        let result: Result<()> = async {
            match &self.db.pool {
                notarius_sql::Pool::Postgres(p) => {
                    for table in ["tuf_files", "changefeed"] {
                        let ty: Option<String> = sqlx::query_scalar(
                            "SELECT data_type::text FROM information_schema.columns \
                             WHERE table_schema = current_schema() AND table_name = $1 \
                             AND column_name = 'version'",
                        )
                        .bind(table)
                        .fetch_optional(p)
                        .await?;
                        if ty.as_deref() == Some("integer") {
                            tracing::info!(table, "widening the version column to bigint");
                            sqlx::query(AssertSqlSafe(format!(
                                "ALTER TABLE {table} ALTER COLUMN version TYPE bigint"
                            )))
                            .execute(p)
                            .await?;
                        }
                    }
                }
                notarius_sql::Pool::MySql(p) => {
                    for table in ["tuf_files", "changefeed"] {
                        let ty: Option<String> = sqlx::query_scalar(
                            "SELECT CAST(DATA_TYPE AS CHAR) FROM information_schema.COLUMNS \
                             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
                             AND COLUMN_NAME = 'version'",
                        )
                        .bind(table)
                        .fetch_optional(p)
                        .await?;
                        if ty.as_deref() == Some("int") {
                            tracing::info!(table, "widening the version column to bigint");
                            sqlx::query(AssertSqlSafe(format!(
                                "ALTER TABLE `{table}` MODIFY `version` BIGINT NOT NULL"
                            )))
                            .execute(p)
                            .await?;
                        }
                    }
                }
                // SQLite's INTEGER is 64-bit already.
                _ => {}
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(
                error = %e,
                "could not widen the version columns to 64 bits (the database user must own \
                 tuf_files and changefeed); versions above 2147483647 are refused"
            );
            self.max_version
                .store(i64::from(i32::MAX), std::sync::atomic::Ordering::Relaxed);
        }
    }

    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.db.write_guard().await
    }

    /// The highest version of a role (Notary's `SQLStorage.GetCurrent`); the newest timestamp
    /// may come from memory (`newest.rs`).
    pub async fn latest(&self, gun: &str, role: &str) -> Result<Stored> {
        self.latest_with(gun, role, true).await
    }

    /// [`Store::latest`] for a writer: from the database unless this process is the only
    /// writer (SQLite), so an update never validates against what another replica replaced.
    pub async fn latest_for_update(&self, gun: &str, role: &str) -> Result<Stored> {
        self.latest_with(gun, role, self.sole_writer()).await
    }

    /// SQLite belongs to one server process, which sees every write: its writers may use
    /// what it remembers.
    fn sole_writer(&self) -> bool {
        self.dialect() == Dialect::Sqlite
    }

    async fn latest_with(&self, gun: &str, role: &str, may_remember: bool) -> Result<Stored> {
        let remember = may_remember && role == role::TIMESTAMP;
        if remember && let Some(s) = self.newest.get(gun) {
            return Ok(s);
        }
        let ticket = if remember { self.newest.ticket() } else { None };
        let mut found = self.latest_from_db(gun, role).await?;
        if let Some(t) = ticket {
            found.sha256 = Some(sha256_hex(&found.data));
            self.newest.remember(t, gun, &found);
        }
        Ok(found)
    }

    /// Whether GETs may be answered from the remembered newest timestamp now (SQLite always;
    /// PostgreSQL while the change notifications are heard; MySQL never).
    pub fn remembers_newest(&self) -> bool {
        self.newest.enabled()
    }

    /// Forgets what this process remembered of `gun` after writing it.
    fn written(&self, gun: &str) {
        self.newest.forget(gun);
    }

    /// A trigger that names the GUN of every changed `tuf_files` row on [`newest::CHANNEL`],
    /// so every replica hears of every write, ours or notary-server's.
    async fn install_change_trigger(&self, pool: &sqlx::PgPool) -> Result<()> {
        let mut tx = pool.begin().await?;
        // Replicas starting together would race on CREATE FUNCTION.
        sqlx::query("SELECT pg_advisory_xact_lock(7205759403792793)")
            .execute(&mut *tx)
            .await?;
        for stmt in schema::POSTGRES_CHANGE_TRIGGER {
            sqlx::query(*stmt).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn latest_from_db(&self, gun: &str, role: &str) -> Result<Stored> {
        let q = self.sql(
            "SELECT updated_at, data FROM tuf_files WHERE gun = ? AND role = ? \
             AND deleted_at IS NULL ORDER BY version DESC LIMIT 1",
        );
        let row = on_pool!(&self.db.pool, p => {
            sqlx::query(AssertSqlSafe(q.as_str())).bind(gun).bind(role).fetch_optional(p).await?
                .map(|r| -> Result<Stored> {
                    Ok(Stored {
                        modified: r.time(0)?,
                        data: r.try_get::<Vec<u8>, _>(1)?.into(),
                        sha256: None,
                    })
                })
        });
        row.ok_or(StorageError::NotFound)?
    }

    pub async fn by_checksum(&self, gun: &str, role: &str, checksum: &str) -> Result<Stored> {
        self.by_checksum_with(gun, role, checksum, true).await
    }

    /// [`Store::by_checksum`]; `remember` puts what the database returned in the content cache.
    async fn by_checksum_with(
        &self,
        gun: &str,
        role: &str,
        checksum: &str,
        remember: bool,
    ) -> Result<Stored> {
        let checksum = checksum.to_ascii_lowercase();
        if let Some(f) = self.cache.file(gun, role, &checksum) {
            return Ok(Stored {
                data: f.data,
                modified: f.modified,
                sha256: Some(checksum),
            });
        }
        let q = self.sql(
            "SELECT created_at, data FROM tuf_files WHERE gun = ? AND role = ? AND sha256 = ? \
             AND deleted_at IS NULL ORDER BY version DESC LIMIT 1",
        );
        let row = on_pool!(&self.db.pool, p => {
            sqlx::query(AssertSqlSafe(q.as_str())).bind(gun).bind(role).bind(&checksum).fetch_optional(p).await?
                .map(|r| -> Result<Stored> {
                    Ok(Stored {
                        modified: r.time(0)?,
                        data: r.try_get::<Vec<u8>, _>(1)?.into(),
                        sha256: None,
                    })
                })
        });
        let stored = row.ok_or(StorageError::NotFound)??;
        // Only bytes that really have this checksum are remembered under it.
        if remember && sha256_hex(&stored.data) == checksum {
            self.cache.put_file(
                gun,
                role,
                &checksum,
                cache::File {
                    data: stored.data.clone(),
                    modified: stored.modified,
                },
            );
        }
        Ok(stored)
    }

    pub async fn by_version(&self, gun: &str, role: &str, version: i64) -> Result<Stored> {
        if version > self.max_version() {
            return Err(StorageError::NotFound);
        }
        let q = self.sql(
            "SELECT created_at, data FROM tuf_files WHERE gun = ? AND role = ? AND version = ? \
             AND deleted_at IS NULL LIMIT 1",
        );
        let row = on_pool!(&self.db.pool, p => {
            sqlx::query(AssertSqlSafe(q.as_str())).bind(gun).bind(role).bind(version).fetch_optional(p).await?
                .map(|r| -> Result<Stored> {
                    Ok(Stored {
                        modified: r.time(0)?,
                        data: r.try_get::<Vec<u8>, _>(1)?.into(),
                        sha256: None,
                    })
                })
        });
        row.ok_or(StorageError::NotFound)?
    }

    /// The consistent current view (Notary's `TUFMetaStorage.GetCurrent`): the newest
    /// timestamp, the snapshot it names, and the role file that snapshot names, so a reader
    /// never sees a targets file newer than the snapshot it is served with.
    pub async fn current(&self, gun: &str, role_name: &str) -> Result<Stored> {
        self.current_with(gun, role_name, true).await
    }

    /// [`Store::current`] for a writer (see [`Store::latest_for_update`]).
    pub async fn current_for_update(&self, gun: &str, role_name: &str) -> Result<Stored> {
        self.current_with(gun, role_name, self.sole_writer()).await
    }

    /// The current view an update is validated against, read once: for each of `roles`, the
    /// file the newest timestamp (through its snapshot) names, or `None`. One timestamp read
    /// instead of one per role, so the roles also come from one consistent view.
    ///
    /// Of what the database returns only root is put in the content cache: the snapshot and
    /// targets an update replaces are not read again, and caching them on every publish grew
    /// the server's heap by about 10 MB under the publish benchmark (docs/performance.md).
    pub async fn current_view_for_update(
        &self,
        gun: &str,
        roles: &[&str],
    ) -> Result<Vec<Option<Stored>>> {
        let mut out = vec![None; roles.len()];
        let ts = match self
            .latest_with(gun, role::TIMESTAMP, self.sole_writer())
            .await
        {
            Ok(ts) => ts,
            Err(StorageError::NotFound) => return Ok(out),
            Err(e) => return Err(e),
        };
        let snap_sum = self
            .summary_with(role::TIMESTAMP, &ts, false)?
            .meta
            .get(role::SNAPSHOT)
            .cloned()
            .ok_or_else(|| {
                StorageError::Corrupt("could not retrieve latest snapshot sha256".into())
            })?;
        let snap = match self
            .by_checksum_with(gun, role::SNAPSHOT, &snap_sum, false)
            .await
        {
            Ok(s) => s,
            Err(StorageError::NotFound) => {
                for (slot, r) in out.iter_mut().zip(roles) {
                    if *r == role::TIMESTAMP {
                        *slot = Some(ts.clone());
                    }
                }
                return Ok(out);
            }
            Err(e) => return Err(e),
        };
        let listed = self.summary_with(role::SNAPSHOT, &snap, false)?;
        for (slot, r) in out.iter_mut().zip(roles) {
            *slot = match *r {
                role::TIMESTAMP => Some(ts.clone()),
                role::SNAPSHOT => Some(snap.clone()),
                other => match listed.meta.get(other) {
                    None => None,
                    Some(sum) => {
                        let remember = other == role::ROOT;
                        match self.by_checksum_with(gun, other, sum, remember).await {
                            Ok(s) => Some(s),
                            Err(StorageError::NotFound) => None,
                            Err(e) => return Err(e),
                        }
                    }
                },
            };
        }
        Ok(out)
    }

    async fn current_with(&self, gun: &str, role_name: &str, may_remember: bool) -> Result<Stored> {
        let ts = self.latest_with(gun, role::TIMESTAMP, may_remember).await?;
        if role_name == role::TIMESTAMP {
            return Ok(ts);
        }
        let snap_sum = self
            .summary(role::TIMESTAMP, &ts)?
            .meta
            .get(role::SNAPSHOT)
            .cloned()
            .ok_or_else(|| {
                StorageError::Corrupt("could not retrieve latest snapshot sha256".into())
            })?;
        let snap = self.by_checksum(gun, role::SNAPSHOT, &snap_sum).await?;
        if role_name == role::SNAPSHOT {
            return Ok(snap);
        }
        // A role the snapshot does not list is simply not there (Notary answers 500 here).
        let sum = self
            .summary(role::SNAPSHOT, &snap)?
            .meta
            .get(role_name)
            .cloned()
            .ok_or(StorageError::NotFound)?;
        self.by_checksum(gun, role_name, &sum).await
    }

    /// The expiry and listed checksums of a timestamp or snapshot, parsed once per content.
    pub fn summary(&self, role_name: &str, file: &Stored) -> Result<std::sync::Arc<cache::Parsed>> {
        self.summary_with(role_name, file, true)
    }

    fn summary_with(
        &self,
        role_name: &str,
        file: &Stored,
        remember: bool,
    ) -> Result<std::sync::Arc<cache::Parsed>> {
        let data = &file.data[..];
        let hashed;
        let sha = match &file.sha256 {
            Some(known) => known.as_str(),
            None => {
                hashed = sha256_hex(data);
                hashed.as_str()
            }
        };
        if let Some(p) = self.cache.parsed(sha) {
            return Ok(p);
        }
        let corrupt = |e: notarius_tuf::Error| {
            StorageError::Corrupt(format!("could not parse current {role_name}: {e}"))
        };
        let (expires, meta) = match role_name {
            role::TIMESTAMP => {
                let (s, _) =
                    notarius_tuf::metadata::Signed::<Timestamp>::from_bytes(role_name, data)
                        .map_err(corrupt)?;
                (s.signed.expires, s.signed.meta)
            }
            _ => {
                let (s, _) =
                    notarius_tuf::metadata::Signed::<Snapshot>::from_bytes(role_name, data)
                        .map_err(corrupt)?;
                (s.signed.expires, s.signed.meta)
            }
        };
        let parsed = std::sync::Arc::new(cache::Parsed {
            expires,
            meta: meta
                .into_iter()
                .filter_map(|(k, m)| m.sha256().map(|h| (k, hex::encode(h))))
                .collect(),
        });
        if remember {
            self.cache.put_parsed(sha, parsed.clone());
        }
        Ok(parsed)
    }

    /// Stores every update or none (Notary's `UpdateMany`), and a changefeed row for a new
    /// timestamp.
    pub async fn update_many(&self, gun: &str, updates: &[MetaUpdate]) -> Result<()> {
        let _guard = self.write_guard().await;
        let exists =
            self.sql("SELECT 1 FROM tuf_files WHERE gun = ? AND role = ? AND version >= ? LIMIT 1");
        let insert = self.sql(
            "INSERT INTO tuf_files (created_at, updated_at, gun, role, version, data, sha256) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        let feed = self.sql(
            "INSERT INTO changefeed (created_at, gun, version, sha256, category) \
             VALUES (?, ?, ?, ?, 'update')",
        );
        on_pool!(&self.db.pool, p => {
            let mut tx = p.begin_with(self.db.begin_statement()).await?;
            for u in updates {
                let version = u.version;
                if version > self.max_version() {
                    return Err(StorageError::OldVersion);
                }
                let found = sqlx::query(AssertSqlSafe(exists.as_str()))
                    .bind(gun).bind(&u.role).bind(version)
                    .fetch_optional(&mut *tx).await?;
                if found.is_some() {
                    return Err(StorageError::OldVersion);
                }
                let sum = sha256_hex(&u.data);
                let t = now();
                sqlx::query(AssertSqlSafe(insert.as_str()))
                    .bind(t).bind(t).bind(gun).bind(&u.role).bind(version)
                    .bind(&u.data).bind(&sum)
                    .execute(&mut *tx).await
                    .map_err(unique_to_old_version)?;
                if u.role == role::TIMESTAMP {
                    sqlx::query(AssertSqlSafe(feed.as_str()))
                        .bind(t).bind(gun).bind(version).bind(&sum)
                        .execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
        });
        self.written(gun);
        Ok(())
    }

    /// Deletes every file of a GUN; a deletion changefeed row only if there was something.
    pub async fn delete(&self, gun: &str) -> Result<()> {
        let _guard = self.write_guard().await;
        let del = self.sql("DELETE FROM tuf_files WHERE gun = ?");
        let feed = self.sql(
            "INSERT INTO changefeed (created_at, gun, version, sha256, category) \
             VALUES (?, ?, 0, '', 'deletion')",
        );
        on_pool!(&self.db.pool, p => {
            let mut tx = p.begin_with(self.db.begin_statement()).await?;
            let n = sqlx::query(AssertSqlSafe(del.as_str())).bind(gun).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                sqlx::query(AssertSqlSafe(feed.as_str())).bind(now()).bind(gun).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        self.cache.forget_gun(gun);
        self.written(gun);
        Ok(())
    }

    /// Notary's `GetChanges`: `records` rows after `change_id`, or before it (newest first,
    /// returned oldest first) when either is negative.
    pub async fn changes(
        &self,
        change_id: &str,
        records: i64,
        gun: Option<&str>,
    ) -> Result<Vec<Change>> {
        let id: i64 = if change_id.is_empty() {
            0
        } else {
            change_id
                .parse::<i32>()
                .map_err(|_| {
                    StorageError::BadQuery(format!(
                        "change ID expected to be integer, provided ID was: {change_id}"
                    ))
                })?
                .into()
        };
        let mut reversed = id < 0;
        let mut records = records;
        if records < 0 {
            reversed = true;
            records = -records;
        }
        let mut q = String::from(
            "SELECT id, created_at, gun, version, sha256, category FROM changefeed WHERE 1 = 1",
        );
        if gun.is_some() {
            q.push_str(" AND gun = ?");
        }
        if reversed {
            if id > 0 {
                q.push_str(" AND id < ?");
            }
            q.push_str(" ORDER BY id DESC");
        } else {
            q.push_str(" AND id > ? ORDER BY id ASC");
        }
        q.push_str(" LIMIT ?");
        let q = self.sql(&q);
        let bind_id = !reversed || id > 0;
        let mut out: Vec<Change> = on_pool!(&self.db.pool, p => {
            let mut query = sqlx::query(AssertSqlSafe(q.as_str()));
            if let Some(g) = gun {
                query = query.bind(g);
            }
            if bind_id {
                query = query.bind(id);
            }
            let rows = query.bind(records).fetch_all(p).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(Change {
                    id: r.try_get::<i32, _>(0)?.to_string(),
                    created_at: r.time(1)?.unwrap_or_default(),
                    gun: r.try_get(2)?,
                    version: version_column(&r, 3)?,
                    sha256: r.try_get::<Option<String>, _>(4)?.unwrap_or_default(),
                    category: r.try_get(5)?,
                });
            }
            out
        });
        if reversed {
            out.reverse();
        }
        Ok(out)
    }

    /// Notary's `CheckHealth`: the `tuf_files` table answers.
    pub async fn health(&self) -> Result<()> {
        let q = "SELECT 1 FROM tuf_files LIMIT 1";
        on_pool!(&self.db.pool, p => { sqlx::query(q).fetch_optional(p).await?; });
        Ok(())
    }

    pub async fn insert_key(&self, k: &KeyRow) -> Result<()> {
        let _guard = self.write_guard().await;
        let q = self.sql(
            "INSERT INTO notarius_server_keys \
             (key_id, gun, role, algorithm, keytype, public_key, private_key, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        );
        on_pool!(&self.db.pool, p => {
            sqlx::query(AssertSqlSafe(q.as_str()))
                .bind(&k.key_id).bind(&k.gun).bind(&k.role).bind(&k.algorithm)
                .bind(&k.keytype).bind(&k.public_key).bind(&k.private_key).bind(now())
                .execute(p).await?;
        });
        Ok(())
    }

    async fn key_query(&self, q: &str, binds: &[&str]) -> Result<Option<KeyRow>> {
        let q = self.sql(q);
        let row = on_pool!(&self.db.pool, p => {
            let mut query = sqlx::query(AssertSqlSafe(q.as_str()));
            for b in binds {
                query = query.bind(*b);
            }
            match query.fetch_optional(p).await? {
                None => None,
                Some(r) => Some(KeyRow {
                    key_id: r.try_get(0)?,
                    gun: r.try_get(1)?,
                    role: r.try_get(2)?,
                    algorithm: r.try_get(3)?,
                    keytype: r.try_get(4)?,
                    public_key: r.try_get(5)?,
                    private_key: r.try_get(6)?,
                }),
            }
        });
        Ok(row)
    }

    pub async fn key_by_id(&self, key_id: &str) -> Result<Option<KeyRow>> {
        self.key_query(
            "SELECT key_id, gun, role, algorithm, keytype, public_key, private_key \
             FROM notarius_server_keys WHERE key_id = ?",
            &[key_id],
        )
        .await
    }

    /// A key made for this GUN and role that has never signed (notary-signer's "pending" key,
    /// handed out again instead of making one per request).
    pub async fn pending_key(
        &self,
        gun: &str,
        role: &str,
        algorithm: &str,
    ) -> Result<Option<KeyRow>> {
        self.key_query(
            "SELECT key_id, gun, role, algorithm, keytype, public_key, private_key \
             FROM notarius_server_keys WHERE gun = ? AND role = ? AND algorithm = ? \
             AND last_used IS NULL ORDER BY created_at DESC LIMIT 1",
            &[gun, role, algorithm],
        )
        .await
    }

    pub async fn mark_key_used(&self, key_id: &str) -> Result<()> {
        let _guard = self.write_guard().await;
        let q = self.sql(
            "UPDATE notarius_server_keys SET last_used = ? WHERE key_id = ? AND last_used IS NULL",
        );
        on_pool!(&self.db.pool, p => {
            sqlx::query(AssertSqlSafe(q.as_str())).bind(now()).bind(key_id).execute(p).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(task) = self.listener.lock().expect("not poisoned").take() {
            task.abort();
        }
        self.newest.reset(false);
        self.db.close().await
    }
}

/// Timestamp columns: `timestamp` without zone on PostgreSQL and SQLite (read as UTC), a
/// `TIMESTAMP` that only decodes as a zoned time on MySQL.
trait TimeColumn {
    fn time(&self, idx: usize) -> std::result::Result<Option<DateTime<Utc>>, sqlx::Error>;
}

impl TimeColumn for sqlx::sqlite::SqliteRow {
    fn time(&self, idx: usize) -> std::result::Result<Option<DateTime<Utc>>, sqlx::Error> {
        Ok(self
            .try_get::<Option<NaiveDateTime>, _>(idx)?
            .map(|t| t.and_utc()))
    }
}

impl TimeColumn for sqlx::postgres::PgRow {
    fn time(&self, idx: usize) -> std::result::Result<Option<DateTime<Utc>>, sqlx::Error> {
        Ok(self
            .try_get::<Option<NaiveDateTime>, _>(idx)?
            .map(|t| t.and_utc()))
    }
}

impl TimeColumn for sqlx::mysql::MySqlRow {
    fn time(&self, idx: usize) -> std::result::Result<Option<DateTime<Utc>>, sqlx::Error> {
        self.try_get::<Option<DateTime<Utc>>, _>(idx)
    }
}

fn unique_to_old_version(e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StorageError::OldVersion,
        _ => StorageError::Db(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `memory` backend's database outlives the pool's connection and is private to
    /// its store.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_memory_backend_is_one_database_per_store() {
        let s = Store::connect("memory", "").await.unwrap();
        let up = |v: &[u8]| MetaUpdate {
            role: "timestamp".into(),
            version: 1,
            data: v.to_vec(),
        };
        s.update_many("g", &[up(b"t")]).await.unwrap();
        on_pool!(&s.db.pool, p => {
            // Reconnect the pool's only connection, as sqlx does after a broken query.
            let mut c = p.acquire().await.unwrap();
            c.close_on_drop();
        });
        assert_eq!(
            &s.latest_from_db("g", "timestamp").await.unwrap().data[..],
            b"t"
        );
        let other = Store::connect("memory", "").await.unwrap();
        assert!(matches!(
            other.latest("g", "timestamp").await,
            Err(StorageError::NotFound)
        ));
    }

    #[test]
    fn go_mysql_dsns_become_urls() {
        assert_eq!(
            mysql_url("server@tcp(mysql:3306)/notaryserver?parseTime=True"),
            "mysql://server@mysql:3306/notaryserver"
        );
        assert_eq!(
            mysql_url("root:pw@tcp(127.0.0.1:3306)/test"),
            "mysql://root:pw@127.0.0.1:3306/test"
        );
        assert_eq!(mysql_url("mysql://a@b/c"), "mysql://a@b/c");
    }
}
