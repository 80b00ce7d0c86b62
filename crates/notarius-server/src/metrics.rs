//! Prometheus metrics under Notary's names: `notary_server_http_*`, labelled by `operation`
//! (Notary's route names), so existing dashboards keep working.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
struct Series {
    count: u64,
    micros_sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    durations: Mutex<BTreeMap<&'static str, Series>>,
}

impl Metrics {
    pub fn observe(&self, operation: &'static str, code: u16, took: Duration) {
        *self
            .requests
            .lock()
            .expect("not poisoned")
            .entry((operation, code))
            .or_default() += 1;
        let mut d = self.durations.lock().expect("not poisoned");
        let s = d.entry(operation).or_default();
        s.count += 1;
        s.micros_sum += took.as_secs_f64() * 1e6;
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP notary_server_http_requests_total Total number of HTTP requests made.\n",
        );
        out.push_str("# TYPE notary_server_http_requests_total counter\n");
        for ((op, code), n) in self.requests.lock().expect("not poisoned").iter() {
            let _ = writeln!(
                out,
                "notary_server_http_requests_total{{code=\"{code}\",operation=\"{op}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP notary_server_http_request_duration_microseconds The HTTP request latencies in microseconds.\n",
        );
        out.push_str("# TYPE notary_server_http_request_duration_microseconds summary\n");
        for (op, s) in self.durations.lock().expect("not poisoned").iter() {
            let _ = writeln!(
                out,
                "notary_server_http_request_duration_microseconds_sum{{operation=\"{op}\"}} {}",
                s.micros_sum
            );
            let _ = writeln!(
                out,
                "notary_server_http_request_duration_microseconds_count{{operation=\"{op}\"}} {}",
                s.count
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
        assert!(text.contains(
            "notary_server_http_request_duration_microseconds_count{operation=\"GetRole\"} 3"
        ));
    }
}
