//! The gRPC API on every backend (fresh database per test): keys are created (a pending key is
//! handed out again, as Notary does), described, used to sign (signatures verify), marked used,
//! deleted; rsa is refused; keys survive a restart and a re-encryption under a new alias.

mod common;

use common::*;
use notarius_signer::proto;
use notarius_signer::proto::health::HealthCheckRequest;
use tonic::Code;

fn create(
    c: &mut Clients,
    rt: &tokio::runtime::Runtime,
    alg: &str,
    gun: &str,
    role: &str,
) -> proto::PublicKey {
    rt.block_on(c.km.create_key(proto::CreateKeyRequest {
        algorithm: alg.into(),
        gun: gun.into(),
        role: role.into(),
    }))
    .unwrap()
    .into_inner()
}

fn key_id(k: &proto::PublicKey) -> String {
    k.key_info
        .as_ref()
        .unwrap()
        .key_id
        .as_ref()
        .unwrap()
        .id
        .clone()
}

fn sign(
    c: &mut Clients,
    rt: &tokio::runtime::Runtime,
    id: &str,
    msg: &[u8],
) -> Result<proto::Signature, tonic::Status> {
    rt.block_on(c.signer.sign(proto::SignatureRequest {
        key_id: Some(proto::KeyId { id: id.into() }),
        content: msg.to_vec(),
    }))
    .map(|r| r.into_inner())
}

fn suite(backend: Backend) {
    if !available(backend) {
        return;
    }
    let db = TestDb::new(backend);
    let pki = Pki::new();
    let cfg = pki.config(Some(&db));
    let p = passphrases(&[(ALIAS, PASSPHRASE), ("newalias", "new-passphrase")]);
    let mut srv = InProcess::start(&cfg, p.clone());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut c = clients(&pki, srv.addr, "client", &rt);

    let health = rt
        .block_on(c.health.check(HealthCheckRequest {
            service: "grpc.health.v1.Health.Signer".into(),
        }))
        .unwrap()
        .into_inner();
    assert_eq!(health.status, 1, "SERVING");
    let unknown = rt
        .block_on(c.health.check(HealthCheckRequest {
            service: "nope".into(),
        }))
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let mut made = Vec::new();
    for alg in ["ecdsa", "ed25519"] {
        let k = create(&mut c, &rt, alg, "docker.io/lib/a", "timestamp");
        let id = key_id(&k);
        let info_alg = &k
            .key_info
            .as_ref()
            .unwrap()
            .algorithm
            .as_ref()
            .unwrap()
            .algorithm;
        assert_eq!(info_alg, alg);
        // The key ID is the one a notary client computes from the public key.
        let kt = notarius_tuf::keys::KeyType::parse(alg);
        assert_eq!(
            notarius_tuf::keys::PublicKey::new(kt, k.public_key.clone()).id(),
            id
        );
        // Never used: asking again hands out the same key.
        assert_eq!(
            key_id(&create(&mut c, &rt, alg, "docker.io/lib/a", "timestamp")),
            id
        );
        // GetKeyInfo answers with the role.
        let info = rt
            .block_on(c.km.get_key_info(proto::KeyId { id: id.clone() }))
            .unwrap()
            .into_inner();
        assert_eq!(info.role, "timestamp");
        assert_eq!(info.public_key, k.public_key);
        // A signature over the whole message that verifies.
        let msg = br#"{"_type":"Timestamp","version":1}"#;
        let s = sign(&mut c, &rt, &id, msg).unwrap();
        let method = &s.algorithm.as_ref().unwrap().algorithm;
        assert_eq!(method, if alg == "ecdsa" { "ecdsa" } else { "eddsa" });
        assert!(verify(alg, &k.public_key, msg, &s.content));
        assert!(!verify(alg, &k.public_key, b"other", &s.content));
        // Used now: the next request makes a new key.
        let next = create(&mut c, &rt, alg, "docker.io/lib/a", "timestamp");
        assert_ne!(key_id(&next), id);
        made.push((alg, id, k.public_key));
    }

    // rsa is refused as Notary refuses it, and nothing is stored.
    let before = count_keys(&cfg);
    let e = rt
        .block_on(c.km.create_key(proto::CreateKeyRequest {
            algorithm: "rsa".into(),
            gun: "g".into(),
            role: "timestamp".into(),
        }))
        .unwrap_err();
    assert_eq!(e.code(), Code::Unknown);
    assert_eq!(e.message(), "algorithm rsa not supported for create key");
    assert_eq!(count_keys(&cfg), before);

    // Restart (cache gone): the stored keys decrypt and sign.
    srv.stop();
    drop(srv);
    let srv = InProcess::start(&cfg, p.clone());
    let mut c = clients(&pki, srv.addr, "client", &rt);
    for (alg, id, public) in &made {
        let s = sign(&mut c, &rt, id, b"after restart").unwrap();
        assert!(verify(alg, public, b"after restart", &s.content));
    }
    drop(srv);

    // Re-encrypt under a new alias; a signer that only knows the new passphrase still signs.
    let rows = rt.block_on(async {
        let s = notarius_signer::storage::Store::connect(&cfg.storage.backend, &cfg.storage.db_url)
            .await
            .unwrap();
        let n = notarius_signer::keys::reencrypt_all(&s, &p, "newalias")
            .await
            .unwrap();
        let rows = s.all().await.unwrap();
        s.close().await;
        assert_eq!(n, rows.len());
        rows
    });
    assert!(rows.iter().all(|r| r.passphrase_alias == "newalias"));
    let mut cfg2 = cfg.clone();
    cfg2.storage.default_alias = "newalias".into();
    let srv = InProcess::start(&cfg2, passphrases(&[("newalias", "new-passphrase")]));
    let mut c = clients(&pki, srv.addr, "client", &rt);
    for (alg, id, public) in &made {
        let s = sign(&mut c, &rt, id, b"new alias").unwrap();
        assert!(verify(alg, public, b"new alias", &s.content));
    }

    // Delete: gone for GetKeyInfo and Sign; deleting again succeeds (as in Notary).
    let (_, id, _) = &made[0];
    rt.block_on(c.km.delete_key(proto::KeyId { id: id.clone() }))
        .unwrap();
    rt.block_on(c.km.delete_key(proto::KeyId { id: id.clone() }))
        .unwrap();
    let e = rt
        .block_on(c.km.get_key_info(proto::KeyId { id: id.clone() }))
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::NotFound, format!("key {id} not found").as_str())
    );
    assert_eq!(
        sign(&mut c, &rt, id, b"x").unwrap_err().code(),
        Code::NotFound
    );
}

#[test]
fn api_on_sqlite() {
    suite(Backend::Sqlite);
}

#[test]
fn api_on_postgres() {
    suite(Backend::Postgres);
}

#[test]
fn api_on_mysql() {
    suite(Backend::MySql);
}

/// The memory store works without any alias or passphrase configured.
#[test]
fn memory_store_needs_no_passphrase() {
    let pki = Pki::new();
    let cfg = pki.config(None);
    let srv = InProcess::start(&cfg, passphrases(&[]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut c = clients(&pki, srv.addr, "client", &rt);
    let k = create(&mut c, &rt, "ed25519", "g", "snapshot");
    let s = sign(&mut c, &rt, &key_id(&k), b"m").unwrap();
    assert!(verify("ed25519", &k.public_key, b"m", &s.content));
}
