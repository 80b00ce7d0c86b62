//! Registry token auth (`auth.type` `token`): a small token service in the test issues JWTs
//! signed by a key certified by the configured `rootcertbundle`; the server lets through
//! exactly what the tokens grant. The real notary CLI (NOTARY_AUTH) and docker CLI (registry
//! credentials in config.json) fetch tokens from it by following our challenge.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Backend, TestDb, TestServer, ci, ok};
use notarius_server::{Config, StartOptions};
use notarius_testpeer::{have, text};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};

const ISSUER: &str = "notarius-test-issuer";
const SERVICE: &str = "notarius-test-service";

/// A CA (the `rootcertbundle`) and a token-signing key it certified.
struct Issuer {
    ca_pem: String,
    leaf_der: Vec<u8>,
    key: EcdsaKeyPair,
    /// A key of its own in the bundle, for `kid` tokens.
    root_key: EcdsaKeyPair,
    root_kid: String,
    rogue: EcdsaKeyPair,
    rogue_der: Vec<u8>,
}

fn issuer() -> Issuer {
    let rng = ring::rand::SystemRandom::new();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "token CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let ca_der = ca_cert.der().to_vec();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "token signer");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &leaf_key.serialize_der(),
        &rng,
    )
    .unwrap();
    // The CA's own key signs `kid` tokens.
    let root_key = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &issuer.key().serialize_der(),
        &rng,
    )
    .unwrap();
    let (_, parsed) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    let root_kid = notarius_server::auth::libtrust_key_id(parsed.public_key().raw);
    let rogue_key = rcgen::KeyPair::generate().unwrap();
    let mut rp = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    rp.distinguished_name
        .push(rcgen::DnType::CommonName, "token signer");
    let rogue_der = rp.self_signed(&rogue_key).unwrap().der().to_vec();
    let rogue = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &rogue_key.serialize_der(),
        &rng,
    )
    .unwrap();
    Issuer {
        ca_pem: ca_cert.pem(),
        leaf_der: leaf_cert.der().to_vec(),
        key,
        root_key,
        root_kid,
        rogue,
        rogue_der,
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn sign(key: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = key
        .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
        .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

fn claims(access: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"iss": ISSUER, "sub": "alice", "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
           "iat": now, "jti": "x", "access": access})
}

fn x5c_token(iss: &Issuer, claims: &Value) -> String {
    sign(
        &iss.key,
        &json!({"typ": "JWT", "alg": "ES256", "x5c": [STANDARD.encode(&iss.leaf_der)]}),
        claims,
    )
}

fn grant(gun: &str, actions: &[&str]) -> Value {
    json!([{"type": "repository", "name": gun, "actions": actions}])
}

/// A token service on loopback: Basic `alice:secret` gets every action asked for; anyone else
/// (`reader:secret`, or no credentials: notary reads anonymously) only `pull`, except that
/// repositories under `example.com/private/` are pulled only with credentials; a wrong
/// password gets nothing.
fn token_service(iss: Arc<Issuer>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap_or(0);
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let mut user = None;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h
                    .strip_prefix("Authorization: Basic ")
                    .or_else(|| h.strip_prefix("authorization: Basic "))
                {
                    let d = STANDARD.decode(v.trim()).unwrap_or_default();
                    let d = String::from_utf8_lossy(&d).into_owned();
                    user = match d.as_str() {
                        "alice:secret" => Some("alice"),
                        "reader:secret" => Some("reader"),
                        _ => Some("denied"),
                    };
                }
            }
            let mut access = Vec::new();
            for kv in path.split_once('?').map(|x| x.1).unwrap_or("").split('&') {
                if let Some(scope) = kv.strip_prefix("scope=") {
                    let scope = percent_decode(scope);
                    let mut it = scope.splitn(3, ':');
                    let (t, n, a) = (
                        it.next().unwrap_or(""),
                        it.next().unwrap_or(""),
                        it.next().unwrap_or(""),
                    );
                    let private = n.starts_with("example.com/private/") && user.is_none();
                    let acts: Vec<&str> = a
                        .split(',')
                        .filter(|x| user == Some("alice") || (*x == "pull" && !private))
                        .collect();
                    access.push(json!({"type": t, "name": n, "actions": acts}));
                }
            }
            let (status, body) = match user {
                Some("denied") => ("401 Unauthorized", "{}".to_owned()),
                _ => (
                    "200 OK",
                    json!({"token": x5c_token(&iss, &claims(Value::Array(access)))}).to_string(),
                ),
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn server_with_auth(iss: &Issuer, realm: &str) -> (TestServer, TestDb) {
    let db = TestDb::new(Backend::Sqlite);
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("token-ca.pem"), &iss.ca_pem).unwrap();
    let cfg_text = json!({
        "server": {"http_addr": "127.0.0.1:0"},
        "trust_service": {"type": "local", "key_algorithm": "ecdsa"},
        "storage": {"backend": "sqlite3", "db_url": db.url},
        "auth": {"type": "token", "options": {
            "realm": realm, "service": SERVICE, "issuer": ISSUER,
            "rootcertbundle": "token-ca.pem"}},
    })
    .to_string();
    let cfg = Config::parse(&cfg_text, data.path(), |_| None).unwrap();
    let srv = TestServer::start_with(
        cfg,
        data,
        StartOptions {
            passphrase: Some("pw".into()),
            ..Default::default()
        },
    );
    (srv, db)
}

fn call(srv: &TestServer, method: &str, path: &str, token: Option<&str>) -> (u16, String, Value) {
    let agent = srv.agent();
    let url = format!("{}{path}", srv.url);
    let mut req = ureq::http::Request::builder().method(method).uri(&url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = agent.run(req.body(()).unwrap()).unwrap();
    let status = resp.status().as_u16();
    let chal = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value =
        serde_json::from_slice(&resp.into_body().read_to_vec().unwrap()).unwrap_or(Value::Null);
    (status, chal, body)
}

#[test]
fn tokens_grant_exactly_what_they_say() {
    let iss = issuer();
    let (srv, _db) = server_with_auth(&iss, "https://auth.example/token");
    let gun = "example.com/auth/a";
    let root = format!("/v2/{gun}/_trust/tuf/root.json");

    let (s, chal, body) = call(&srv, "GET", &root, None);
    assert_eq!(s, 401);
    assert_eq!(
        chal,
        format!(
            "Bearer realm=\"https://auth.example/token\",service=\"{SERVICE}\",scope=\"repository:{gun}:pull\""
        )
    );
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(body["errors"][0]["detail"][0]["Action"], "pull");
    assert_eq!(call(&srv, "GET", "/_notary_server/health", None).0, 200);
    let (s, chal, _) = call(&srv, "GET", "/v2/", None);
    assert_eq!(s, 401);
    assert!(chal.ends_with("scope=\"registry:catalog:*\""), "{chal}");

    let pull = x5c_token(&iss, &claims(grant(gun, &["pull"])));
    assert_eq!(
        call(&srv, "GET", &root, Some(&pull)).0,
        404,
        "authorised: the GUN is just empty"
    );
    let kid = sign(
        &iss.root_key,
        &json!({"typ": "JWT", "alg": "ES256", "kid": iss.root_kid}),
        &claims(grant(gun, &["pull"])),
    );
    assert_eq!(
        call(&srv, "GET", &root, Some(&kid)).0,
        404,
        "a kid token from the bundle's key"
    );

    let now = chrono::Utc::now().timestamp();
    let mut expired = claims(grant(gun, &["pull"]));
    expired["exp"] = json!(now - 3600);
    let mut wrong_iss = claims(grant(gun, &["pull"]));
    wrong_iss["iss"] = json!("someone-else");
    let mut wrong_aud = claims(grant(gun, &["pull"]));
    wrong_aud["aud"] = json!("another-service");
    let mut future = claims(grant(gun, &["pull"]));
    future["nbf"] = json!(now + 3600);
    let (h, c) = (
        b64(&json!({"alg": "ES256", "x5c": [STANDARD.encode(&iss.leaf_der)]})),
        b64(&claims(grant(gun, &["pull"]))),
    );
    let invalid: Vec<(&str, String)> = vec![
        ("expired", x5c_token(&iss, &expired)),
        ("wrong issuer", x5c_token(&iss, &wrong_iss)),
        ("wrong audience", x5c_token(&iss, &wrong_aud)),
        ("not yet valid", x5c_token(&iss, &future)),
        (
            "alg none",
            format!(
                "{}.{c}.",
                b64(&json!({"alg": "none", "x5c": [STANDARD.encode(&iss.leaf_der)]}))
            ),
        ),
        ("HS256 with the certificate as secret", {
            let input = format!(
                "{}.{c}",
                b64(&json!({"alg": "HS256", "x5c": [STANDARD.encode(&iss.leaf_der)]}))
            );
            let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &iss.leaf_der);
            format!(
                "{input}.{}",
                URL_SAFE_NO_PAD.encode(ring::hmac::sign(&k, input.as_bytes()).as_ref())
            )
        }),
        ("signature of another token", {
            let other = x5c_token(&iss, &claims(grant(gun, &["pull", "push"])));
            format!("{h}.{c}.{}", other.rsplit('.').next().unwrap())
        }),
        (
            "a self-signed certificate outside the bundle",
            sign(
                &iss.rogue,
                &json!({"alg": "ES256", "x5c": [STANDARD.encode(&iss.rogue_der)]}),
                &claims(grant(gun, &["pull"])),
            ),
        ),
        (
            "an unknown kid",
            sign(
                &iss.rogue,
                &json!({"alg": "ES256", "kid": "AAAA:BBBB"}),
                &claims(grant(gun, &["pull"])),
            ),
        ),
        ("garbage", "a.b.c".into()),
    ];
    for (what, t) in invalid {
        let (s, chal, _) = call(&srv, "GET", &root, Some(&t));
        assert_eq!(s, 401, "{what}");
        assert!(chal.ends_with(",error=\"invalid_token\""), "{what}: {chal}");
    }

    // Valid tokens that do not reach far enough.
    let other_gun = x5c_token(
        &iss,
        &claims(grant("example.com/auth/b", &["pull", "push", "*"])),
    );
    let push_pull = x5c_token(&iss, &claims(grant(gun, &["pull", "push"])));
    for (what, method, path, t) in [
        (
            "another GUN's token",
            "GET",
            root.clone(),
            other_gun.clone(),
        ),
        (
            "pull only, to publish",
            "POST",
            format!("/v2/{gun}/_trust/tuf/"),
            pull.clone(),
        ),
        (
            "pull only, for a key",
            "GET",
            format!("/v2/{gun}/_trust/tuf/timestamp.key"),
            pull.clone(),
        ),
        (
            "push and pull, to delete",
            "DELETE",
            format!("/v2/{gun}/_trust/tuf/"),
            push_pull.clone(),
        ),
        (
            "push and pull, to rotate a key",
            "POST",
            format!("/v2/{gun}/_trust/tuf/timestamp.key"),
            push_pull.clone(),
        ),
        (
            "a repository token, for the global changefeed",
            "GET",
            "/v2/_trust/changefeed?records=1".into(),
            push_pull.clone(),
        ),
    ] {
        let (s, chal, _) = call(&srv, method, &path, Some(&t));
        assert_eq!(s, 401, "{what}");
        assert!(
            chal.ends_with(",error=\"insufficient_scope\""),
            "{what}: {chal}"
        );
    }
    let star = x5c_token(&iss, &claims(grant(gun, &["*"])));
    assert_eq!(
        call(
            &srv,
            "DELETE",
            &format!("/v2/{gun}/_trust/tuf/"),
            Some(&star)
        )
        .0,
        200
    );
    assert_eq!(
        call(
            &srv,
            "GET",
            &format!("/v2/{gun}/_trust/tuf/timestamp.key"),
            Some(&push_pull)
        )
        .0,
        200
    );
}

#[test]
fn notary_and_docker_fetch_tokens_by_our_challenge() {
    if !have("notary") {
        assert!(!ci(), "the real notary CLI is needed");
        return;
    }
    let iss = Arc::new(issuer());
    let realm = token_service(iss.clone());
    let (srv, _db) = server_with_auth(&iss, &realm);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/auth/cli";
    let payload = trust.path().join("payload");
    std::fs::write(&payload, b"bits").unwrap();
    let notary = |args: &[&str], user: Option<&str>| {
        let mut c = Command::new("notary");
        c.arg("-d")
            .arg(trust.path())
            .args(["-s", &srv.url, "--tlscacert"])
            .arg(&srv.ca);
        c.args(args)
            .env("NOTARY_ROOT_PASSPHRASE", "rootpass1")
            .env("NOTARY_TARGETS_PASSPHRASE", "targetspass1")
            .env("NOTARY_SNAPSHOT_PASSPHRASE", "snapshotpass1")
            .env("HOME", trust.path());
        if let Some(u) = user {
            c.env("NOTARY_AUTH", STANDARD.encode(format!("{u}:secret")));
        }
        c.output().unwrap()
    };
    let denied = notary(&["init", "-p", gun], None);
    assert!(!denied.status.success(), "{}", text(&denied));
    let denied = notary(&["publish", gun], Some("reader"));
    assert!(
        !denied.status.success(),
        "a pull-only user cannot publish: {}",
        text(&denied)
    );
    ok(notary(&["publish", gun], Some("alice")), "publish as alice");
    ok(
        notary(
            &["add", "-p", gun, "v1", payload.to_str().unwrap()],
            Some("alice"),
        ),
        "add as alice",
    );
    let list = ok(notary(&["list", gun], Some("reader")), "list as reader");
    assert!(list.contains("v1"), "{list}");

    // Our client follows the same challenge with the same NOTARY_AUTH.
    notarius_follows_the_challenge(&srv);

    if !have("docker") {
        assert!(!ci(), "the docker CLI is needed");
        return;
    }
    // docker asks the realm with the registry's credentials from config.json.
    let image = "interop.invalid/auth/img";
    let cfg = tempfile::tempdir().unwrap();
    let tls = cfg
        .path()
        .join("tls")
        .join(srv.url.trim_start_matches("https://"));
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::copy(&srv.ca, tls.join("ca.crt")).unwrap();
    std::fs::write(
        cfg.path().join("config.json"),
        json!({"auths": {"interop.invalid": {"auth": STANDARD.encode("alice:secret")}}})
            .to_string(),
    )
    .unwrap();
    let docker = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .env("DOCKER_CONFIG", cfg.path())
            .env("DOCKER_CONTENT_TRUST_SERVER", &srv.url)
            .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "docker-root-pass")
            .env(
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
                "docker-repo-pass",
            )
            .current_dir(cfg.path())
            .output()
            .unwrap()
    };
    ok(
        docker(&["trust", "key", "generate", "bob"]),
        "docker key generate",
    );
    let out = ok(
        docker(&["trust", "signer", "add", "--key", "bob.pub", "bob", image]),
        "docker signer add",
    );
    assert!(out.contains("Successfully added signer: bob"), "{out}");
    let out = ok(docker(&["trust", "inspect", image]), "docker inspect");
    assert!(out.contains("\"Name\": \"bob\""), "{out}");
}

/// The `notarius` binary of this build (built with the workspace; absent when only this
/// package was built).
fn notarius_bin() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("notarius");
    bin.is_file().then_some(bin)
}

fn notarius_follows_the_challenge(srv: &TestServer) {
    let Some(bin) = notarius_bin() else {
        assert!(
            !ci(),
            "target/<profile>/notarius is needed (run the workspace's tests)"
        );
        eprintln!("SKIPPED: the notarius binary is not built");
        return;
    };
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/auth/ours";
    let payload = trust.path().join("payload");
    std::fs::write(&payload, b"ours").unwrap();
    let run = |args: &[&str], user: Option<&str>| {
        let mut c = Command::new(&bin);
        c.arg("-d")
            .arg(trust.path())
            .args(["-s", &srv.url, "--tlscacert"])
            .arg(&srv.ca);
        c.args(args)
            .env("NOTARY_ROOT_PASSPHRASE", "rootpass1")
            .env("NOTARY_TARGETS_PASSPHRASE", "targetspass1")
            .env("NOTARY_SNAPSHOT_PASSPHRASE", "snapshotpass1")
            .env_remove("NOTARY_AUTH")
            .env("HOME", trust.path());
        if let Some(u) = user {
            c.env("NOTARY_AUTH", STANDARD.encode(format!("{u}:secret")));
        }
        c.output().unwrap()
    };
    let denied = run(&["init", "-p", gun], None);
    assert!(!denied.status.success(), "{}", text(&denied));
    assert!(text(&denied).contains("401"), "{}", text(&denied));
    let denied = run(&["init", "-p", gun], Some("reader"));
    assert!(
        !denied.status.success(),
        "a pull-only user cannot publish: {}",
        text(&denied)
    );
    ok(
        run(&["init", "-p", gun], Some("alice")),
        "notarius init -p as alice",
    );
    ok(
        run(
            &["add", "-p", gun, "v1", payload.to_str().unwrap()],
            Some("alice"),
        ),
        "notarius add as alice",
    );
    let list = ok(run(&["list", gun], None), "notarius list, anonymous pull");
    assert!(list.contains("v1"), "{list}");
    // A repository anonymous users may not read: a read retries with NOTARY_AUTH after the
    // 401, as notary's read-only transport does.
    let private = "example.com/private/app";
    ok(
        run(&["init", "-p", private], Some("alice")),
        "init -p private as alice",
    );
    let anonymous = run(&["list", private], None);
    assert!(!anonymous.status.success(), "{}", text(&anonymous));
    assert!(text(&anonymous).contains("401"), "{}", text(&anonymous));
    let as_reader = ok(
        run(&["list", private], Some("reader")),
        "list private as reader",
    );
    assert!(as_reader.contains("No targets present"), "{as_reader}");
    if have("notary") {
        let mut c = Command::new("notary");
        c.arg("-d")
            .arg(trust.path().join("notary"))
            .args(["-s", &srv.url, "--tlscacert"])
            .arg(&srv.ca)
            .args(["list", private])
            .env("NOTARY_AUTH", STANDARD.encode("reader:secret"));
        let theirs = c.output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&theirs.stdout),
            as_reader,
            "notary reads it the same way: {}",
            text(&theirs)
        );
    }
    let denied = run(&["delete", gun, "--remote"], Some("reader"));
    assert!(!denied.status.success(), "{}", text(&denied));
    ok(
        run(&["delete", gun, "--remote"], Some("alice")),
        "notarius delete --remote as alice",
    );
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1..i + 3)) {
            (b'%', Some(h)) => {
                out.push(u8::from_str_radix(std::str::from_utf8(h).unwrap(), 16).unwrap());
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}
