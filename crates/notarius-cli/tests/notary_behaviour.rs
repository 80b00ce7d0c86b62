//! The places where `notarius` must behave as `notary` does, each run against the real
//! `notary` 0.7 where it can: usage errors (first lines, exit code), `--version`, `-D`/`-v`,
//! comma lists, `addhash --custom`, the wrong-passphrase message, TLS and config mistakes,
//! `key rotate timestamp -r` of a repository `notary init` left offline, and the beyond-Notary
//! passphrase sources, completions and man pages.

mod common;

use std::path::Path;
use std::process::Output;

use common::{NOTARIUS, changes, ok, run_raw, run_with};
use notarius_testpeer::{Peer, notary, require_peer, text};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Both programs with the same arguments, no server.
fn both(trust: &Path, args: &[&str]) -> (Output, Output) {
    let mut full = vec!["-d", trust.to_str().unwrap()];
    full.extend_from_slice(args);
    (
        run_raw("notary", &full, b"", &[]),
        run_raw(NOTARIUS, &full, b"", &[]),
    )
}

#[test]
fn usage_errors_print_notarys_first_lines_and_exit_1() {
    if !notarius_testpeer::have("notary") {
        assert!(!notarius_testpeer::ci(), "notary is needed");
        eprintln!("SKIPPED: the real notary is not installed");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &["init"],
        &["add", "example.com/a", "t"],
        &["addhash", "example.com/a", "t", "3"],
        &["remove", "example.com/a"],
        &["list"],
        &["lookup", "example.com/a"],
        &["status"],
        &["reset", "example.com/a"],
        &["publish"],
        &["verify", "example.com/a"],
        &["witness", "example.com/a"],
        &["delete"],
        &["key", "rotate", "example.com/a"],
        &["key", "remove"],
        &["key", "passwd"],
        &["key", "import"],
        &["delegation", "list"],
        &["delegation", "add", "example.com/a", "targets/x"],
        &["delegation", "remove", "example.com/a"],
        &["delegation", "purge", "example.com/a"],
        &["list", "--bogus"],
        &["list", "-x"],
        &["bogus"],
        &["list", "example.com/a", "-r"],
        &["reset", "example.com/a", "-n", "abc"],
        &["key", "rotate", "example.com/a", "targets", "-l", "x"],
    ];
    for args in cases {
        let (theirs, ours) = both(t.path(), args);
        assert_eq!(
            theirs.status.code(),
            Some(1),
            "notary {args:?}: {}",
            text(&theirs)
        );
        assert_eq!(
            ours.status.code(),
            Some(1),
            "notarius {args:?}: {}",
            text(&ours)
        );
        let theirs = stdout(&theirs);
        let ours = stdout(&ours).replace("notarius", "notary");
        let first = |s: &str| s.lines().take(2).map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(first(&ours), first(&theirs), "{args:?}:\n{ours}");
        let fatal = |s: &str| {
            s.lines()
                .find(|l| l.starts_with("* fatal:"))
                .map(str::to_owned)
        };
        assert_eq!(fatal(&ours), fatal(&theirs), "{args:?}:\n{ours}");
        // Every usage lists the same flags as notary's, and help texts for each.
        if theirs.starts_with("Usage:") {
            let flags = |s: &str| {
                s.lines()
                    .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")))
                    .map(str::to_owned)
                    .collect::<std::collections::BTreeSet<_>>()
            };
            let missing: Vec<_> = flags(&theirs).difference(&flags(&ours)).cloned().collect();
            assert!(missing.is_empty(), "{args:?} lacks {missing:?}:\n{ours}");
        }
        assert!(
            t.path().read_dir().unwrap().next().is_none(),
            "{args:?} wrote into the trust dir"
        );
    }
    // --version answers in notary's form.
    let (theirs, ours) = both(t.path(), &["--version"]);
    assert!(ours.status.success() && theirs.status.success());
    assert!(stdout(&theirs).starts_with("notary Version: "));
    assert!(
        stdout(&ours).starts_with("notarius Version: 0."),
        "{}",
        stdout(&ours)
    );
}

#[test]
fn every_flag_and_command_has_a_help_text() {
    let o = run_raw(NOTARIUS, &["completion", "bash"], b"", &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("complete -F"),
        "a bash completion script"
    );
    let man = tempfile::tempdir().unwrap();
    let o = run_raw(
        NOTARIUS,
        &["completion", "man", man.path().to_str().unwrap()],
        b"",
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    for page in [
        "notarius.1",
        "notarius-key-rotate.1",
        "notarius-delegation-add.1",
    ] {
        assert!(man.path().join(page).is_file(), "{page}");
    }
    // Every option of every command has a description in --help.
    for cmd in [
        vec!["init"],
        vec!["add"],
        vec!["addhash"],
        vec!["remove"],
        vec!["list"],
        vec!["lookup"],
        vec!["status"],
        vec!["reset"],
        vec!["publish"],
        vec!["verify"],
        vec!["witness"],
        vec!["delete"],
        vec!["backup"],
        vec!["restore"],
        vec!["key", "list"],
        vec!["key", "generate"],
        vec!["key", "rotate"],
        vec!["key", "export"],
        vec!["key", "import"],
        vec!["key", "remove"],
        vec!["key", "passwd"],
        vec!["delegation", "add"],
        vec!["delegation", "list"],
        vec!["delegation", "remove"],
        vec!["delegation", "purge"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let o = run_raw(NOTARIUS, &args, b"", &[]);
        assert!(o.status.success(), "{cmd:?}");
        let help = stdout(&o);
        // clap's long help: each option on a line of its own (two spaces in), its text on
        // the lines after it (ten spaces in).
        let lines: Vec<&str> = help.lines().collect();
        let start = lines
            .iter()
            .position(|l| *l == "Options:")
            .expect("an Options section");
        for (i, line) in lines.iter().enumerate().skip(start + 1) {
            if !line.starts_with(' ') && !line.is_empty() {
                break;
            }
            if line.starts_with("  -") {
                let text = lines.get(i + 1).copied().unwrap_or("");
                assert!(
                    text.starts_with("          ") && text.trim().len() > 3,
                    "{cmd:?}: no help for {line:?}\n{help}"
                );
            }
        }
        // A description saying what it does.
        assert!(help.lines().next().is_some_and(|l| l.len() > 10), "{cmd:?}");
    }
}

#[test]
fn debug_and_verbose_log_on_stderr() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let t = tempfile::tempdir().unwrap();
    let gun = "example.com/logs";
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["init", "-p", gun],
            Some(&peer),
            b"",
            &[],
        ),
        "init",
    );
    let plain = run_with(NOTARIUS, t.path(), &["list", gun], Some(&peer), b"", &[]);
    assert!(plain.status.success());
    assert_eq!(stderr(&plain), "", "nothing on stderr by default");
    let debug = run_with(
        NOTARIUS,
        t.path(),
        &["-D", "list", gun],
        Some(&peer),
        b"",
        &[],
    );
    assert!(debug.status.success());
    let e = stderr(&debug);
    for what in [
        "level=debug",
        "Using the following trust directory",
        "trusting only the CA certificates in",
        "/v2/",
        "timestamp.json: 200",
    ] {
        assert!(e.contains(what), "-D lacks {what:?}:\n{e}");
    }
    assert_eq!(stdout(&debug), stdout(&plain), "logs never reach stdout");
    // -v: what happens, not every request; and publishing names the keys used only with -D.
    let payload = t.path().join("p");
    std::fs::write(&payload, b"x").unwrap();
    let verbose = run_with(
        NOTARIUS,
        t.path(),
        &["-v", "add", "-p", gun, "v1", payload.to_str().unwrap()],
        Some(&peer),
        b"",
        &[],
    );
    assert!(verbose.status.success(), "{}", text(&verbose));
    let e = stderr(&verbose);
    assert!(e.contains("level=info") && e.contains("uploading"), "{e}");
    assert!(!e.contains("level=debug"), "{e}");
    let debug = run_with(
        NOTARIUS,
        t.path(),
        &["-D", "witness", "-p", gun, "targets"],
        Some(&peer),
        b"",
        &[],
    );
    assert!(
        stderr(&debug).contains("signing targets with key"),
        "{}",
        text(&debug)
    );
}

#[test]
fn comma_lists_custom_data_and_wrong_passphrases_as_notary() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let t = tempfile::tempdir().unwrap();
    let gun = "example.com/commas";
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["init", "-p", gun],
            Some(&peer),
            b"",
            &[],
        ),
        "init",
    );
    // addhash --custom stages exactly what notary's stages.
    let custom = t.path().join("custom.json");
    std::fs::write(&custom, br#"{"owner": "team-a", "n": 1}"#).unwrap();
    let hash = "ab".repeat(32);
    let args = [
        "addhash",
        gun,
        "t1",
        "10",
        "--sha256",
        &hash,
        "--custom",
        custom.to_str().unwrap(),
    ];
    ok(
        run_with("notary", t.path(), &args, Some(&peer), b"", &[]),
        "notary addhash",
    );
    ok(
        run_with(NOTARIUS, t.path(), &args, Some(&peer), b"", &[]),
        "notarius addhash",
    );
    let staged = changes(t.path(), gun);
    assert_eq!(staged.len(), 2);
    assert_eq!(staged[0], staged[1], "the same change file");
    assert!(staged[0].contains("\"type\":\"target\""));
    // reset -n 0,1 takes a comma list, as notary's IntSlice does.
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["reset", gun, "-n", "0,1"],
            Some(&peer),
            b"",
            &[],
        ),
        "reset",
    );
    assert!(changes(t.path(), gun).is_empty());

    // A wrong targets passphrase: notary's line, then which key and which variable.
    let payload = t.path().join("p");
    std::fs::write(&payload, b"x").unwrap();
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["add", gun, "v1", payload.to_str().unwrap()],
            Some(&peer),
            b"",
            &[],
        ),
        "add",
    );
    let wrong = [("NOTARY_TARGETS_PASSPHRASE", Some("not-the-passphrase"))];
    let theirs = run_with(
        "notary",
        t.path(),
        &["publish", gun],
        Some(&peer),
        b"",
        &wrong,
    );
    let before = common::tree(t.path());
    let ours = run_with(
        NOTARIUS,
        t.path(),
        &["publish", gun],
        Some(&peer),
        b"",
        &wrong,
    );
    assert!(!theirs.status.success() && !ours.status.success());
    let fatal = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("* fatal:"))
            .map(str::to_owned)
    };
    assert_eq!(
        fatal(&stdout(&ours)),
        fatal(&stdout(&theirs)),
        "{}",
        text(&ours)
    );
    assert!(
        stdout(&ours).contains("NOTARY_TARGETS_PASSPHRASE does not open it"),
        "{}",
        text(&ours)
    );
    assert!(common::tree(t.path()) == before, "nothing changed");

    // key rotate -k a.pem,b.pem: a comma list of key files (two new targets keys).
    let (a, _) = common::openssl_key(t.path(), "a");
    let (b, _) = common::openssl_key(t.path(), "b");
    let list = format!("{},{}", a.display(), b.display());
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["key", "rotate", gun, "targets", "-k", &list],
            Some(&peer),
            b"",
            &[],
        ),
        "rotate -k a,b",
    );
    let reader = tempfile::tempdir().unwrap();
    let listed = ok(
        notary(reader.path(), &["list", gun], Some(&peer)),
        "notary list",
    );
    assert!(
        listed.contains("v1") || listed.contains("No targets"),
        "{listed}"
    );
}

#[test]
fn connection_settings_fail_as_notary_does_and_say_more() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let t = tempfile::tempdir().unwrap();
    let gun = "example.com/settings";
    let d = t.path().to_str().unwrap();
    let ca = peer.ca();
    let ca_s = ca.to_str().unwrap();
    // --tlscert without --tlskey: notary's refusal.
    let args = [
        "-d",
        d,
        "-s",
        &peer.url,
        "--tlscacert",
        ca_s,
        "--tlscert",
        ca_s,
        "list",
        gun,
    ];
    let theirs = run_raw("notary", &args, b"", &[]);
    let ours = run_raw(NOTARIUS, &args, b"", &[]);
    assert!(!theirs.status.success() && !ours.status.success());
    assert_eq!(stdout(&ours), stdout(&theirs));
    // A server URL without a scheme: the form to use.
    let ours = run_raw(
        NOTARIUS,
        &["-d", d, "-s", "127.0.0.1:4443", "list", gun],
        b"",
        &[],
    );
    assert!(
        stdout(&ours).contains("has to be in the form of http(s)://URL:PORT"),
        "{}",
        text(&ours)
    );
    // A config file named with -c that is not there: its name in the message.
    let ours = run_raw(
        NOTARIUS,
        &["-d", d, "-c", "/nonexistent/cfg.json", "list", gun],
        b"",
        &[],
    );
    assert!(
        stdout(&ours).contains("* fatal: error opening config file /nonexistent/cfg.json"),
        "{}",
        text(&ours)
    );
    // No CA for a server whose CA is not a system one: says the certificate is not trusted
    // and what to pass, instead of "client is offline".
    let ours = run_raw(NOTARIUS, &["-d", d, "-s", &peer.url, "list", gun], b"", &[]);
    assert!(!ours.status.success());
    let out = text(&ours);
    assert!(
        out.contains("not trusted") && out.contains("--tlscacert"),
        "{out}"
    );
    // remote_server.skipTLSVerify is honoured, with a warning that names the file.
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["init", "-p", gun],
            Some(&peer),
            b"",
            &[],
        ),
        "init",
    );
    let cfg = t.path().join("config.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"remote_server":{{"url":"{}","skipTLSVerify":true}}}}"#,
            peer.url
        ),
    )
    .unwrap();
    let ours = run_raw(
        NOTARIUS,
        &["-d", d, "-c", cfg.to_str().unwrap(), "list", gun],
        b"",
        &[],
    );
    assert!(ours.status.success(), "{}", text(&ours));
    assert!(
        stderr(&ours).contains("skipTLSVerify") && stderr(&ours).contains(cfg.to_str().unwrap()),
        "{}",
        text(&ours)
    );
    // A relative -d is shown as notary shows it: made absolute.
    let rel = run_raw(NOTARIUS, &["-d", ".", "key", "list"], b"", &[]);
    let o = std::process::Command::new(NOTARIUS)
        .current_dir(t.path())
        .args(["-d", ".", "key", "list"])
        .output()
        .unwrap();
    let _ = rel;
    assert!(
        stdout(&o).contains(&t.path().join("private").display().to_string()),
        "{}",
        text(&o)
    );
}

#[test]
fn a_timestamp_rotation_puts_a_repository_notary_init_left_offline_online() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let t = tempfile::tempdir().unwrap();
    let gun = "example.com/made-offline";
    // notary init without -p: the repository exists only in the trust directory.
    ok(notary(t.path(), &["init", gun], Some(&peer)), "notary init");
    let reader = tempfile::tempdir().unwrap();
    assert!(
        !notary(reader.path(), &["list", gun], Some(&peer))
            .status
            .success()
    );
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["key", "rotate", gun, "timestamp", "-r"],
            Some(&peer),
            b"",
            &[],
        ),
        "notarius key rotate timestamp -r",
    );
    // The real notary, from nothing, now reads it; and it publishes on top of it.
    let out = ok(
        notary(reader.path(), &["list", gun], Some(&peer)),
        "notary list",
    );
    assert!(out.contains("No targets present"), "{out}");
    let payload = t.path().join("p");
    std::fs::write(&payload, b"x").unwrap();
    ok(
        notary(
            t.path(),
            &["add", "-p", gun, "v1", payload.to_str().unwrap()],
            Some(&peer),
        ),
        "notary add -p",
    );
    let out = ok(
        notary(reader.path(), &["list", gun], Some(&peer)),
        "notary list",
    );
    assert!(out.contains("v1"), "{out}");
}

#[test]
fn passphrases_from_a_command_or_a_descriptor_never_from_argv() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let t = tempfile::tempdir().unwrap();
    let gun = "example.com/vault";
    let none = [
        ("NOTARY_ROOT_PASSPHRASE", None),
        ("NOTARY_TARGETS_PASSPHRASE", None),
        ("NOTARY_SNAPSHOT_PASSPHRASE", None),
        ("NOTARY_DELEGATION_PASSPHRASE", None),
    ];
    // A "password manager": one passphrase per alias, printed by a command.
    let vault = t.path().join("vault");
    std::fs::create_dir(&vault).unwrap();
    for (alias, pass) in [
        ("root", "root-from-vault"),
        ("targets", "targets-from-vault"),
        ("snapshot", "snap-from-vault"),
    ] {
        std::fs::write(vault.join(alias), format!("{pass}\n")).unwrap();
    }
    let cmd = format!("cat {}/$NOTARIUS_KEY_ALIAS", vault.display());
    let mut env: Vec<(&str, Option<&str>)> = none.to_vec();
    env.push(("NOTARIUS_PASSPHRASE_COMMAND", Some(&cmd)));
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["init", "-p", gun],
            Some(&peer),
            b"",
            &env,
        ),
        "init -p with a command",
    );
    // The keys are encrypted with those passphrases: the real notary opens them.
    let payload = t.path().join("p");
    std::fs::write(&payload, b"x").unwrap();
    let env_for_notary = [
        ("NOTARY_ROOT_PASSPHRASE", Some("root-from-vault")),
        ("NOTARY_TARGETS_PASSPHRASE", Some("targets-from-vault")),
        ("NOTARY_SNAPSHOT_PASSPHRASE", Some("snap-from-vault")),
    ];
    ok(
        run_with(
            "notary",
            t.path(),
            &["add", "-p", gun, "v1", payload.to_str().unwrap()],
            Some(&peer),
            b"",
            &env_for_notary,
        ),
        "notary publishes with the vault's passphrases",
    );
    // A descriptor: alias=passphrase lines on fd 3 (through sh, which opens it).
    let lines = t.path().join("lines");
    std::fs::write(
        &lines,
        "targets=targets-from-vault\nsnapshot=snap-from-vault\n",
    )
    .unwrap();
    let script = format!(
        "exec {} -d {} -s {} --tlscacert {} add -p {gun} v2 {} 3<{}",
        NOTARIUS,
        t.path().display(),
        peer.url,
        peer.ca().display(),
        payload.display(),
        lines.display()
    );
    let mut env: Vec<(&str, Option<&str>)> = none.to_vec();
    env.push(("NOTARIUS_PASSPHRASE_FD", Some("3")));
    let o = run_raw("sh", &["-c", &script], b"", &env);
    assert!(o.status.success(), "{}", text(&o));
    // No passphrase flag exists to put one on a command line.
    let help = stdout(&run_raw(NOTARIUS, &["--help"], b"", &[]));
    assert!(!help.to_lowercase().contains("--passphrase"), "{help}");
    // key generate -o writes a key both key imports take (it names itself in a path header).
    let gen_dir = tempfile::tempdir().unwrap();
    let prefix = gen_dir.path().join("alice");
    let out = ok(
        run_with(
            NOTARIUS,
            gen_dir.path(),
            &[
                "key",
                "generate",
                "-r",
                "targets/releases",
                "-o",
                prefix.to_str().unwrap(),
            ],
            None,
            b"",
            &[],
        ),
        "key generate -o",
    );
    let id = out.trim().rsplit(' ').next().unwrap().to_owned();
    let key_file = gen_dir.path().join("alice-key.pem");
    for program in [NOTARIUS, "notary"] {
        let d = tempfile::tempdir().unwrap();
        ok(
            run_with(
                program,
                d.path(),
                &["key", "import", key_file.to_str().unwrap()],
                None,
                b"",
                &[],
            ),
            &format!("{program} key import of our generated key"),
        );
        assert!(
            d.path().join(format!("private/{id}.key")).is_file(),
            "{program}"
        );
    }
    // A short passphrase from the environment for a new key is warned about.
    let t2 = tempfile::tempdir().unwrap();
    let short = [("NOTARY_ROOT_PASSPHRASE", Some("short"))];
    let o = run_with(NOTARIUS, t2.path(), &["key", "generate"], None, b"", &short);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stderr(&o).contains("NOTARY_ROOT_PASSPHRASE is shorter than 8 characters"),
        "{}",
        text(&o)
    );
}

/// An `openssl s_server` on a free loopback port with `cert`/`key`; killed when dropped.
struct TlsServer {
    child: std::process::Child,
    url: String,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_server(cert: &Path, key: &Path) -> TlsServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    TlsServer {
        child,
        url: format!("https://127.0.0.1:{port}"),
    }
}

fn openssl(args: &[&str]) {
    let o = std::process::Command::new("openssl")
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
}

#[test]
fn server_certificate_problems_are_named_not_called_offline() {
    if !notarius_testpeer::have("openssl") {
        assert!(!notarius_testpeer::ci(), "openssl is needed");
        eprintln!("SKIPPED: openssl is not installed");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let p = |n: &str| t.path().join(n).display().to_string();
    // openssl's default self-signed certificate: basicConstraints CA:TRUE.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &p("ca-leaf.key"),
        "-out",
        &p("ca-leaf.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
    ]);
    let srv = tls_server(&t.path().join("ca-leaf.crt"), &t.path().join("ca-leaf.key"));
    let d = p("trust");
    let o = run_raw(
        NOTARIUS,
        &[
            "-d",
            &d,
            "-s",
            &srv.url,
            "--tlscacert",
            &p("ca-leaf.crt"),
            "list",
            "example.com/x",
        ],
        b"",
        &[],
    );
    assert!(!o.status.success());
    let out = text(&o);
    assert!(
        out.contains("is a CA certificate") && out.contains("CA:FALSE"),
        "{out}"
    );
    drop(srv);
    // A proper server certificate from a CA the client was not given: not trusted, and
    // what to pass.
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
        "/CN=test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &p("leaf.key"),
        "-out",
        &p("leaf.csr"),
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        t.path().join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("leaf.csr"),
        "-CA",
        &p("ca.crt"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-out",
        &p("leaf.crt"),
        "-days",
        "2",
        "-extfile",
        &p("ext.cnf"),
    ]);
    let srv = tls_server(&t.path().join("leaf.crt"), &t.path().join("leaf.key"));
    let o = run_raw(
        NOTARIUS,
        &["-d", &d, "-s", &srv.url, "list", "example.com/x"],
        b"",
        &[],
    );
    let out = text(&o);
    assert!(
        out.contains("not signed by a CA this client trusts") && out.contains("--tlscacert"),
        "{out}"
    );
    assert!(!out.contains("client is offline"), "{out}");
}

/// A TCP proxy on loopback to `target` that cuts a connection once the client has sent it
/// more than `cut_after` bytes (TLS passes through untouched). Runs until the test ends.
fn cutting_proxy(target: std::net::SocketAddr, cut_after: usize) -> String {
    use std::io::{Read as _, Write as _};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in l.incoming() {
            let Ok(mut client) = client else { continue };
            let Ok(mut server) = std::net::TcpStream::connect(target) else {
                continue;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
            });
            std::thread::spawn(move || {
                let mut sent = 0;
                let mut buf = [0u8; 16 << 10];
                while let Ok(n) = client.read(&mut buf) {
                    if n == 0 || sent + n > cut_after {
                        break;
                    }
                    if server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

#[test]
fn a_connection_cut_mid_publish_says_so_and_keeps_the_changes() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let t = tempfile::tempdir().unwrap();
    let gun = "example.com/cut";
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["init", "-p", gun],
            Some(&peer),
            b"",
            &[],
        ),
        "init -p",
    );
    // Enough targets that the upload is far larger than the reads before it.
    let mut list = String::new();
    for i in 0..3000 {
        list.push_str(&format!("target-{i:05}\tsha256:{}:{i}\n", "ab".repeat(32)));
    }
    ok(
        run_with(
            NOTARIUS,
            t.path(),
            &["add", gun, "--from-file", "-"],
            Some(&peer),
            list.as_bytes(),
            &[],
        ),
        "bulk add",
    );
    let before = common::tree(t.path());
    let addr: std::net::SocketAddr = peer.url.trim_start_matches("https://").parse().unwrap();
    let proxy = cutting_proxy(addr, 64 << 10);
    let ca = peer.ca();
    let args = [
        "-d",
        t.path().to_str().unwrap(),
        "-s",
        &proxy,
        "--tlscacert",
        ca.to_str().unwrap(),
        "publish",
        gun,
    ];
    let o = run_raw(NOTARIUS, &args, b"", &[]);
    assert!(!o.status.success(), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("closed the connection"), "{}", text(&o));
    assert!(out.contains("staged changes stay staged"), "{out}");
    assert!(!out.contains("docs.rs"), "no rustls manual link: {out}");
    assert!(
        common::tree(t.path()) == before,
        "trust directory unchanged"
    );
    // The next publish, straight to the server, goes through.
    ok(
        run_with(NOTARIUS, t.path(), &["publish", gun], Some(&peer), b"", &[]),
        "publish again",
    );
    assert!(changes(t.path(), gun).is_empty());
    let reader = tempfile::tempdir().unwrap();
    let listed = ok(
        notary(reader.path(), &["list", gun], Some(&peer)),
        "notary list",
    );
    assert!(
        listed.contains("target-02999"),
        "{}",
        &listed[..200.min(listed.len())]
    );
}

#[test]
fn a_missing_delegation_key_file_is_named_as_notary_names_it() {
    if !notarius_testpeer::have("notary") {
        assert!(!notarius_testpeer::ci(), "notary is needed");
        eprintln!("SKIPPED: the real notary is not installed");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (theirs, ours) = both(
        t.path(),
        &[
            "delegation",
            "add",
            "example.com/a",
            "targets/x",
            "/nonexistent/alice.pem",
        ],
    );
    assert!(!theirs.status.success() && !ours.status.success());
    assert_eq!(stdout(&ours), stdout(&theirs));
    assert!(stdout(&ours).contains("file for public key does not exist: /nonexistent/alice.pem"));
}
