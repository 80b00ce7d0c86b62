//! `/_notary_server/health` when a part fails: 503 naming the part, never the database's own
//! error text (which can carry hosts, users or the DSN) (catalogue SV-23).

mod common;

use common::{Backend, TestDb, TestServer};

#[test]
fn sv23_a_failing_database_is_reported_without_its_error_text() {
    let db = TestDb::new(Backend::Sqlite);
    let srv = TestServer::start(&db);
    let get = |srv: &TestServer| {
        let r = srv
            .agent()
            .get(format!("{}/_notary_server/health", srv.url))
            .call()
            .unwrap();
        (
            r.status().as_u16(),
            String::from_utf8(r.into_body().read_to_vec().unwrap()).unwrap(),
        )
    };
    assert_eq!(get(&srv), (200, "{}".to_owned()));
    // The table goes away behind the server's back.
    srv.rt.block_on(async {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query("DROP TABLE tuf_files")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let (status, body) = get(&srv);
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["DB operational"], "Cannot access table: tuf_files",
        "{body}"
    );
    // The built-in signing service keeps its keys in the same database: it may say so too,
    // in its own generic words.
    for (_, reason) in v.as_object().unwrap() {
        assert!(
            [
                "Cannot access table: tuf_files",
                "the signing service is not healthy"
            ]
            .contains(&reason.as_str().unwrap()),
            "{body}"
        );
    }
    assert!(!body.contains("no such table"), "{body}");
    assert!(!body.contains(&db.url), "{body}");
}
