//! `-D`/`--debug` and `-v`/`--verbose`, as Notary's logrus set-up gives them meaning: warnings
//! and errors by default, `info` with `-v`, `debug` with `-D`, all on stderr; on a terminal as
//! `WARN[0000] message`, otherwise as `time="…" level=warning msg="…"`, logrus' two formats.

use std::io::{IsTerminal as _, Write as _};
use std::time::Instant;

struct Logger {
    start: Instant,
    terminal: bool,
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Only our own crates: a dependency's debug lines are not the user's business.
        if !record.target().starts_with("notarius") {
            return;
        }
        let msg = record.args().to_string();
        let line = if self.terminal {
            let tag = match record.level() {
                log::Level::Error => "ERRO",
                log::Level::Warn => "WARN",
                log::Level::Info => "INFO",
                log::Level::Debug => "DEBU",
                log::Level::Trace => "TRAC",
            };
            format!("{tag}[{:04}] {msg}\n", self.start.elapsed().as_secs())
        } else {
            let level = match record.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                log::Level::Info => "info",
                log::Level::Debug => "debug",
                log::Level::Trace => "trace",
            };
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            format!("time=\"{now}\" level={level} msg={}\n", quote(&msg))
        };
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// logrus quotes a value that has spaces or quotes, as Go's `%q` does.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c))
    {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Installs the logger at the level the flags ask for.
pub fn init(debug: bool, verbose: bool) {
    let level = if debug {
        log::LevelFilter::Debug
    } else if verbose {
        log::LevelFilter::Info
    } else {
        log::LevelFilter::Warn
    };
    let logger = Logger {
        start: Instant::now(),
        terminal: std::io::stderr().is_terminal(),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_quoted_as_logrus_does() {
        assert_eq!(super::quote("plain"), "plain");
        assert_eq!(
            super::quote("could not reach \"x\": y"),
            "\"could not reach \\\"x\\\": y\""
        );
    }
}
