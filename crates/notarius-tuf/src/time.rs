//! Times as Go's `time.Time` writes and reads them in JSON (RFC 3339 with up to nine fractional
//! digits, trailing zeros trimmed, `Z` for a zero offset).

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// The instant used for every expiry decision of one operation. Passed in, never read from a
/// global clock, so that verification is deterministic.
pub type Instant = DateTime<Utc>;

/// Days in Notary's default expiries.
pub const ROOT_EXPIRY: Duration = Duration::days(3650);
pub const TARGETS_EXPIRY: Duration = Duration::days(1095);
pub const SNAPSHOT_EXPIRY: Duration = Duration::days(1095);
pub const TIMESTAMP_EXPIRY: Duration = Duration::days(14);

/// Formats like Go's `time.RFC3339Nano`.
pub fn format_go(t: &DateTime<FixedOffset>) -> String {
    // SecondsFormat::AutoSi picks 0/3/6/9 digits; Go trims every trailing zero.
    let s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
    // s looks like 2026-01-02T03:04:05.123456789Z or ...+01:00
    let (head, zone) = match s.find('.') {
        Some(dot) => {
            let zone_start = s[dot..]
                .find(['Z', '+', '-'])
                .map(|i| dot + i)
                .unwrap_or(s.len());
            let frac = s[dot + 1..zone_start].trim_end_matches('0');
            let mut head = s[..dot].to_owned();
            if !frac.is_empty() {
                head.push('.');
                head.push_str(frac);
            }
            (head, s[zone_start..].to_owned())
        }
        None => (s.clone(), String::new()),
    };
    format!("{head}{zone}")
}

/// Parses RFC 3339 as Go's `time.Time.UnmarshalJSON` does (any offset, optional fraction).
pub fn parse_go(s: &str) -> Result<DateTime<FixedOffset>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s)
}

/// Formats like Go's `Mon Jan 2 15:04:05 MST 2006` layout, which Notary uses in expiry errors.
pub fn format_go_expired(t: &DateTime<FixedOffset>) -> String {
    let zone = if t.offset().local_minus_utc() == 0 {
        "UTC".to_owned()
    } else {
        t.format("%z").to_string()
    };
    format!(
        "{} {} {}",
        t.format("%a %b %-d %H:%M:%S"),
        zone,
        t.format("%Y")
    )
}

pub(crate) mod serde_go_time {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_go(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() > 64 {
            return Err(serde::de::Error::custom("time string too long"));
        }
        parse_go(&s).map_err(|e| serde::de::Error::custom(format!("parsing time {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        for s in [
            "2026-11-25T03:04:05Z",
            "2026-11-25T03:04:05.1Z",
            "2026-11-25T03:04:05.123456789Z",
            "2016-03-14T13:32:45.123-05:00",
            "2036-11-22T00:52:03.00012+01:00",
        ] {
            let t = parse_go(s).unwrap();
            assert_eq!(format_go(&t), s);
        }
        let t = parse_go("2026-11-25T03:04:05.500000000+00:00").unwrap();
        assert_eq!(format_go(&t), "2026-11-25T03:04:05.5Z");
    }

    #[test]
    fn expired_format() {
        let t = parse_go("2016-03-04T13:32:45.123-05:00").unwrap();
        assert_eq!(format_go_expired(&t), "Fri Mar 4 13:32:45 -0500 2016");
        let t = parse_go("2016-03-14T13:32:45Z").unwrap();
        assert_eq!(format_go_expired(&t), "Mon Mar 14 13:32:45 UTC 2016");
    }

    #[test]
    fn refuses_bad_times() {
        for s in [
            "2026-11-25",
            "2026-11-25T03:04:05",
            "10000-01-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "x",
        ] {
            assert!(parse_go(s).is_err(), "{s}");
        }
    }
}
