//! One storage suite, run against every backend: SQLite (embedded), PostgreSQL and MySQL.
//! Each test gets a database of its own.

mod common;

use std::sync::Arc;

use chrono::Utc;
use common::{Backend, TestDb, available};
use notarius_server::storage::{KeyRow, MetaUpdate, StorageError, Store};
use notarius_tuf::testrepo::TestRepo;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Where a suite test's stores live: a test database, or the `memory` backend (a database
/// per store, so only single-store tests run there).
enum Db {
    Test(TestDb),
    Memory,
}

async fn open(db: &Db) -> Store {
    match db {
        Db::Test(t) => Store::connect(t.backend_name(), &t.url).await.unwrap(),
        Db::Memory => Store::connect("memory", "").await.unwrap(),
    }
}

fn up(role: &str, version: i64, data: &[u8]) -> MetaUpdate {
    MetaUpdate {
        role: role.into(),
        version,
        data: data.to_vec(),
    }
}

/// The four files of a TestRepo at its current versions.
fn repo_updates(repo: &TestRepo) -> Vec<MetaUpdate> {
    ["root", "targets", "snapshot", "timestamp"]
        .iter()
        .map(|r| {
            let data = &repo.current[*r];
            let v: serde_json::Value = serde_json::from_slice(data).unwrap();
            up(r, v["signed"]["version"].as_i64().unwrap(), data)
        })
        .collect()
}

async fn reads_and_writes(db: &Db) {
    let s = open(db).await;
    let repo = TestRepo::new("g/a", Utc::now());
    s.update_many("g/a", &repo_updates(&repo)).await.unwrap();
    for r in ["root", "targets", "snapshot", "timestamp"] {
        assert_eq!(
            s.current("g/a", r).await.unwrap().data,
            repo.current[r],
            "{r}"
        );
        assert_eq!(
            s.latest("g/a", r).await.unwrap().data,
            repo.current[r],
            "{r}"
        );
        assert_eq!(
            s.by_version("g/a", r, 1).await.unwrap().data,
            repo.current[r]
        );
        let sum = hex::encode(notarius_tuf::metadata::sha256(&repo.current[r]));
        let got = s.by_checksum("g/a", r, &sum).await.unwrap();
        assert_eq!(got.data, repo.current[r]);
        assert!(
            got.modified
                .is_some_and(|t| (Utc::now() - t).num_seconds().abs() < 60)
        );
        assert!(matches!(
            s.by_checksum("g/a", r, &sum.to_uppercase()).await.map(|x| x.data),
            Ok(d) if d == repo.current[r]
        ));
    }
    assert!(matches!(
        s.current("g/b", "root").await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.by_version("g/a", "root", 2).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.by_version("g/a", "root", 1 << 40).await,
        Err(StorageError::NotFound)
    ));
    s.health().await.unwrap();
}

/// The update path's one-read view, as `current` would give each role.
async fn view(s: &Store, gun: &str, roles: &[&str]) -> Vec<Option<Vec<u8>>> {
    let got = s.current_view_for_update(gun, roles).await.unwrap();
    assert_eq!(got.len(), roles.len());
    let mut each = Vec::new();
    for r in roles {
        each.push(match s.current(gun, r).await {
            Ok(f) => Some(f.data.to_vec()),
            Err(StorageError::NotFound) => None,
            Err(e) => panic!("{e}"),
        });
    }
    let got: Vec<_> = got
        .into_iter()
        .map(|f| f.map(|f| f.data.to_vec()))
        .collect();
    assert_eq!(got, each, "the view and current() disagree");
    got
}

async fn current_is_the_consistent_view(db: &Db) {
    let s = open(db).await;
    let all_roles = ["root", "snapshot", "timestamp", "targets", "targets/x"];
    assert_eq!(view(&s, "g", &all_roles).await, vec![None; 5]);
    let mut repo = TestRepo::new("g", Utc::now());
    s.update_many("g", &repo_updates(&repo)).await.unwrap();
    let got = view(&s, "g", &all_roles).await;
    for (r, f) in all_roles.iter().zip(&got) {
        assert_eq!(f.as_deref(), repo.current.get(*r).map(|v| &v[..]), "{r}");
    }
    let v1 = repo.current["targets"].clone();
    // A newer targets row that no snapshot names yet is not served as current.
    repo.republish_targets("targets");
    let v2 = repo.current["targets"].clone();
    s.update_many("g", &[up("targets", 2, &v2)]).await.unwrap();
    assert_eq!(s.latest("g", "targets").await.unwrap().data, v2);
    assert_eq!(s.current("g", "targets").await.unwrap().data, v1);
    assert_eq!(view(&s, "g", &["targets"]).await, vec![Some(v1.to_vec())]);
    let all = repo_updates(&repo);
    let rest: Vec<_> = all
        .into_iter()
        .filter(|u| u.role != "targets" && u.role != "root")
        .collect();
    s.update_many("g", &rest).await.unwrap();
    assert_eq!(s.current("g", "targets").await.unwrap().data, v2);
    // A role the snapshot does not list is absent.
    assert!(matches!(
        s.current("g", "targets/x").await,
        Err(StorageError::NotFound)
    ));
}

async fn updates_are_all_or_nothing(db: &Db) {
    let s = open(db).await;
    s.update_many("g", &[up("targets", 3, b"t3")])
        .await
        .unwrap();
    // Root is new, but targets 3 exists: neither is stored.
    let r = s
        .update_many("g", &[up("root", 1, b"r1"), up("targets", 3, b"again")])
        .await;
    assert!(matches!(r, Err(StorageError::OldVersion)), "{r:?}");
    assert!(matches!(
        s.latest("g", "root").await,
        Err(StorageError::NotFound)
    ));
    // Lower versions are refused too, and the same role twice in one update.
    assert!(matches!(
        s.update_many("g", &[up("targets", 2, b"t2")]).await,
        Err(StorageError::OldVersion)
    ));
    assert!(matches!(
        s.update_many("g", &[up("targets", 4, b"a"), up("targets", 4, b"b")])
            .await,
        Err(StorageError::OldVersion)
    ));
    assert_eq!(&s.latest("g", "targets").await.unwrap().data[..], b"t3");
    s.update_many("g", &[up("targets", i32::MAX.into(), b"max")])
        .await
        .unwrap();
    assert_eq!(&s.latest("g", "targets").await.unwrap().data[..], b"max");
}

/// Two replicas (two pools on one database) race to store the same version: exactly one wins.
async fn racing_replicas_store_one_version(db: &Db) {
    let a = Arc::new(open(db).await);
    let b = Arc::new(open(db).await);
    for round in 1..=5i64 {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.push(tokio::spawn(async move {
                let body = format!("writer {i}");
                s.update_many(
                    "race",
                    &[
                        up("targets", round, body.as_bytes()),
                        up("timestamp", round, body.as_bytes()),
                    ],
                )
                .await
                .map(|()| body)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(body) => winners.push(body),
                Err(StorageError::OldVersion) => {}
                Err(e) => panic!("a loser must see OldVersion, not {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        // The winner's targets and timestamp went in together (read by a third replica: on
        // SQLite, a process trusts its own memory of the newest timestamp for a second).
        let c = open(db).await;
        assert_eq!(
            c.latest("race", "targets").await.unwrap().data,
            winners[0].as_bytes()
        );
        assert_eq!(
            c.latest("race", "timestamp").await.unwrap().data,
            winners[0].as_bytes()
        );
        c.close().await;
    }
    let feed = a.changes("", 100, Some("race")).await.unwrap();
    assert_eq!(feed.len(), 5);
}

async fn delete_and_changefeed(db: &Db) {
    let s = open(db).await;
    for (gun, v) in [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3)] {
        s.update_many(gun, &[up("timestamp", v, format!("{gun}{v}").as_bytes())])
            .await
            .unwrap();
    }
    let all = s.changes("", 100, None).await.unwrap();
    assert_eq!(all.len(), 5);
    assert!(
        all.windows(2)
            .all(|w| w[0].id.parse::<i64>().unwrap() < w[1].id.parse::<i64>().unwrap())
    );
    assert_eq!(
        all[0].sha256,
        hex::encode(notarius_tuf::metadata::sha256(b"a1"))
    );
    let a_only = s.changes("", 100, Some("a")).await.unwrap();
    assert_eq!(
        a_only.iter().map(|c| c.version).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    let page = s.changes(&all[1].id, 2, None).await.unwrap();
    assert_eq!(page, all[2..4].to_vec());
    let back = s.changes(&all[3].id, -2, None).await.unwrap();
    assert_eq!(back, all[1..3].to_vec());
    let newest = s.changes("-1", 2, None).await.unwrap();
    assert_eq!(newest, all[3..5].to_vec());
    assert!(matches!(
        s.changes("x", 1, None).await,
        Err(StorageError::BadQuery(_))
    ));
    assert!(matches!(
        s.changes("99999999999", 1, None).await,
        Err(StorageError::BadQuery(_))
    ));

    s.delete("a").await.unwrap();
    s.delete("never-there").await.unwrap();
    assert!(matches!(
        s.latest("a", "timestamp").await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(&s.latest("b", "timestamp").await.unwrap().data[..], b"b2");
    let after = s.changes(&all[4].id, 100, None).await.unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        (
            after[0].gun.as_str(),
            after[0].category.as_str(),
            after[0].version
        ),
        ("a", "deletion", 0)
    );
    // A deleted GUN can start again from version 1.
    s.update_many("a", &[up("timestamp", 1, b"again")])
        .await
        .unwrap();
}

async fn server_keys(db: &Db) {
    let s = open(db).await;
    let row = KeyRow {
        key_id: "k1".into(),
        gun: "g".into(),
        role: "timestamp".into(),
        algorithm: "ecdsa".into(),
        keytype: "ecdsa".into(),
        public_key: vec![1, 2, 3],
        private_key: vec![0; 300],
    };
    s.insert_key(&row).await.unwrap();
    assert!(s.insert_key(&row).await.is_err(), "key ids are unique");
    assert_eq!(
        s.key_by_id("k1").await.unwrap().unwrap().private_key,
        vec![0; 300]
    );
    assert!(s.key_by_id("k2").await.unwrap().is_none());
    assert_eq!(
        s.pending_key("g", "timestamp", "ecdsa")
            .await
            .unwrap()
            .unwrap()
            .key_id,
        "k1"
    );
    assert!(
        s.pending_key("g", "snapshot", "ecdsa")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.pending_key("g", "timestamp", "ed25519")
            .await
            .unwrap()
            .is_none()
    );
    s.mark_key_used("k1").await.unwrap();
    assert!(
        s.pending_key("g", "timestamp", "ecdsa")
            .await
            .unwrap()
            .is_none()
    );
}

/// Opening an existing database again (a restart, or a second replica) changes nothing.
async fn schema_setup_is_idempotent(db: &Db) {
    let s = open(db).await;
    s.update_many("g", &[up("root", 1, b"r")]).await.unwrap();
    s.close().await;
    let again = open(db).await;
    assert_eq!(&again.latest("g", "root").await.unwrap().data[..], b"r");
}

/// SV-05: versions past 32 bits (2^31-1, 2^31, 2^62, 2^63-1) are stored and read back as they
/// are; the newest is the highest; the changefeed has the timestamp's.
async fn sv05_versions_beyond_32_bits(db: &Db) {
    let s = open(db).await;
    assert_eq!(s.max_version(), i64::MAX);
    let versions = [i64::from(i32::MAX), 1 << 31, 1 << 62, i64::MAX];
    for v in versions {
        let data = format!("targets {v}");
        s.update_many("g/big", &[up("targets", v, data.as_bytes())])
            .await
            .unwrap();
        assert_eq!(
            &s.by_version("g/big", "targets", v).await.unwrap().data[..],
            data.as_bytes()
        );
        assert_eq!(
            &s.latest("g/big", "targets").await.unwrap().data[..],
            data.as_bytes()
        );
    }
    // Nothing at or below the newest can be stored again.
    assert!(matches!(
        s.update_many("g/big", &[up("targets", 1 << 62, b"again")])
            .await,
        Err(StorageError::OldVersion)
    ));
    s.update_many("g/big", &[up("timestamp", 1 << 40, b"ts")])
        .await
        .unwrap();
    let feed = s.changes("0", 100, Some("g/big")).await.unwrap();
    assert_eq!(feed.last().unwrap().version, 1 << 40);
}

/// A database as Notary's migrations left it, with 32-bit `version` columns and a row in
/// them: opening it widens both columns to 64 bits in place, and the row is still there.
async fn notarys_32_bit_version_columns_are_widened(db: &Db) {
    let Db::Test(t) = db else { return };
    let (tuf, feed, row, check): (&str, &str, &str, &str) = match t.backend {
        Backend::Postgres => (
            r#"CREATE TABLE "tuf_files" ("id" serial PRIMARY KEY, "created_at" timestamp NULL DEFAULT NULL, "updated_at" timestamp NULL DEFAULT NULL, "deleted_at" timestamp NULL DEFAULT NULL, "gun" varchar(255) NOT NULL, "role" varchar(255) NOT NULL, "version" integer NOT NULL, "data" bytea NOT NULL, "sha256" char(64) DEFAULT NULL, UNIQUE ("gun","role","version"))"#,
            r#"CREATE TABLE "changefeed" ("id" serial PRIMARY KEY, "created_at" timestamp DEFAULT CURRENT_TIMESTAMP, "gun" varchar(255) NOT NULL, "version" integer NOT NULL, "sha256" CHAR(64) DEFAULT NULL, "category" VARCHAR(20) NOT NULL DEFAULT 'update')"#,
            "INSERT INTO tuf_files (gun, role, version, data, sha256) VALUES ('g/old', 'root', 7, 'r', 'x')",
            "SELECT data_type::text FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'version' ORDER BY table_name",
        ),
        Backend::MySql => (
            "CREATE TABLE `tuf_files` (`id` int(11) NOT NULL AUTO_INCREMENT, `created_at` timestamp NULL DEFAULT NULL, `updated_at` timestamp NULL DEFAULT NULL, `deleted_at` timestamp NULL DEFAULT NULL, `gun` varchar(255) NOT NULL, `role` varchar(255) NOT NULL, `version` int(11) NOT NULL, `data` longblob NOT NULL, `sha256` char(64) DEFAULT NULL, PRIMARY KEY (`id`), UNIQUE KEY `gun` (`gun`,`role`,`version`)) DEFAULT CHARSET=utf8",
            "CREATE TABLE `changefeed` (`id` int(11) NOT NULL AUTO_INCREMENT, `created_at` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, `gun` varchar(255) NOT NULL, `version` int(11) NOT NULL, `sha256` CHAR(64) DEFAULT NULL, `category` VARCHAR(20) NOT NULL DEFAULT 'update', PRIMARY KEY (`id`)) DEFAULT CHARSET=utf8",
            "INSERT INTO tuf_files (gun, role, version, data, sha256) VALUES ('g/old', 'root', 7, 'r', 'x')",
            "SELECT CAST(DATA_TYPE AS CHAR) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'version' ORDER BY TABLE_NAME",
        ),
        // SQLite's INTEGER is 64-bit: nothing to widen.
        Backend::Sqlite => return,
    };
    let types: Vec<String> = match t.backend {
        Backend::Postgres => {
            use sqlx::Connection as _;
            let mut c = sqlx::PgConnection::connect(&t.url).await.unwrap();
            for q in [tuf, feed, row] {
                sqlx::query(sqlx::AssertSqlSafe(q))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            drop(c);
            let s = open(db).await;
            assert_eq!(s.max_version(), i64::MAX);
            assert_eq!(
                &s.by_version("g/old", "root", 7).await.unwrap().data[..],
                b"r"
            );
            s.update_many("g/old", &[up("root", 1 << 31, b"wide")])
                .await
                .unwrap();
            s.close().await;
            let mut c = sqlx::PgConnection::connect(&t.url).await.unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(check))
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
        _ => {
            use sqlx::Connection as _;
            let mut c = sqlx::MySqlConnection::connect(&t.url).await.unwrap();
            for q in [tuf, feed, row] {
                sqlx::query(sqlx::AssertSqlSafe(q))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            drop(c);
            let s = open(db).await;
            assert_eq!(s.max_version(), i64::MAX);
            assert_eq!(
                &s.by_version("g/old", "root", 7).await.unwrap().data[..],
                b"r"
            );
            s.update_many("g/old", &[up("root", 1 << 31, b"wide")])
                .await
                .unwrap();
            s.close().await;
            let mut c = sqlx::MySqlConnection::connect(&t.url).await.unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(check))
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
    };
    assert_eq!(types, ["bigint", "bigint"], "changefeed and tuf_files");
}

/// PostgreSQL replicas remember a GUN's newest timestamp between GETs and hear of every write
/// to it through the change trigger: another replica's, a plain SQL insert as notary-server
/// makes, and writes made while the listening connection was cut. The memory here lasts an
/// hour, so only the notifications can make a replica see a new version.
#[test]
fn postgres_replicas_hear_of_every_write() {
    if !available(Backend::Postgres) {
        return;
    }
    let db = TestDb::new(Backend::Postgres);
    rt().block_on(async {
        let hour = std::time::Duration::from_secs(3600);
        let a = Store::connect_remembering("postgres", &db.url, hour).await.unwrap();
        let b = Store::connect_remembering("postgres", &db.url, hour).await.unwrap();
        let raw = sqlx::PgPool::connect(&db.url).await.unwrap();
        let insert = |version: i32| {
            let raw = raw.clone();
            async move {
                let data = format!("ts{version}").into_bytes();
                let sum = hex::encode(notarius_tuf::metadata::sha256(&data));
                sqlx::query(
                    "INSERT INTO tuf_files (created_at, updated_at, gun, role, version, data, sha256) \
                     VALUES (now(), now(), 'g', 'timestamp', $1, $2, $3)",
                )
                .bind(version)
                .bind(data)
                .bind(sum)
                .execute(&raw)
                .await
                .unwrap();
            }
        };
        let sees = |version: u32| {
            let b = &b;
            async move {
                let want = format!("ts{version}").into_bytes();
                for _ in 0..100 {
                    if b.latest("g", "timestamp").await.unwrap().data == want {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                panic!("replica b never served ts{version}");
            }
        };
        let listening = |s: &Store| s.remembers_newest();
        for _ in 0..100 {
            if listening(&a) && listening(&b) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(listening(&a) && listening(&b), "the replicas never listened");

        a.update_many("g", &[up("timestamp", 1, b"ts1")]).await.unwrap();
        sees(1).await;
        // The notification of that write may reach b after it read ts1 and make it forget;
        // once it has arrived, b's next read is remembered.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        b.latest("g", "timestamp").await.unwrap();
        // Remembered: a write nobody is told of (trigger off) stays unseen.
        sqlx::query("ALTER TABLE tuf_files DISABLE TRIGGER notarius_tuf_files_changed")
            .execute(&raw)
            .await
            .unwrap();
        insert(2).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(&b.latest("g", "timestamp").await.unwrap().data[..], b"ts1");
        sqlx::query("ALTER TABLE tuf_files ENABLE TRIGGER notarius_tuf_files_changed")
            .execute(&raw)
            .await
            .unwrap();
        // Another replica's publish, then notary-server's kind of insert.
        a.update_many("g", &[up("timestamp", 3, b"ts3")]).await.unwrap();
        sees(3).await;
        insert(4).await;
        sees(4).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        b.latest("g", "timestamp").await.unwrap();
        // The listening connection is cut: b listens again and hears the next write. (Whether a
        // write lands in the gap is up to timing; `newest.rs`'s unit tests cover forgetting
        // everything when the connection comes back.)
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .execute(&raw)
        .await
        .unwrap();
        insert(5).await;
        sees(5).await;
        // A writer reads past the memory.
        sqlx::query("ALTER TABLE tuf_files DISABLE TRIGGER notarius_tuf_files_changed")
            .execute(&raw)
            .await
            .unwrap();
        insert(6).await;
        assert_eq!(
            &b.latest_for_update("g", "timestamp").await.unwrap().data[..],
            b"ts6"
        );
        a.close().await;
        b.close().await;
        raw.close().await;
    });
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite { use super::*; $( #[test] fn $name() { let db = Db::Test(TestDb::new(Backend::Sqlite)); rt().block_on(super::$name(&db)); } )* }
        mod postgres { use super::*; $( #[test] fn $name() { if available(Backend::Postgres) { let db = Db::Test(TestDb::new(Backend::Postgres)); rt().block_on(super::$name(&db)); } } )* }
        mod mysql { use super::*; $( #[test] fn $name() { if available(Backend::MySql) { let db = Db::Test(TestDb::new(Backend::MySql)); rt().block_on(super::$name(&db)); } } )* }
    };
}

mod memory {
    use super::*;
    macro_rules! single_store {
        ($($name:ident),* $(,)?) => {
            $( #[test] fn $name() { rt().block_on(super::$name(&Db::Memory)); } )*
        };
    }
    single_store!(
        reads_and_writes,
        current_is_the_consistent_view,
        updates_are_all_or_nothing,
        delete_and_changefeed,
        server_keys,
    );
}

suite!(
    reads_and_writes,
    current_is_the_consistent_view,
    updates_are_all_or_nothing,
    racing_replicas_store_one_version,
    delete_and_changefeed,
    server_keys,
    schema_setup_is_idempotent,
    sv05_versions_beyond_32_bits,
    notarys_32_bit_version_columns_are_widened,
);
