//! Our update loop, over HTTPS, reads repositories the real `notary` CLI published to the real
//! `notary-server` (its local trust service signing snapshot and timestamp), over verified TLS.

use notarius_client::cache::FileCache;
use notarius_client::remote::{HttpRemote, TlsFiles};
use notarius_testpeer::{Peer, notary, require_peer, text};
use notarius_tuf::role::Gun;
use notarius_tuf::store::{MetadataCache, RemoteStore};
use notarius_tuf::update::{UpdateOptions, load_tuf_repo};

#[test]
fn the_update_loop_reads_what_notary_published() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let publisher = tempfile::tempdir().unwrap();
    let gun_s = "example.com/read-by-notarius";
    let content = publisher.path().join("payload");
    std::fs::write(&content, b"hello from notary").unwrap();
    for args in [
        vec!["init", gun_s],
        vec!["add", gun_s, "v1&<tag>", content.to_str().unwrap()],
        vec!["publish", gun_s],
    ] {
        let o = notary(publisher.path(), &args, Some(&peer));
        assert!(o.status.success(), "notary {args:?}: {}", text(&o));
    }

    let gun = Gun::new(gun_s).unwrap();
    let tls = TlsFiles {
        ca: Some(peer.ca()),
        ..Default::default()
    };
    let mut remote = HttpRemote::new(&peer.url, &gun, &tls).unwrap();
    remote.ping().unwrap();
    let reader = tempfile::tempdir().unwrap();
    let mut cache = FileCache::new(reader.path(), &gun);
    let opts = UpdateOptions {
        gun: gun_s.into(),
        trust_pinning: Default::default(),
        always_check_initialized: false,
        now: chrono::Utc::now(),
    };
    let u = load_tuf_repo(&opts, &mut remote, &mut cache).unwrap();
    let t = &u.repo.targets["targets"].signed.targets;
    let meta = &t["v1&<tag>"];
    assert_eq!(meta.length, 17);
    assert_eq!(
        hex::encode(meta.sha256().unwrap()),
        hex::encode(notarius_tuf::metadata::sha256(b"hello from notary"))
    );
    // The cache holds exactly what the server served.
    let served = remote.get_sized("targets", None).unwrap();
    assert_eq!(cache.get_sized("targets", None).unwrap(), served);

    // A repository that does not exist is reported in Notary's words.
    let missing = Gun::new("example.com/never-initialised").unwrap();
    let mut r2 = HttpRemote::new(&peer.url, &missing, &tls).unwrap();
    let e = load_tuf_repo(
        &UpdateOptions {
            gun: missing.to_string(),
            ..opts
        },
        &mut r2,
        &mut FileCache::new(reader.path(), &missing),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} does not have trust data for example.com/never-initialised",
            r2.location()
        )
    );
}

#[test]
fn notary_reads_what_we_published() {
    use notarius_crypto::keystore::FileKeyStore;
    use notarius_crypto::passphrase::ConstantRetriever;
    use notarius_crypto::service::CryptoService;
    use notarius_tuf::metadata::FileMeta;

    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun_s = "example.com/published-by-notarius";
    let gun = Gun::new(gun_s).unwrap();
    let tls = TlsFiles {
        ca: Some(peer.ca()),
        ..Default::default()
    };
    let remote = HttpRemote::new(&peer.url, &gun, &tls).unwrap();
    let trust = tempfile::tempdir().unwrap();
    let mut cs = CryptoService::new(
        vec![Box::new(FileKeyStore::open(trust.path()).unwrap())],
        Box::new(ConstantRetriever(zeroize::Zeroizing::new(
            "ourpassphrase".into(),
        ))),
    );
    let targets = [
        ("latest".to_owned(), FileMeta::from_bytes(b"image manifest")),
        (
            "t&<x> \u{2028} caf\u{e9} \u{1F600}".to_owned(),
            FileMeta::from_bytes(b"odd"),
        ),
    ]
    .into();
    // As `init -p` does: the server makes its timestamp key while ours are made, and the
    // publish below takes that answer (notary-server refuses a root without its key).
    remote.prefetch_key("timestamp");
    let snapshot_key = remote.get_key("snapshot").unwrap();
    notarius_client::publish::init_and_publish(
        &remote,
        &gun,
        &mut cs,
        &targets,
        chrono::Utc::now(),
    )
    .unwrap();
    let timestamp_key = remote.get_key("timestamp").unwrap();
    assert_ne!(
        timestamp_key, snapshot_key,
        "the snapshot key was asked for directly, not given the pending timestamp answer"
    );

    // The real notary client, starting from nothing, verifies and lists it.
    let reader = tempfile::tempdir().unwrap();
    let list = notary(reader.path(), &["list", gun_s], Some(&peer));
    let out = text(&list);
    assert!(list.status.success(), "{out}");
    assert!(out.contains("latest") && out.contains("t&<x>"), "{out}");
    let lookup = notary(reader.path(), &["lookup", gun_s, "latest"], Some(&peer));
    let out = text(&lookup);
    assert!(
        out.contains(&hex::encode(notarius_tuf::metadata::sha256(
            b"image manifest"
        ))),
        "{out}"
    );
    // And its key list of the publisher's trust dir shows our keys in Notary's layout.
    let keys = text(&notary(trust.path(), &["key", "list"], None));
    assert!(
        keys.contains("root") && keys.contains("targets") && keys.contains("snapshot"),
        "{keys}"
    );
}

/// A target change staged in Notary's changelist format, published by us into a repository the
/// real `notary` created in the same trust directory, with the keys it made.
#[test]
fn we_publish_into_a_repository_notary_created_with_its_own_keys() {
    use notarius_client::changelist::{
        ACTION_CREATE, Change, FileChangelist, SCOPE_TARGETS, TYPE_TARGET,
    };
    use notarius_crypto::keystore::FileKeyStore;
    use notarius_crypto::passphrase::{ConstantRetriever, EnvRetriever};
    use notarius_crypto::service::CryptoService;

    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun_s = "example.com/shared-trust-dir";
    let o = notary(trust.path(), &["init", "-p", gun_s], Some(&peer));
    assert!(o.status.success(), "{}", text(&o));

    let gun = Gun::new(gun_s).unwrap();
    let cl = FileChangelist::new(trust.path(), &gun);
    let meta = notarius_tuf::metadata::FileMeta::from_bytes(b"from notarius");
    cl.add(&Change {
        action: ACTION_CREATE.into(),
        role: SCOPE_TARGETS.into(),
        change_type: TYPE_TARGET.into(),
        path: "ours".into(),
        data: Some(serde_json::to_vec(&meta).unwrap()),
    })
    .unwrap();
    // `notary status` reads our change file.
    let st = text(&notary(trust.path(), &["status", gun_s], None));
    assert!(st.contains("ours"), "{st}");

    // The passphrases notary's keys were made with (see notarius_testpeer::notary).
    let env = |k: &str| match k {
        "NOTARY_ROOT_PASSPHRASE" => Some("ourrootpass".to_owned()),
        "NOTARY_TARGETS_PASSPHRASE" => Some("ourtargetspass".to_owned()),
        "NOTARY_SNAPSHOT_PASSPHRASE" => Some("oursnapshotpass".to_owned()),
        _ => None,
    };
    let retriever: EnvRetriever<ConstantRetriever> = EnvRetriever::new(Box::new(env), None);
    let mut cs = CryptoService::new(
        vec![Box::new(FileKeyStore::open(trust.path()).unwrap())],
        Box::new(retriever),
    );
    let mut remote = HttpRemote::new(
        &peer.url,
        &gun,
        &TlsFiles {
            ca: Some(peer.ca()),
            ..Default::default()
        },
    )
    .unwrap();
    let mut cache = FileCache::new(trust.path(), &gun);
    let (changes, bad) = cl.list().unwrap();
    assert!(bad.is_empty());
    let applied = notarius_client::publish::publish(
        &mut remote,
        &mut cache,
        &gun,
        &mut cs,
        &changes,
        None,
        Default::default(),
        chrono::Utc::now(),
    )
    .unwrap();
    cl.remove_files(&applied).unwrap();

    let reader = tempfile::tempdir().unwrap();
    let out = text(&notary(reader.path(), &["list", gun_s], Some(&peer)));
    assert!(
        out.contains("ours") && out.contains(&hex::encode(meta.sha256().unwrap())),
        "{out}"
    );
    let st = text(&notary(trust.path(), &["status", gun_s], None));
    assert!(st.contains("No unpublished changes"), "{st}");
}
