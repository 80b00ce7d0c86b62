//! The HTTP edge: one dispatcher over Notary's routes (see `route.rs`), thin handlers that call
//! storage, the signing service and the pure validation, and Notary's response shapes.

use std::sync::Arc;
use std::time::Instant as StdInstant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderValue, Method as HttpMethod, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use notarius_tuf::metadata::{Root, Signed};
use notarius_tuf::role;
use serde_json::json;

use crate::auth::Access;
use crate::errors::{ApiError, Code, Validation};
use crate::metrics::Metrics;
use crate::route::{Method, Route, match_route};
use crate::signer::{SharedSigner, SignerError, TrustService};
use crate::storage::{MetaUpdate, StorageError, Store};
use crate::validate::{self, FreshError};

/// Cache-Control lifetimes (seconds) for current and for consistent (checksum/version) reads.
#[derive(Debug, Clone, Copy)]
pub struct Caching {
    pub current: u64,
    pub consistent: u64,
}

impl Default for Caching {
    fn default() -> Self {
        Caching {
            current: 300,
            consistent: 2_592_000,
        }
    }
}

/// Notary's cache headers for current and for consistent reads, built once from [`Caching`]:
/// every metadata answer carries them.
pub struct CacheHeaders {
    current: Vec<(header::HeaderName, HeaderValue)>,
    consistent: Vec<(header::HeaderName, HeaderValue)>,
}

impl From<Caching> for CacheHeaders {
    fn from(c: Caching) -> CacheHeaders {
        // Current files must be revalidated; checksum- and version-addressed ones never change.
        let headers = |max_age: u64, must_revalidate: bool| {
            if max_age == 0 {
                return vec![
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("max-age=0, no-cache, no-store"),
                    ),
                    (header::PRAGMA, HeaderValue::from_static("no-cache")),
                ];
            }
            let v = if must_revalidate {
                format!("public, max-age={max_age}, s-maxage={max_age}, must-revalidate")
            } else {
                format!("public, max-age={max_age}, s-maxage={max_age}")
            };
            vec![(
                header::CACHE_CONTROL,
                HeaderValue::from_str(&v).expect("ascii"),
            )]
        };
        CacheHeaders {
            current: headers(c.current, true),
            consistent: headers(c.consistent, false),
        }
    }
}

/// The most changefeed records one request returns.
pub const MAX_PAGE: i64 = 1000;

/// Everything a request needs.
pub struct App {
    pub store: Arc<Store>,
    pub trust: Arc<dyn TrustService>,
    pub key_algorithm: String,
    pub caching: CacheHeaders,
    pub gun_prefixes: Vec<String>,
    /// Upper bound of a whole update request body.
    pub max_body: usize,
    pub metrics: Metrics,
    /// The time used for every expiry decision (a test may move it).
    pub clock: Clock,
    /// Token auth, when configured; `None` lets every request through, as Notary does.
    pub auth: Option<crate::auth::TokenAuth>,
    /// One re-signing at a time per GUN.
    pub resign: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Stored roots already verified, so a publish need not verify its GUN's root again.
    pub roots: Arc<crate::roots::VerifiedRoots>,
    /// Validations that may run at once (see [`validation_slots`]).
    pub validating: Arc<tokio::sync::Semaphore>,
}

/// Validating an update is CPU work on a blocking thread, holding the uploaded files and
/// everything parsed from them. More at once than there are CPUs finishes none sooner; it only
/// multiplies that memory, the threads and their switching (with 16 publishers at once, the
/// cap took 2.3 MB off the server's peak RSS). Twice the CPUs, because a validation also waits
/// on the signing service (`RemoteSigner` blocks on its RPC); one per CPU saved another 1.2 MB
/// but cost 3 % of updates/s.
pub fn validation_slots() -> Arc<tokio::sync::Semaphore> {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    Arc::new(tokio::sync::Semaphore::new(cpus * 2))
}

impl App {
    fn resign_lock(&self, gun: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut m = self.resign.lock().expect("not poisoned");
        // Forget GUNs nobody is waiting on, so the map stays as small as the busy set.
        m.retain(|_, l| Arc::strong_count(l) > 1);
        m.entry(gun.to_owned()).or_default().clone()
    }
}

/// Where "now" comes from.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Every answer is one buffer: metadata comes from memory or one database row.
pub type Body = Full<Bytes>;
pub type Response = http::Response<Body>;
/// A request as hyper hands it over; only an update reads its body.
pub type Request = http::Request<hyper::body::Incoming>;

fn text(body: impl Into<Bytes>) -> Response {
    let mut r = Response::new(Full::new(body.into()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

impl ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.status()).expect("valid status");
        json_response(status, self.body())
    }
}

/// Go's `time.RFC1123` in UTC: `Mon, 02 Jan 2006 15:04:05 UTC` (zone name, not `GMT`).
pub fn last_modified(t: DateTime<Utc>) -> String {
    // `t.format("%a, %d %b %Y %H:%M:%S UTC")` by hand: chrono parses the format string on
    // every call, a few per cent of a GET (perf).
    use chrono::{Datelike as _, Timelike as _};
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} UTC",
        DAYS[t.weekday().num_days_from_monday() as usize],
        t.day(),
        MONTHS[t.month0() as usize],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn percent_decode(path: &str) -> Option<String> {
    if !path.contains('%') {
        return Some(path.to_owned());
    }
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn operation(route: &Route, method: Method) -> &'static str {
    match route {
        Route::Base => "Base",
        Route::Repo { .. } if method == Method::Post => "UpdateTUF",
        Route::Repo { .. } => "DeleteTUF",
        Route::ByChecksum { .. } => "GetRoleByHash",
        Route::ByVersion { .. } => "GetRoleByVersion",
        Route::Current { .. } => "GetRole",
        Route::Key { .. } if method == Method::Post => "RotateKey",
        Route::Key { .. } => "GetKey",
        Route::GunChangefeed { .. } | Route::Changefeed => "Changefeed",
        Route::Health => "Health",
        Route::Metrics => "Metrics",
        Route::Other => "NotFound",
    }
}

/// The whole HTTP edge: hyper calls this for every request (no router: `route.rs` matches
/// Notary's paths, and a GET is a few map lookups, so framework layers were a visible share).
pub async fn dispatch(app: Arc<App>, req: Request) -> Response {
    let started = StdInstant::now();
    let method = match *req.method() {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        HttpMethod::DELETE => Method::Delete,
        _ => Method::Other,
    };
    let route = match percent_decode(req.uri().path()) {
        Some(p) => match_route(method, &p),
        None => Route::Other,
    };
    let op = operation(&route, method);
    let resp = handle(&app, route, method, req)
        .await
        .unwrap_or_else(ApiError::into_response);
    app.metrics
        .observe(op, resp.status().as_u16(), started.elapsed());
    resp
}

/// What a route needs from a token (Notary's `server.go` access records).
fn required_access(route: &Route, method: Method) -> Vec<Access> {
    match route {
        Route::Health | Route::Metrics => Vec::new(),
        Route::Base | Route::Changefeed | Route::Other => Access::catalog(),
        Route::Repo { gun } if method == Method::Post => Access::repository(gun, &["push", "pull"]),
        Route::Repo { gun } => Access::repository(gun, &["*"]),
        Route::Key { gun, .. } if method == Method::Post => Access::repository(gun, &["*"]),
        Route::Key { gun, .. } => Access::repository(gun, &["push", "pull"]),
        Route::ByChecksum { gun, .. }
        | Route::ByVersion { gun, .. }
        | Route::Current { gun, .. }
        | Route::GunChangefeed { gun } => Access::repository(gun, &["pull"]),
    }
}

fn unauthorized(challenge: crate::auth::Challenge, required: &[Access]) -> Response {
    tracing::info!(reason = challenge.reason, "401 unauthorized");
    let mut r = ApiError::with_detail(Code::Unauthorized, Access::detail(required)).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge.header) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

async fn handle(
    app: &App,
    route: Route,
    method: Method,
    req: Request,
) -> Result<Response, ApiError> {
    if let Some(gun) = route.gun() {
        check_gun(app, gun, method)?;
    }
    if let Some(auth) = &app.auth {
        let required = required_access(&route, method);
        if !required.is_empty() {
            let header = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            if let Err(c) = auth.authorize(header, &required, (app.clock)()) {
                return Ok(unauthorized(c, &required));
            }
        }
    }
    match route {
        Route::Base => Ok(text("{}")),
        Route::Health => Ok(health(app).await),
        Route::Metrics => Ok(text(app.metrics.render())),
        Route::Other => Err(ApiError::new(Code::MetadataNotFound)),
        Route::Repo { gun } if method == Method::Post => {
            let updates = read_upload(app, req).await?;
            update(app, &gun, updates).await?;
            Ok(text(""))
        }
        Route::Repo { gun } => {
            app.store.delete(&gun).await.map_err(|e| {
                tracing::error!(gun, error = %e, "500 DELETE repository");
                ApiError::new(Code::Unknown)
            })?;
            tracing::info!(gun, "trust data deleted");
            Ok(text(""))
        }
        Route::ByChecksum {
            gun,
            role,
            checksum,
        } => {
            let s = app
                .store
                .by_checksum(&gun, &role, &checksum)
                .await
                .map_err(read_error)?;
            Ok(metadata(s.data, s.modified, &app.caching.consistent))
        }
        Route::ByVersion { gun, role, version } => {
            let v: i64 = version
                .parse()
                .map_err(|_| ApiError::new(Code::MetadataNotFound))?;
            let s = app
                .store
                .by_version(&gun, &role, v)
                .await
                .map_err(read_error)?;
            Ok(metadata(s.data, s.modified, &app.caching.consistent))
        }
        Route::Current { gun, role } => {
            let (data, modified) = if role == role::TIMESTAMP || role == role::SNAPSHOT {
                server_signed(app, &gun, &role).await?
            } else {
                let s = app.store.current(&gun, &role).await.map_err(read_error)?;
                (s.data, s.modified)
            };
            Ok(metadata(data, modified, &app.caching.current))
        }
        Route::Key { gun, role } => {
            let key = if method == Method::Post {
                app.trust.create(&gun, &role, &app.key_algorithm).await
            } else {
                get_or_create_key(app, &gun, &role).await
            }
            .map_err(|e| {
                tracing::error!(gun, role, error = %e, "500 key request");
                match e {
                    // Database text (which may name hosts and users) stays in the log.
                    SignerError::Storage(_) => ApiError::new(Code::Unknown),
                    other => ApiError::with_detail(Code::Unknown, other.to_string()),
                }
            })?;
            Ok(text(key_json(&key)))
        }
        Route::GunChangefeed { gun } => changefeed(app, Some(&gun), req.uri().query()).await,
        Route::Changefeed => changefeed(app, None, req.uri().query()).await,
    }
}

/// Notary's prefix filter, then our GUN rules (no traversal, no control characters, at most
/// 255 bytes). Reads of a refused GUN are 404 as in Notary; writes say why.
fn check_gun(app: &App, gun: &str, method: Method) -> Result<(), ApiError> {
    let write = method != Method::Get;
    if !app.gun_prefixes.is_empty() && !app.gun_prefixes.iter().any(|p| gun.starts_with(p)) {
        return Err(if write {
            ApiError::with_detail(
                Code::InvalidGun,
                format!("Require GUNs with prefix: [{}]", app.gun_prefixes.join(" ")),
            )
        } else {
            ApiError::new(Code::MetadataNotFound)
        });
    }
    if let Err(e) = notarius_tuf::role::Gun::new(gun) {
        return Err(if write {
            ApiError::with_detail(Code::InvalidGun, e.to_string())
        } else {
            ApiError::new(Code::MetadataNotFound)
        });
    }
    Ok(())
}

fn read_error(e: StorageError) -> ApiError {
    match e {
        StorageError::NotFound => ApiError::new(Code::MetadataNotFound),
        other => {
            // Database text (which may name hosts and users) stays in the log.
            tracing::error!(error = %other, "read failed");
            ApiError::new(Code::Unknown)
        }
    }
}

/// A metadata answer with Notary's `Last-Modified` and cache headers.
fn metadata(
    data: Bytes,
    modified: Option<DateTime<Utc>>,
    cache: &[(header::HeaderName, HeaderValue)],
) -> Response {
    let mut r = text(data);
    let h = r.headers_mut();
    let t = modified.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    h.insert(header::LAST_MODIFIED, last_modified_value(t));
    for (name, value) in cache {
        h.insert(name, value.clone());
    }
    r
}

thread_local! {
    /// The last `Last-Modified` value each worker thread built: a busy server answers the same
    /// few files over and over, and formatting the date showed in profiles.
    static LAST_MODIFIED: std::cell::RefCell<Option<(DateTime<Utc>, HeaderValue)>> =
        const { std::cell::RefCell::new(None) };
}

fn last_modified_value(t: DateTime<Utc>) -> HeaderValue {
    LAST_MODIFIED.with_borrow_mut(|last| match last {
        Some((at, v)) if *at == t => v.clone(),
        _ => {
            let v = HeaderValue::from_str(&last_modified(t)).expect("ascii");
            *last = Some((t, v.clone()));
            v
        }
    })
}

/// Go's `json.Marshal` of a `data.PublicKey`.
fn key_json(k: &notarius_tuf::keys::PublicKey) -> String {
    use base64::Engine as _;
    format!(
        "{{\"keytype\":{},\"keyval\":{{\"public\":\"{}\",\"private\":null}}}}",
        serde_json::to_string(k.keytype().as_str()).expect("string"),
        base64::engine::general_purpose::STANDARD.encode(k.public())
    )
}

async fn health(app: &App) -> Response {
    let mut failures = serde_json::Map::new();
    // The reasons go to the log; the answer says only which part failed, in Notary's words
    // for the database: the error text of a driver can name hosts, users or the DSN, and this
    // endpoint is open to anyone (catalogue SV-23).
    if let Err(e) = app.store.health().await {
        tracing::error!(error = %e, "health check: the database");
        failures.insert(
            "DB operational".into(),
            json!("Cannot access table: tuf_files"),
        );
    }
    if let Err(e) = app.trust.health().await {
        tracing::error!(error = %e, "health check: the signing service");
        failures.insert(
            "Trust operational".into(),
            json!("the signing service is not healthy"),
        );
    }
    let status = if failures.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::to_vec(&serde_json::Value::Object(failures)).expect("json");
    json_response(status, body)
}

#[derive(serde::Deserialize)]
struct SignedMetaShape {
    signed: SignedCommonShape,
    #[allow(dead_code)]
    signatures: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct SignedCommonShape {
    #[serde(rename = "_type", default)]
    #[allow(dead_code)]
    typ: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    expires: Option<String>,
    #[serde(default)]
    version: i64,
}

/// The multipart body of an update: one part per role, named by its file name.
async fn read_upload(app: &App, req: Request) -> Result<Vec<MetaUpdate>, ApiError> {
    let too_large = || {
        ApiError::with_detail(
            Code::TooLarge,
            format!("the update is larger than {} bytes", app.max_body),
        )
    };
    if req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > app.max_body)
    {
        return Err(too_large());
    }
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| ApiError::new(Code::MalformedUpload))?;
    // A body without Content-Length (chunked) is cut off at the same bound while it streams.
    let body = http_body_util::Limited::new(req.into_body(), app.max_body).into_data_stream();
    let mut mp = multer::Multipart::new(body, boundary);
    let upload_error = |e: multer::Error| match e {
        multer::Error::StreamReadFailed(cause)
            if cause.is::<http_body_util::LengthLimitError>() =>
        {
            too_large()
        }
        _ => ApiError::new(Code::MalformedUpload),
    };
    let mut updates = Vec::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(upload_error(e)),
        };
        let name = field.file_name().unwrap_or("").to_owned();
        let role_name = name.strip_suffix(".json").unwrap_or(&name).to_owned();
        if role_name.is_empty() {
            return Err(ApiError::new(Code::NoFilename));
        }
        if !role::is_valid_role(&role_name) {
            return Err(ApiError::with_detail(Code::InvalidRole, role_name));
        }
        let data: Bytes = field.bytes().await.map_err(upload_error)?;
        // Go decodes the first JSON value of the part and only needs the common fields to fit.
        let shape = serde_json::Deserializer::from_slice(&data)
            .into_iter::<SignedMetaShape>()
            .next();
        let version = match shape {
            Some(Ok(s)) => s.signed.version,
            _ => return Err(ApiError::new(Code::MalformedJson)),
        };
        // Notary keeps the last part of a role silently; which one wins is nobody's intent.
        if updates.iter().any(|u: &MetaUpdate| u.role == role_name) {
            return Err(Validation::Validation(format!(
                "{role_name} appears more than once in the update"
            ))
            .into_api());
        }
        // 64-bit columns (Notary's 32-bit ones are widened at start; where they could not be,
        // the cap is 2^31-1). A version past i64 does not parse at all: malformed JSON.
        let max = app.store.max_version();
        if version > max {
            return Err(Validation::Validation(format!(
                "{role_name} version {version} is larger than the largest version the server \
                 stores ({max})"
            ))
            .into_api());
        }
        updates.push(MetaUpdate {
            role: role_name,
            version,
            data: data.to_vec(),
        });
    }
    Ok(updates)
}

fn signer_error(e: SignerError) -> ApiError {
    tracing::error!(error = %e, "signing service");
    Validation::Validation(e.to_string()).into_api()
}

async fn signers_for(app: &App, root: Option<&Root>) -> Result<Vec<SharedSigner>, ApiError> {
    match root {
        Some(r) => app
            .trust
            .signers(&validate::server_role_keys(r))
            .await
            .map_err(signer_error),
        None => Ok(Vec::new()),
    }
}

async fn update(app: &App, gun: &str, updates: Vec<MetaUpdate>) -> Result<(), ApiError> {
    let ancestors = validate::ancestors_needed(&updates);
    let mut wanted = vec![role::ROOT, role::SNAPSHOT, role::TIMESTAMP];
    wanted.extend(ancestors.iter().map(String::as_str));
    let mut view = app
        .store
        .current_view_for_update(gun, &wanted)
        .await
        .map_err(|e| {
            tracing::error!(gun, error = %e, "read for update failed");
            ApiError::new(Code::Updating)
        })?
        .into_iter()
        .map(|s| s.map(|s| s.data));
    let mut next = || view.next().flatten();
    let mut stored = validate::Stored {
        root: next(),
        snapshot: next(),
        timestamp: next(),
        targets: Default::default(),
    };
    for a in ancestors {
        if let Some(d) = next() {
            stored.targets.insert(a, d);
        }
    }
    let refused = |v: Validation| {
        tracing::info!(gun, error = %v, "400 POST error validating update");
        v.into_api()
    };
    let now = (app.clock)();
    let builder = app
        .roots
        .builder(gun, stored.root.as_deref(), now)
        .map_err(refused)?;
    // The root whose snapshot and timestamp keys to ask for: the uploaded one, else the
    // stored one the builder holds.
    let uploaded;
    let root = if updates.iter().any(|u| u.role == role::ROOT) {
        uploaded = validate::governing_root(&updates, None);
        uploaded.as_ref()
    } else {
        builder.loaded_root()
    };
    let signers = signers_for(app, root).await?;

    let slot = app
        .validating
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::new(Code::Unknown))?;
    let apply = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        validate::validate_update(builder, &updates, &stored, &signers, now)
    })
    .await
    .map_err(|_| ApiError::new(Code::Unknown))?
    .map_err(refused)?;

    match app.store.update_many(gun, &apply).await {
        Ok(()) => {
            if let Some(ts) = apply.iter().find(|u| u.role == role::TIMESTAMP) {
                tracing::info!(
                    gun,
                    version = ts.version,
                    checksum = hex::encode(notarius_tuf::metadata::sha256(&ts.data)),
                    "updated timestamp"
                );
            }
            Ok(())
        }
        Err(StorageError::OldVersion) => Err(ApiError::with_detail(Code::Version, json!({}))),
        Err(e) => {
            tracing::error!(gun, error = %e, "500 POST error applying update request");
            Err(ApiError::new(Code::Updating))
        }
    }
}

/// The timestamp or snapshot to serve, re-signed first when expired (Notary's
/// `getMaybeServerSigned`).
async fn server_signed(
    app: &App,
    gun: &str,
    role_name: &str,
) -> Result<(Bytes, Option<DateTime<Utc>>), ApiError> {
    // Readers of an expired timestamp queue per GUN, so one of them signs and the rest find
    // the new file when their turn comes (one signing request, however many readers).
    let mut turn: Option<tokio::sync::OwnedMutexGuard<()>> = None;
    for attempt in 0..3 {
        // A reader that will sign reads what it replaces from the database.
        let ts = if attempt == 0 {
            app.store.latest(gun, role::TIMESTAMP).await
        } else {
            app.store.latest_for_update(gun, role::TIMESTAMP).await
        }
        .map_err(read_error)?;
        let ts_info = app
            .store
            .summary(role::TIMESTAMP, &ts)
            .map_err(read_error)?;
        let snap_sum = ts_info
            .meta
            .get(role::SNAPSHOT)
            .cloned()
            .ok_or_else(|| ApiError::new(Code::MetadataNotFound))?;
        let snap = app
            .store
            .by_checksum(gun, role::SNAPSHOT, &snap_sum)
            .await
            .map_err(read_error)?;
        let now = (app.clock)();
        let snap_info = app.store.summary(role::SNAPSHOT, &snap);
        let fresh = snap_info.is_ok_and(|si| si.expires >= now) && ts_info.expires >= now;
        if fresh {
            return Ok(if role_name == role::TIMESTAMP {
                (ts.data, ts.modified)
            } else {
                (snap.data, snap.modified)
            });
        }
        if turn.is_none() {
            turn = Some(app.resign_lock(gun).lock_owned().await);
            continue;
        }
        let root = app
            .store
            .current_for_update(gun, role::ROOT)
            .await
            .map_err(read_error)?;
        let parsed = Signed::<Root>::from_bytes(role::ROOT, &root.data)
            .map(|(s, _)| s.signed)
            .ok();
        let signers = match signers_for(app, parsed.as_ref()).await {
            Ok(s) => s,
            Err(_) => return Err(ApiError::new(Code::MetadataNotFound)),
        };
        let gun_owned = gun.to_owned();
        let fresh = tokio::task::spawn_blocking(move || {
            validate::fresh_timestamp(&gun_owned, &root.data, &ts.data, &snap.data, &signers, now)
        })
        .await
        .map_err(|_| ApiError::new(Code::Unknown))?
        .map_err(|e| match e {
            FreshError::NotFound(m) => ApiError::with_detail(Code::MetadataNotFound, m),
            FreshError::Other(m) => ApiError::with_detail(Code::Unknown, m),
        })?;
        match app.store.update_many(gun, &fresh.updates).await {
            Ok(()) => {
                let data = if role_name == role::TIMESTAMP {
                    fresh.timestamp.into()
                } else {
                    fresh.snapshot.into()
                };
                return Ok((data, Some(now)));
            }
            Err(StorageError::OldVersion) => continue,
            Err(e) => return Err(read_error(e)),
        }
    }
    Err(ApiError::new(Code::Unknown))
}

async fn get_or_create_key(
    app: &App,
    gun: &str,
    role_name: &str,
) -> Result<notarius_tuf::keys::PublicKey, SignerError> {
    match app.store.current(gun, role::ROOT).await {
        Ok(root) => {
            let (r, _) = Signed::<Root>::from_bytes(role::ROOT, &root.data)
                .map_err(|e| SignerError::Unavailable(e.to_string()))?;
            let base = r
                .signed
                .base_role(role_name)
                .map_err(|e| SignerError::Unavailable(e.to_string()))?;
            for id in base.keys.keys() {
                if let Some(k) = app.trust.get_key(id).await? {
                    return Ok(k);
                }
            }
        }
        Err(StorageError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    app.trust.create(gun, role_name, &app.key_algorithm).await
}

async fn changefeed(
    app: &App,
    gun: Option<&str>,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let mut records = None;
    let mut change_id = String::new();
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(&v.replace('+', " ")).unwrap_or_default();
        match k {
            "records" if records.is_none() => records = Some(v),
            "change_id" if change_id.is_empty() => change_id = v,
            _ => {}
        }
    }
    let raw = records.unwrap_or_default();
    let mut n: i64 = raw
        .parse::<i32>()
        .map_err(|e| {
            ApiError::with_detail(
                Code::InvalidParameters,
                format!("invalid records parameter: strconv.ParseInt: parsing {raw:?}: {e}"),
            )
        })?
        .into();
    if n == 0 {
        n = 100;
    }
    // Notary has no upper bound; a page of a billion rows is a denial of service.
    n = n.clamp(-MAX_PAGE, MAX_PAGE);
    let changes = app
        .store
        .changes(&change_id, n, gun)
        .await
        .map_err(|e| match e {
            StorageError::BadQuery(m) => ApiError::with_detail(Code::InvalidParameters, m),
            other => {
                tracing::error!(error = %other, "changefeed read failed");
                ApiError::new(Code::Unknown)
            }
        })?;
    let body = json!({
        "count": changes.len(),
        "records": if changes.is_empty() { serde_json::Value::Null } else { json!(changes) },
    });
    Ok(text(serde_json::to_vec(&body).expect("json")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_headers_are_notarys() {
        let show = |h: &[(header::HeaderName, HeaderValue)]| {
            h.iter()
                .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
                .collect::<Vec<_>>()
        };
        let h = CacheHeaders::from(Caching {
            current: 300,
            consistent: 0,
        });
        assert_eq!(
            show(&h.current),
            ["cache-control: public, max-age=300, s-maxage=300, must-revalidate"]
        );
        assert_eq!(
            show(&h.consistent),
            [
                "cache-control: max-age=0, no-cache, no-store",
                "pragma: no-cache"
            ]
        );
        let h = CacheHeaders::from(Caching::default());
        assert_eq!(
            show(&h.consistent),
            ["cache-control: public, max-age=2592000, s-maxage=2592000"]
        );
    }

    #[test]
    fn last_modified_is_chronos_format() {
        for secs in [
            0i64,
            951_782_400,                   // 2000-02-29
            1_764_547_199,                 // 2025-11-30 23:59:59
            4_102_444_800,                 // 2100-01-01
            -62_135_596_800 + 86_400 * 40, // year 1
        ] {
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            assert_eq!(
                last_modified(t),
                t.format("%a, %d %b %Y %H:%M:%S UTC").to_string()
            );
        }
    }
}
