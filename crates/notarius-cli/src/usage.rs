//! Notary's usage text and argument errors, for drop-in use: scripts and people who know
//! `notary` see the same first lines. The usage is cobra's (`Usage:`, the command's `Use` line,
//! `Flags:`, `Global Flags:` in pflag's layout), drawn from the clap tree so it lists the flags
//! the command really has; argument errors are worded as cobra and pflag word them.

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// Notary's `Use` line of each command, after the program name.
fn use_line(path: &[&str]) -> Option<&'static str> {
    Some(match path {
        ["init"] => "init [ GUN ]",
        ["add"] => "add [ GUN ] <target> <file>",
        ["addhash"] => "addhash [ GUN ] <target> <byte size> <hashes>",
        ["remove"] => "remove [ GUN ] <target>",
        ["list"] => "list [ GUN ]",
        ["lookup"] => "lookup [ GUN ] <target>",
        ["publish"] => "publish [ GUN ]",
        ["status"] => "status [ GUN ]",
        ["reset"] => "reset [ GUN ]",
        ["verify"] => "verify [ GUN ] <target>",
        ["witness"] => "witness [ GUN ] <role> ...",
        ["delete"] => "delete [ GUN ]",
        ["key", "list"] => "list",
        ["key", "rotate"] => "rotate [ GUN ] [ key role ]",
        ["key", "generate"] => "generate [ algorithm ]",
        ["key", "remove"] => "remove [ keyID ]",
        ["key", "passwd"] => "passwd [ keyID ]",
        ["key", "import"] => "import pemfile [ pemfile ... ]",
        ["key", "export"] => "export",
        ["delegation", "list"] => "list [ GUN ]",
        ["delegation", "remove"] => "remove [ GUN ] [ Role ] <KeyID 1> ...",
        ["delegation", "purge"] => "purge [ GUN ]",
        ["delegation", "add"] => "add [ GUN ] [ Role ] <X509 file path 1> ...",
        ["backup"] => "backup <file>",
        ["restore"] => "restore <file>",
        _ => return None,
    })
}

/// pflag's name for a flag's value type.
fn value_type(arg: &clap::Arg) -> &'static str {
    let takes_value = !matches!(
        arg.get_action(),
        clap::ArgAction::SetTrue
            | clap::ArgAction::SetFalse
            | clap::ArgAction::Count
            | clap::ArgAction::Help
            | clap::ArgAction::HelpLong
            | clap::ArgAction::HelpShort
            | clap::ArgAction::Version
    );
    if !takes_value {
        return "";
    }
    let many = arg.get_value_delimiter().is_some();
    match (arg.get_long(), many) {
        (Some("number"), _) => "ints",
        (Some("legacy"), _) => "int",
        (_, true) => "strings",
        _ => "string",
    }
}

/// pflag's `FlagUsages`: sorted by name, the help text in one column.
fn flag_lines(mut flags: Vec<(Option<char>, String, &'static str, String)>) -> String {
    flags.sort_by(|a, b| a.1.cmp(&b.1));
    let lines: Vec<(String, String)> = flags
        .into_iter()
        .map(|(short, long, ty, help)| {
            let mut l = match short {
                Some(c) => format!("  -{c}, --{long}"),
                None => format!("      --{long}"),
            };
            if !ty.is_empty() {
                l.push(' ');
                l.push_str(ty);
            }
            (l, help)
        })
        .collect();
    let width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 3;
    lines
        .into_iter()
        .map(|(l, h)| format!("{l:<width$}{h}\n"))
        .collect()
}

fn flag_of(arg: &clap::Arg) -> Option<(Option<char>, String, &'static str, String)> {
    if arg.is_positional() || arg.is_hide_set() {
        return None;
    }
    let long = arg.get_long()?.to_owned();
    let mut help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    if let Some(d) = arg.get_default_values().first()
        && value_type(arg) == "string"
    {
        help.push_str(&format!(" (default {:?})", d.to_string_lossy()));
    }
    Some((arg.get_short(), long, value_type(arg), help))
}

/// Cobra's usage of the command at `path` (subcommand names from the root), named `bin`.
pub fn usage(root: &clap::Command, bin: &str, path: &[String]) -> String {
    let mut cmd = root;
    for p in path {
        match cmd.find_subcommand(p) {
            Some(c) => cmd = c,
            None => break,
        }
    }
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    let parents = names[..names.len().saturating_sub(1)].join(" ");
    let prefix = if parents.is_empty() {
        bin.to_owned()
    } else {
        format!("{bin} {parents}")
    };
    let use_text = use_line(&names)
        .map(str::to_owned)
        .unwrap_or_else(|| cmd.get_name().to_owned());
    let mut out = format!("Usage:\n  {prefix} {use_text} [flags]\n\nFlags:\n");
    let mut local: Vec<_> = cmd
        .get_arguments()
        .filter(|a| !a.is_global_set())
        .filter_map(flag_of)
        .collect();
    local.push((
        Some('h'),
        "help".into(),
        "",
        format!("help for {}", cmd.get_name()),
    ));
    out.push_str(&flag_lines(local));
    let globals: Vec<_> = root
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(flag_of)
        .collect();
    if !globals.is_empty() {
        out.push_str("\nGlobal Flags:\n");
        out.push_str(&flag_lines(globals));
    }
    out
}

/// The flag of the tree with this long name.
fn find_flag<'a>(cmd: &'a clap::Command, long: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .or_else(|| cmd.get_subcommands().find_map(|c| find_flag(c, long)))
}

/// What cobra and pflag say for an argument error clap found, and whether Notary would print
/// the usage before it (it does not for flag errors; extra arguments are ours). `args` tell
/// whether the user wrote a flag's short or long form, which pflag's words follow.
pub fn clap_error_message(
    e: &clap::Error,
    bin: &str,
    root: &clap::Command,
    args: &[String],
) -> (String, bool) {
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let value = match e.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    // clap names a flag as `--roles <ROLES>`; pflag as `--roles` or `'r' in -r`.
    let flag_name = arg.split_whitespace().next().unwrap_or("").to_owned();
    let flag = flag_name
        .strip_prefix("--")
        .and_then(|l| find_flag(root, l));
    let short = flag.and_then(clap::Arg::get_short);
    let typed_short = short.is_some_and(|c| {
        args.iter().any(|a| {
            a.len() >= 2 && a.starts_with('-') && !a.starts_with("--") && a[1..].starts_with(c)
        })
    });
    let pflag_name = match (short, typed_short) {
        (Some(c), true) => format!("'{c}' in -{c}"),
        _ => flag_name.clone(),
    };
    let both_names = match short {
        Some(c) => format!("-{c}, {flag_name}"),
        None => flag_name.clone(),
    };
    match e.kind() {
        ErrorKind::InvalidSubcommand => {
            let sub = match e.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(s)) => s.clone(),
                _ => arg,
            };
            (format!("unknown command {sub:?} for {bin:?}"), false)
        }
        ErrorKind::UnknownArgument if flag_name.starts_with("--") => {
            (format!("unknown flag: {flag_name}"), false)
        }
        ErrorKind::UnknownArgument if flag_name.starts_with('-') && flag_name.len() > 1 => {
            let c = flag_name[1..].chars().next().unwrap_or('-');
            (
                format!("unknown shorthand flag: '{c}' in {flag_name}"),
                false,
            )
        }
        ErrorKind::UnknownArgument => (
            // Notary ignores extra arguments; doing what was not asked for is worse.
            format!("unexpected argument {flag_name:?}: this command takes no more arguments"),
            true,
        ),
        ErrorKind::InvalidValue | ErrorKind::NoEquals if value.is_empty() => {
            (format!("flag needs an argument: {pflag_name}"), false)
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let why = match flag.map(value_type) {
                Some("ints") => format!("strconv.Atoi: parsing {value:?}: invalid syntax"),
                Some("int") => format!("strconv.ParseInt: parsing {value:?}: invalid syntax"),
                _ => "invalid value".to_owned(),
            };
            (
                format!("invalid argument {value:?} for {both_names:?} flag: {why}"),
                false,
            )
        }
        _ => {
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_owned();
            (first, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_line_up_as_pflag_lays_them_out() {
        let got = flag_lines(vec![
            (
                Some('r'),
                "roles".into(),
                "strings",
                "Delegation roles".into(),
            ),
            (Some('h'), "help".into(), "", "help for list".into()),
        ]);
        assert_eq!(
            got,
            "  -h, --help            help for list\n  -r, --roles strings   Delegation roles\n"
        );
    }
}
