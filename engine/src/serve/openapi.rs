//! The OpenAPI document of the HTTP API, made from the routes' table below and the JSON
//! Schemas of the documents' own types, so that it cannot disagree with what the routes
//! send. `reeltime openapi` prints it; `docs/openapi.json` is its committed copy, kept fresh
//! by a test.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use reeltime_schemas::api::{
    DetectionsDoc, ErrorDoc, EventChangeDoc, EventListDoc, EventSnapshotDoc, FeaturesDoc,
    HealthDoc, NotificationsDoc, ProfileListDoc, RecordsAnswer, ReplayListDoc,
};
use reeltime_schemas::document::{EventDoc, SegmentsDoc, SelectionDoc};
use reeltime_schemas::wire::{
    EventRecord, FeedbackRecord, InputRecord, ProfileRecord, ReplayRecord,
};

/// What a route answers with 200.
enum Answer {
    /// A JSON document of this schema.
    Json(fn(&mut SchemaGenerator) -> Schema),
    /// A stream of Server-Sent Events whose data are these documents (snapshot, change).
    Events(fn(&mut SchemaGenerator) -> Schema, fn(&mut SchemaGenerator) -> Schema),
    /// Text or bytes of this media type.
    Other(&'static str),
}

/// One route: method, path, summary, request body, answer, query parameters.
struct Route {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<fn(&mut SchemaGenerator) -> Schema>,
    answer: Answer,
    query: &'static [(&'static str, &'static str, &'static str)],
    write: bool,
}

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

const RANGE: &[(&str, &str, &str)] = &[
    ("from", "number", "Only what ends at or after this time (seconds of event time)."),
    ("to", "number", "Only what starts at or before this time (seconds of event time)."),
];

fn routes() -> Vec<Route> {
    use Answer::{Events, Json, Other};
    let route = |method, path, summary, answer| Route {
        method,
        path,
        summary,
        body: None,
        answer,
        query: &[],
        write: false,
    };
    let write = |method, path, summary, body: Option<fn(&mut SchemaGenerator) -> Schema>| Route {
        method,
        path,
        summary,
        body,
        answer: Json(schema::<RecordsAnswer>),
        query: &[],
        write: true,
    };
    vec![
        route("get", "/health", "The service is up; the epoch its views reflect.", Json(schema::<HealthDoc>)),
        route("get", "/metrics", "Counters in Prometheus' text format.", Other("text/plain")),
        write(
            "post",
            "/api/v1/records",
            "Appends input records of any type (a JSON array, or JSON lines), in order, after the engine's own checks.",
            Some(schema::<Vec<InputRecord>>),
        ),
        route("get", "/api/v1/events", "Every event.", Json(schema::<EventListDoc>)),
        route("get", "/api/v1/events/{id}", "An event's view.", Json(schema::<EventDoc>)),
        write("put", "/api/v1/events/{id}", "Creates or replaces an event (an event record without `type`).", Some(schema::<EventRecord>)),
        write("delete", "/api/v1/events/{id}", "Deletes an event (a delete record).", None),
        Route {
            query: RANGE,
            ..route("get", "/api/v1/events/{id}/segments", "An event's segments (as segments.json), in a time range.", Json(schema::<SegmentsDoc>))
        },
        Route {
            query: &[
                ("from", "number", "Only what ends at or after this time (seconds of event time)."),
                ("to", "number", "Only what starts at or before this time (seconds of event time)."),
                ("plugin", "string", "Only this featurer's detections."),
            ],
            ..route("get", "/api/v1/events/{id}/detections", "An event's live detections.", Json(schema::<DetectionsDoc>))
        },
        route("get", "/api/v1/events/{id}/features", "The features an event's segments have, to choose a replay's priorities from.", Json(schema::<FeaturesDoc>)),
        route(
            "get",
            "/api/v1/events/{id}/changes",
            "Server-Sent Events: a snapshot, then each change with its version as id; resumable with Last-Event-ID.",
            Events(schema::<EventSnapshotDoc>, schema::<EventChangeDoc>),
        ),
        route("get", "/api/v1/replays", "Every replay.", Json(schema::<ReplayListDoc>)),
        write("post", "/api/v1/replays", "Creates or replaces a replay (a replay record without `type`).", Some(schema::<ReplayRecord>)),
        route("get", "/api/v1/replays/{id}", "A replay's latest version (as selection.json).", Json(schema::<SelectionDoc>)),
        write("put", "/api/v1/replays/{id}", "Creates or replaces a replay.", Some(schema::<ReplayRecord>)),
        write("delete", "/api/v1/replays/{id}", "Deletes a replay (a delete record).", None),
        route(
            "get",
            "/api/v1/replays/{id}/changes",
            "Server-Sent Events: a snapshot, then each version (`change`) or the delete (`removed`); resumable with Last-Event-ID.",
            Events(schema::<SelectionDoc>, schema::<SelectionDoc>),
        ),
        route("get", "/api/v1/profiles", "Every profile.", Json(schema::<ProfileListDoc>)),
        write("put", "/api/v1/profiles/{name}", "Creates or replaces a profile (a profile record without `type`).", Some(schema::<ProfileRecord>)),
        write("delete", "/api/v1/profiles/{name}", "Deletes a profile (a delete record).", None),
        write("post", "/api/v1/feedback", "Likes or dislikes a segment (a feedback record without `type`).", Some(schema::<FeedbackRecord>)),
        Route {
            query: &[
                ("after", "integer", "List the notifications after this position (none: from the oldest held)."),
                ("limit", "integer", "At most this many (1..1000, default 1000)."),
            ],
            ..route("get", "/api/v1/notifications", "Notifications after a position.", Json(schema::<NotificationsDoc>))
        },
        route(
            "get",
            "/api/v1/tables/{file}",
            "A table (segments, detections or replays; .arrow or .parquet) made now from the exports in the output directory.",
            Other("application/octet-stream"),
        ),
        route(
            "get",
            "/api/v1/files/{path}",
            "A file of the output directory (exports, tables, playlists, clips, thumbnails, replay videos), with range requests.",
            Other("application/octet-stream"),
        ),
    ]
}

/// The OpenAPI 3.0 document.
pub fn document() -> Value {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let error = schema::<ErrorDoc>(&mut generator).to_value();
    let mut paths = Map::new();
    for route in routes() {
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(route.summary));
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(route.query.iter().map(|(name, kind, description)| {
            json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": kind}})
        }));
        if matches!(route.answer, Answer::Events(..)) {
            parameters.push(json!({"name": "Last-Event-ID", "in": "header", "required": false, "description": "Resume after this change.", "schema": {"type": "string"}}));
        }
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Value::Array(parameters));
        }
        if let Some(body) = route.body {
            let body = body(&mut generator).to_value();
            operation.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": body}}}),
            );
        }
        let ok = match route.answer {
            Answer::Json(answer) => {
                let answer = answer(&mut generator).to_value();
                json!({"description": "OK", "content": {"application/json": {"schema": answer}}})
            }
            Answer::Events(snapshot, change) => {
                let (snapshot, change) =
                    (snapshot(&mut generator).to_value(), change(&mut generator).to_value());
                json!({
                    "description": "Server-Sent Events: `snapshot` (data: the first schema), then `change` or `removed` (data: the second)",
                    "content": {"text/event-stream": {"schema": {"type": "string"}, "x-reeltime-data": {"snapshot": snapshot, "change": change}}}
                })
            }
            Answer::Other(media) => {
                json!({"description": "OK", "content": {media: {"schema": {"type": "string"}}}})
            }
        };
        let mut responses = Map::new();
        responses.insert("200".into(), ok);
        let failure = |description: &str| json!({"description": description, "content": {"application/json": {"schema": error.clone()}}});
        responses.insert(
            "4XX".into(),
            failure("Bad input, not found, or (write routes) not authorized"),
        );
        responses.insert("5XX".into(), failure("The service could not do it"));
        operation.insert("responses".into(), Value::Object(responses));
        if route.write {
            operation.insert("security".into(), json!([{"bearer": []}]));
        }
        let path = paths.entry(route.path).or_insert_with(|| Value::Object(Map::new()));
        path.as_object_mut()
            .expect("a path item is an object")
            .insert(route.method.into(), Value::Object(operation));
    }
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "reeltime",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The HTTP API of reeltime's service: the materialized views of the last closed epoch (the Reeltime-Epoch header says which), their changes as Server-Sent Events, the output directory's files, and writes of input records. Errors are {message, error_code, details}."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "Required by the write routes when the service has a token (service.token)."}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_openapi_document_is_fresh() {
        let committed = include_str!("../../../docs/openapi.json");
        let current = serde_json::to_string_pretty(&document()).unwrap() + "\n";
        assert!(
            committed == current,
            "docs/openapi.json is stale: run `reeltime openapi > docs/openapi.json` and commit it"
        );
    }

    #[test]
    fn every_route_of_the_router_is_documented() {
        let source = include_str!("api.rs");
        let router = &source[source.find("pub fn router(").unwrap()..];
        let router = &router[..router.find("\n}\n").unwrap()];
        let documented: Vec<&str> = routes().iter().map(|route| route.path).collect();
        let paths: Vec<&str> =
            router.split('"').skip(1).step_by(2).filter(|text| text.starts_with('/')).collect();
        assert!(paths.len() > 15, "the routes are read from the router: {paths:?}");
        for path in paths {
            if path == "/" || path.starts_with("/assets/") {
                continue;
            }
            // A nested service (the files) is documented with its path parameter.
            let nested = format!("{path}/{{");
            assert!(
                documented.iter().any(|d| *d == path || d.starts_with(&nested)),
                "{path} is not in the OpenAPI document"
            );
        }
    }
}
