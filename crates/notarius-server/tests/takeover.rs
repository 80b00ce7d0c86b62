//! notarius-server takes over a database the real notary-server wrote: the reference runs on
//! PostgreSQL (schema as Notary's migrations lay it out), publishes, and stops; notarius-server
//! then serves the same database to the real notary CLI, which reads the history and publishes
//! on.

mod common;

use common::{TestServer, notary, ok};
use notarius_server::{Config, StartOptions};
use notarius_testpeer::{Peer, require_peer, text};

#[test]
fn a_notary_server_postgres_database_is_served_as_it_is() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let pg_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let peer = Peer::start_env(
        &scripts,
        &[
            ("NOTARY_PEER_STORAGE", "postgres"),
            ("NOTARY_PEER_TRUST", "local"),
            ("NOTARY_PEER_PG_PORT", &pg_port),
        ],
    );
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/takeover";
    let payload = trust.path().join("payload");
    std::fs::write(&payload, b"before").unwrap();
    let payload = payload.to_str().unwrap();
    let via_peer = |args: &[&str]| notarius_testpeer::notary(trust.path(), args, Some(&peer));
    ok(via_peer(&["init", "-p", gun]), "init on notary-server");
    ok(
        via_peer(&["add", "-p", gun, "v1", payload]),
        "add on notary-server",
    );

    // Stop the reference server (its in-memory signer goes with it), keep its database.
    let pid = std::fs::read_to_string(peer.dir.path().join("server.pid")).unwrap();
    let _ = std::process::Command::new("kill").arg(pid.trim()).output();

    let data = tempfile::tempdir().unwrap();
    let mut cfg = Config::embedded(data.path());
    cfg.server.http_addr = "127.0.0.1:0".into();
    cfg.storage.backend = "postgres".into();
    cfg.storage.db_url = peer
        .env("NOTARY_PEER_PG_PORT")
        .map(|p| format!("postgres://server@127.0.0.1:{p}/notaryserver?sslmode=disable"))
        .unwrap();
    let srv = TestServer::start_with(
        cfg,
        data,
        StartOptions {
            passphrase: Some("takeover".into()),
            ..Default::default()
        },
    );

    // A reader that never saw the repository verifies Notary's data through us.
    let cold = tempfile::tempdir().unwrap();
    let list = ok(
        notary(cold.path(), &srv, &["list", gun]),
        "cold list via notarius-server",
    );
    assert!(list.contains("v1"), "{list}");

    // The timestamp key died with the old server: rotating it to ours lets publishing go on.
    let blocked = notary(trust.path(), &srv, &["add", "-p", gun, "v2", payload]);
    assert!(!blocked.status.success(), "{}", text(&blocked));
    ok(
        notary(
            trust.path(),
            &srv,
            &["key", "rotate", gun, "timestamp", "-r"],
        ),
        "rotate timestamp to notarius-server",
    );
    ok(
        notary(trust.path(), &srv, &["publish", gun]),
        "publish the staged v2",
    );
    let list = ok(
        notary(cold.path(), &srv, &["list", gun]),
        "list after takeover",
    );
    assert!(list.contains("v1") && list.contains("v2"), "{list}");
}

/// notarius-server widens Notary's 32-bit `version` columns to 64 bits in place (SV-05), and
/// the real notary-server, still running on the same PostgreSQL database, reads and writes it
/// as before.
#[test]
fn widened_version_columns_are_still_notary_servers() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let pg_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let peer = Peer::start_env(
        &scripts,
        &[
            ("NOTARY_PEER_STORAGE", "postgres"),
            ("NOTARY_PEER_TRUST", "local"),
            ("NOTARY_PEER_PG_PORT", &pg_port),
        ],
    );
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/widened";
    let payload = trust.path().join("payload");
    std::fs::write(&payload, b"bits").unwrap();
    let payload = payload.to_str().unwrap();
    let via_peer =
        |dir: &std::path::Path, args: &[&str]| notarius_testpeer::notary(dir, args, Some(&peer));
    ok(
        via_peer(trust.path(), &["init", "-p", gun]),
        "init on notary-server",
    );
    ok(
        via_peer(trust.path(), &["add", "-p", gun, "v1", payload]),
        "add v1 on notary-server",
    );
    let url = format!("postgres://server@127.0.0.1:{pg_port}/notaryserver?sslmode=disable");
    let column_types = || -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::Connection as _;
            let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(
                "SELECT data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND column_name = 'version' \
                 AND table_name IN ('tuf_files', 'changefeed') ORDER BY table_name",
            )
            .fetch_all(&mut c)
            .await
            .unwrap()
        })
    };
    assert_eq!(column_types(), ["integer", "integer"], "Notary's schema");

    let data = tempfile::tempdir().unwrap();
    let mut cfg = Config::embedded(data.path());
    cfg.server.http_addr = "127.0.0.1:0".into();
    cfg.storage.backend = "postgres".into();
    cfg.storage.db_url = url.clone();
    let srv = TestServer::start_with(
        cfg,
        data,
        StartOptions {
            passphrase: Some("widen".into()),
            ..Default::default()
        },
    );
    assert_eq!(column_types(), ["bigint", "bigint"], "widened at start");

    // The real notary-server goes on writing and reading the widened tables.
    ok(
        via_peer(trust.path(), &["add", "-p", gun, "v2", payload]),
        "add v2 on notary-server after the widening",
    );
    let cold = tempfile::tempdir().unwrap();
    let list = ok(
        via_peer(cold.path(), &["list", gun]),
        "cold list on notary-server",
    );
    assert!(list.contains("v1") && list.contains("v2"), "{list}");
    // And ours serves the same rows.
    let cold = tempfile::tempdir().unwrap();
    let list = ok(
        notary(cold.path(), &srv, &["list", gun]),
        "cold list via notarius-server",
    );
    assert!(list.contains("v1") && list.contains("v2"), "{list}");
}
