//! `notary add <gun> <target> <file>`, and (beyond Notary) `--from-file` for many targets.

use std::io::Write;
use std::path::{Path, PathBuf};

use notarius_client::bulk::{BulkSource, parse_bulk_list};
use notarius_client::publish::file_meta;
use notarius_tuf::metadata::{FileMeta, HashBytes};

use super::{add_change, auto_publish, go_read_error, read_custom, scopes, stage_target};
use crate::context::Context;
use crate::error::{CliError, CmdResult};
use crate::progress::Progress;

const BULK_HELP: &str = "\
Bulk add (beyond notary): notarius add <GUN> --from-file <LIST>

Each line of LIST (or of standard input with \"-\") names one target:

    <name><TAB><path>                 the file is read and hashed (sha256, sha512), as `add` does
    <name><TAB>sha256:<hex>:<size>    a known digest and size, as `addhash --sha256` does
    <name><TAB><hex>:<size>           the same, without the prefix

A run of spaces may separate the name from the rest instead of a TAB (the name then has no
spaces). Paths are relative to the current directory. Blank lines and lines starting with #
are skipped; a name listed twice is an error. Every file is hashed before anything is staged,
so a bad line stages nothing; each target is then staged as its own change (one per role with
--roles), exactly as one `add` would, and --custom applies to the file entries. A progress bar
is shown on standard error when it is a terminal.

Example:
    printf 'v1.0\\tdist/app-1.0.tgz\\nv1.0.sig\\tdist/app-1.0.sig\\n' | notarius add example.com/app --from-file - -p";

/// Adds the file as a target to the trusted collection.
///
/// Adds the file as a target to the local trusted collection identified by the Globally
/// Unique Name: hashes it (sha256, sha512) and stages the addition. Offline; use `publish`
/// (or -p) to push the change to the remote trusted collection.
#[derive(clap::Args)]
#[command(after_long_help = BULK_HELP)]
pub struct Add {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// The target's name in the collection
    target: Option<String>,
    /// The file whose hashes and size are signed
    file: Option<PathBuf>,
    /// Add every target listed in this file ("-" for standard input), one per line (beyond
    /// notary; see below)
    #[arg(long = "from-file", value_name = "LIST", conflicts_with_all = ["target", "file"])]
    from_file: Option<PathBuf>,
    /// Delegation roles to add this target to
    #[arg(short = 'r', long = "roles", value_delimiter = ',')]
    roles: Vec<String>,
    /// Path to the file containing custom data for this target
    #[arg(long = "custom", value_name = "FILE")]
    custom: Option<PathBuf>,
    #[command(flatten)]
    publish: super::PublishFlag,
}

const NEEDS: &str = "Must specify a GUN, target, and path to target data";

impl Add {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        if let Some(list) = &self.from_file {
            let gun = super::required(&self.gun, NEEDS)?;
            return self.run_bulk(ctx, gun, list, out);
        }
        let (Some(gun), Some(target), Some(file)) = (&self.gun, &self.target, &self.file) else {
            return Err(CliError::Usage(NEEDS.into()));
        };
        let gun = ctx.gun(gun)?;
        let custom = read_custom(self.custom.as_deref())?;
        // The roles are checked before the file is read.
        scopes(&self.roles)?;
        let bytes = std::fs::read(file).map_err(|e| CliError::fatal(go_read_error(file, &e)))?;
        let meta = file_meta(&bytes, None);
        stage_target(ctx, &gun, &self.roles, target, &meta, custom.as_deref())?;
        writeln!(
            out,
            "Addition of target \"{target}\" to repository \"{gun}\" staged for next publish."
        )?;
        auto_publish(ctx, &gun, self.publish.publish, out)
    }

    /// Every target of the list is hashed first; only when all succeeded is each staged as
    /// its own change, exactly as one `add` (file) or `addhash --sha256` (digest) would stage it.
    fn run_bulk(&self, ctx: &Context, gun: &str, list: &Path, out: &mut dyn Write) -> CmdResult {
        let gun = ctx.gun(gun)?;
        let custom = read_custom(self.custom.as_deref())?;
        let text = read_list(list)?;
        let entries = parse_bulk_list(&text).map_err(CliError::Fatal)?;
        let scopes = scopes(&self.roles)?;
        let total = entries.len();
        let mut bar = Progress::new("hashing");
        let mut staged: Vec<(String, FileMeta, bool)> = Vec::with_capacity(total);
        for (i, (name, source)) in entries.into_iter().enumerate() {
            bar.update(i, total, &name);
            let (meta, from_file) = match source {
                BulkSource::File(p) => {
                    let bytes = std::fs::read(&p).map_err(|e| {
                        CliError::fatal(format!("{name}: {}", go_read_error(&p, &e)))
                    })?;
                    (file_meta(&bytes, None), true)
                }
                BulkSource::Hash { sha256, size } => (
                    FileMeta {
                        custom: None,
                        hashes: [("sha256".to_owned(), HashBytes(sha256))].into(),
                        length: size,
                        extra: Default::default(),
                    },
                    false,
                ),
            };
            staged.push((name, meta, from_file));
        }
        bar.update(total, total, "");
        let cl = ctx.changelist(&gun)?;
        let mut written = Vec::new();
        for (name, meta, from_file) in &staged {
            let custom = custom.as_deref().filter(|_| *from_file);
            for scope in &scopes {
                match add_change(scope.as_deref(), name, meta, custom).and_then(|c| Ok(cl.add(&c)?))
                {
                    Ok(f) => written.push(f),
                    Err(e) => {
                        // All or nothing: take back what this command staged.
                        let _ = cl.remove_files(&written);
                        return Err(e);
                    }
                }
            }
        }
        for (name, _, from_file) in &staged {
            let how = if *from_file { "" } else { " by sha256 hash" };
            writeln!(
                out,
                "Addition of target \"{name}\"{how} to repository \"{gun}\" staged for next publish."
            )?;
        }
        auto_publish(ctx, &gun, self.publish.publish, out)
    }
}

/// A bulk-add list from a file or, for `-`, standard input (at most 64 MiB).
fn read_list(path: &Path) -> Result<String, CliError> {
    use std::io::Read as _;
    const LIMIT: u64 = 64 << 20;
    let mut bytes = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(LIMIT + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(LIMIT + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::fatal(format!("{}: {e}", path.display())))?;
    if bytes.len() as u64 > LIMIT {
        return Err(CliError::fatal(format!(
            "{}: larger than {LIMIT} bytes",
            path.display()
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| CliError::fatal(format!("{}: not UTF-8 text", path.display())))
}
