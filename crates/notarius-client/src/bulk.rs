//! Bulk add (beyond Notary): a list of targets, one per line, each staged as the `add` or
//! `addhash --sha256` it stands for.

use std::path::PathBuf;

/// One line of a bulk-add list: a target name and where its hashes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkSource {
    /// A file to read and hash (sha256 and sha512, as `add` does).
    File(PathBuf),
    /// A known sha256 digest and size (as `addhash --sha256` does).
    Hash { sha256: Vec<u8>, size: i64 },
}

/// Parses a bulk-add list: one target per line, `name<TAB>source` (the name may then contain
/// spaces, the source is the rest of the line) or `name source` (split at the first run of
/// spaces). The source is `sha256:<64 hex>:<size>` or `<64 hex>:<size>`, else a file path
/// (relative to the current directory). Blank lines and lines starting with `#` are skipped.
/// Errors name the line.
pub fn parse_bulk_list(text: &str) -> Result<Vec<(String, BulkSource)>, String> {
    let mut out: Vec<(String, BulkSource)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (name, source) = match line.split_once('\t') {
            Some((name, rest)) => (name, rest.trim_start_matches('\t')),
            None => match line.split_once(' ') {
                Some((name, rest)) => (name, rest.trim_start_matches(' ')),
                None => (line, ""),
            },
        };
        if name.is_empty() || source.is_empty() {
            return Err(format!(
                "line {n}: expected \"<name><TAB or space><path, or sha256:<hex>:<size>>\", got {line:?}"
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(format!("line {n}: the target name has a control character"));
        }
        let hash_form = source.strip_prefix("sha256:").unwrap_or(source);
        let parsed = match hash_form.split_once(':') {
            Some((h, size)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                let size: i64 = size
                    .parse()
                    .ok()
                    .filter(|s| *s >= 0)
                    .ok_or_else(|| format!("line {n}: invalid size {size:?}"))?;
                BulkSource::Hash {
                    sha256: hex::decode(h).expect("checked hex"),
                    size,
                }
            }
            _ if source.starts_with("sha256:") => {
                return Err(format!(
                    "line {n}: expected sha256:<64 hex digits>:<size>, got {source:?}"
                ));
            }
            _ => BulkSource::File(PathBuf::from(source)),
        };
        if let Some((prev, _)) = out.iter().enumerate().find(|(_, (t, _))| t == name) {
            return Err(format!(
                "line {n}: target {name:?} is already listed (entry {})",
                prev + 1
            ));
        }
        out.push((name.to_owned(), parsed));
    }
    if out.is_empty() {
        return Err("no targets listed".to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_lists_parse_tabs_spaces_hashes_and_refuse_bad_lines() {
        let h = "ab".repeat(32);
        let list = format!(
            "# comment\n\nname with space\tdir/file one\r\nplain   rel/path\nhashed\tsha256:{h}:42\nbare {h}:0\n"
        );
        let got = parse_bulk_list(&list).unwrap();
        assert_eq!(
            got,
            [
                (
                    "name with space".to_owned(),
                    BulkSource::File("dir/file one".into())
                ),
                ("plain".to_owned(), BulkSource::File("rel/path".into())),
                (
                    "hashed".to_owned(),
                    BulkSource::Hash {
                        sha256: vec![0xab; 32],
                        size: 42
                    }
                ),
                (
                    "bare".to_owned(),
                    BulkSource::Hash {
                        sha256: vec![0xab; 32],
                        size: 0
                    }
                ),
            ]
        );
        for (bad, what) in [
            ("only-a-name\n", "line 1: expected"),
            (
                "a\tx\nb\tsha256:abcd:1\n",
                "line 2: expected sha256:<64 hex digits>",
            ),
            (&format!("a\t{h}:-1\n"), "line 1: invalid size"),
            (&format!("a\t{h}:lots\n"), "line 1: invalid size"),
            (
                "a\tx\n# c\na\ty\n",
                "line 3: target \"a\" is already listed (entry 1)",
            ),
            ("# nothing\n\n", "no targets listed"),
            ("a\u{7}b\tx\n", "control character"),
        ] {
            let e = parse_bulk_list(bad).unwrap_err().to_string();
            assert!(e.contains(what), "{bad:?}: {e}");
        }
    }
}
