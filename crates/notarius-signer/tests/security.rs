//! The signer rows SG-01..SG-09 of the security catalog, against the notarius-signer binary
//! (its log is checked) or the library in-process.

mod common;

use std::time::{Duration, Instant};

use common::*;
use notarius_signer::proto;
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

fn sqlite_signer(pki: &Pki, db: &TestDb, extra: &[&str]) -> (std::path::PathBuf, Proc) {
    let path = pki.path("signer-config.json");
    std::fs::write(&path, pki.config_json(Some(db)).to_string()).unwrap();
    let p = Proc::spawn(
        &path,
        extra,
        &[(&notarius_signer::config::passphrase_env(ALIAS), PASSPHRASE)],
    );
    assert!(p.addr.is_some(), "signer did not start: {}", p.log());
    (path, p)
}

/// A CreateKey and a Sign presenting `identity` (cert and key file names in the PKI), or none.
fn attempt(
    pki: &Pki,
    addr: std::net::SocketAddr,
    identity: Option<&str>,
    rt: &tokio::runtime::Runtime,
) -> Result<(), tonic::Status> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(
            std::fs::read(pki.path("ca.crt")).unwrap(),
        ))
        .domain_name("localhost");
    if let Some(who) = identity {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(pki.path(&format!("{who}.crt"))).unwrap(),
            std::fs::read(pki.path(&format!("{who}.key"))).unwrap(),
        ));
    }
    rt.block_on(async {
        let ch = Endpoint::from_shared(format!("https://localhost:{}", addr.port()))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        let mut km = proto::key_management_client::KeyManagementClient::new(ch.clone());
        km.create_key(proto::CreateKeyRequest {
            algorithm: "ecdsa".into(),
            gun: "sg".into(),
            role: "timestamp".into(),
        })
        .await?;
        let mut s = proto::signer_client::SignerClient::new(ch);
        s.sign(proto::SignatureRequest {
            key_id: Some(proto::KeyId { id: "x".into() }),
            content: b"m".to_vec(),
        })
        .await?;
        Ok(())
    })
}

/// SG-01, SG-02: no client certificate, or one the CA did not issue, is expired, not yet
/// valid, is the CA itself, or lacks clientAuth: the handshake fails, no handler runs (no key
/// is created), and the refusal is logged.
#[test]
fn sg01_sg02_clients_without_a_good_certificate_never_reach_a_handler() {
    let db = TestDb::new(Backend::Sqlite);
    let pki = Pki::new();
    let (path, signer) = sqlite_signer(&pki, &db, &[]);
    let addr = signer.addr.unwrap();
    let cfg = notarius_signer::Config::load(&path).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for who in [
        None,
        Some("otherca"),
        Some("expired"),
        Some("notyet"),
        Some("caleaf"),
        Some("noclientauth"),
    ] {
        let e = attempt(&pki, addr, who, &rt).unwrap_err();
        assert!(
            matches!(
                e.code(),
                Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
            ),
            "{who:?}: {e:?}"
        );
        assert_eq!(count_keys(&cfg), 0, "{who:?} reached a handler");
    }
    // The log is read by another thread: give it a moment to catch up.
    let deadline = Instant::now() + Duration::from_secs(10);
    while signer.log().matches("TLS handshake refused").count() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let refusals = signer.log().matches("TLS handshake refused").count();
    assert!(refusals >= 6, "refusals not logged: {}", signer.log());
    // The control: the right certificate gets through (and Sign of an unknown key is NotFound).
    let e = attempt(&pki, addr, Some("client"), &rt).unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert_eq!(count_keys(&cfg), 1);
}

/// SG-03: without a client CA (or without the server's certificate) the signer does not start.
#[test]
fn sg03_no_client_ca_no_start() {
    let db = TestDb::new(Backend::Sqlite);
    let pki = Pki::new();
    for drop_key in ["client_ca_file", "tls_cert_file"] {
        let mut v = pki.config_json(Some(&db));
        v["server"].as_object_mut().unwrap().remove(drop_key);
        let path = pki.path("cfg.json");
        std::fs::write(&path, v.to_string()).unwrap();
        let mut p = Proc::spawn(
            &path,
            &[],
            &[(&notarius_signer::config::passphrase_env(ALIAS), PASSPHRASE)],
        );
        assert!(p.addr.is_none());
        let status = p.wait_exit(Duration::from_secs(20)).expect("exits");
        assert!(!status.success());
        assert!(p.log().contains(drop_key), "{}", p.log());
    }
    // A CA file that is not there is an error too, not a fallback.
    let mut v = pki.config_json(Some(&db));
    v["server"]["client_ca_file"] = "missing-ca.crt".into();
    let path = pki.path("cfg.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let mut p = Proc::spawn(
        &path,
        &[],
        &[(&notarius_signer::config::passphrase_env(ALIAS), PASSPHRASE)],
    );
    assert!(
        !p.wait_exit(Duration::from_secs(20))
            .expect("exits")
            .success()
    );
    assert!(p.log().contains("missing-ca.crt"), "{}", p.log());
}

fn openssl_handshake(pki: &Pki, port: u16, args: &[&str]) -> bool {
    let out = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
        ])
        .arg("-CAfile")
        .arg(pki.path("ca.crt"))
        .arg("-cert")
        .arg(pki.path("client.crt"))
        .arg("-key")
        .arg(pki.path("client.key"))
        .args(["-verify_return_error", "-alpn", "h2"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && !text.contains("Cipher is (NONE)")
}

/// SG-04: TLS 1.0/1.1, RSA key exchange and CBC suites are refused; TLS 1.2 with ECDHE-GCM
/// and TLS 1.3 work (with the client certificate).
#[test]
fn sg04_old_tls_is_refused() {
    if !notarius_testpeer::have("openssl") {
        assert!(!ci(), "openssl is needed");
        return;
    }
    let db = TestDb::new(Backend::Sqlite);
    let pki = Pki::new();
    let (_path, signer) = sqlite_signer(&pki, &db, &[]);
    let port = signer.addr.unwrap().port();
    assert!(openssl_handshake(&pki, port, &["-tls1_3"]));
    assert!(openssl_handshake(
        &pki,
        port,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"]
    ));
    for args in [
        &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"][..],
        &["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
        &["-tls1_2", "-cipher", "AES128-GCM-SHA256"],
        &["-tls1_2", "-cipher", "AES256-SHA256"],
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"],
    ] {
        // The positive control: this OpenSSL can make that handshake at all (with its own
        // server, configured to allow it). Without it, a refusal would prove nothing. The
        // RSA key exchange suites need an RSA certificate, which no server here has: rustls
        // has no RSA key exchange at all, and those two rows stand without a control.
        let rsa_kx = args.contains(&"AES128-GCM-SHA256") || args.contains(&"AES256-SHA256");
        assert!(
            rsa_kx || openssl_control(&pki, args),
            "the local openssl cannot offer {args:?}, so the refusal below would prove nothing"
        );
        assert!(
            !openssl_handshake(&pki, port, args),
            "{args:?} was accepted"
        );
    }
}

/// Whether `openssl s_client args` completes a handshake with an `openssl s_server` that
/// offers the same protocol and ciphers (with the signer's ECDSA certificate).
fn openssl_control(pki: &Pki, args: &[&str]) -> bool {
    use std::io::BufRead as _;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
        .arg("-cert")
        .arg(pki.path("signer.crt"))
        .arg("-key")
        .arg(pki.path("signer.key"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // s_server says ACCEPT once it listens.
    let mut out = std::io::BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("ACCEPT") {
        line.clear();
    }
    let client = std::process::Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .arg("-CAfile")
        .arg(pki.path("ca.crt"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&client.stdout);
    client.status.success() && !text.contains("Cipher is (NONE)")
}

/// SG-05: unknown (or empty) key IDs are NotFound and sign nothing.
#[test]
fn sg05_unknown_keys_are_not_found() {
    let pki = Pki::new();
    let srv = InProcess::start(&pki.config(None), passphrases(&[]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut c = clients(&pki, srv.addr, "client", &rt);
    for id in [
        "",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "../../etc",
    ] {
        let e = rt
            .block_on(c.signer.sign(proto::SignatureRequest {
                key_id: Some(proto::KeyId { id: id.into() }),
                content: b"m".to_vec(),
            }))
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{id:?}");
    }
    let e = rt
        .block_on(c.signer.sign(proto::SignatureRequest {
            key_id: None,
            content: b"m".to_vec(),
        }))
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

/// SG-06: a 64 MiB request is refused before it is read into a handler; 10,000 concurrent
/// requests are all answered (back-pressure, no failure) while another client is still served.
#[test]
fn sg06_oversized_and_floods() {
    let pki = Pki::new();
    let srv = InProcess::start(&pki.config(None), passphrases(&[]));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut c = clients(&pki, srv.addr, "client", &rt);
    let k = rt
        .block_on(c.km.create_key(proto::CreateKeyRequest {
            algorithm: "ed25519".into(),
            gun: "g".into(),
            role: "timestamp".into(),
        }))
        .unwrap()
        .into_inner();
    let id = k.key_info.unwrap().key_id.unwrap().id;
    let e = rt
        .block_on(c.signer.sign(proto::SignatureRequest {
            key_id: Some(proto::KeyId { id: id.clone() }),
            content: vec![7u8; 64 << 20],
        }))
        .unwrap_err();
    assert!(
        matches!(e.code(), Code::ResourceExhausted | Code::OutOfRange),
        "{e:?}"
    );

    let started = Instant::now();
    let (ok, other_client_latency) = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..10_000u32 {
            let mut s = c.signer.clone();
            let id = id.clone();
            set.spawn(async move {
                s.sign(proto::SignatureRequest {
                    key_id: Some(proto::KeyId { id }),
                    content: i.to_be_bytes().to_vec(),
                })
                .await
                .is_ok()
            });
        }
        // Another client, on its own connection, while the flood is in flight.
        let other = clients_here(&pki, srv.addr, "client");
        let t = Instant::now();
        let mut h = other.health;
        h.check(proto::health::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
        let lat = t.elapsed();
        let mut ok = 0;
        while let Some(r) = set.join_next().await {
            ok += usize::from(r.unwrap());
        }
        (ok, lat)
    });
    assert_eq!(ok, 10_000);
    assert!(
        other_client_latency < Duration::from_secs(10),
        "{other_client_latency:?}"
    );
    eprintln!(
        "10,000 concurrent signs in {:?}; other client answered in {other_client_latency:?}",
        started.elapsed()
    );
}

fn sqlite_exec(url: &str, sql: &str, bind: &[u8], key_id: &str) {
    use sqlx::Connection as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite:{url}"))
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(bind)
            .bind(key_id)
            .execute(&mut c)
            .await
            .unwrap();
    });
}

/// SG-07: a tampered row (flipped bit, another algorithm in the header, a huge iteration count,
/// a truncated token, another key's ciphertext) is refused quickly with its own error, and no
/// signature comes out.
#[test]
fn sg07_tampered_rows_are_refused() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let db = TestDb::new(Backend::Sqlite);
    let pki = Pki::new();
    let cfg = pki.config(Some(&db));
    let p = passphrases(&[(ALIAS, PASSPHRASE)]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (id, other_private) = {
        let srv = InProcess::start(&cfg, p.clone());
        let mut c = clients(&pki, srv.addr, "client", &rt);
        let mut mk = |role: &str| {
            rt.block_on(c.km.create_key(proto::CreateKeyRequest {
                algorithm: "ecdsa".into(),
                gun: "g".into(),
                role: role.into(),
            }))
            .unwrap()
            .into_inner()
            .key_info
            .unwrap()
            .key_id
            .unwrap()
            .id
        };
        let a = mk("timestamp");
        let b = mk("snapshot");
        let rows = rt.block_on(async {
            let s = notarius_signer::storage::Store::connect("sqlite3", &db.url)
                .await
                .unwrap();
            let r = s.all().await.unwrap();
            s.close().await;
            r
        });
        let other = rows.iter().find(|r| r.key_id == b).unwrap().private.clone();
        (a, other)
    };
    let original = rt.block_on(async {
        let s = notarius_signer::storage::Store::connect("sqlite3", &db.url)
            .await
            .unwrap();
        let r = s.get(&id).await.unwrap().unwrap().private;
        s.close().await;
        r
    });
    let parts: Vec<String> = original.split('.').map(str::to_owned).collect();
    let header = String::from_utf8(B64.decode(&parts[0]).unwrap()).unwrap();
    let with_header = |h: String| {
        let mut p = parts.clone();
        p[0] = B64.encode(h);
        p.join(".")
    };
    let flipped = {
        let mut p = parts.clone();
        let mut b = B64.decode(&p[3]).unwrap();
        b[3] ^= 0x10;
        p[3] = B64.encode(b);
        p.join(".")
    };
    let cases = [
        ("flipped ciphertext bit", flipped, "does not decrypt"),
        (
            "alg none",
            with_header(header.replace("PBES2-HS256+A128KW", "none")),
            "only PBES2",
        ),
        (
            "alg dir",
            with_header(header.replace("PBES2-HS256+A128KW", "dir")),
            "only PBES2",
        ),
        (
            "alg A128KW",
            with_header(header.replace("PBES2-HS256+A128KW", "A128KW")),
            "only PBES2",
        ),
        (
            "enc A128GCM",
            with_header(header.replace("A256GCM", "A128GCM")),
            "only PBES2",
        ),
        (
            "p2c 2^31",
            with_header(header.replace("8192", "2147483648")),
            "iteration count",
        ),
        ("truncated", parts[..4].join("."), "5"),
        ("another key's ciphertext", other_private, "does not match"),
    ];
    for (what, token, needle) in cases {
        sqlite_exec(
            &db.url,
            "UPDATE private_keys SET private = ? WHERE key_id = ?",
            token.as_bytes(),
            &id,
        );
        let srv = InProcess::start(&cfg, p.clone());
        let mut c = clients(&pki, srv.addr, "client", &rt);
        let t = Instant::now();
        let e = rt
            .block_on(c.signer.sign(proto::SignatureRequest {
                key_id: Some(proto::KeyId { id: id.clone() }),
                content: b"m".to_vec(),
            }))
            .unwrap_err();
        assert_eq!(e.code(), Code::Internal, "{what}: {e:?}");
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{what} took {:?}",
            t.elapsed()
        );
        // The distinct reason, as the signer logs it.
        let row = rt.block_on(async {
            let s = notarius_signer::storage::Store::connect("sqlite3", &db.url)
                .await
                .unwrap();
            let r = s.get(&id).await.unwrap().unwrap();
            s.close().await;
            r
        });
        let ks = notarius_signer::keys::KeyService::new(
            std::sync::Arc::new(
                rt.block_on(notarius_signer::storage::Store::connect("sqlite3", &db.url))
                    .unwrap(),
            ),
            ALIAS.into(),
            p.clone(),
        );
        let reason = ks.open(&row).unwrap_err().to_string();
        assert!(reason.contains(needle), "{what}: {reason}");
    }
    // Put back, and it signs again: the refusals were about the data, not the setup.
    sqlite_exec(
        &db.url,
        "UPDATE private_keys SET private = ? WHERE key_id = ?",
        original.as_bytes(),
        &id,
    );
    let srv = InProcess::start(&cfg, p.clone());
    let mut c = clients(&pki, srv.addr, "client", &rt);
    rt.block_on(c.signer.sign(proto::SignatureRequest {
        key_id: Some(proto::KeyId { id }),
        content: b"m".to_vec(),
    }))
    .unwrap();
}

/// SG-08: without the default alias's passphrase (unset or empty) the signer does not start;
/// with it, the passphrase appears in no log line even at debug level.
#[test]
fn sg08_passphrase_required_and_never_logged() {
    let db = TestDb::new(Backend::Sqlite);
    let pki = Pki::new();
    let path = pki.path("signer-config.json");
    let mut v = pki.config_json(Some(&db));
    v["logging"]["level"] = "debug".into();
    std::fs::write(&path, v.to_string()).unwrap();
    let var = notarius_signer::config::passphrase_env(ALIAS);
    for env in [&[][..], &[(var.as_str(), "")][..]] {
        let mut p = Proc::spawn(&path, &[], env);
        assert!(p.addr.is_none());
        assert!(
            !p.wait_exit(Duration::from_secs(20))
                .expect("exits")
                .success()
        );
        assert!(
            p.log()
                .contains("expected env variable to not be empty: testalias"),
            "{}",
            p.log()
        );
    }
    let signer = Proc::spawn(&path, &[], &[(var.as_str(), PASSPHRASE)]);
    let addr = signer.addr.expect("starts");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut c = clients(&pki, addr, "client", &rt);
    let k = rt
        .block_on(c.km.create_key(proto::CreateKeyRequest {
            algorithm: "ecdsa".into(),
            gun: "g".into(),
            role: "timestamp".into(),
        }))
        .unwrap()
        .into_inner();
    rt.block_on(c.signer.sign(proto::SignatureRequest {
        key_id: k.key_info.unwrap().key_id,
        content: b"m".to_vec(),
    }))
    .unwrap();
    let log = signer.log();
    assert!(log.contains("CreateKey"), "debug log expected: {log}");
    assert!(!log.contains(PASSPHRASE), "passphrase logged: {log}");
}

/// The owner of `/proc/<pid>/status`: the process's own uid when it is dumpable, root when it
/// is not (the kernel's visible trace of `PR_SET_DUMPABLE 0`).
fn proc_owner(pid: u32) -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(format!("/proc/{pid}/status"))
        .unwrap()
        .uid()
}

/// SG-09: the running signer is not dumpable (no core dumps, no same-user ptrace or
/// /proc/<pid>/mem); with -debug it is. Root sees no difference in /proc, so as root the
/// signer is run as `nobody` (setpriv) for this check.
#[test]
fn sg09_not_dumpable_unless_debug() {
    use std::os::unix::fs::PermissionsExt as _;
    let pki = Pki::new();
    let me = rustix::process::getuid().as_raw();
    let wrapper: Vec<String> = if me == 0 {
        if !notarius_testpeer::have("setpriv") {
            assert!(
                !ci(),
                "setpriv (util-linux) is needed to run the signer unprivileged"
            );
            return;
        }
        // nobody must read the config and the test certificates.
        for e in std::fs::read_dir(pki.dir.path()).unwrap() {
            std::fs::set_permissions(e.unwrap().path(), std::fs::Permissions::from_mode(0o644))
                .unwrap();
        }
        std::fs::set_permissions(pki.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
        .map(str::to_owned)
        .to_vec()
    } else {
        Vec::new()
    };
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let runs_as = if me == 0 { 65534 } else { me };
    let path = pki.path("signer-config.json");
    std::fs::write(&path, pki.config_json(None).to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let signer = Proc::spawn_via(&wrapper, &path, &[], &[]);
    assert!(signer.addr.is_some(), "{}", signer.log());
    assert_eq!(proc_owner(signer.child.id()), 0, "the signer is dumpable");
    drop(signer);
    let debug = Proc::spawn_via(&wrapper, &path, &["-debug"], &[]);
    assert!(debug.addr.is_some(), "{}", debug.log());
    assert_eq!(
        proc_owner(debug.child.id()),
        runs_as,
        "-debug should leave it dumpable"
    );
}
