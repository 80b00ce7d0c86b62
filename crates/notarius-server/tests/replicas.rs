//! Several `notarius-server` processes on one PostgreSQL or MySQL database: clients publishing
//! through different replicas at the same time all get their changes in (a loser of a race is
//! told and succeeds on retry), and a replica killed with SIGKILL in the middle of publishing
//! loses nothing that was acknowledged.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{Backend, TestDb, available, ok, require_notary};
use notarius_testpeer::{client_at, text};

/// A `notarius-server` process, killed when dropped.
struct Replica {
    child: Child,
    url: String,
}

impl Replica {
    fn start(config: &Path) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_notarius-server"))
            .arg("-config")
            .arg(config)
            .env(
                "NOTARIUS_SERVER_KEY_PASSPHRASE",
                "shared-replica-passphrase",
            )
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(u) = l.strip_prefix("notarius-server listening on ") {
                        break u.to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("notarius-server did not start");
                }
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Replica { child, url }
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill9();
    }
}

struct Setup {
    _db: TestDb,
    dir: tempfile::TempDir,
    config: PathBuf,
    ca: PathBuf,
}

fn setup(backend: Backend) -> Option<Setup> {
    if !available(backend) || !require_notary() {
        return None;
    }
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let tls = notarius_server::tls::ensure_generated(&dir.path().join("tls")).unwrap();
    let config = dir.path().join("server-config.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "server": {"http_addr": "127.0.0.1:0", "tls_cert_file": tls.cert, "tls_key_file": tls.key},
            "trust_service": {"type": "local", "key_algorithm": "ecdsa"},
            "storage": {"backend": db.backend_name(), "db_url": db.url},
            "logging": {"level": "error"},
        })
        .to_string(),
    )
    .unwrap();
    Some(Setup {
        _db: db,
        dir,
        config,
        ca: tls.ca_cert,
    })
}

fn notary(trust: &Path, r: &Replica, ca: &Path, args: &[&str]) -> Output {
    client_at("notary", trust, args, Some((&r.url, ca)))
}

/// Publishes what is staged, retrying after a lost race; returns the number of retries.
fn publish_until_done(trust: &Path, r: &Replica, ca: &Path, gun: &str) -> usize {
    for attempt in 0..10 {
        let o = notary(trust, r, ca, &["publish", gun]);
        if o.status.success() {
            return attempt;
        }
        let t = text(&o);
        assert!(
            !t.contains("500"),
            "a race must not look like a server failure: {t}"
        );
    }
    panic!("publish did not succeed after 10 tries");
}

fn copy_dir(from: &Path, to: &Path) {
    let o = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

fn concurrent_publishers(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let a = Replica::start(&s.config);
    let b = Replica::start(&s.config);
    let gun = "example.com/replicas/app";
    let t1 = s.dir.path().join("client1");
    let t2 = s.dir.path().join("client2");
    std::fs::create_dir(&t1).unwrap();
    let payload = s.dir.path().join("payload");
    std::fs::write(&payload, b"bits").unwrap();
    let payload = payload.to_str().unwrap();
    ok(
        notary(&t1, &a, &s.ca, &["init", "-p", gun]),
        "init through replica A",
    );
    copy_dir(&t1, &t2);

    let mut retries = 0;
    for round in 0..6 {
        let (n1, n2) = (format!("one-{round}"), format!("two-{round}"));
        ok(
            notary(&t1, &a, &s.ca, &["add", gun, &n1, payload]),
            "stage 1",
        );
        ok(
            notary(&t2, &b, &s.ca, &["add", gun, &n2, payload]),
            "stage 2",
        );
        retries += std::thread::scope(|sc| {
            let h1 = sc.spawn(|| publish_until_done(&t1, &a, &s.ca, gun));
            let h2 = sc.spawn(|| publish_until_done(&t2, &b, &s.ca, gun));
            h1.join().unwrap() + h2.join().unwrap()
        });
    }
    eprintln!("{backend:?}: {retries} publishes lost a race and succeeded on retry");
    for r in [&a, &b] {
        let cold = tempfile::tempdir().unwrap();
        let list = ok(notary(cold.path(), r, &s.ca, &["list", gun]), "cold list");
        for round in 0..6 {
            assert!(list.contains(&format!("one-{round}")), "{list}");
            assert!(list.contains(&format!("two-{round}")), "{list}");
        }
    }
}

fn sigkill_loses_nothing(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let mut a = Replica::start(&s.config);
    let b = Replica::start(&s.config);
    let gun = "example.com/replicas/kill";
    let trust = s.dir.path().join("client");
    std::fs::create_dir(&trust).unwrap();
    let payload = s.dir.path().join("payload");
    std::fs::write(&payload, b"bits").unwrap();
    let payload = payload.to_str().unwrap();
    ok(notary(&trust, &a, &s.ca, &["init", "-p", gun]), "init");

    // Publish one target after another through A while it is killed part-way.
    let mut acknowledged = Vec::new();
    let killer_at = 5;
    for i in 0..10 {
        let name = format!("t{i}");
        ok(
            notary(&trust, &b, &s.ca, &["add", gun, &name, payload]),
            "stage",
        );
        if i == killer_at {
            a.kill9();
        }
        let o = notary(&trust, &a, &s.ca, &["publish", gun]);
        if o.status.success() {
            acknowledged.push(name);
        }
    }
    assert_eq!(
        acknowledged.len(),
        killer_at,
        "publishes to a dead replica fail"
    );
    // What was staged while A was dead is still staged: B publishes it.
    publish_until_done(&trust, &b, &s.ca, gun);
    let cold = tempfile::tempdir().unwrap();
    let list = ok(
        notary(cold.path(), &b, &s.ca, &["list", gun]),
        "cold list after SIGKILL",
    );
    for i in 0..10 {
        assert!(list.contains(&format!("t{i} ")), "t{i} missing: {list}");
    }
    // A restarted replica serves the same history.
    let a2 = Replica::start(&s.config);
    let cold2 = tempfile::tempdir().unwrap();
    assert_eq!(
        ok(
            notary(cold2.path(), &a2, &s.ca, &["list", gun]),
            "list via restarted A"
        ),
        list
    );
}

#[test]
fn concurrent_publishers_through_two_replicas_on_postgresql() {
    concurrent_publishers(Backend::Postgres);
}

#[test]
fn concurrent_publishers_through_two_replicas_on_mysql() {
    concurrent_publishers(Backend::MySql);
}

#[test]
fn a_replica_killed_mid_publish_loses_nothing_on_postgresql() {
    sigkill_loses_nothing(Backend::Postgres);
}
