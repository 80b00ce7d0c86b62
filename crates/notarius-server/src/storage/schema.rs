//! Notary's server schema (`tuf_files`, `change_category`, `changefeed`), as its migrations left
//! it for MySQL (0001–0005) and PostgreSQL (0001–0002), plus the same shape for SQLite, which
//! Notary never shipped. Every statement is idempotent, so an existing notary-server database is
//! taken over as it is: our own tables are added beside it, and the one change to Notary's is
//! that its 32-bit `version` columns are widened to 64 bits (`Store::widen_versions`; new
//! databases get `bigint` from the start), which notary-server reads as before.

use super::Dialect;

pub fn statements(d: Dialect) -> &'static [&'static str] {
    match d {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
        Dialect::MySql => MYSQL,
    }
}

const SQLITE: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS tuf_files (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TIMESTAMP NULL DEFAULT NULL,
        updated_at TIMESTAMP NULL DEFAULT NULL,
        deleted_at TIMESTAMP NULL DEFAULT NULL,
        gun VARCHAR(255) NOT NULL,
        role VARCHAR(255) NOT NULL,
        version INTEGER NOT NULL,
        data BLOB NOT NULL,
        sha256 CHAR(64) DEFAULT NULL,
        UNIQUE (gun, role, version))",
    "CREATE INDEX IF NOT EXISTS tuf_files_sha256_idx ON tuf_files (sha256)",
    "CREATE TABLE IF NOT EXISTS change_category (category VARCHAR(20) PRIMARY KEY)",
    "INSERT OR IGNORE INTO change_category VALUES ('update'), ('deletion')",
    "CREATE TABLE IF NOT EXISTS changefeed (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        gun VARCHAR(255) NOT NULL,
        version INTEGER NOT NULL,
        sha256 CHAR(64) DEFAULT NULL,
        category VARCHAR(20) NOT NULL DEFAULT 'update' REFERENCES change_category (category))",
    "CREATE INDEX IF NOT EXISTS idx_changefeed_gun ON changefeed (gun)",
    "CREATE TABLE IF NOT EXISTS notarius_server_keys (
        key_id VARCHAR(64) PRIMARY KEY,
        gun VARCHAR(255) NOT NULL,
        role VARCHAR(255) NOT NULL,
        algorithm VARCHAR(50) NOT NULL,
        keytype VARCHAR(50) NOT NULL,
        public_key BLOB NOT NULL,
        private_key BLOB NOT NULL,
        created_at TIMESTAMP NOT NULL,
        last_used TIMESTAMP NULL DEFAULT NULL)",
    "CREATE INDEX IF NOT EXISTS notarius_server_keys_gun_role ON notarius_server_keys (gun, role)",
];

/// PostgreSQL only, after the tables: `NOTIFY notarius_tuf_files, '<gun>'` for every changed
/// row of `tuf_files` (`newest.rs`). Plain `CREATE TRIGGER` and `EXECUTE PROCEDURE` so that
/// PostgreSQL before 14 (no `CREATE OR REPLACE TRIGGER`) and before 11 (no `EXECUTE
/// FUNCTION`) take it too; notary-server never notices it.
pub const POSTGRES_CHANGE_TRIGGER: &[&str] = &[
    "CREATE OR REPLACE FUNCTION notarius_tuf_files_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('notarius_tuf_files', OLD.gun);
            ELSE
                PERFORM pg_notify('notarius_tuf_files', NEW.gun);
            END IF;
            RETURN NULL;
        END $$",
    "DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_trigger
                           WHERE tgname = 'notarius_tuf_files_changed'
                             AND tgrelid = 'tuf_files'::regclass) THEN
                CREATE TRIGGER notarius_tuf_files_changed
                    AFTER INSERT OR UPDATE OR DELETE ON tuf_files
                    FOR EACH ROW EXECUTE PROCEDURE notarius_tuf_files_changed();
            END IF;
        END $$",
];

const POSTGRES: &[&str] = &[
    r#"CREATE TABLE IF NOT EXISTS "tuf_files" (
        "id" serial PRIMARY KEY,
        "created_at" timestamp NULL DEFAULT NULL,
        "updated_at" timestamp NULL DEFAULT NULL,
        "deleted_at" timestamp NULL DEFAULT NULL,
        "gun" varchar(255) NOT NULL,
        "role" varchar(255) NOT NULL,
        "version" bigint NOT NULL,
        "data" bytea NOT NULL,
        "sha256" char(64) DEFAULT NULL,
        UNIQUE ("gun", "role", "version"))"#,
    "CREATE INDEX IF NOT EXISTS tuf_files_sha256_idx ON tuf_files (sha256)",
    r#"CREATE TABLE IF NOT EXISTS "change_category" ("category" VARCHAR(20) PRIMARY KEY)"#,
    r#"INSERT INTO "change_category" VALUES ('update'), ('deletion') ON CONFLICT DO NOTHING"#,
    r#"CREATE TABLE IF NOT EXISTS "changefeed" (
        "id" serial PRIMARY KEY,
        "created_at" timestamp DEFAULT CURRENT_TIMESTAMP,
        "gun" varchar(255) NOT NULL,
        "version" bigint NOT NULL,
        "sha256" CHAR(64) DEFAULT NULL,
        "category" VARCHAR(20) NOT NULL DEFAULT 'update' REFERENCES "change_category")"#,
    r#"CREATE INDEX IF NOT EXISTS "idx_changefeed_gun" ON "changefeed" ("gun")"#,
    "CREATE TABLE IF NOT EXISTS notarius_server_keys (
        key_id VARCHAR(64) PRIMARY KEY,
        gun VARCHAR(255) NOT NULL,
        role VARCHAR(255) NOT NULL,
        algorithm VARCHAR(50) NOT NULL,
        keytype VARCHAR(50) NOT NULL,
        public_key bytea NOT NULL,
        private_key bytea NOT NULL,
        created_at timestamp NOT NULL,
        last_used timestamp NULL DEFAULT NULL)",
    "CREATE INDEX IF NOT EXISTS notarius_server_keys_gun_role ON notarius_server_keys (gun, role)",
];

const MYSQL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS `tuf_files` (
        `id` int(11) NOT NULL AUTO_INCREMENT,
        `created_at` timestamp NULL DEFAULT NULL,
        `updated_at` timestamp NULL DEFAULT NULL,
        `deleted_at` timestamp NULL DEFAULT NULL,
        `gun` varchar(255) NOT NULL,
        `role` varchar(255) NOT NULL,
        `version` bigint NOT NULL,
        `data` longblob NOT NULL,
        `sha256` char(64) DEFAULT NULL,
        PRIMARY KEY (`id`),
        UNIQUE KEY `gun` (`gun`, `role`, `version`),
        INDEX `sha256` (`sha256`)
    ) DEFAULT CHARSET=utf8",
    "CREATE TABLE IF NOT EXISTS `change_category` (
        `category` VARCHAR(20) NOT NULL,
        PRIMARY KEY (`category`)
    ) DEFAULT CHARSET=utf8",
    "INSERT IGNORE INTO `change_category` VALUES ('update'), ('deletion')",
    "CREATE TABLE IF NOT EXISTS `changefeed` (
        `id` int(11) NOT NULL AUTO_INCREMENT,
        `created_at` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
        `gun` varchar(255) NOT NULL,
        `version` bigint NOT NULL,
        `sha256` CHAR(64) DEFAULT NULL,
        `category` VARCHAR(20) NOT NULL DEFAULT 'update',
        PRIMARY KEY (`id`),
        FOREIGN KEY (`category`) REFERENCES `change_category` (`category`),
        INDEX `idx_changefeed_gun` (`gun`)
    ) DEFAULT CHARSET=utf8",
    "CREATE TABLE IF NOT EXISTS `notarius_server_keys` (
        `key_id` varchar(64) NOT NULL,
        `gun` varchar(255) NOT NULL,
        `role` varchar(255) NOT NULL,
        `algorithm` varchar(50) NOT NULL,
        `keytype` varchar(50) NOT NULL,
        `public_key` blob NOT NULL,
        `private_key` blob NOT NULL,
        `created_at` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
        `last_used` timestamp NULL DEFAULT NULL,
        PRIMARY KEY (`key_id`),
        INDEX `notarius_server_keys_gun_role` (`gun`, `role`)
    ) DEFAULT CHARSET=utf8",
];
