//! Notary's routes, matched by hand: the GUN sits in the middle of the path and may contain `/`,
//! which no router with a trailing catch-all can express. Matching follows gorilla/mux's
//! regular expressions (`server/server.go`): routes are tried in Notary's order, and within a
//! route the GUN (`[^*]+`, greedy) is as long as the rest of the path allows.

/// What a request path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v2/`
    Base,
    /// `POST|DELETE /v2/{gun}/_trust/tuf/`
    Repo { gun: String },
    /// `GET /v2/{gun}/_trust/tuf/{role}.{checksum}.json`
    ByChecksum {
        gun: String,
        role: String,
        checksum: String,
    },
    /// `GET /v2/{gun}/_trust/tuf/{version}.{role}.json`
    ByVersion {
        gun: String,
        role: String,
        version: String,
    },
    /// `GET /v2/{gun}/_trust/tuf/{role}.json`
    Current { gun: String, role: String },
    /// `GET|POST /v2/{gun}/_trust/tuf/{snapshot|timestamp}.key`
    Key { gun: String, role: String },
    /// `GET /v2/{gun}/_trust/changefeed`
    GunChangefeed { gun: String },
    /// `GET /v2/_trust/changefeed`
    Changefeed,
    /// `GET /_notary_server/health`
    Health,
    /// `GET /metrics`
    Metrics,
    /// Anything else (`404 METADATA_NOT_FOUND`, after auth).
    Other,
}

impl Route {
    /// The GUN the route names, if any (for prefix filters and auth scopes).
    pub fn gun(&self) -> Option<&str> {
        match self {
            Route::Repo { gun }
            | Route::ByChecksum { gun, .. }
            | Route::ByVersion { gun, .. }
            | Route::Current { gun, .. }
            | Route::Key { gun, .. }
            | Route::GunChangefeed { gun } => Some(gun),
            _ => None,
        }
    }
}

/// The HTTP methods Notary routes; others get 405 from gorilla (we answer 404 as for `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
    Other,
}

/// Matches an already percent-decoded path (Go's `URL.Path`).
pub fn match_route(method: Method, path: &str) -> Route {
    match (method, path) {
        (Method::Get, "/v2/") => return Route::Base,
        (Method::Get, "/v2/_trust/changefeed") => return Route::Changefeed,
        (Method::Get, "/_notary_server/health") => return Route::Health,
        (Method::Get, "/metrics") => return Route::Metrics,
        _ => {}
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return Route::Other;
    };
    // Every route's tail starts at a `/_trust/`: found once, last first, for all the routes.
    // (Searching again per route with `str::rfind` was a tenth of a GET's instructions,
    // callgrind.)
    let slashes: Vec<usize> = TRUST.rfind_iter(rest.as_bytes()).collect();
    let gun_then = |tail_ok: fn(&str) -> bool| {
        capture(rest, &slashes, |t| tail_ok(t).then_some(())).map(|(g, ())| g)
    };
    match method {
        Method::Post => {
            if let Some(gun) = gun_then(|tail| tail == "_trust/tuf/") {
                return Route::Repo { gun };
            }
            if let Some((gun, role)) = capture(rest, &slashes, key_role) {
                return Route::Key { gun, role };
            }
        }
        Method::Delete => {
            if let Some(gun) = gun_then(|tail| tail == "_trust/tuf/") {
                return Route::Repo { gun };
            }
        }
        Method::Get => {
            if let Some((gun, (role, checksum))) = capture(rest, &slashes, by_checksum) {
                return Route::ByChecksum {
                    gun,
                    role,
                    checksum,
                };
            }
            if let Some((gun, (role, version))) = capture(rest, &slashes, by_version) {
                return Route::ByVersion { gun, role, version };
            }
            if let Some((gun, role)) = capture(rest, &slashes, current) {
                return Route::Current { gun, role };
            }
            if let Some((gun, role)) = capture(rest, &slashes, key_role) {
                return Route::Key { gun, role };
            }
            if let Some(gun) = gun_then(|tail| tail == "_trust/changefeed") {
                return Route::GunChangefeed { gun };
            }
        }
        Method::Other => {}
    }
    Route::Other
}

static TRUST: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new(b"/_trust/"));

/// Tries every split `gun/tail` at the `/_trust/` positions in `slashes` (last first), so the
/// longest GUN is tried first, as a greedy `[^*]+` would.
fn capture<T>(
    rest: &str,
    slashes: &[usize],
    tail: impl Fn(&str) -> Option<T>,
) -> Option<(String, T)> {
    slashes.iter().find_map(|&slash| {
        let gun = &rest[..slash];
        if gun.is_empty() || gun.contains('*') {
            return None;
        }
        tail(&rest[slash + 1..]).map(|t| (gun.to_owned(), t))
    })
}

/// `root|targets(?:/[^/\s]+)*|snapshot|timestamp`
fn role_pattern(role: &str) -> bool {
    match role {
        "root" | "snapshot" | "timestamp" | "targets" => true,
        _ => role.strip_prefix("targets/").is_some_and(|segs| {
            segs.split('/')
                .all(|s| !s.is_empty() && !s.chars().any(char::is_whitespace))
        }),
    }
}

fn tuf_file(tail: &str) -> Option<&str> {
    tail.strip_prefix("_trust/tuf/")?.strip_suffix(".json")
}

fn current(tail: &str) -> Option<String> {
    let role = tuf_file(tail)?;
    role_pattern(role).then(|| role.to_owned())
}

fn by_checksum(tail: &str) -> Option<(String, String)> {
    let name = tuf_file(tail)?;
    let (role, checksum) = name.rsplit_once('.')?;
    let hex_ok =
        matches!(checksum.len(), 64 | 96 | 128) && checksum.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_ok && role_pattern(role)).then(|| (role.to_owned(), checksum.to_owned()))
}

fn by_version(tail: &str) -> Option<(String, String)> {
    let name = tuf_file(tail)?;
    let (version, role) = name.split_once('.')?;
    let ok = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
    (ok && role_pattern(role)).then(|| (role.to_owned(), version.to_owned()))
}

fn key_role(tail: &str) -> Option<String> {
    let role = tail.strip_prefix("_trust/tuf/")?.strip_suffix(".key")?;
    matches!(role, "snapshot" | "timestamp").then(|| role.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(p: &str) -> Route {
        match_route(Method::Get, p)
    }

    #[test]
    fn notarys_routes() {
        assert_eq!(get("/v2/"), Route::Base);
        assert_eq!(
            get("/v2/docker.io/library/alpine/_trust/tuf/root.json"),
            Route::Current {
                gun: "docker.io/library/alpine".into(),
                role: "root".into()
            }
        );
        assert_eq!(
            get("/v2/g/_trust/tuf/targets/releases.json"),
            Route::Current {
                gun: "g".into(),
                role: "targets/releases".into()
            }
        );
        let sum = "a".repeat(64);
        assert_eq!(
            get(&format!("/v2/g/_trust/tuf/snapshot.{sum}.json")),
            Route::ByChecksum {
                gun: "g".into(),
                role: "snapshot".into(),
                checksum: sum.clone()
            }
        );
        assert_eq!(
            get("/v2/g/_trust/tuf/3.root.json"),
            Route::ByVersion {
                gun: "g".into(),
                role: "root".into(),
                version: "3".into()
            }
        );
        assert_eq!(
            get("/v2/g/_trust/tuf/timestamp.key"),
            Route::Key {
                gun: "g".into(),
                role: "timestamp".into()
            }
        );
        assert_eq!(
            match_route(Method::Post, "/v2/a/b/_trust/tuf/"),
            Route::Repo { gun: "a/b".into() }
        );
        assert_eq!(
            match_route(Method::Delete, "/v2/a/b/_trust/tuf/"),
            Route::Repo { gun: "a/b".into() }
        );
        assert_eq!(
            get("/v2/a/_trust/changefeed"),
            Route::GunChangefeed { gun: "a".into() }
        );
        assert_eq!(get("/v2/_trust/changefeed"), Route::Changefeed);
    }

    #[test]
    fn the_gun_is_greedy() {
        assert_eq!(
            get("/v2/g/_trust/tuf/x/_trust/tuf/root.json"),
            Route::Current {
                gun: "g/_trust/tuf/x".into(),
                role: "root".into()
            }
        );
    }

    #[test]
    fn refused_shapes() {
        assert_eq!(get("/v2/g*/_trust/tuf/root.json"), Route::Other);
        assert_eq!(get("/v2//_trust/tuf/root.json"), Route::Other);
        assert_eq!(get("/v2/g/_trust/tuf/other.json"), Route::Other);
        assert_eq!(get("/v2/g/_trust/tuf/targets/.json"), Route::Other);
        assert_eq!(get("/v2/g/_trust/tuf/root.key"), Route::Other);
        assert_eq!(get("/v2/g/_trust/tuf/root.abc.json"), Route::Other);
        assert_eq!(
            match_route(Method::Post, "/v2/g/_trust/tuf/root.json"),
            Route::Other
        );
        assert_eq!(match_route(Method::Other, "/v2/"), Route::Other);
        assert_eq!(get("/elsewhere"), Route::Other);
    }

    #[test]
    fn a_role_may_hold_dots_before_a_checksum() {
        let sum = "0".repeat(128);
        assert_eq!(
            get(&format!("/v2/g/_trust/tuf/targets/a.b.{sum}.json")),
            Route::ByChecksum {
                gun: "g".into(),
                role: "targets/a.b".into(),
                checksum: sum
            }
        );
    }
}
