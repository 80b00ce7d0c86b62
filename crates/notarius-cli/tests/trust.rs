//! `notarius trust` against a real registry (Debian's docker-registry, filled by umoci and
//! skopeo) and notarius-server, and agreement with the real docker CLI on the same
//! repository: what one signs, the other reads, re-signs and revokes; `inspect` prints the
//! same bytes. Every process started here is stopped here.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use common::server::Server;
use notarius_testpeer::{ci, have, text};

const NOTARIUS: &str = env!("CARGO_BIN_EXE_notarius");

/// Skips (or, in CI, fails) without the tools.
fn require(tools: &[&str]) -> bool {
    let missing: Vec<&&str> = tools.iter().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{missing:?} needed (Debian docker-registry, skopeo, umoci; the docker CLI)");
    assert!(!ci(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

/// A docker-registry on a free loopback port, plain HTTP, stopped when dropped.
struct Registry {
    child: Child,
    host: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Registry {
    fn start() -> Registry {
        Registry::start_with("", "")
    }

    /// With `tls` and `auth` lines added to the `http` section and the top level.
    fn start_with(http_extra: &str, top_extra: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let cfg = dir.path().join("registry.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: \"127.0.0.1:{port}\"{http_extra}}}\n{top_extra}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        Registry {
            child,
            host: format!("127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Builds a one-file image with umoci and pushes it as `repo:tag`; returns the manifest
    /// digest skopeo reports.
    fn push(&self, work: &Path, repo: &str, tag: &str, content: &str) -> String {
        self.push_as(work, repo, tag, content, &[])
    }

    fn push_as(&self, work: &Path, repo: &str, tag: &str, content: &str, extra: &[&str]) -> String {
        let layout = work.join(format!("layout-{}", content.len()));
        let run = |c: &mut Command| {
            let o = c.output().unwrap();
            assert!(o.status.success(), "{c:?}: {}", text(&o));
        };
        if !layout.exists() {
            run(Command::new("umoci")
                .arg("init")
                .arg("--layout")
                .arg(&layout));
            run(Command::new("umoci")
                .args(["new", "--image"])
                .arg(format!("{}:img", layout.display())));
        }
        let file = work.join("content.txt");
        std::fs::write(&file, content).unwrap();
        let image = format!("{}:img", layout.display());
        run(Command::new("umoci")
            .args(["insert", "--image", &image])
            .arg(&file)
            .arg("/content.txt"));
        run(Command::new("umoci").args([
            "config",
            "--image",
            &image,
            "--os",
            "linux",
            "--architecture",
            "amd64",
        ]));
        let digest_file = work.join("digest");
        run(Command::new("skopeo")
            .args([
                "copy",
                "--format",
                "v2s2",
                "--dest-tls-verify=false",
                "--digestfile",
            ])
            .arg(&digest_file)
            .args(extra)
            .arg(format!("oci:{image}"))
            .arg(format!("docker://{}/{repo}:{tag}", self.host)));
        std::fs::read_to_string(digest_file)
            .unwrap()
            .trim()
            .to_owned()
    }
}

/// `$DOCKER_CONFIG` set up for the trust server and the registry user `user`.
struct DockerConfig {
    dir: tempfile::TempDir,
    server: String,
}

impl DockerConfig {
    /// Points this config at `srv` (a restarted server listens on a new port).
    fn point_at(&mut self, srv: &Server) {
        let tls = self
            .dir
            .path()
            .join("tls")
            .join(srv.url.trim_start_matches("https://"));
        std::fs::create_dir_all(&tls).unwrap();
        std::fs::copy(&srv.ca, tls.join("ca.crt")).unwrap();
        self.server = srv.url.clone();
    }
}

impl DockerConfig {
    fn new(srv: &Server, registry: &Registry, user: &str) -> DockerConfig {
        DockerConfig::for_server(&srv.url, &srv.ca, registry, user)
    }

    /// For any trust server (the real notary-server too), given its URL and CA.
    fn for_server(url: &str, ca: &Path, registry: &Registry, user: &str) -> DockerConfig {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let host = url.trim_start_matches("https://");
        let tls = dir.path().join("tls").join(host);
        std::fs::create_dir_all(&tls).unwrap();
        std::fs::copy(ca, tls.join("ca.crt")).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:x"));
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
        )
        .unwrap();
        DockerConfig {
            dir,
            server: url.to_owned(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, program: &str, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write as _;
        let mut c = Command::new(program);
        c.args(args)
            .env("DOCKER_CONFIG", self.dir.path())
            .env("DOCKER_CONTENT_TRUST_SERVER", &self.server)
            .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "root-passphrase")
            .env(
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
                "repo-passphrase",
            )
            .env("HOME", self.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    fn ours(&self, args: &[&str]) -> Output {
        let mut full = vec!["trust"];
        full.extend_from_slice(args);
        self.run(NOTARIUS, &full, b"")
    }

    fn docker(&self, args: &[&str]) -> Output {
        let mut full = vec!["trust"];
        full.extend_from_slice(args);
        self.run("docker", &full, b"")
    }
}

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir`, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sign_inspect_and_verify_agree_with_the_docker_cli() {
    if !require(&["docker-registry", "skopeo", "umoci", "docker"]) {
        return;
    }
    let registry = Registry::start();
    let srv = Server::start();
    let work = tempfile::tempdir().unwrap();
    let repo = "test/img";
    let digest = registry.push(work.path(), repo, "v1", "one");
    let image = format!("{}/{repo}", registry.host);
    let v1 = format!("{image}:v1");
    let alice = DockerConfig::new(&srv, &registry, "alice");

    // A first sign creates the repository, with the registry user as its signer.
    let out = ok(alice.ours(&["sign", &v1]), "trust sign");
    assert_eq!(
        out,
        format!(
            "Created signer: alice\nFinished initializing signed repository for {v1}\nSigning and pushing trust metadata for {v1}\nSuccessfully signed {v1}\n"
        )
    );
    // The docker CLI reads it, and prints what we print, byte for byte.
    for args in [
        vec!["inspect", image.as_str()],
        vec!["inspect", "--pretty", image.as_str()],
        vec!["inspect", v1.as_str()],
    ] {
        let theirs = ok(alice.docker(&args), "docker trust inspect");
        let ours = ok(alice.ours(&args), "trust inspect");
        assert_eq!(ours, theirs, "{args:?}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(alice.ours(&["inspect", &image]), "inspect")).unwrap();
    assert_eq!(
        json[0]["SignedTags"][0]["Digest"],
        digest.trim_start_matches("sha256:")
    );
    assert_eq!(json[0]["SignedTags"][0]["Signers"][0], "alice");
    // verify prints the reference to pull by.
    assert_eq!(
        ok(alice.ours(&["verify", &v1]), "trust verify"),
        format!("{image}@{digest}\n")
    );
    let j: serde_json::Value = serde_json::from_str(&ok(
        alice.ours(&["verify", "--format", "json", "--signer", "alice", &v1]),
        "verify json",
    ))
    .unwrap();
    assert_eq!(j["reference"], format!("{image}@{digest}"));

    // The docker CLI re-signs our tag, and a second publisher (bob, added by docker) too.
    let out = ok(alice.docker(&["sign", &v1]), "docker trust sign");
    assert!(out.contains("Existing signatures for tag v1"), "{out}");
    let bob_dir = tempfile::tempdir().unwrap();
    let bob_key = ok(
        alice.docker(&[
            "key",
            "generate",
            "bob",
            "--dir",
            bob_dir.path().to_str().unwrap(),
        ]),
        "docker trust key generate",
    );
    assert!(bob_key.contains("bob.pub"), "{bob_key}");
    let pubkey = bob_dir.path().join("bob.pub");
    ok(
        alice.docker(&[
            "signer",
            "add",
            "--key",
            pubkey.to_str().unwrap(),
            "bob",
            &image,
        ]),
        "docker trust signer add",
    );
    ok(alice.ours(&["sign", &v1]), "our sign with bob's key too");
    let pretty = ok(alice.ours(&["inspect", "--pretty", &image]), "inspect");
    assert!(pretty.contains("alice, bob"), "{pretty}");
    assert_eq!(
        pretty,
        ok(
            alice.docker(&["inspect", "--pretty", &image]),
            "docker inspect"
        )
    );
    assert!(
        ok(
            alice.ours(&["verify", "--signer", "bob", &v1]),
            "verify --signer bob"
        )
        .contains(&digest)
    );

    // Our signer add, seen by docker; our signer remove (not the last signer) removes it.
    let carol_dir = tempfile::tempdir().unwrap();
    let out = ok(
        alice.ours(&[
            "key",
            "generate",
            "carol",
            "--dir",
            carol_dir.path().to_str().unwrap(),
        ]),
        "trust key generate",
    );
    assert!(out.starts_with("Generating key for carol...\n"), "{out}");
    let carol = carol_dir.path().join("carol.pub");
    ok(
        alice.ours(&[
            "signer",
            "add",
            "--key",
            carol.to_str().unwrap(),
            "carol",
            &image,
        ]),
        "signer add",
    );
    assert!(
        ok(
            alice.docker(&["inspect", "--pretty", &image]),
            "docker inspect"
        )
        .contains("carol")
    );
    ok(
        alice.ours(&["signer", "remove", "carol", &image]),
        "signer remove",
    );
    assert!(
        !ok(
            alice.docker(&["inspect", "--pretty", &image]),
            "docker inspect"
        )
        .contains("carol")
    );

    // Revoked by docker: verify says there is no trust data; the tag is still in the registry.
    ok(
        alice.docker(&["revoke", "--yes", &v1]),
        "docker trust revoke",
    );
    let o = alice.ours(&["verify", &v1]);
    assert!(!o.status.success());
    assert_eq!(stderr(&o), "No valid trust data for v1\n");

    // We sign again and revoke it ourselves; docker sees it gone.
    ok(alice.ours(&["sign", "--local", &v1]), "sign again");
    let out = ok(alice.ours(&["revoke", "--yes", &v1]), "trust revoke");
    assert_eq!(out, format!("Successfully deleted signature for {v1}\n"));
    let theirs = alice.docker(&["inspect", &v1]);
    assert!(
        String::from_utf8_lossy(&theirs.stdout).contains("\"SignedTags\": []"),
        "{}",
        text(&theirs)
    );
}

#[test]
fn verify_refuses_unsigned_moved_and_missing_tags_and_sign_changes_nothing_on_failure() {
    if !require(&["docker-registry", "skopeo", "umoci"]) {
        return;
    }
    let registry = Registry::start();
    let srv = Server::start();
    let work = tempfile::tempdir().unwrap();
    let repo = "test/moves";
    let first = registry.push(work.path(), repo, "v1", "first");
    let image = format!("{}/{repo}", registry.host);
    let v1 = format!("{image}:v1");
    let me = DockerConfig::new(&srv, &registry, "alice");
    ok(me.ours(&["sign", &v1]), "sign");

    // A tag pushed but never signed.
    registry.push(work.path(), repo, "v2", "second");
    let o = me.ours(&["verify", &format!("{image}:v2")]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "No valid trust data for v2\n");

    // v1 moved in the registry since it was signed.
    let moved = registry.push(work.path(), repo, "v1", "first, replaced");
    assert_ne!(moved, first);
    let o = me.ours(&["verify", &v1]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("has moved since it was signed") && e.contains(&first) && e.contains(&moved),
        "{e}"
    );

    // Signing a tag the registry does not have, or with the registry down, or against a
    // trust server whose CA is not configured: an error, and the trust dir as it was.
    let before = tree(me.path());
    let o = me.ours(&["sign", &format!("{image}:nope")]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not found in the registry"),
        "{}",
        text(&o)
    );
    assert!(tree(me.path()) == before, "a failed sign staged nothing");
    let gone = format!("127.0.0.1:{}/test/moves:v1", free_port());
    let o = me.ours(&["sign", "--local", &gone]);
    assert!(!o.status.success(), "{}", text(&o));
    let o = me.ours(&["verify", "--format", "yaml", &v1]);
    assert!(stderr(&o).contains("unknown --format"), "{}", text(&o));
    let stranger = DockerConfig::new(&srv, &registry, "bob");
    std::fs::remove_dir_all(stranger.path().join("tls")).unwrap();
    let before = tree(stranger.path());
    let o = stranger.ours(&["verify", &v1]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not trusted"), "{}", text(&o));
    assert!(tree(stranger.path()) == before);
    // A bad reference, in Docker's words.
    let o = me.ours(&["sign", "Upper/Case:v1"]);
    assert!(stderr(&o).contains("must be lowercase"), "{}", text(&o));
}

#[test]
fn a_signed_index_resolves_to_the_platform_asked_for() {
    if !require(&["docker-registry", "skopeo", "umoci", "curl"]) {
        return;
    }
    let registry = Registry::start();
    let srv = Server::start();
    let work = tempfile::tempdir().unwrap();
    let repo = "test/multi";
    let amd = registry.push(work.path(), repo, "amd64", "amd64 build");
    let arm = registry.push(work.path(), repo, "arm64", "arm64 build, longer");
    let size = |tag: &str| {
        let o = Command::new("curl")
            .args([
                "-sf",
                "-H",
                "Accept: application/vnd.docker.distribution.manifest.v2+json",
            ])
            .arg(format!(
                "http://{}/v2/{repo}/manifests/{tag}",
                registry.host
            ))
            .output()
            .unwrap();
        o.stdout.len()
    };
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"{amd}","size":{},"platform":{{"os":"linux","architecture":"amd64"}}}},{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"{arm}","size":{},"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#,
        size("amd64"),
        size("arm64")
    );
    let o = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.docker.distribution.manifest.list.v2+json",
            "--data-binary",
            &index,
        ])
        .arg(format!(
            "http://{}/v2/{repo}/manifests/latest",
            registry.host
        ))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let image = format!("{}/{repo}", registry.host);
    let me = DockerConfig::new(&srv, &registry, "alice");
    ok(
        me.ours(&["sign", &format!("{image}:latest")]),
        "sign the index",
    );
    let index_digest = format!(
        "sha256:{}",
        hex::encode(notarius_tuf::metadata::sha256(index.as_bytes()))
    );
    assert_eq!(
        ok(me.ours(&["verify", &format!("{image}:latest")]), "verify"),
        format!("{image}@{index_digest}\n")
    );
    assert_eq!(
        ok(
            me.ours(&[
                "verify",
                "--platform",
                "linux/arm64/v8",
                &format!("{image}:latest")
            ]),
            "verify arm64"
        ),
        format!("{image}@{arm}\n")
    );
    assert_eq!(
        ok(
            me.ours(&[
                "verify",
                "--platform",
                "linux/amd64",
                &format!("{image}:latest")
            ]),
            "verify amd64"
        ),
        format!("{image}@{amd}\n")
    );
    let o = me.ours(&[
        "verify",
        "--platform",
        "windows/amd64",
        &format!("{image}:latest"),
    ]);
    assert!(
        stderr(&o).contains("has no manifest for windows/amd64"),
        "{}",
        text(&o)
    );
}

#[test]
fn keys_load_encrypted_and_plain_and_refuse_open_files() {
    if !require(&["openssl"]) {
        return;
    }
    let cfg = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(NOTARIUS)
            .arg("trust")
            .args(args)
            .env("DOCKER_CONFIG", cfg.path())
            .env(
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
                "repo-passphrase",
            )
            .env("NOTARY_DELEGATION_PASSPHRASE", "key-passphrase")
            .output()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.pem");
    let other = dir.path().join("other.pem");
    let enc = dir.path().join("enc.pem");
    for f in [&plain, &other] {
        let o = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(f)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-v2prf",
            "hmacWithSHA1",
            "-passout",
            "pass:key-passphrase",
            "-in",
        ])
        .arg(&other)
        .arg("-out")
        .arg(&enc)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // openssl's default PRF (HMAC-SHA256) is not Notary's format: said as such.
    let sha256 = dir.path().join("sha256.pem");
    let o = Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:key-passphrase",
            "-in",
        ])
        .arg(&plain)
        .arg("-out")
        .arg(&sha256)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    use std::os::unix::fs::PermissionsExt as _;
    for f in [&plain, &enc] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let o = run(&["key", "load", plain.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("must not be readable or writable by others"),
        "{}",
        text(&o)
    );
    for f in [&plain, &enc] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::set_permissions(&sha256, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = run(&["key", "load", sha256.to_str().unwrap()]);
    assert!(stderr(&o).contains("only HMAC-SHA1"), "{}", text(&o));
    for (f, name) in [(&plain, "plainkey"), (&enc, "enckey")] {
        let out = ok(
            run(&["key", "load", "--name", name, f.to_str().unwrap()]),
            "key load",
        );
        assert!(out.contains("Successfully imported key from"), "{out}");
    }
    let keys: Vec<String> = std::fs::read_dir(cfg.path().join("trust/private"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|k| k.contains("role: plainkey")));
    assert!(keys.iter().any(|k| k.contains("role: enckey")));
    let o = run(&["key", "generate", "Bad"]);
    assert!(
        stderr(&o).contains("must start with lowercase"),
        "{}",
        text(&o)
    );
}

#[test]
fn many_tags_are_signed_in_one_command() {
    if !require(&["docker-registry", "skopeo", "umoci"]) {
        return;
    }
    let registry = Registry::start();
    let srv = Server::start();
    let work = tempfile::tempdir().unwrap();
    let repo = "test/many";
    let mut digests = Vec::new();
    for (i, tag) in ["v1", "v2", "v10"].iter().enumerate() {
        digests.push(registry.push(work.path(), repo, tag, &"x".repeat(i + 1)));
    }
    let image = format!("{}/{repo}", registry.host);
    let me = DockerConfig::new(&srv, &registry, "alice");
    let out = ok(me.ours(&["sign", "--all-tags", &image]), "sign --all-tags");
    for tag in ["v1", "v2", "v10"] {
        assert!(
            out.contains(&format!("Successfully signed {image}:{tag}\n")),
            "{out}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(me.ours(&["inspect", &image]), "inspect")).unwrap();
    let tags: Vec<&str> = json[0]["SignedTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["SignedTag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v1", "v2", "v10"], "natural order, as docker sorts");
    // Two more tags by name, one of them already signed: one publish, both verified.
    registry.push(work.path(), repo, "v11", "yyyy");
    ok(
        me.ours(&["sign", &format!("{image}:v11"), &format!("{image}:v1")]),
        "sign two",
    );
    assert!(ok(me.ours(&["verify", &format!("{image}:v11")]), "verify").contains("@sha256:"));
    // A list with one tag the registry does not have signs nothing.
    let before = tree(me.path());
    let o = me.ours(&["sign", &format!("{image}:v2"), &format!("{image}:missing")]);
    assert!(!o.status.success());
    assert!(tree(me.path()) == before);
}

#[test]
fn a_tls_registry_with_basic_auth_is_read_with_dockers_credentials() {
    if !require(&["docker-registry", "skopeo", "umoci", "openssl", "python3"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let p = |n: &str| work.path().join(n).display().to_string();
    let openssl = |args: &[&str]| {
        let o = Command::new("openssl").args(args).output().unwrap();
        assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=registry CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &p("reg.key"),
        "-out",
        &p("reg.csr"),
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        work.path().join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("reg.csr"),
        "-CA",
        &p("ca.crt"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-out",
        &p("reg.crt"),
        "-days",
        "2",
        "-extfile",
        &p("ext.cnf"),
    ]);
    let hash = Command::new("python3")
        .args([
            "-W",
            "ignore",
            "-c",
            "import crypt; print(crypt.crypt('secret', crypt.mksalt(crypt.METHOD_BLOWFISH)))",
        ])
        .output()
        .unwrap();
    assert!(hash.status.success(), "{}", text(&hash));
    std::fs::write(
        work.path().join("htpasswd"),
        format!("alice:{}", String::from_utf8_lossy(&hash.stdout).trim()),
    )
    .unwrap();
    let registry = Registry::start_with(
        &format!(
            ", tls: {{certificate: {}, key: {}}}",
            p("reg.crt"),
            p("reg.key")
        ),
        &format!(
            "auth: {{htpasswd: {{realm: test, path: {}}}}}\n",
            p("htpasswd")
        ),
    );
    let digest = registry.push_as(
        work.path(),
        "test/private",
        "v1",
        "private",
        &["--dest-creds", "alice:secret"],
    );
    let srv = Server::start();
    let image = format!("{}/test/private:v1", registry.host);
    // Docker's config with the right password, and the engine's certs.d for the registry CA.
    let me = DockerConfig::new(&srv, &registry, "alice");
    {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:secret");
        std::fs::write(
            me.path().join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
        )
        .unwrap();
    }
    let certs_d = work.path().join("certs.d").join(&registry.host);
    std::fs::create_dir_all(&certs_d).unwrap();
    std::fs::copy(work.path().join("ca.crt"), certs_d.join("ca.crt")).unwrap();
    let with_certs = |args: &[&str]| {
        let mut full = vec!["trust"];
        full.extend_from_slice(args);
        let mut c = Command::new(NOTARIUS);
        c.args(&full)
            .env("DOCKER_CONFIG", me.path())
            .env("DOCKER_CERTS_D", work.path().join("certs.d"))
            .env("DOCKER_CONTENT_TRUST_SERVER", &srv.url)
            .env("DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE", "root-passphrase")
            .env(
                "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
                "repo-passphrase",
            );
        c.output().unwrap()
    };
    ok(
        with_certs(&["sign", &image]),
        "sign on a TLS registry with basic auth",
    );
    let out = ok(with_certs(&["verify", &image]), "verify");
    assert!(out.contains(&digest), "{out}");
    // Without the registry's CA: its certificate is not trusted, and nothing is staged.
    let o = me.ours(&["verify", &image]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("presented a certificate that is not trusted")
            && stderr(&o).contains("certs.d"),
        "{}",
        text(&o)
    );
    // A wrong password is refused in words that say where to log in.
    {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:wrong");
        std::fs::write(
            me.path().join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
        )
        .unwrap();
    }
    let o = with_certs(&["verify", &image]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("refused the credentials"),
        "{}",
        text(&o)
    );
}

/// A registry token server (Distribution's token auth) on a loopback port: it hands out
/// ES256 JWTs, signed by a self-signed certificate the registry trusts, to `alice:secret`
/// for whatever scope is asked, and 401 to anyone else. Stopped when dropped.
struct TokenServer {
    url: String,
    cert_pem: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The scopes asked for, with the account, in order.
    asked: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl TokenServer {
    fn start() -> TokenServer {
        use std::io::{BufRead as _, Write as _};
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["token issuer".to_owned()])
            .unwrap()
            .self_signed(&kp)
            .unwrap();
        let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &kp.serialize_der(),
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        let x5c = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(cert.der())
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (stop2, asked2) = (stop.clone(), asked.clone());
        let thread = std::thread::spawn(move || {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("alice:secret")
            );
            while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                let mut reader = std::io::BufReader::new(&stream);
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line.split(' ').nth(1).unwrap_or("").to_owned();
                let mut authorized = false;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap() == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        authorized = v.trim() == expected;
                    }
                }
                let query: Vec<(String, String)> = target
                    .split_once('?')
                    .map(|(_, q)| q)
                    .unwrap_or("")
                    .split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| {
                        (
                            k.to_owned(),
                            v.replace("%3A", ":")
                                .replace("%2F", "/")
                                .replace("%2C", ","),
                        )
                    })
                    .collect();
                let get = |k: &str| {
                    query
                        .iter()
                        .find(|(q, _)| q == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                asked2
                    .lock()
                    .unwrap()
                    .push(format!("{} as {:?}", get("scope"), get("account")));
                let mut s = &stream;
                if !authorized {
                    let body = r#"{"details":"no"}"#;
                    let _ = write!(
                        s,
                        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    continue;
                }
                let scope = get("scope");
                let mut parts = scope.splitn(3, ':');
                let (kind, name, actions) = (
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                );
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
                let claims = serde_json::json!({
                    "iss": "test-issuer", "sub": "alice", "aud": "test-registry",
                    "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{name}"),
                    "access": [{"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}],
                });
                let input = format!(
                    "{}.{}",
                    b64.encode(header.to_string()),
                    b64.encode(claims.to_string())
                );
                let sig = signer
                    .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
                    .unwrap();
                let body =
                    serde_json::json!({"token": format!("{input}.{}", b64.encode(sig.as_ref()))})
                        .to_string();
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenServer {
            url,
            cert_pem: cert.pem(),
            stop,
            thread: Some(thread),
            asked,
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A registry behind token auth (as Docker Hub and most hosted registries are): the
/// credentials go to the token server named in the challenge, and the token to the registry.
#[test]
fn a_registry_behind_token_auth_is_read_with_a_bearer_token() {
    if !require(&["docker-registry", "skopeo", "umoci"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let tokens = TokenServer::start();
    let bundle = work.path().join("token-ca.pem");
    std::fs::write(&bundle, &tokens.cert_pem).unwrap();
    let registry = Registry::start_with(
        "",
        &format!(
            "auth: {{token: {{realm: \"{}\", service: test-registry, issuer: test-issuer, rootcertbundle: {}}}}}\n",
            tokens.url,
            bundle.display()
        ),
    );
    let digest = registry.push_as(
        work.path(),
        "team/app",
        "v1",
        "token",
        &["--dest-creds", "alice:secret"],
    );
    let srv = Server::start();
    let image = format!("{}/team/app:v1", registry.host);
    let write_auth = |dir: &Path, password: &str| {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("alice:{password}"));
        std::fs::write(
            dir.join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.host),
        )
        .unwrap();
    };
    let me = DockerConfig::new(&srv, &registry, "alice");
    write_auth(me.path(), "secret");
    tokens.asked.lock().unwrap().clear();
    ok(me.ours(&["sign", &image]), "sign behind token auth");
    let out = ok(me.ours(&["verify", &image]), "verify behind token auth");
    assert!(out.contains(&digest), "{out}");
    let asked = tokens.asked.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .all(|a| a == "repository:team/app:pull as \"alice\""),
        "only pull, for the repository, as the user: {asked:?}"
    );
    assert!(!asked.is_empty(), "the token server was asked");
    // A wrong password: the token server refuses it, and we say where to log in.
    write_auth(me.path(), "wrong");
    let o = me.ours(&["verify", &image]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        stderr(&o).contains("refused the credentials") && stderr(&o).contains("docker login"),
        "{}",
        text(&o)
    );
}

/// Trust data the server should not serve: older than what this machine has seen (a
/// rollback), or a timestamp whose signature does not verify. Verify refuses each in
/// Docker's words, says what to do, and leaves the trust dir as it was.
#[test]
fn verify_refuses_rolled_back_and_under_signed_trust_data() {
    if !require(&["docker-registry", "skopeo", "umoci"]) {
        return;
    }
    let registry = Registry::start();
    let mut srv = Server::start();
    let work = tempfile::tempdir().unwrap();
    registry.push(work.path(), "test/rolled", "v1", "one");
    registry.push(work.path(), "test/rolled", "v2", "two");
    registry.push(work.path(), "test/forged", "v1", "three");
    let rolled = format!("{}/test/rolled", registry.host);
    let forged = format!("{}/test/forged:v1", registry.host);
    let mut me = DockerConfig::new(&srv, &registry, "alice");
    ok(me.ours(&["sign", &format!("{rolled}:v1")]), "sign v1");
    ok(me.ours(&["sign", &format!("{rolled}:v2")]), "sign v2");
    ok(me.ours(&["sign", &forged]), "sign forged");
    // This machine has now seen the newest of both.
    ok(me.ours(&["verify", &format!("{rolled}:v2")]), "verify v2");
    ok(me.ours(&["verify", &forged]), "verify forged");

    // The server is restored from an older backup (rolled), and one timestamp's signature
    // is replaced (forged). A restart drops whatever it had in memory.
    srv.tamper(
        "DELETE FROM tuf_files WHERE gun LIKE '%/test/rolled' \
         AND role IN ('timestamp', 'snapshot', 'targets', 'targets/releases', 'targets/alice') \
         AND version = (SELECT MAX(version) FROM tuf_files f \
             WHERE f.gun = tuf_files.gun AND f.role = tuf_files.role)",
    );
    srv.tamper(
        "UPDATE tuf_files SET data = CAST(replace(CAST(data AS TEXT), '\"sig\":\"', '\"sig\":\"AAAA') AS BLOB) \
         WHERE gun LIKE '%/test/forged' AND role = 'timestamp'",
    );
    srv = srv.restart();
    me.point_at(&srv);
    let before = tree(me.path());

    let o = me.ours(&["verify", &format!("{rolled}:v1")]);
    assert!(!o.status.success(), "a rollback was accepted: {}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("potential malicious behavior") && e.contains("lower than expected"),
        "{e}"
    );
    assert!(
        tree(me.path()) == before,
        "a refused rollback changed the trust dir"
    );

    let o = me.ours(&["verify", &forged]);
    assert!(
        !o.status.success(),
        "a forged timestamp was accepted: {}",
        text(&o)
    );
    let e = stderr(&o);
    assert!(
        e.contains("potential malicious behavior")
            && e.contains("valid signatures did not meet threshold"),
        "{e}"
    );
    assert!(
        tree(me.path()) == before,
        "a refused timestamp changed the trust dir"
    );
    // inspect refuses the same data the same way.
    let o = me.ours(&["inspect", &forged]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("valid signatures did not meet threshold"),
        "{}",
        text(&o)
    );
}

/// Under-signed (the releases role needs two signers' signatures and has one) and expired
/// trust data (read as if fifteen days had passed, past the timestamp's expiry: libfaketime)
/// are refused by verify with Docker's first line, which keys signed, and what to do.
#[test]
fn verify_refuses_under_signed_and_expired_trust_data() {
    if !require(&["docker-registry", "skopeo", "umoci", "faketime"]) {
        return;
    }
    let registry = Registry::start();
    let srv = Server::start();
    let work = tempfile::tempdir().unwrap();
    registry.push(work.path(), "test/pair", "v1", "pair");
    let v1 = format!("{}/test/pair:v1", registry.host);
    let gun = format!("{}/test/pair", registry.host);
    let me = DockerConfig::new(&srv, &registry, "alice");
    let keydir = work.path().display().to_string();
    for who in ["alice", "bob", "carol"] {
        ok(
            me.ours(&["key", "generate", who, "--dir", &keydir]),
            "key generate",
        );
    }
    let public = |who: &str| work.path().join(format!("{who}.pub")).display().to_string();
    // The owner makes a repository whose releases role needs two signatures, alice's and
    // bob's (Notary sets a threshold only when a role is made: its staged change is edited
    // to say 2), with notarius' notary commands on the same trust dir.
    let notary = |args: &[&str], what: &str| {
        let o = Command::new(NOTARIUS)
            .arg("-d")
            .arg(me.path().join("trust"))
            .args(["-s", &srv.url, "--tlscacert"])
            .arg(&srv.ca)
            .args(args)
            .env("NOTARY_ROOT_PASSPHRASE", "root-passphrase")
            .env("NOTARY_TARGETS_PASSPHRASE", "repo-passphrase")
            .env("NOTARY_SNAPSHOT_PASSPHRASE", "repo-passphrase")
            .env("HOME", me.path())
            .output()
            .unwrap();
        ok(o, what)
    };
    notary(&["init", &gun], "init");
    notary(
        &[
            "delegation",
            "add",
            &gun,
            "targets/releases",
            &public("alice"),
            &public("bob"),
            "--all-paths",
        ],
        "delegation add",
    );
    {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let dir = me.path().join("trust/tuf").join(&gun).join("changelist");
        let mut edited = 0;
        for f in std::fs::read_dir(&dir).unwrap() {
            let path = f.unwrap().path();
            let mut change: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            if change["role"] != "targets/releases" {
                continue;
            }
            let mut data: serde_json::Value =
                serde_json::from_slice(&b64.decode(change["data"].as_str().unwrap()).unwrap())
                    .unwrap();
            // Notary stages the keys (which make the role) apart from the paths.
            if data.get("add_keys").is_none() {
                continue;
            }
            data["threshold"] = 2.into();
            change["data"] = b64.encode(data.to_string()).into();
            std::fs::write(&path, change.to_string()).unwrap();
            edited += 1;
        }
        assert_eq!(edited, 1, "one staged change makes the releases role");
    }
    notary(&["publish", &gun], "publish");
    ok(
        me.ours(&["signer", "add", "--key", &public("bob"), "bob", &gun]),
        "signer add bob",
    );
    ok(me.ours(&["sign", &v1]), "sign v1 with both keys");
    ok(me.ours(&["verify", &v1]), "verify with both signatures");
    // Bob leaves and carol joins: releases now needs alice's and carol's signatures, and v1
    // carries alice's and bob's, so one of the two it needs.
    ok(
        me.ours(&["signer", "remove", "-f", "bob", &gun]),
        "signer remove bob",
    );
    ok(
        me.ours(&["signer", "add", "--key", &public("carol"), "carol", &gun]),
        "signer add carol",
    );
    // The first read caches the new, valid targets, snapshot and timestamp; the releases
    // role is left out. A second read changes nothing.
    let o = me.ours(&["verify", &v1]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let before = tree(me.path());
    let o = me.ours(&["verify", &v1]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "Warning: potential malicious behavior - trust data has insufficient signatures for remote repository {gun}: valid signatures did not meet threshold for targets/releases"
        )),
        "{e}"
    );
    assert!(
        e.contains("needed: 2 valid signatures") && e.contains("targets/releases is a delegation"),
        "the threshold and what to do are named: {e}"
    );
    assert!(
        tree(me.path()) == before,
        "a refused read changed the trust dir"
    );

    // Expired: another repository read fifteen days from now, past its timestamp's expiry
    // (the server, in this process, still lives today and serves the same timestamp).
    registry.push(work.path(), "test/old", "v1", "old");
    let old = format!("{}/test/old:v1", registry.host);
    ok(me.ours(&["sign", &old]), "sign old");
    let before = tree(me.path());
    let mut c = Command::new("faketime");
    c.args(["+15 days", NOTARIUS, "trust", "verify", &old])
        .env("DOCKER_CONFIG", me.path())
        .env("DOCKER_CONTENT_TRUST_SERVER", &srv.url)
        .env("HOME", me.path());
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "remote repository {}/test/old out-of-date",
            registry.host
        )) && e.contains("expired"),
        "{e}"
    );
    let after = tree(me.path());
    let changed: Vec<_> = after
        .iter()
        .filter(|f| !before.contains(f))
        .map(|f| f.0.clone())
        .chain(
            before
                .iter()
                .filter(|f| !after.contains(f))
                .map(|f| f.0.clone()),
        )
        .collect();
    assert!(
        changed.is_empty(),
        "a refused read changed the trust dir: {changed:?}"
    );
}

/// The real notary-server (Notary 0.7, with its notary-signer) as the trust server: what
/// notarius signs there the docker CLI reads and re-signs, and the reverse; inspect agrees.
#[test]
fn against_the_real_notary_server() {
    if !require(&["docker-registry", "skopeo", "umoci", "docker"]) {
        return;
    }
    let Some(scripts) = notarius_testpeer::require_peer() else {
        return;
    };
    let peer = notarius_testpeer::Peer::start(&scripts);
    let registry = Registry::start();
    let work = tempfile::tempdir().unwrap();
    let digest = registry.push(work.path(), "test/reference", "v1", "reference");
    let image = format!("{}/test/reference", registry.host);
    let v1 = format!("{image}:v1");
    let alice = DockerConfig::for_server(&peer.url, &peer.ca(), &registry, "alice");
    ok(alice.ours(&["sign", &v1]), "sign on notary-server");
    let out = ok(alice.ours(&["verify", &v1]), "verify on notary-server");
    assert_eq!(out, format!("{image}@{digest}\n"));
    let ours = ok(alice.ours(&["inspect", &v1]), "inspect");
    let theirs = ok(alice.docker(&["inspect", &v1]), "docker trust inspect");
    assert_eq!(ours, theirs, "inspect agrees on notary-server");
    // Docker re-signs what we made (a new image under the tag, pushed by skopeo: docker's
    // sign of an existing tag signs what the trust data has unless the engine has the image,
    // so we sign the move with --local and docker then revokes it).
    let moved = registry.push(work.path(), "test/reference", "v1", "reference, moved");
    ok(alice.ours(&["sign", "--local", &v1]), "sign the moved tag");
    let out = ok(alice.ours(&["verify", &v1]), "verify the moved tag");
    assert_eq!(out, format!("{image}@{moved}\n"));
    let theirs = ok(alice.docker(&["inspect", &v1]), "docker trust inspect");
    assert!(
        theirs.contains(moved.trim_start_matches("sha256:")),
        "{theirs}"
    );
    ok(
        alice.docker(&["revoke", "--yes", &v1]),
        "docker trust revoke",
    );
    let o = alice.ours(&["verify", &v1]);
    assert_eq!(stderr(&o), "No valid trust data for v1\n");
}

/// A trust server that refuses the publish (here its database refuses every write, as a full
/// disk would): the sign fails saying so, and the trust dir, the server and the registry are
/// as they were; once the server writes again, the same sign works.
#[test]
fn a_refused_publish_changes_nothing() {
    if !require(&["docker-registry", "skopeo", "umoci"]) {
        return;
    }
    let registry = Registry::start();
    let srv = Server::start();
    let work = tempfile::tempdir().unwrap();
    registry.push(work.path(), "test/refused", "v1", "one");
    let v2_digest = registry.push(work.path(), "test/refused", "v2", "two");
    let image = format!("{}/test/refused", registry.host);
    let me = DockerConfig::new(&srv, &registry, "alice");
    ok(me.ours(&["sign", &format!("{image}:v1")]), "sign v1");
    let inspected = ok(me.ours(&["inspect", &image]), "inspect");
    srv.tamper(
        "CREATE TRIGGER refuse_writes BEFORE INSERT ON tuf_files \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    );
    let before = tree(me.path());
    let o = me.ours(&["sign", &format!("{image}:v2")]);
    assert!(!o.status.success(), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("failed to sign")
            && e.contains("v2")
            && e.contains("nothing was published")
            && e.contains("Run the same `notarius trust sign` again"),
        "{e}"
    );
    assert!(
        tree(me.path()) == before,
        "a refused publish changed the trust dir"
    );
    // The server serves what it had: a fresh reader sees v1 only.
    let fresh = DockerConfig::new(&srv, &registry, "carol");
    assert_eq!(ok(fresh.ours(&["inspect", &image]), "inspect"), inspected);
    srv.tamper("DROP TRIGGER refuse_writes");
    ok(
        me.ours(&["sign", &format!("{image}:v2")]),
        "sign v2 once the server writes",
    );
    let out = ok(fresh.ours(&["verify", &format!("{image}:v2")]), "verify v2");
    assert_eq!(out, format!("{image}@{v2_digest}\n"));
}
