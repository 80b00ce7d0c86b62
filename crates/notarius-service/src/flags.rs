//! Go's `flag` package syntax, as notary-server and notary-signer parse their arguments.

/// Why the arguments could not be parsed (Go's words).
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("flag needs an argument: -{0}")]
    MissingValue(String),
    #[error("invalid boolean value {value:?} for -{name}")]
    BadBool { name: String, value: String },
    #[error("flag provided but not defined: -{name}\n{usage}")]
    Unknown { name: String, usage: String },
}

/// A program's name, version and usage, for the flags every program has.
pub struct Program {
    pub name: &'static str,
    pub version: &'static str,
    pub usage: &'static str,
}

impl Program {
    /// [`common`] for this program.
    pub fn common(&self, flag: &str) -> Result<bool, FlagError> {
        common(flag, self.name, self.version, self.usage)
    }
}

/// The flags every program has, after its own: `-version` and `-h`/`-help` print and say to
/// exit (`Ok(true)`); anything else is Go's `flag provided but not defined`, with the usage.
pub fn common(name: &str, program: &str, version: &str, usage: &str) -> Result<bool, FlagError> {
    match name {
        "version" => {
            println!("{program} {version}");
            Ok(true)
        }
        "h" | "help" => {
            println!("{usage}");
            Ok(true)
        }
        other => Err(FlagError::Unknown {
            name: other.to_owned(),
            usage: usage.to_owned(),
        }),
    }
}

/// One flag as given: its name (dashes taken off) and a value written `-name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    inline: Option<String>,
}

/// The arguments after the program name, flag by flag.
pub struct GoFlags {
    args: std::vec::IntoIter<String>,
}

impl GoFlags {
    /// This process's arguments.
    pub fn from_env() -> GoFlags {
        GoFlags::new(std::env::args().skip(1).collect())
    }

    pub fn new(args: Vec<String>) -> GoFlags {
        GoFlags {
            args: args.into_iter(),
        }
    }

    /// The next flag, or `None` at the end.
    pub fn next_flag(&mut self) -> Option<Flag> {
        let arg = self.args.next()?;
        let trimmed = arg.trim_start_matches('-');
        Some(match trimmed.split_once('=') {
            Some((n, v)) => Flag {
                name: n.to_owned(),
                inline: Some(v.to_owned()),
            },
            None => Flag {
                name: trimmed.to_owned(),
                inline: None,
            },
        })
    }

    /// The value of a flag that takes one: `-name=value` or the next argument.
    pub fn value(&mut self, flag: &Flag) -> Result<String, FlagError> {
        match &flag.inline {
            Some(v) => Ok(v.clone()),
            None => self
                .args
                .next()
                .ok_or_else(|| FlagError::MissingValue(flag.name.clone())),
        }
    }

    /// A boolean flag: `-name` is true; `-name=false` (or `0`) false.
    pub fn boolean(flag: &Flag) -> Result<bool, FlagError> {
        match flag.inline.as_deref() {
            None | Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(o) => Err(FlagError::BadBool {
                name: flag.name.clone(),
                value: o.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_flag_syntax() {
        let mut f = GoFlags::new(
            [
                "-config",
                "a.json",
                "--logf=json",
                "-debug",
                "-bootstrap=false",
                "-x",
            ]
            .map(String::from)
            .to_vec(),
        );
        let c = f.next_flag().unwrap();
        assert_eq!(c.name, "config");
        assert_eq!(f.value(&c).unwrap(), "a.json");
        let l = f.next_flag().unwrap();
        assert_eq!(
            (l.name.as_str(), f.value(&l).unwrap().as_str()),
            ("logf", "json")
        );
        assert!(GoFlags::boolean(&f.next_flag().unwrap()).unwrap());
        assert!(!GoFlags::boolean(&f.next_flag().unwrap()).unwrap());
        let x = f.next_flag().unwrap();
        assert_eq!(
            f.value(&x).unwrap_err().to_string(),
            "flag needs an argument: -x"
        );
        assert!(f.next_flag().is_none());
    }
}
