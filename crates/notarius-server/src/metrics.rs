//! Prometheus metrics under Notary's names: `notary_server_http_*`, labelled by `operation`
//! (Notary's route names), so existing dashboards keep working.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Every `operation` label the server uses (`app.rs`), each with lock-free counters: the
/// metrics are touched by every request, and two mutexes per GET showed in profiles.
const OPERATIONS: [&str; 10] = [
    "Base",
    "Changefeed",
    "DeleteTUF",
    "GetKey",
    "GetRole",
    "GetRoleByHash",
    "GetRoleByVersion",
    "Health",
    "Metrics",
    "NotFound",
];
/// Status codes with their own counter; any other code is counted under a lock.
const CODES: [u16; 14] = [
    200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409, 413, 500, 503,
];

#[derive(Default)]
struct Series {
    count: AtomicU64,
    nanos_sum: AtomicU64,
    by_code: [AtomicU64; CODES.len()],
}

#[derive(Default)]
pub struct Metrics {
    fixed: [Series; OPERATIONS.len()],
    /// Operations or codes outside the fixed tables (e.g. `UpdateTUF`, `RotateKey`).
    other_requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    other_durations: Mutex<BTreeMap<&'static str, (u64, u64)>>,
}

impl Metrics {
    pub fn observe(&self, operation: &'static str, code: u16, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let Some(op) = OPERATIONS.iter().position(|o| *o == operation) else {
            *self
                .other_requests
                .lock()
                .expect("not poisoned")
                .entry((operation, code))
                .or_default() += 1;
            let mut d = self.other_durations.lock().expect("not poisoned");
            let s = d.entry(operation).or_default();
            s.0 += 1;
            s.1 = s.1.saturating_add(nanos);
            return;
        };
        let s = &self.fixed[op];
        s.count.fetch_add(1, Relaxed);
        s.nanos_sum.fetch_add(nanos, Relaxed);
        match CODES.iter().position(|c| *c == code) {
            Some(i) => {
                s.by_code[i].fetch_add(1, Relaxed);
            }
            None => {
                *self
                    .other_requests
                    .lock()
                    .expect("not poisoned")
                    .entry((operation, code))
                    .or_default() += 1;
            }
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut requests = self.other_requests.lock().expect("not poisoned").clone();
        let mut durations = self.other_durations.lock().expect("not poisoned").clone();
        for (op, s) in OPERATIONS.iter().zip(&self.fixed) {
            for (code, n) in CODES.iter().zip(&s.by_code) {
                let n = n.load(Relaxed);
                if n > 0 {
                    *requests.entry((op, *code)).or_default() += n;
                }
            }
            let count = s.count.load(Relaxed);
            if count > 0 {
                durations.insert(op, (count, s.nanos_sum.load(Relaxed)));
            }
        }
        let mut out = String::new();
        out.push_str(
            "# HELP notary_server_http_requests_total Total number of HTTP requests made.\n",
        );
        out.push_str("# TYPE notary_server_http_requests_total counter\n");
        for ((op, code), n) in &requests {
            let _ = writeln!(
                out,
                "notary_server_http_requests_total{{code=\"{code}\",operation=\"{op}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP notary_server_http_request_duration_microseconds The HTTP request latencies in microseconds.\n",
        );
        out.push_str("# TYPE notary_server_http_request_duration_microseconds summary\n");
        for (op, (count, nanos)) in &durations {
            let _ = writeln!(
                out,
                "notary_server_http_request_duration_microseconds_sum{{operation=\"{op}\"}} {}",
                *nanos as f64 / 1e3
            );
            let _ = writeln!(
                out,
                "notary_server_http_request_duration_microseconds_count{{operation=\"{op}\"}} {count}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_operation_and_code() {
        let m = Metrics::default();
        m.observe("GetRole", 200, Duration::from_micros(10));
        m.observe("GetRole", 200, Duration::from_micros(30));
        m.observe("GetRole", 404, Duration::from_micros(5));
        m.observe("GetRole", 418, Duration::from_micros(5));
        m.observe("UpdateTUF", 200, Duration::from_micros(7));
        let text = m.render();
        assert!(
            text.contains(
                "notary_server_http_requests_total{code=\"200\",operation=\"GetRole\"} 2"
            )
        );
        assert!(
            text.contains(
                "notary_server_http_requests_total{code=\"404\",operation=\"GetRole\"} 1"
            )
        );
        assert!(
            text.contains(
                "notary_server_http_requests_total{code=\"418\",operation=\"GetRole\"} 1"
            )
        );
        assert!(
            text.contains(
                "notary_server_http_requests_total{code=\"200\",operation=\"UpdateTUF\"} 1"
            )
        );
        assert!(text.contains(
            "notary_server_http_request_duration_microseconds_count{operation=\"GetRole\"} 4"
        ));
        assert!(text.contains(
            "notary_server_http_request_duration_microseconds_sum{operation=\"GetRole\"} 50\n"
        ));
        assert!(text.contains(
            "notary_server_http_request_duration_microseconds_count{operation=\"UpdateTUF\"} 1"
        ));
    }
}
