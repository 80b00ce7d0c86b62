//! `init --rootkey/--rootcert` and `key rotate -k/-l` against the real notary-server, each
//! operation done by `notarius` and by the real `notary` on twin repositories (same keys, same
//! starting trust directory) and the results read back by `notary` from a fresh trust dir.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use notarius_testpeer::{Peer, client, notary, require_peer, text};

fn notarius(trust: &Path, args: &[&str], peer: &Peer) -> Output {
    client(env!("CARGO_BIN_EXE_notarius"), trust, args, Some(peer))
}

/// `program` on `trust` with the test passphrases, `env` overriding them, `stdin` as input.
fn run(
    program: &str,
    trust: &Path,
    args: &[&str],
    peer: &Peer,
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    use std::io::Write;
    let mut c = Command::new(program);
    c.arg("-d")
        .arg(trust)
        .arg("-s")
        .arg(&peer.url)
        .arg("--tlscacert")
        .arg(peer.ca());
    c.args(args)
        .env("NOTARY_ROOT_PASSPHRASE", "ourrootpass")
        .env("NOTARY_TARGETS_PASSPHRASE", "ourtargetspass")
        .env("NOTARY_SNAPSHOT_PASSPHRASE", "oursnapshotpass")
        .env("HOME", trust)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    // A command that exits before reading its input is not an error here.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// Environment variables a case sets.
type Env = Vec<(&'static str, &'static str)>;

const NOTARIUS: &str = env!("CARGO_BIN_EXE_notarius");

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut c = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is needed to make test certificates");
    c.stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or_default())
        .unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
    o.stdout
}

/// Key files for the tests: encrypted root keys written by `notarius key generate -o` (the
/// format `notary key generate -o` writes), a plain PKCS#8 key, and certificates.
struct Keys {
    dir: tempfile::TempDir,
    /// Key IDs of k1, k2, k3 as `key generate` printed them.
    ids: BTreeMap<String, String>,
}

impl Keys {
    fn new(peer: &Peer) -> Keys {
        let dir = tempfile::tempdir().unwrap();
        let mut ids = BTreeMap::new();
        for name in ["k1", "k2", "k3"] {
            let prefix = dir.path().join(name);
            let out = ok(
                notarius(
                    dir.path(),
                    &[
                        "key",
                        "generate",
                        "ecdsa",
                        "-r",
                        "root",
                        "-o",
                        prefix.to_str().unwrap(),
                    ],
                    peer,
                ),
                "key generate -o",
            );
            let id = out.trim().rsplit(' ').next().unwrap().to_owned();
            ids.insert(name.to_owned(), id);
        }
        let plain = openssl(
            &["ecparam", "-genkey", "-name", "prime256v1", "-noout"],
            None,
        );
        let plain = openssl(&["pkcs8", "-topk8", "-nocrypt"], Some(&plain));
        std::fs::write(dir.path().join("plain.pem"), plain).unwrap();
        Keys { dir, ids }
    }

    /// Puts key `name` into the key store of `trust` as it is (a `-key.pem` file is a key
    /// store file).
    fn store(&self, trust: &Path, name: &str) {
        let dir = trust.join("private");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(
            self.path(&format!("{name}-key.pem")),
            dir.join(format!("{}.key", self.ids[name])),
        )
        .unwrap();
        Command::new("chmod")
            .arg("-R")
            .arg("go-rwx")
            .arg(trust)
            .status()
            .unwrap();
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    /// A leaf certificate for `gun` as Notary makes them, for the key in `key_file`
    /// (encrypted with the root passphrase, or plain).
    fn cert(&self, key_file: &str, gun: &str, name: &str) -> String {
        let pem = std::fs::read_to_string(key_file).unwrap();
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("role:") && !l.starts_with("path:"))
            .map(|l| format!("{l}\n"))
            .collect();
        let plain = if body.contains("ENCRYPTED") {
            openssl(
                &["pkcs8", "-passin", "pass:ourrootpass"],
                Some(body.as_bytes()),
            )
        } else {
            body.into_bytes()
        };
        let key = self.dir.path().join(format!("{name}.plainkey"));
        std::fs::write(&key, plain).unwrap();
        let out = self.path(&format!("{name}.crt"));
        openssl(
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                key.to_str().unwrap(),
                "-subj",
                &format!("/CN={gun}"),
                "-days",
                "3650",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-addext",
                "keyUsage=critical,digitalSignature",
                "-addext",
                "extendedKeyUsage=codeSigning",
                "-out",
                &out,
            ],
            None,
        );
        out
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in snapshot(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
    }
    Command::new("chmod")
        .arg("-R")
        .arg("go-rwx")
        .arg(to)
        .status()
        .unwrap();
}

/// The signed root.json of `gun` (`name` = `root` or `<v>.root`) as the server has it.
fn server_root(peer: &Peer, gun: &str, name: &str) -> serde_json::Value {
    let g = notarius_tuf::role::Gun::new(gun).unwrap();
    let tls = notarius_client::remote::TlsFiles {
        ca: Some(peer.ca()),
        ..Default::default()
    };
    let mut remote = notarius_client::remote::HttpRemote::new(&peer.url, &g, &tls).unwrap();
    use notarius_tuf::store::RemoteStore as _;
    serde_json::from_slice(&remote.get_sized(name, None).unwrap()).unwrap()
}

/// Canonical key IDs (the key inside the certificate) of a root's `role` keys.
fn role_keys(root: &serde_json::Value, role: &str) -> Vec<String> {
    let mut ids: Vec<String> = root["signed"]["roles"][role]["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| canonical(&root["signed"]["keys"][id.as_str().unwrap()]))
        .collect();
    ids.sort();
    ids
}

fn canonical(key: &serde_json::Value) -> String {
    let k: notarius_tuf::keys::PublicKey = serde_json::from_value(key.clone()).unwrap();
    k.canonical_id().to_owned()
}

/// Canonical IDs of the keys that signed `root`, looked up in `roots` (the versions that list
/// them).
fn signers(root: &serde_json::Value, roots: &[&serde_json::Value]) -> Vec<String> {
    let mut out: Vec<String> = root["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let id = s["keyid"].as_str().unwrap();
            let key = roots
                .iter()
                .find_map(|r| r["signed"]["keys"].get(id))
                .expect("signer listed in some root");
            canonical(key)
        })
        .collect();
    out.sort();
    out
}

/// Both tools, each on its own copy of one trust dir and its own GUN (`<base>-notary`,
/// `<base>-notarius`); stdout with the GUN replaced by `GUN` must be the same.
fn both(
    base: &Path,
    gun: &str,
    args: &[&str],
    peer: &Peer,
    env: &[(&str, &str)],
    stdin: &str,
) -> [(PathBuf, Output); 2] {
    ["notary", NOTARIUS].map(|prog| {
        let name = if prog == "notary" {
            "notary"
        } else {
            "notarius"
        };
        let dir = base.join(name);
        let g = format!("{gun}-{name}");
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "GUN" { g.as_str() } else { a })
            .collect();
        let o = run(prog, &dir, &args, peer, env, stdin);
        (dir, o)
    })
}

fn same_output(outs: &[(PathBuf, Output); 2], gun: &str) -> String {
    let norm = |o: &Output, name: &str| {
        String::from_utf8_lossy(&o.stdout).replace(&format!("{gun}-{name}"), "GUN")
    };
    let theirs = norm(&outs[0].1, "notary");
    let ours = norm(&outs[1].1, "notarius");
    assert_eq!(
        ours,
        theirs,
        "notary said:\n{}\nnotarius said:\n{}",
        text(&outs[0].1),
        text(&outs[1].1)
    );
    assert_eq!(
        outs[0].1.status.code(),
        outs[1].1.status.code(),
        "{}",
        text(&outs[1].1)
    );
    ours
}

/// A fresh trust dir per tool, both starting as `seed` (or empty).
fn twins(seed: Option<&Path>) -> tempfile::TempDir {
    let base = tempfile::tempdir().unwrap();
    for name in ["notary", "notarius"] {
        let d = base.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        if let Some(s) = seed {
            copy_dir(s, &d);
        }
    }
    base
}

#[test]
fn init_with_root_key_and_certificate_as_notary_does() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let keys = Keys::new(&peer);
    let k1 = keys.path("k1-key.pem");

    // --rootkey with -p: the imported key is the root key (under a new certificate).
    let base = twins(None);
    let outs = both(
        base.path(),
        "rk",
        &["init", "--rootkey", &k1, "-p", "GUN"],
        &peer,
        &[],
        "",
    );
    let out = same_output(&outs, "rk");
    assert_eq!(
        out,
        format!(
            "Root key found, using: {}\nAuto-publishing changes to GUN\nSuccessfully published changes for repository GUN\n",
            keys.ids["k1"]
        )
    );
    for name in ["notary", "notarius"] {
        let root = server_root(&peer, &format!("rk-{name}"), "root");
        assert_eq!(
            role_keys(&root, "root"),
            vec![keys.ids["k1"].clone()],
            "{name}"
        );
        // Stored under its ID, re-encrypted with the root passphrase.
        assert!(
            base.path()
                .join(name)
                .join(format!("private/{}.key", keys.ids["k1"]))
                .is_file()
        );
        let fresh = tempfile::tempdir().unwrap();
        ok(
            notary(fresh.path(), &["list", &format!("rk-{name}")], Some(&peer)),
            "notary reads it",
        );
    }

    // --rootkey and --rootcert, without -p, in a trust dir that already has another root key
    // (listed first or not, the chosen one is used); the later publish uses the certificate.
    let seed = tempfile::tempdir().unwrap();
    keys.store(seed.path(), "k2");
    let base = twins(Some(seed.path()));
    let certs: Vec<String> = ["notary", "notarius"]
        .iter()
        .map(|n| keys.cert(&k1, &format!("rc-{n}"), &format!("rc-{n}")))
        .collect();
    for (i, name) in ["notary", "notarius"].iter().enumerate() {
        let prog = if *name == "notary" {
            "notary"
        } else {
            NOTARIUS
        };
        let dir = base.path().join(name);
        let g = format!("rc-{name}");
        let o = run(
            prog,
            &dir,
            &["init", "--rootkey", &k1, "--rootcert", &certs[i], &g],
            &peer,
            &[],
            "",
        );
        assert_eq!(
            ok(o, "init --rootcert"),
            format!("Root key found, using: {}\n", keys.ids["k1"])
        );
        ok(run(prog, &dir, &["publish", &g], &peer, &[], ""), "publish");
        let root = server_root(&peer, &g, "root");
        let id = root["signed"]["roles"]["root"]["keyids"][0]
            .as_str()
            .unwrap();
        let listed: notarius_tuf::keys::PublicKey =
            serde_json::from_value(root["signed"]["keys"][id].clone()).unwrap();
        let listed = listed.public().to_vec();
        assert_eq!(
            listed,
            std::fs::read(&certs[i]).unwrap(),
            "{name}: root.json lists the given certificate"
        );
        assert_eq!(role_keys(&root, "root"), vec![keys.ids["k1"].clone()]);
        let fresh = tempfile::tempdir().unwrap();
        ok(
            notary(fresh.path(), &["list", &g], Some(&peer)),
            "notary reads it",
        );
    }

    // --rootcert alone finds its key in the store (k2 here).
    let base = twins(Some(seed.path()));
    for name in ["notary", "notarius"] {
        let prog = if name == "notary" { "notary" } else { NOTARIUS };
        let g = format!("rc2-{name}");
        let cert = keys.cert(&keys.path("k2-key.pem"), &g, &g);
        let out = ok(
            run(
                prog,
                &base.path().join(name),
                &["init", "--rootcert", &cert, "-p", &g],
                &peer,
                &[],
                "",
            ),
            "init --rootcert -p",
        );
        assert!(
            out.starts_with(&format!("Root key found, using: {}\n", keys.ids["k2"])),
            "{out}"
        );
        assert_eq!(
            role_keys(&server_root(&peer, &g, "root"), "root"),
            vec![keys.ids["k2"].clone()]
        );
    }
}

/// Refusals print what notary prints, and leave notarius's trust dir and the server untouched.
#[test]
fn init_refusals_change_nothing() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let keys = Keys::new(&peer);
    let seed = tempfile::tempdir().unwrap();
    keys.store(seed.path(), "k2");
    let k1 = keys.path("k1-key.pem");
    let other = keys.cert(&keys.path("plain.pem"), "bad-notarius", "other");
    let junk = keys.path("junk.pem");
    std::fs::write(&junk, "not pem\n").unwrap();
    let missing = keys.path("missing.pem");
    let plain = keys.path("plain.pem");
    let cases: Vec<(Vec<&str>, Env, &str)> = vec![
        (
            vec!["init", "--rootkey", &plain, "-p", "GUN"],
            vec![],
            "only encrypted root keys may be imported",
        ),
        (
            vec!["init", "--rootkey", &missing, "-p", "GUN"],
            vec![],
            "Error reading input root key file: open ",
        ),
        (
            vec!["init", "--rootkey", &junk, "GUN"],
            vec![],
            "no valid private key found",
        ),
        (
            vec!["init", "--rootkey", &k1, "-p", "GUN"],
            vec![("NOTARY_ROOT_PASSPHRASE", "wrongpass")],
            "password invalid, operation has failed.",
        ),
        (
            vec!["init", "--rootkey", &k1, "--rootcert", &other, "-p", "GUN"],
            vec![],
            "could not obtain public key from IDs: private key is nil or does not match public key",
        ),
        (
            vec!["init", "--rootcert", &other, "-p", "GUN"],
            vec![],
            "error initializing repository with certificate: cannot find matching private key id",
        ),
        (
            vec!["init", "--rootkey", &k1, "--rootcert", &junk, "GUN"],
            vec![],
            "the provided file does not contain a valid PEM certificate <nil>",
        ),
        (
            vec!["init", "--rootkey", &k1, "--rootcert", &missing, "GUN"],
            vec![],
            "error reading certificate file: open ",
        ),
    ];
    for (args, env, message) in cases {
        let base = twins(Some(seed.path()));
        let before = snapshot(&base.path().join("notarius"));
        let outs = both(base.path(), "bad", &args, &peer, &env, "");
        let out = same_output(&outs, "bad");
        assert!(!outs[1].1.status.success());
        assert!(
            out.contains(&format!("* fatal: {message}")),
            "{args:?}: {out}"
        );
        assert_eq!(
            snapshot(&base.path().join("notarius")),
            before,
            "{args:?} changed the trust dir"
        );
        let fresh = tempfile::tempdir().unwrap();
        let o = notary(fresh.path(), &["list", "bad-notarius"], Some(&peer));
        assert!(
            !o.status.success() && text(&o).contains("does not have trust data"),
            "{args:?}: {}",
            text(&o)
        );
    }
}

#[test]
fn rotate_to_given_keys_as_notary_does() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let keys = Keys::new(&peer);
    let seed = tempfile::tempdir().unwrap();
    keys.store(seed.path(), "k1");
    let base = twins(Some(seed.path()));
    same_output(
        &both(base.path(), "rot", &["init", "-p", "GUN"], &peer, &[], ""),
        "rot",
    );

    // root to k2 (an encrypted key file), then targets and snapshot to one plain key each.
    let out = same_output(
        &both(
            base.path(),
            "rot",
            &[
                "key",
                "rotate",
                "GUN",
                "root",
                "-k",
                &keys.path("k2-key.pem"),
            ],
            &peer,
            &[],
            "yes\n",
        ),
        "rot",
    );
    assert!(
        out.ends_with("Successfully rotated root key for repository GUN\n"),
        "{out}"
    );
    same_output(
        &both(
            base.path(),
            "rot",
            &[
                "key",
                "rotate",
                "GUN",
                "targets",
                "--key",
                &keys.path("plain.pem"),
            ],
            &peer,
            &[],
            "",
        ),
        "rot",
    );
    for name in ["notary", "notarius"] {
        let g = format!("rot-{name}");
        let root = server_root(&peer, &g, "root");
        assert_eq!(
            role_keys(&root, "root"),
            vec![keys.ids["k2"].clone()],
            "{name}"
        );
        let v1 = server_root(&peer, &g, "1.root");
        // Version 2 is signed by the old and the new root key.
        let v2 = server_root(&peer, &g, "2.root");
        let mut both_keys = vec![keys.ids["k1"].clone(), keys.ids["k2"].clone()];
        both_keys.sort();
        assert_eq!(signers(&v2, &[&v1, &v2]), both_keys, "{name}");
        let fresh = tempfile::tempdir().unwrap();
        ok(
            notary(fresh.path(), &["list", &g], Some(&peer)),
            "notary reads it",
        );
        // The trust dir can still publish with the new keys.
        ok(
            notary(
                &base.path().join(name),
                &["witness", "-p", &g, "targets"],
                Some(&peer),
            ),
            "notary publishes with the new keys",
        );
    }
    // The same keys are left in both trust dirs (the replaced targets key is deleted).
    let lists: Vec<String> = ["notary", "notarius"]
        .iter()
        .map(|n| {
            ok(
                notary(&base.path().join(n), &["key", "list"], Some(&peer)),
                "key list",
            )
            .replace(&format!("rot-{n}"), "GUN")
            .replace(n, "X")
        })
        .collect();
    let norm = |s: &str| {
        s.lines()
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        norm(&lists[1]).len(),
        norm(&lists[0]).len(),
        "{}\n{}",
        lists[0],
        lists[1]
    );
    assert!(lists[1].contains(&keys.ids["k2"]));

    // Refusals: nothing changes in notarius's trust dir or on the server.
    let junk = keys.path("junk.pem");
    std::fs::write(&junk, "junk\n").unwrap();
    let cases: Vec<(Vec<String>, Env, String)> = vec![
        (
            vec!["root".into(), "-k".into(), keys.path("plain.pem")],
            vec![],
            "only encrypted root keys may be imported".into(),
        ),
        (
            vec!["snapshot".into(), "-k".into(), keys.path("missing.pem")],
            vec![],
            "Error reading input root key file: open ".into(),
        ),
        (
            vec!["root".into(), "-k".into(), keys.path("k3-key.pem")],
            vec![("NOTARY_ROOT_PASSPHRASE", "wrongpass")],
            "password invalid, operation has failed.".into(),
        ),
        (
            vec!["targets".into(), "-k".into(), keys.path("k1-key.pem")],
            vec![],
            "Error importing key: key with same ID already exists for role: root".into(),
        ),
        (
            vec!["targets".into(), "-k".into(), junk.clone()],
            vec![],
            "no valid private key found".into(),
        ),
    ];
    for (rest, env, message) in cases {
        let mut args = vec!["key", "rotate", "GUN"];
        args.extend(rest.iter().map(String::as_str));
        let before = snapshot(&base.path().join("notarius"));
        let root_before = server_root(&peer, "rot-notarius", "root");
        let out = same_output(
            &both(base.path(), "rot", &args, &peer, &env, "yes\n"),
            "rot",
        );
        assert!(
            out.contains(&format!("* fatal: {message}")),
            "{args:?}: {out}"
        );
        assert_eq!(
            snapshot(&base.path().join("notarius")),
            before,
            "{args:?} changed the trust dir"
        );
        assert_eq!(server_root(&peer, "rot-notarius", "root"), root_before);
    }
    // A key for a role notary does not let the client manage: refused after the question, and
    // the key is not left in the store (notary leaves it; QUIRKS).
    let before = snapshot(&base.path().join("notarius"));
    let o = run(
        NOTARIUS,
        &base.path().join("notarius"),
        &[
            "key",
            "rotate",
            "rot-notarius",
            "timestamp",
            "-k",
            &keys.path("k3-key.pem"),
        ],
        &peer,
        &[],
        "",
    );
    assert!(
        text(&o).contains("* fatal: notary does not permit the client managing the timestamp key"),
        "{}",
        text(&o)
    );
    assert_eq!(snapshot(&base.path().join("notarius")), before);
}

#[test]
fn legacy_rotation_signs_with_old_root_keys_as_notary_does() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let keys = Keys::new(&peer);
    let seed = tempfile::tempdir().unwrap();
    keys.store(seed.path(), "k1");
    let base = twins(Some(seed.path()));
    same_output(
        &both(base.path(), "leg", &["init", "-p", "GUN"], &peer, &[], ""),
        "leg",
    );
    // At version 1 there is no older version: -l changes nothing, for notary as for us.
    same_output(
        &both(
            base.path(),
            "leg",
            &[
                "key",
                "rotate",
                "GUN",
                "root",
                "-k",
                &keys.path("k2-key.pem"),
                "-l",
                "5",
            ],
            &peer,
            &[],
            "yes\n",
        ),
        "leg",
    );
    same_output(
        &both(
            base.path(),
            "leg",
            &[
                "key",
                "rotate",
                "GUN",
                "root",
                "-k",
                &keys.path("k3-key.pem"),
                "--legacy",
                "1",
            ],
            &peer,
            &[],
            "yes\n",
        ),
        "leg",
    );
    let ids = |names: &[&str]| {
        let mut v: Vec<String> = names.iter().map(|n| keys.ids[*n].clone()).collect();
        v.sort();
        v
    };
    for name in ["notary", "notarius"] {
        let g = format!("leg-{name}");
        let v: Vec<serde_json::Value> = (1..=3)
            .map(|i| server_root(&peer, &g, &format!("{i}.root")))
            .collect();
        let all: Vec<&serde_json::Value> = v.iter().collect();
        assert_eq!(signers(&v[1], &all), ids(&["k1", "k2"]), "{name}: v2");
        // v3: the old (k2) and new (k3) root keys, and k1 from version 1 for old clients.
        assert_eq!(signers(&v[2], &all), ids(&["k1", "k2", "k3"]), "{name}: v3");
        let fresh = tempfile::tempdir().unwrap();
        ok(
            notary(fresh.path(), &["list", &g], Some(&peer)),
            "notary reads it",
        );
    }
    // -l on a targets rotation re-signs root with the old root keys too (Notary's publish).
    same_output(
        &both(
            base.path(),
            "leg",
            &["key", "rotate", "GUN", "targets", "-l", "-1"],
            &peer,
            &[],
            "",
        ),
        "leg",
    );
    for name in ["notary", "notarius"] {
        let g = format!("leg-{name}");
        let v: Vec<serde_json::Value> = (1..=4)
            .map(|i| server_root(&peer, &g, &format!("{i}.root")))
            .collect();
        let all: Vec<&serde_json::Value> = v.iter().collect();
        assert_eq!(signers(&v[3], &all), ids(&["k1", "k2", "k3"]), "{name}: v4");
    }
}
