//! `notarius trust inspect [--pretty] IMAGE[:TAG]...` (docker's `trust inspect`): the same JSON
//! (field names and order, four-space indent, Go's HTML escaping) and the same tables.

use std::io::Write;

use notarius_client::listing::tabwrite_with;
use notarius_client::remote::Permission;
use notarius_client::trust::view::{self, RELEASED_ROLE_NAME, Signer, TagRow, natural_cmp};
use notarius_tuf::role;

use super::{TrustTarget, docker_error};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Return low-level information about keys and signatures
///
/// For each IMAGE[:TAG]: its signed (released) tags with their digests and signers, the
/// signers and their keys, and the administrative (root and repository) keys, verified from
/// the trust server. JSON as docker prints it, or tables with --pretty. Online; without the
/// server it shows the trust data verified last.
#[derive(clap::Args)]
pub struct Inspect {
    /// The images, as NAME or NAME:TAG
    #[arg(required = true)]
    images: Vec<String>,
    /// Print the information in a human friendly format
    #[arg(long = "pretty")]
    pretty: bool,
}

/// What one image's inspection found.
struct Info {
    rows: Vec<TagRow>,
    signers: Vec<Signer>,
    root_keys: Vec<String>,
    targets_keys: Vec<String>,
}

fn lookup(ctx: &Context, remote: &str) -> Result<Info, CliError> {
    let t = TrustTarget::new(remote)?;
    let mut repo = t.repository(ctx, Permission::ReadOnly)?;
    let cannot = || docker_error(format!("no signatures or cannot access {remote}"));
    let read = repo.read(chrono::Utc::now()).map_err(|e| {
        use notarius_client::Error as C;
        use notarius_tuf::store::StoreError as S;
        log::debug!("{e}");
        match e {
            // Docker's words alone where there is simply nothing to show.
            C::Tuf(notarius_tuf::Error::RepositoryNotExist { .. })
            | C::Remote(S::MetaNotFound { .. })
            | C::Tuf(notarius_tuf::Error::Store(S::MetaNotFound { .. })) => cannot(),
            // Docker logs the reason only with -D; refused trust data (a rollback, a bad
            // signature) or an unreachable server deserves to be said (QUIRKS).
            e => match super::notary_error(remote, e) {
                CliError::Docker(why) => {
                    docker_error(format!("no signatures or cannot access {remote}\n{why}"))
                }
                other => other,
            },
        }
    })?;
    crate::commands::warn_all(&read.warnings);
    let targets = view::signed_targets(&read.repo, t.image.tag.as_deref()).map_err(|_| cannot())?;
    let delegations = view::delegations(&read.repo).unwrap_or_default();
    Ok(Info {
        rows: view::released_rows(&targets),
        signers: view::signers(&delegations),
        root_keys: view::role_key_ids(&read.repo, role::ROOT),
        targets_keys: view::role_key_ids(&read.repo, role::TARGETS),
    })
}

/// Go's `json.Marshal` escapes these in strings; nothing else in the output has them.
fn go_html_escape(s: &str) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonRepo<'a> {
    name: &'a str,
    signed_tags: Vec<JsonTag<'a>>,
    signers: Vec<JsonSigner<'a>>,
    administrative_keys: Vec<JsonSigner<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonTag<'a> {
    signed_tag: &'a str,
    digest: &'a str,
    signers: Vec<&'a str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonSigner<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    keys: Vec<JsonKey<'a>>,
}

#[derive(serde::Serialize)]
struct JsonKey<'a> {
    #[serde(rename = "ID", skip_serializing_if = "str::is_empty")]
    id: &'a str,
}

fn keys(ids: &[String]) -> Vec<JsonKey<'_>> {
    ids.iter().map(|id| JsonKey { id }).collect()
}

fn json_repo<'a>(name: &'a str, info: &'a Info) -> JsonRepo<'a> {
    let signed_tags = info
        .rows
        .iter()
        .map(|r| JsonTag {
            signed_tag: &r.tag,
            digest: &r.digest,
            signers: if r.signers.is_empty() {
                vec![RELEASED_ROLE_NAME]
            } else {
                r.signers.iter().map(String::as_str).collect()
            },
        })
        .collect();
    // Docker sorts signers by name, descending (Go map order otherwise).
    let mut signers: Vec<&Signer> = info.signers.iter().collect();
    signers.sort_by(|a, b| b.name.cmp(&a.name));
    JsonRepo {
        name,
        signed_tags,
        signers: signers
            .into_iter()
            .map(|s| JsonSigner {
                name: &s.name,
                keys: keys(&s.keys),
            })
            .collect(),
        // "Root" before "Repository": docker sorts these descending too.
        administrative_keys: vec![
            JsonSigner {
                name: "Root",
                keys: keys(&info.root_keys),
            },
            JsonSigner {
                name: "Repository",
                keys: keys(&info.targets_keys),
            },
        ],
    }
}

fn pretty(out: &mut dyn Write, remote: &str, info: &Info) -> std::io::Result<()> {
    if info.rows.is_empty() {
        write!(out, "\nNo signatures for {remote}\n\n")?;
    } else {
        write!(out, "\nSignatures for {remote}\n\n")?;
        let mut rows = vec![vec![
            "SIGNED TAG".to_owned(),
            "DIGEST".to_owned(),
            "SIGNERS".to_owned(),
        ]];
        for r in &info.rows {
            let mut signers = if r.signers.is_empty() {
                vec![format!("({RELEASED_ROLE_NAME})")]
            } else {
                r.signers.clone()
            };
            signers.sort();
            rows.push(vec![r.tag.clone(), r.digest.clone(), signers.join(", ")]);
        }
        write!(out, "{}", tabwrite_with(&rows, 10, 3))?;
    }
    if !info.signers.is_empty() {
        write!(out, "\nList of signers and their keys for {remote}\n\n")?;
        let mut signers = info.signers.clone();
        signers.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        let mut rows = vec![vec!["SIGNER".to_owned(), "KEYS".to_owned()]];
        for s in signers {
            let mut ids: Vec<String> = s
                .keys
                .iter()
                .map(|k| k.chars().take(12).collect())
                .collect();
            ids.sort();
            rows.push(vec![s.name, ids.join(", ")]);
        }
        write!(out, "{}", tabwrite_with(&rows, 10, 3))?;
    }
    write!(out, "\nAdministrative keys for {remote}\n\n")?;
    for (label, ids) in [
        ("Repository Key", &info.targets_keys),
        ("Root Key", &info.root_keys),
    ] {
        let mut ids = ids.clone();
        ids.sort();
        writeln!(out, "  {label}:\t{}", ids.join(", "))?;
    }
    Ok(())
}

impl Inspect {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let mut errors = Vec::new();
        if self.pretty {
            for (i, remote) in self.images.iter().enumerate() {
                let info = lookup(ctx, remote)?;
                pretty(out, remote, &info)?;
                if i + 1 < self.images.len() {
                    write!(out, "\n\n")?;
                }
            }
            return Ok(());
        }
        let mut found: Vec<(String, Info)> = Vec::new();
        for remote in &self.images {
            match lookup(ctx, remote) {
                Ok(info) => found.push((remote.clone(), info)),
                Err(e) => errors.push(e.to_string()),
            }
        }
        if found.is_empty() {
            writeln!(out, "[]")?;
        } else {
            let all: Vec<JsonRepo<'_>> = found.iter().map(|(n, i)| json_repo(n, i)).collect();
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(&all, &mut ser)
                .map_err(|e| CliError::fatal(e.to_string()))?;
            writeln!(out, "{}", go_html_escape(&String::from_utf8_lossy(&buf)))?;
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(docker_error(errors.join("\n")))
        }
    }
}
