//! `notary addhash <gun> <target> <size> --sha256 <hex> --sha512 <hex>`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use notarius_tuf::metadata::{FileMeta, HashBytes};

use super::{auto_publish, read_custom, stage_target};
use crate::context::Context;
use crate::error::{CliError, CmdResult};

/// Adds the byte size and hash(es) as a target to the trusted collection.
///
/// Adds the specified byte size and hash(es) as a target to the local trusted collection
/// identified by the Globally Unique Name, without the file itself (e.g. an image manifest's
/// digest). Offline; use `publish` (or -p) to push the change to the remote trusted collection.
#[derive(clap::Args)]
pub struct Addhash {
    /// The Globally Unique Name, e.g. example.com/app
    gun: Option<String>,
    /// The target's name in the collection
    target: Option<String>,
    /// The target's size in bytes (decimal, 0x hex or 0 octal, as Go's ParseInt reads it)
    size: Option<String>,
    /// hex encoded sha256 of the target to add
    #[arg(long = "sha256", value_name = "HEX")]
    sha256: Option<String>,
    /// hex encoded sha512 of the target to add
    #[arg(long = "sha512", value_name = "HEX")]
    sha512: Option<String>,
    /// Delegation roles to add this target to
    #[arg(short = 'r', long = "roles", value_delimiter = ',')]
    roles: Vec<String>,
    /// Path to the file containing custom data for this target
    #[arg(long = "custom", value_name = "FILE")]
    custom: Option<PathBuf>,
    #[command(flatten)]
    publish: super::PublishFlag,
}

/// Go's `strconv.ParseInt(s, 0, 64)`: decimal, `0x` hex, `0` octal, with its error text.
fn go_parse_int(s: &str) -> Result<i64, CliError> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let parsed = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16)
    } else if let Some(o) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        i64::from_str_radix(o, 8)
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8)
    } else {
        digits.parse()
    };
    parsed
        .map(|v| if neg { -v } else { v })
        .map_err(|_| CliError::fatal(format!("strconv.ParseInt: parsing {s:?}: invalid syntax")))
}

impl Addhash {
    pub fn run(self, ctx: &Context, out: &mut dyn Write) -> CmdResult {
        let (Some(gun), Some(target), Some(size)) = (&self.gun, &self.target, &self.size) else {
            return Err(CliError::Usage(NEEDS.into()));
        };
        if self.sha256.is_none() && self.sha512.is_none() {
            return Err(CliError::Usage(NEEDS.into()));
        }
        let custom = read_custom(self.custom.as_deref())?;
        let size = go_parse_int(size)?;
        let gun = ctx.gun(gun)?;
        let mut hashes = BTreeMap::new();
        for (alg, hex_value, len) in [("sha256", &self.sha256, 32), ("sha512", &self.sha512, 64)] {
            if let Some(h) = hex_value {
                let b = hex::decode(h)
                    .ok()
                    .filter(|b| b.len() == len)
                    .ok_or_else(|| {
                        CliError::fatal(format!("invalid {alg} hex contents provided"))
                    })?;
                hashes.insert(alg.to_owned(), HashBytes(b));
            }
        }
        let algs: Vec<String> = hashes.keys().cloned().collect();
        let meta = FileMeta {
            custom: None,
            hashes,
            length: size,
            extra: Default::default(),
        };
        stage_target(ctx, &gun, &self.roles, target, &meta, custom.as_deref())?;
        writeln!(
            out,
            "Addition of target \"{target}\" by {} hash to repository \"{gun}\" staged for next publish.",
            algs.join(", ")
        )?;
        auto_publish(ctx, &gun, self.publish.publish, out)
    }
}

const NEEDS: &str = "Must specify a GUN, target, byte size of target data, and at least one hash";

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_parse_as_go_parse_int_base_0() {
        for (s, v) in [("10", 10), ("0x10", 16), ("010", 8), ("0", 0), ("-3", -3)] {
            assert_eq!(super::go_parse_int(s).unwrap(), v, "{s}");
        }
        assert!(super::go_parse_int("ten").is_err());
        assert!(super::go_parse_int("09").is_err());
    }
}
