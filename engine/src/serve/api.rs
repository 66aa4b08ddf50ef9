//! The HTTP routes: reads from the [served documents](super::state), writes through a
//! [`RecordWriter`] (the embedded log, or Kafka), the change streams, the output directory's
//! files and the console.
//!
//! Every error is an [`ErrorDoc`] with a 4xx status for bad input. Reads say which epoch they
//! reflect in the `Reeltime-Epoch` header. Write routes need `Authorization: Bearer TOKEN`
//! when a token is configured; reads are open.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::broadcast::error::RecvError;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;

use reeltime_connectors::output_dir::OutputDir;
use reeltime_connectors::tables::{write_tables, TableFormat};
use reeltime_schemas::api::{
    DetectionsDoc, ErrorDoc, EventListDoc, FeatureCountDoc, FeaturesDoc, HealthDoc, ProfileListDoc,
    RecordsAnswer, RejectionDoc, ReplayListDoc,
};
use reeltime_schemas::time::seconds_to_ms;

use super::console;
use super::metrics::Metrics;
use super::state::{json as to_json, notification_entry, sse_frame, Served, Snapshot, StreamKey};
use crate::decode::decode_compact;
use crate::export::detection_doc;

/// Where accepted records go: the embedded log, or the input topics.
pub trait RecordWriter: Send + Sync {
    /// Appends `records` (valid records, each one line of JSON) in order; returns once they
    /// are durable. Blocking.
    fn write(&self, records: &[Vec<u8>]) -> anyhow::Result<()>;
    /// Records accepted so far.
    fn accepted(&self) -> u64;
}

/// What the routes share.
#[derive(Clone)]
pub struct ApiState {
    /// The documents of the last closed epoch.
    pub served: Arc<Served>,
    /// Where records go.
    pub writer: Arc<dyn RecordWriter>,
    /// The bearer token of the write routes, when one is required.
    pub token: Option<Arc<str>>,
    /// Records larger than this are refused.
    pub max_record_bytes: usize,
    /// The service's counters.
    pub metrics: Arc<Metrics>,
    /// The output directory.
    pub out: Arc<PathBuf>,
    /// Held while the tables are made again (one at a time).
    pub tables: Arc<tokio::sync::Mutex<()>>,
}

/// The largest request body by default (`service.max_body_bytes`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 << 20;

/// Every route, over `out` (the output directory, whose files `/api/v1/files/` serves).
pub fn router(state: ApiState, out: PathBuf, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/", get(console::index))
        .route("/assets/{file}", get(console::asset))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/v1/records", post(post_records))
        .route("/api/v1/events", get(list_events))
        .route(
            "/api/v1/events/{id}",
            get(get_event).merge(upsert("event", "event_id")).merge(remove("event")),
        )
        .route("/api/v1/events/{id}/segments", get(get_segments))
        .route("/api/v1/events/{id}/detections", get(get_detections))
        .route("/api/v1/events/{id}/features", get(get_features))
        .route("/api/v1/events/{id}/changes", get(event_changes))
        .route("/api/v1/replays", get(list_replays).merge(create("replay")))
        .route(
            "/api/v1/replays/{id}",
            get(get_replay).merge(upsert("replay", "replay_id")).merge(remove("replay")),
        )
        .route("/api/v1/replays/{id}/changes", get(replay_changes))
        .route("/api/v1/profiles", get(list_profiles))
        .route("/api/v1/profiles/{name}", upsert("profile", "name").merge(remove("profile")))
        .route("/api/v1/feedback", create("feedback"))
        .route("/api/v1/notifications", get(get_notifications))
        .route("/api/v1/tables/{file}", get(get_table))
        .nest_service(
            "/api/v1/files",
            // The files change while the service runs (a replay's playlists and video, every
            // document): a client asks again each time, and gets 304 when nothing changed.
            SetResponseHeader::overriding(
                ServeDir::new(out).append_index_html_on_directories(false),
                CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            ),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// An error answer: a status and an [`ErrorDoc`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    doc: ErrorDoc,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            doc: ErrorDoc {
                message: message.into(),
                error_code: code.to_owned(),
                details: Value::Null,
            },
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, json_body(to_json(&self.doc))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("WWW-Authenticate", HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "bad_request"
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::bad_request(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::bad_request(rejection.body_text())
    }
}

type ApiResult = Result<Response, ApiError>;

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take this method",
    )
}

fn json_body(json: Bytes) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response()
}

/// A document of the epoch `epoch`.
fn document(epoch: u64, json: Bytes) -> Response {
    let mut response = json_body(json);
    response.headers_mut().insert("Reeltime-Epoch", HeaderValue::from(epoch));
    response
}

/// The caller may write: no token is configured, or it sent the right one.
struct Authorized;

impl FromRequestParts<ApiState> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let Some(token) = &state.token else { return Ok(Authorized) };
        let sent = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
            .unwrap_or_default();
        if same_secret(sent, token.as_bytes()) {
            Ok(Authorized)
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this route needs the service's bearer token (Authorization: Bearer ...)",
            ))
        }
    }
}

/// Compares a secret in time that depends on the lengths only, not on where the texts
/// differ.
fn same_secret(sent: &[u8], secret: &[u8]) -> bool {
    let mut differ = u8::from(sent.len() != secret.len());
    for (index, byte) in sent.iter().enumerate() {
        differ |= byte ^ secret.get(index).copied().unwrap_or(!byte);
    }
    differ == 0
}

async fn health(State(state): State<ApiState>) -> Response {
    let (epoch, applied) = {
        let snapshot = state.served.read();
        (snapshot.epoch, snapshot.applied)
    };
    let doc = HealthDoc { status: "ok".into(), epoch, applied, accepted: state.writer.accepted() };
    document(epoch, to_json(&doc))
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let text = state.metrics.render(&state.served, state.writer.accepted());
    ([(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"))], text).into_response()
}

// ---- writes ----

/// Splits a body into records: a JSON array's elements, or the non-empty lines of JSON
/// lines; each as one line of JSON text.
fn split_records(body: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|at| body[at]) {
        None => Err(ApiError::bad_request(
            "the body is empty: send a JSON array or JSON lines of records",
        )),
        Some(b'[') => {
            let text = std::str::from_utf8(body)
                .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
            let elements: Vec<&serde_json::value::RawValue> = serde_json::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("the body is not a JSON array: {e}")))?;
            Ok(elements.into_iter().map(|raw| one_line(raw.get().as_bytes())).collect())
        }
        Some(_) => Ok(body
            .split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
            .map(<[u8]>::to_vec)
            .collect()),
    }
}

/// JSON text on one line: the whitespace between tokens (which may hold line breaks) removed;
/// strings, where a line break can only be escaped, are kept as they are.
fn one_line(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for &byte in json {
        if in_string {
            out.push(byte);
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if !byte.is_ascii_whitespace() {
            in_string = byte == b'"';
            out.push(byte);
        }
    }
    out
}

/// Validates records with the engine's decoder and writes the valid ones, in order; both on
/// a blocking thread (a large body takes a while to decode, and the write waits for the disk
/// or the brokers), so the threads that answer reads are never held up.
async fn write_records(state: &ApiState, records: Vec<Vec<u8>>) -> Result<RecordsAnswer, ApiError> {
    let (writer, metrics, max_record_bytes) =
        (state.writer.clone(), state.metrics.clone(), state.max_record_bytes);
    let written = tokio::task::spawn_blocking(move || {
        let mut answer = RecordsAnswer::default();
        let mut valid = Vec::with_capacity(records.len());
        for (index, record) in records.into_iter().enumerate() {
            match decode_compact(&record, max_record_bytes) {
                Ok(_) => valid.push(record),
                Err(error) => answer
                    .rejections
                    .push(RejectionDoc { index: index as u64, reason: error.to_string() }),
            }
        }
        answer.accepted = valid.len() as u64;
        answer.rejected = answer.rejections.len() as u64;
        metrics.api_records(answer.accepted, answer.rejected);
        if !valid.is_empty() {
            writer.write(&valid)?;
        }
        Ok(answer)
    })
    .await
    .map_err(|e| anyhow::anyhow!("the write was interrupted: {e}"))
    .and_then(|written| written);
    written.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the records could not be stored: {e:#}"),
        )
    })
}

/// The answer to a write: 200 when anything was accepted (with the rejections), else 422.
fn written(answer: RecordsAnswer) -> ApiResult {
    if answer.accepted == 0 && answer.rejected > 0 {
        let message = match answer.rejections.as_slice() {
            [one] => format!("the record was rejected: {}", one.reason),
            _ => format!("all {} records were rejected", answer.rejected),
        };
        let mut error =
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "records_rejected", message);
        error.doc.details = serde_json::to_value(&answer).expect("an answer serializes");
        return Err(error);
    }
    Ok(json_body(to_json(&answer)))
}

async fn post_records(
    State(state): State<ApiState>,
    _: Authorized,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let records = split_records(&body?)?;
    written(write_records(&state, records).await?)
}

/// A control route's record: the body (a JSON object, the record without `type`), with the
/// type and the id from the path set.
fn control_record(
    body: &[u8],
    record_type: &str,
    id: Option<(&str, &str)>,
) -> Result<Vec<u8>, ApiError> {
    let mut object: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body is not a JSON object: {e}")))?
    };
    if let Some(sent) = object.get("type").and_then(Value::as_str) {
        if sent != record_type {
            return Err(ApiError::bad_request(format!(
                "this route takes a {record_type} record, not a {sent}"
            )));
        }
    }
    object.insert("type".into(), Value::String(record_type.into()));
    if let Some((field, id)) = id {
        match object.get(field) {
            Some(Value::String(sent)) if sent != id => {
                return Err(ApiError::bad_request(format!(
                    "{field} {sent:?} in the body is not {id:?} of the path"
                )))
            }
            _ => {
                object.insert(field.into(), Value::String(id.into()));
            }
        }
    }
    Ok(serde_json::to_vec(&object).expect("a JSON object serializes"))
}

async fn control(state: &ApiState, record: Vec<u8>) -> ApiResult {
    written(write_records(state, vec![record]).await?)
}

async fn delete_record(state: &ApiState, kind: &str, id: &str) -> ApiResult {
    let record = serde_json::to_vec(&json!({"type": "delete", "kind": kind, "id": id}))
        .expect("a JSON object serializes");
    control(state, record).await
}

/// `PUT` of one record whose id (its `field`) is the path's.
fn upsert(record_type: &'static str, field: &'static str) -> MethodRouter<ApiState> {
    put(
        move |State(state): State<ApiState>,
              _: Authorized,
              id: Result<Path<String>, PathRejection>,
              body: Result<Bytes, BytesRejection>| async move {
            let Path(id) = id?;
            control(&state, control_record(&body?, record_type, Some((field, &id)))?).await
        },
    )
}

/// `POST` of one record, its id in the body.
fn create(record_type: &'static str) -> MethodRouter<ApiState> {
    post(
        move |State(state): State<ApiState>, _: Authorized, body: Result<Bytes, BytesRejection>| async move {
            control(&state, control_record(&body?, record_type, None)?).await
        },
    )
}

/// `DELETE`: a delete record of `kind` for the path's id.
fn remove(kind: &'static str) -> MethodRouter<ApiState> {
    delete(
        move |State(state): State<ApiState>,
              _: Authorized,
              id: Result<Path<String>, PathRejection>| async move {
            let Path(id) = id?;
            delete_record(&state, kind, &id).await
        },
    )
}

// ---- reads ----

async fn list_events(State(state): State<ApiState>) -> Response {
    let snapshot = state.served.read();
    let doc = EventListDoc { epoch: snapshot.epoch, events: snapshot.event_summaries() };
    document(snapshot.epoch, to_json(&doc))
}

async fn get_event(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = id?;
    let snapshot = state.served.read();
    match snapshot.events.get(&id).and_then(|event| event.event.clone()) {
        Some(json) => Ok(document(snapshot.epoch, json)),
        None => Err(ApiError::not_found(format!("no event {id:?}"))),
    }
}

/// A time range in seconds of event time.
#[derive(Debug, Deserialize)]
struct Range {
    from: Option<f64>,
    to: Option<f64>,
    plugin: Option<String>,
}

impl Range {
    /// The range in milliseconds, both ends included.
    fn ms(&self) -> Result<(u64, u64), ApiError> {
        let bound = |name: &str, value: Option<f64>, default: u64| match value {
            None => Ok(default),
            Some(seconds) => {
                seconds_to_ms(seconds).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
            }
        };
        let from = bound("from", self.from, 0)?;
        let to = bound("to", self.to, u64::MAX)?;
        if from > to {
            return Err(ApiError::bad_request("from is after to"));
        }
        Ok((from, to))
    }
}

async fn get_segments(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    range: Result<Query<Range>, QueryRejection>,
) -> ApiResult {
    let (Path(id), Query(range)) = (id?, range?);
    let (from, to) = range.ms()?;
    let snapshot = state.served.read();
    match snapshot.segments_doc(&id, from, to) {
        Some(json) => Ok(document(snapshot.epoch, json)),
        None => Err(ApiError::not_found(format!("no event {id:?}"))),
    }
}

async fn get_detections(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    range: Result<Query<Range>, QueryRejection>,
) -> ApiResult {
    let (Path(id), Query(range)) = (id?, range?);
    let (from, to) = range.ms()?;
    let (epoch, detections) = {
        let snapshot = state.served.read();
        let event = snapshot
            .events
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("no event {id:?}")))?;
        (snapshot.epoch, event.detections.clone())
    };
    let detections = detections
        .iter()
        .filter(|d| u64::from(d.start) <= to && u64::from(d.end) >= from)
        .filter(|d| range.plugin.as_deref().is_none_or(|plugin| d.plugin.text() == plugin))
        .map(detection_doc)
        .collect();
    Ok(document(epoch, to_json(&DetectionsDoc { event_id: id, detections })))
}

async fn get_features(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = id?;
    let snapshot = state.served.read();
    let event =
        snapshot.events.get(&id).ok_or_else(|| ApiError::not_found(format!("no event {id:?}")))?;
    let features =
        event.features().map(|(feature, segments)| FeatureCountDoc { feature, segments }).collect();
    Ok(document(snapshot.epoch, to_json(&FeaturesDoc { event_id: id, features })))
}

async fn list_replays(State(state): State<ApiState>) -> Response {
    let snapshot = state.served.read();
    let replays = snapshot.replays.values().map(|replay| replay.summary.clone()).collect();
    document(snapshot.epoch, to_json(&ReplayListDoc { epoch: snapshot.epoch, replays }))
}

async fn get_replay(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(id) = id?;
    let snapshot = state.served.read();
    match snapshot.replays.get(&id) {
        Some(replay) => Ok(document(snapshot.epoch, replay.json.clone())),
        None => Err(ApiError::not_found(format!("no replay {id:?}"))),
    }
}

async fn list_profiles(State(state): State<ApiState>) -> Response {
    let snapshot = state.served.read();
    let doc = ProfileListDoc { epoch: snapshot.epoch, profiles: snapshot.profiles.clone() };
    document(snapshot.epoch, to_json(&doc))
}

/// `after` (the position after which to list; none: from the oldest held) and `limit`.
#[derive(Debug, Deserialize)]
struct Page {
    after: Option<u64>,
    limit: Option<usize>,
}

/// The most notifications one page lists.
const PAGE_LIMIT: usize = 1000;

async fn get_notifications(
    State(state): State<ApiState>,
    page: Result<Query<Page>, QueryRejection>,
) -> ApiResult {
    let Query(page) = page?;
    let limit = page.limit.unwrap_or(PAGE_LIMIT).clamp(1, PAGE_LIMIT);
    let snapshot = state.served.read();
    let oldest = snapshot.notifications.front().map_or(snapshot.next_notification, |(p, _)| *p);
    let from = page.after.map_or(oldest, |after| after + 1).max(oldest);
    let skip = (from - oldest) as usize;
    let mut json = Vec::new();
    let mut next = page.after.unwrap_or(oldest.saturating_sub(1));
    json.extend_from_slice(b"{\"notifications\":[");
    for (index, (position, notification)) in
        snapshot.notifications.iter().skip(skip).take(limit).enumerate()
    {
        if index > 0 {
            json.push(b',');
        }
        json.extend_from_slice(&notification_entry(*position, notification));
        next = *position;
    }
    json.extend_from_slice(format!("],\"next\":{next},\"oldest\":{oldest}}}").as_bytes());
    Ok(document(snapshot.epoch, Bytes::from(json)))
}

/// `GET /api/v1/tables/{file}`: a table made now from the exports in the output directory
/// (which the service writes every `output.write_interval_seconds`), so that it is never
/// older than they are; the tables are otherwise written when the service ends.
async fn get_table(
    State(state): State<ApiState>,
    file: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(file) = file?;
    let (table, format, media) = match file.split_once('.') {
        Some((table @ ("segments" | "detections" | "replays"), "arrow")) => {
            (table, TableFormat::Arrow, "application/vnd.apache.arrow.file")
        }
        Some((table @ ("segments" | "detections" | "replays"), "parquet")) => {
            (table, TableFormat::Parquet, "application/vnd.apache.parquet")
        }
        _ => {
            return Err(ApiError::not_found(format!(
                "no table {file:?}: the tables are segments, detections and replays, .arrow or .parquet"
            )))
        }
    };
    let _one_at_a_time = state.tables.lock().await;
    let out = state.out.clone();
    let path = out.join("tables").join(format!("{table}.{}", format.extension()));
    let bytes = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        write_tables(&OutputDir::resume(&out)?, &[format])?;
        Ok(std::fs::read(&path)?)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))
    .and_then(|made| made)
    .map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the table could not be made: {e:#}"),
        )
    })?;
    Ok(([(CONTENT_TYPE, HeaderValue::from_static(media))], bytes).into_response())
}

// ---- change streams ----

async fn replay_changes(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let Path(id) = id?;
    Ok(changes(state, StreamKey::Replay(id), last_event_id(&headers)))
}

async fn event_changes(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult {
    let Path(id) = id?;
    Ok(changes(state, StreamKey::Event(id), last_event_id(&headers)))
}

fn last_event_id(headers: &HeaderMap) -> Option<String> {
    headers.get("Last-Event-ID").and_then(|value| value.to_str().ok()).map(str::to_owned)
}

/// The first messages of a stream: what was missed after `last` when the history still has
/// it, else a snapshot (nothing when the stream's document does not exist yet).
fn first_messages(snapshot: &Snapshot, stream: &StreamKey, last: Option<&str>) -> Vec<Bytes> {
    if let Some(missed) = last.and_then(|last| snapshot.changes_after(stream, last)) {
        return missed.iter().map(|change| change.frame.clone()).collect();
    }
    let current = match stream {
        StreamKey::Replay(id) => snapshot.replays.get(id).map(|r| (r.last_id(), r.json.clone())),
        StreamKey::Event(id) => snapshot.event_snapshot(id),
    };
    current.map(|(id, json)| sse_frame("snapshot", &id, &json)).into_iter().collect()
}

/// How often an idle stream gets a comment, so that proxies and clients keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn changes(state: ApiState, stream: StreamKey, last: Option<String>) -> Response {
    // Subscribed before the snapshot is read, so that nothing falls between the two; changes
    // the snapshot already reflects are skipped by their `seq`.
    let receiver = state.served.subscribe();
    let (first, seen) = {
        let snapshot = state.served.read();
        (first_messages(&snapshot, &stream, last.as_deref()), snapshot.seq)
    };
    let guard = state.metrics.subscriber();
    let later = stream::unfold(
        (receiver, seen, state, stream, guard),
        |(mut receiver, mut seen, state, stream, guard)| async move {
            loop {
                let received = match tokio::time::timeout(KEEP_ALIVE, receiver.recv()).await {
                    Ok(received) => received,
                    Err(_) => {
                        let comment = Bytes::from_static(b":\n\n");
                        return Some((comment, (receiver, seen, state, stream, guard)));
                    }
                };
                match received {
                    // Every subscriber of the change sends the same frame, encoded once.
                    Ok(change) if change.seq > seen && change.stream == stream => {
                        seen = change.seq;
                        let frame = change.frame.clone();
                        return Some((frame, (receiver, seen, state, stream, guard)));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        // Too far behind to be sent every change: a snapshot of now instead.
                        let snapshot = state.served.read();
                        seen = snapshot.seq;
                        if let Some(frame) = first_messages(&snapshot, &stream, None).pop() {
                            drop(snapshot);
                            return Some((frame, (receiver, seen, state, stream, guard)));
                        }
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    let frames = stream::iter(first).chain(later).map(Ok::<_, Infallible>);
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_the_same_only_when_every_byte_and_the_length_are() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"s3cretx", b"s3cret"));
        assert!(!same_secret(b"s3creT", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }

    #[test]
    fn array_and_lines_bodies_split_into_one_line_records() {
        let array = b" [ {\"a\": 1,\n \"b\": \"x\\n y\"}, {\"c\":[1, 2]} ]";
        let records = split_records(array).unwrap();
        assert_eq!(records, [b"{\"a\":1,\"b\":\"x\\n y\"}".to_vec(), b"{\"c\":[1,2]}".to_vec()]);
        let lines = b"{\"a\":1}\r\n\n  \n{\"b\":2}";
        assert_eq!(split_records(lines).unwrap(), [b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
    }

    #[test]
    fn bodies_that_are_not_records_are_refused_whole() {
        for body in [&b""[..], b"  \n", b"[{\"a\":1}", b"[\xff]"] {
            assert_eq!(
                split_records(body).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_control_record_takes_its_type_and_id_from_the_route() {
        let record =
            control_record(b"{\"event_id\":\"m1\"}", "replay", Some(("replay_id", "r1"))).unwrap();
        let value: Value = serde_json::from_slice(&record).unwrap();
        assert_eq!(value, json!({"type": "replay", "replay_id": "r1", "event_id": "m1"}));
        let clash = control_record(b"{\"replay_id\":\"r2\"}", "replay", Some(("replay_id", "r1")));
        assert_eq!(clash.unwrap_err().status, StatusCode::BAD_REQUEST);
        let wrong = control_record(b"{\"type\":\"event\"}", "replay", None);
        assert_eq!(wrong.unwrap_err().status, StatusCode::BAD_REQUEST);
    }
}
