//! The embedded service's HTTP API over real HTTP, against the `reeltime run --data-dir`
//! binary: records in and views out equal to `reeltime process` on the same records, every
//! route, ranges and path traversal, the token, hostile bodies, the change streams with
//! `Last-Event-ID`, and kill -9 while records are being written.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Longest wait for any condition of these tests.
const PATIENCE: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn example_lines() -> Vec<String> {
    fs::read_to_string(repo().join("examples/tennis-match.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A running `reeltime run --data-dir`, killed when dropped.
struct Service {
    child: Child,
    base: String,
    stderr: mpsc::Receiver<String>,
}

impl Service {
    fn start(data: &Path, out: &Path, env: &[(&str, &str)]) -> Service {
        let mut command = Command::new(env!("CARGO_BIN_EXE_reeltime"));
        command
            .args(["run", "--data-dir", data.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0"])
            .env("REELTIME__RENDER__ENABLED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("reeltime runs");
        let (lines, stderr) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let started = Instant::now();
        let base = loop {
            let line = stderr
                .recv_timeout(PATIENCE.saturating_sub(started.elapsed()))
                .expect("the service says where it listens");
            if let Some(at) = line.find("serving http://") {
                let address = line[at + "serving ".len()..].split_whitespace().next().unwrap();
                break address.to_owned();
            }
        };
        Service { child, base, stderr }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Everything the service wrote on standard error so far.
    fn stderr_text(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PATIENCE))
        .build()
        .into()
}

/// Status, headers we look at, and body of a request.
struct Answer {
    status: u16,
    epoch: Option<u64>,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The answer is an error document with this status and code.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        let doc = self.json();
        assert_eq!(doc["error_code"], code, "{doc}");
        assert!(doc["message"].as_str().is_some_and(|m| !m.is_empty()), "{doc}");
        assert!(doc.get("details").is_some(), "{doc}");
    }
}

fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.expect("the request is answered");
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let epoch = response
        .headers()
        .get("Reeltime-Epoch")
        .map(|value| value.to_str().unwrap().parse().unwrap());
    let mut body = Vec::new();
    response.body_mut().as_reader().read_to_end(&mut body).unwrap();
    Answer { status: response.status().as_u16(), epoch, body, headers }
}

fn get(service: &Service, path: &str) -> Answer {
    answer(agent().get(&service.url(path)).call())
}

fn get_with(service: &Service, path: &str, header: (&str, &str)) -> Answer {
    answer(agent().get(&service.url(path)).header(header.0, header.1).call())
}

fn send(service: &Service, method: &str, path: &str, body: &[u8], token: Option<&str>) -> Answer {
    let agent = agent();
    let url = service.url(path);
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! with_auth {
        ($request:expr) => {{
            let request = $request;
            match &auth {
                Some(value) => request.header("Authorization", value),
                None => request,
            }
        }};
    }
    answer(match method {
        "POST" => with_auth!(agent.post(&url)).send(body),
        "PUT" => with_auth!(agent.put(&url)).send(body),
        "DELETE" => with_auth!(agent.delete(&url)).call(),
        other => panic!("no method {other}"),
    })
}

fn post_records(service: &Service, body: &[u8]) -> Answer {
    send(service, "POST", "/api/v1/records", body, None)
}

/// Waits until the views reflect every accepted record.
fn settle(service: &Service) -> Value {
    let started = Instant::now();
    loop {
        let health = get(service, "/health").json();
        if health["applied"] == health["accepted"] {
            return health;
        }
        assert!(started.elapsed() < PATIENCE, "the views never caught up: {health}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `path` answers 200, or `status`.
fn wait_for(service: &Service, path: &str, done: impl Fn(&Answer) -> bool) -> Answer {
    let started = Instant::now();
    loop {
        let answer = get(service, path);
        if done(&answer) {
            return answer;
        }
        assert!(started.elapsed() < PATIENCE, "{path} never became what was awaited");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn without_version(mut doc: Value) -> Value {
    doc.as_object_mut().unwrap().remove("version");
    doc
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))).unwrap()
}

/// The example posted as the API's users would: the first 100 lines as a JSON array, the rest
/// as JSON lines; returns the rejected indexes of each request.
fn post_example(service: &Service) -> (Vec<u64>, Vec<u64>) {
    let lines = example_lines();
    let (head, tail) = lines.split_at(100);
    // The bad lines of the example are not all JSON, so the array takes only the valid JSON
    // ones (a body that is not a JSON array is refused whole).
    let array: Vec<&str> = head
        .iter()
        .filter(|l| serde_json::from_str::<Value>(l).is_ok())
        .map(String::as_str)
        .collect();
    let first = post_records(service, format!("[{}]", array.join(",\n")).as_bytes());
    assert_eq!(first.status, 200, "{}", String::from_utf8_lossy(&first.body));
    let second = post_records(service, tail.join("\n").as_bytes());
    assert_eq!(second.status, 200);
    let rejected = |answer: &Answer| -> Vec<u64> {
        let doc = answer.json();
        let indexes: Vec<u64> = doc["rejections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["index"].as_u64().unwrap())
            .collect();
        assert_eq!(doc["rejected"].as_u64().unwrap(), indexes.len() as u64);
        for rejection in doc["rejections"].as_array().unwrap() {
            assert!(rejection["reason"].as_str().is_some_and(|r| !r.is_empty()), "{rejection}");
        }
        indexes
    };
    (rejected(&first), rejected(&second))
}

#[test]
fn records_in_views_out_equal_reeltime_process_on_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&dir.path().join("data"), &dir.path().join("out"), &[]);
    let (first, second) = post_example(&service);
    // The bad lines of examples/README.md: one not JSON (left out of the array), one of an
    // unknown type, three out of range.
    assert_eq!(first, [74]);
    assert_eq!(second, [38, 70, 105]);
    let health = settle(&service);
    assert_eq!(health["accepted"], 221);

    let processed = dir.path().join("processed");
    let status = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["process", "--quiet", "--log"])
        .arg(repo().join("examples/tennis-match.jsonl"))
        .arg("--out")
        .arg(&processed)
        .status()
        .unwrap();
    assert!(status.success());
    let replays = get(&service, "/api/v1/replays").json();
    let ids: Vec<&str> = replays["replays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["replay_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["aces-only", "best-of-match"]);
    for id in ids {
        let served = get(&service, &format!("/api/v1/replays/{id}"));
        assert!(served.epoch.is_some(), "a read says its epoch");
        let file = read_json(&processed.join(format!("replays/{id}/selection.json")));
        assert_eq!(without_version(served.json()), without_version(file), "replay {id}");
    }
    let event = "wimbledon-sf1";
    let segments = get(&service, &format!("/api/v1/events/{event}/segments")).json();
    assert_eq!(segments, read_json(&processed.join(format!("events/{event}/segments.json"))));
    let view = get(&service, &format!("/api/v1/events/{event}")).json();
    assert_eq!(view, read_json(&processed.join(format!("events/{event}/event.json"))));
}

#[test]
fn every_route_answers_from_the_views_and_writes_through_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let service = Service::start(&dir.path().join("data"), &out, &[]);
    post_example(&service);
    settle(&service);
    let event = "wimbledon-sf1";

    let events = get(&service, "/api/v1/events").json();
    assert_eq!(events["events"][0]["event_id"], event);
    assert_eq!(events["events"][0]["event"]["profile"], "tennis-basic");
    assert!(events["events"][0]["segments"].as_u64().unwrap() > 5);
    let profiles = get(&service, "/api/v1/profiles").json();
    assert_eq!(profiles["profiles"][0]["name"], "tennis-basic");
    let features = get(&service, &format!("/api/v1/events/{event}/features")).json();
    assert!(
        features["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["attribute"] == "Ace" && f["value"] == true),
        "{features}"
    );

    // Detections: a range and a plugin narrow the list the export has.
    let all = get(&service, &format!("/api/v1/events/{event}/detections")).json();
    let all = all["detections"].as_array().unwrap().clone();
    assert!(all.len() > 10);
    let narrow = get(
        &service,
        &format!("/api/v1/events/{event}/detections?from=100&to=200&plugin=crowd-noise"),
    )
    .json();
    let expected: Vec<&Value> = all
        .iter()
        .filter(|d| d["plugin"] == "crowd-noise")
        .filter(|d| d["start"].as_f64().unwrap() <= 200.0 && d["end"].as_f64().unwrap() >= 100.0)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(narrow["detections"].as_array().unwrap().iter().collect::<Vec<_>>(), expected);
    get(&service, &format!("/api/v1/events/{event}/detections?from=9&to=1"))
        .assert_error(400, "bad_request");
    get(&service, &format!("/api/v1/events/{event}/segments?from=abc"))
        .assert_error(400, "bad_request");

    // Segments in a time range: those that overlap it.
    let some = get(&service, &format!("/api/v1/events/{event}/segments?from=100&to=200")).json();
    let starts: Vec<f64> =
        some["segments"].as_array().unwrap().iter().map(|s| s["start"].as_f64().unwrap()).collect();
    assert!(!starts.is_empty() && starts.iter().all(|s| *s <= 200.0), "{starts:?}");

    // Notifications, a page at a time.
    let page = get(&service, "/api/v1/notifications?limit=3").json();
    assert_eq!(page["notifications"].as_array().unwrap().len(), 3);
    assert_eq!(page["notifications"][0]["position"], 0);
    let next = page["next"].as_u64().unwrap();
    assert_eq!(next, 2);
    let rest = get(&service, &format!("/api/v1/notifications?after={next}&limit=1")).json();
    assert_eq!(rest["notifications"][0]["position"], 3);

    let metrics = String::from_utf8(get(&service, "/metrics").body).unwrap();
    for name in [
        "reeltime_records_in_total{source=\"api\"} 221",
        // The line that is not JSON was left out of the array.
        "reeltime_records_rejected_total{source=\"api\"} 4",
        "reeltime_epoch_lag_records 0",
        "reeltime_epoch_duration_seconds_bucket{le=\"+Inf\"}",
        "reeltime_views{kind=\"replay\"} 2",
        "reeltime_sse_subscribers 0",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }
    let views_out: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("reeltime_views_out_total "))
        .expect("views out are counted")
        .parse()
        .unwrap();
    assert!(views_out >= 26 + 2, "every segment and replay view went out: {views_out}");
    get(&service, "/api/v1/replays/nope").assert_error(404, "not_found");
    get(&service, "/api/v1/events/nope/segments").assert_error(404, "not_found");
    get(&service, "/api/v1/nothing-here").assert_error(404, "not_found");
    send(&service, "PUT", "/api/v1/events", b"{}", None).assert_error(405, "method_not_allowed");

    // The console is served by the binary itself.
    let page = get(&service, "/");
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(get(&service, "/assets/app.js").status, 200);

    // Control routes are publishers of input records.
    let replay = json!({"event_id": event, "mode": "duration", "duration": 30, "priorities": [{"attribute": "Ace", "weight": 50}]});
    let created =
        send(&service, "PUT", "/api/v1/replays/api-made", replay.to_string().as_bytes(), None);
    assert_eq!(created.status, 200, "{}", String::from_utf8_lossy(&created.body));
    assert_eq!(created.json()["accepted"], 1);
    let made = wait_for(&service, "/api/v1/replays/api-made", |a| a.status == 200).json();
    assert_eq!(made["mode"], "duration");
    let posted = json!({"replay_id": "api-posted", "event_id": event, "mode": "features", "priorities": [{"attribute": "Ace"}]});
    assert_eq!(
        send(&service, "POST", "/api/v1/replays", posted.to_string().as_bytes(), None).status,
        200
    );
    wait_for(&service, "/api/v1/replays/api-posted", |a| a.status == 200);
    let start = some["segments"][0]["start"].as_f64().unwrap();
    let feedback = json!({"event_id": event, "start": start, "track": 2, "verdict": "dislike"});
    assert_eq!(
        send(&service, "POST", "/api/v1/feedback", feedback.to_string().as_bytes(), None).status,
        200
    );
    wait_for(&service, &format!("/api/v1/events/{event}/segments?from={start}&to={start}"), |a| {
        a.json()["segments"][0]["feedback"]["2"] == "dislike"
    });
    let renamed = json!({"profile": "tennis-basic", "status": "started", "title": "Renamed"});
    assert_eq!(
        send(
            &service,
            "PUT",
            &format!("/api/v1/events/{event}"),
            renamed.to_string().as_bytes(),
            None
        )
        .status,
        200
    );
    wait_for(&service, &format!("/api/v1/events/{event}"), |a| a.json()["title"] == "Renamed");
    assert_eq!(send(&service, "DELETE", "/api/v1/replays/api-made", b"", None).status, 200);
    wait_for(&service, "/api/v1/replays/api-made", |a| a.status == 404);
    let invalid =
        send(&service, "POST", "/api/v1/replays", br#"{"replay_id": "x", "event_id": 5}"#, None);
    invalid.assert_error(422, "records_rejected");
    assert_eq!(invalid.json()["details"]["rejections"][0]["index"], 0);
    let clash =
        send(&service, "PUT", "/api/v1/replays/a", br#"{"replay_id": "b", "event_id": "e"}"#, None);
    clash.assert_error(400, "bad_request");

    // Files of the output directory, with ranges; nothing outside it.
    settle(&service);
    let edl = wait_for(&service, &format!("/api/v1/files/events/{event}/export.json"), |a| {
        a.status == 200
    });
    assert_eq!(edl.body, fs::read(out.join(format!("events/{event}/export.json"))).unwrap());
    assert_eq!(edl.header("cache-control"), Some("no-cache"), "files change while served");
    let part = get_with(
        &service,
        &format!("/api/v1/files/events/{event}/export.json"),
        ("Range", "bytes=0-9"),
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, edl.body[..10]);
    assert!(part.header("content-range").unwrap().starts_with("bytes 0-9/"));
    let table = get(&service, "/api/v1/tables/replays.arrow");
    assert_eq!(table.status, 200);
    assert!(table.body.starts_with(b"ARROW1"), "an Arrow IPC file");
    let table = get(&service, "/api/v1/tables/segments.parquet");
    assert!(table.body.starts_with(b"PAR1"), "a Parquet file");
    get(&service, "/api/v1/tables/other.csv").assert_error(404, "not_found");
    fs::write(dir.path().join("secret.txt"), "top secret").unwrap();
    let address = service.base.trim_start_matches("http://");
    for path in [
        "/api/v1/files/../secret.txt",
        "/api/v1/files/%2e%2e/secret.txt",
        "/api/v1/files/..%2fsecret.txt",
        "/api/v1/files/%2e%2e%2fsecret.txt",
        "/api/v1/files//etc/passwd",
        "/api/v1/files/events/../../secret.txt",
    ] {
        let raw = raw_get(address, path);
        assert!(!raw.contains("top secret") && !raw.contains("root:"), "{path}: {raw}");
        assert!(!raw.starts_with("HTTP/1.1 200"), "{path}: {raw}");
    }
}

/// A request sent as written (a client library would normalise the path).
fn raw_get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text
}

#[test]
fn writes_need_the_token_when_one_is_configured_and_reads_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let token = "s3cret-t0ken";
    let service = Service::start(
        &dir.path().join("data"),
        &dir.path().join("out"),
        &[("REELTIME__SERVICE__TOKEN", token)],
    );
    let record = example_lines()[0].clone();
    let refused = send(&service, "POST", "/api/v1/records", record.as_bytes(), None);
    refused.assert_error(401, "unauthorized");
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    send(&service, "POST", "/api/v1/records", record.as_bytes(), Some("s3cret-t0kem"))
        .assert_error(401, "unauthorized");
    send(&service, "DELETE", "/api/v1/replays/x", b"", Some("")).assert_error(401, "unauthorized");
    let accepted = send(&service, "POST", "/api/v1/records", record.as_bytes(), Some(token));
    assert_eq!(accepted.status, 200);
    assert_eq!(settle(&service)["accepted"], 1);
    assert_eq!(get(&service, "/api/v1/profiles").status, 200);
    assert!(!service.stderr_text().contains(token), "the token is never printed");
}

#[test]
fn hostile_bodies_are_refused_with_the_error_shape_and_nothing_is_appended() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let service = Service::start(
        &data,
        &dir.path().join("out"),
        &[("REELTIME__SERVICE__MAX_BODY_BYTES", "65536")],
    );
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    let huge = format!("[{}]", vec![example_lines()[0].as_str(); 200].join(","));
    assert!(huge.len() > 65536);
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("POST", "/api/v1/records", b"[\"\xff\xfe\"]".to_vec(), 400, "bad_request"),
        (
            "POST",
            "/api/v1/records",
            b"{\"type\":\"event\",\"event_id\":\"\xff\"}".to_vec(),
            422,
            "records_rejected",
        ),
        (
            "POST",
            "/api/v1/records",
            b"[{\"type\":\"event\",\"event_id\":\"m\"".to_vec(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/v1/records",
            b"{\"type\":\"event\",\"event_id\":\"m\"".to_vec(),
            422,
            "records_rejected",
        ),
        ("POST", "/api/v1/records", b"".to_vec(), 400, "bad_request"),
        ("POST", "/api/v1/records", deep.clone().into_bytes(), 422, "records_rejected"),
        ("POST", "/api/v1/records", deep_object.clone().into_bytes(), 422, "records_rejected"),
        ("POST", "/api/v1/records", huge.into_bytes(), 413, "payload_too_large"),
        (
            "POST",
            "/api/v1/records",
            br#"{"type":"event","event_id":5,"profile":"p","status":"started"}"#.to_vec(),
            422,
            "records_rejected",
        ),
        ("POST", "/api/v1/replays", b"[1,2]".to_vec(), 400, "bad_request"),
        ("POST", "/api/v1/replays", deep.into_bytes(), 400, "bad_request"),
        ("POST", "/api/v1/feedback", b"\xff".to_vec(), 400, "bad_request"),
        ("PUT", "/api/v1/events/m", br#"{"profile": 1}"#.to_vec(), 422, "records_rejected"),
        // Render settings are checked when the record arrives, not when a render starts.
        ("PUT", "/api/v1/replays/r", br#"{"event_id": "m", "mode": "features", "priorities": [{"attribute": "Ace"}], "render": {"resolutions": ["4k"]}}"#.to_vec(), 422, "records_rejected"),
        ("PUT", "/api/v1/profiles/p", b"{\"name\":".to_vec(), 400, "bad_request"),
    ];
    for (method, path, body, status, code) in cases {
        let answer = send(&service, method, path, &body, None);
        assert_eq!(
            answer.status,
            status,
            "{method} {path} {:?}: {}",
            String::from_utf8_lossy(&body[..body.len().min(60)]),
            String::from_utf8_lossy(&answer.body)
        );
        answer.assert_error(status, code);
    }
    assert_eq!(get(&service, "/health").json()["accepted"], 0);
    assert_eq!(fs::read(data.join("records.jsonl")).unwrap(), b"");
    // The service is still there, and takes a good record.
    assert_eq!(post_records(&service, example_lines()[0].as_bytes()).status, 200);
}

/// Reads Server-Sent Events from a stream: `(event, id, data)`.
struct Events {
    reader: BufReader<ureq::BodyReader<'static>>,
}

impl Events {
    fn open(service: &Service, path: &str, last: Option<&str>) -> Events {
        // A stream lasts as long as its test (the live demo makes its match first, a minute or
        // more on a busy machine); each test bounds what it waits for itself.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(PATIENCE * 10))
            .build()
            .into();
        let mut request = agent.get(&service.url(path)).header("Accept", "text/event-stream");
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        let response = request.call().unwrap();
        assert_eq!(response.status().as_u16(), 200);
        Events { reader: BufReader::new(response.into_body().into_reader()) }
    }

    fn next(&mut self) -> (String, String, Value) {
        self.try_next().expect("the stream goes on")
    }

    /// The next message, or `None` when the stream ends.
    fn try_next(&mut self) -> Option<(String, String, Value)> {
        let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                return None;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !data.is_empty() {
                    return Some((event, id, serde_json::from_str(&data).unwrap()));
                }
                continue;
            }
            if let Some(value) = line.strip_prefix("event:") {
                event = value.trim().to_owned();
            } else if let Some(value) = line.strip_prefix("id:") {
                id = value.trim().to_owned();
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push_str(value.trim_start());
            }
        }
    }

    /// Reads until the change with id `last`; returns every message read.
    fn until(&mut self, last: &str) -> Vec<(String, String, Value)> {
        let mut read = Vec::new();
        loop {
            let message = self.next();
            let done = message.1 == last;
            read.push(message);
            if done {
                return read;
            }
        }
    }
}

#[test]
fn a_subscriber_sees_every_version_in_order_and_resumes_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&dir.path().join("data"), &dir.path().join("out"), &[]);
    let lines = example_lines();
    let replay = "best-of-match";
    // Subscribed before the replay exists: no snapshot, then every version.
    let mut events = Events::open(&service, &format!("/api/v1/replays/{replay}/changes"), None);
    // One record per write, so that the replay changes over many epochs.
    for line in &lines[..140] {
        post_records(&service, line.as_bytes());
    }
    settle(&service);
    let version =
        get(&service, &format!("/api/v1/replays/{replay}")).json()["version"].as_u64().unwrap();
    assert!(version >= 3, "the replay changed several times: {version}");
    let mut seen = events.until(&version.to_string());
    drop(events);
    for line in &lines[140..] {
        post_records(&service, line.as_bytes());
    }
    settle(&service);
    let last = seen.last().unwrap().1.clone();
    let current = get(&service, &format!("/api/v1/replays/{replay}")).json();
    let final_version = current["version"].as_u64().unwrap();
    assert!(final_version > version, "the replay changed after the reconnect");
    let mut resumed =
        Events::open(&service, &format!("/api/v1/replays/{replay}/changes"), Some(&last));
    seen.extend(resumed.until(&final_version.to_string()));
    let ids: Vec<u64> = seen.iter().map(|(_, id, _)| id.parse().unwrap()).collect();
    assert_eq!(ids, (1..=final_version).collect::<Vec<_>>(), "every version once, in order");
    for (event, id, data) in &seen {
        assert_eq!(event, "change");
        assert_eq!(data["version"].to_string(), *id);
    }
    assert_eq!(seen.last().unwrap().2, current);

    // A new subscriber gets a snapshot of now; an unknown id gets one too.
    let mut fresh =
        Events::open(&service, &format!("/api/v1/replays/{replay}/changes"), Some("999"));
    let (event, id, data) = fresh.next();
    assert_eq!((event.as_str(), id), ("snapshot", final_version.to_string()));
    assert_eq!(data, current);
    let event_id = "wimbledon-sf1";
    let mut event_stream =
        Events::open(&service, &format!("/api/v1/events/{event_id}/changes"), None);
    let (kind, _, snapshot) = event_stream.next();
    assert_eq!(kind, "snapshot");
    let segments = get(&service, &format!("/api/v1/events/{event_id}/segments")).json();
    assert_eq!(snapshot["segments"], segments["segments"]);
}

#[test]
fn killed_while_records_are_written_the_restarted_service_has_every_acknowledged_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let (data, out) = (dir.path().join("data"), dir.path().join("out"));
    let service = Service::start(&data, &out, &[]);
    let lines = example_lines();
    post_records(&service, lines[..2].join("\n").as_bytes());
    let base = service.base.clone();
    let (acked, acknowledged) = mpsc::channel::<Vec<u64>>();
    let writer = std::thread::spawn(move || {
        let agent = agent();
        for batch in 0u64.. {
            let starts: Vec<u64> = (0..10).map(|i| 1000 + (batch * 10 + i) * 2).collect();
            let body: Vec<String> = starts
                .iter()
                .map(|s| json!({"type": "segment", "event_id": "wimbledon-sf1", "plugin": "rally-segmenter", "start": s, "end": s + 1}).to_string())
                .collect();
            match agent.post(&format!("{base}/api/v1/records")).send(body.join("\n")) {
                Ok(response) if response.status() == 200 => acked.send(starts).unwrap(),
                _ => return,
            }
        }
    });
    // Kill it once a good number of writes were acknowledged, while they go on.
    let mut acknowledged_starts = BTreeSet::new();
    while acknowledged_starts.len() < 500 {
        acknowledged_starts
            .extend(acknowledged.recv_timeout(PATIENCE).expect("writes are acknowledged"));
    }
    service.kill9();
    writer.join().unwrap();
    acknowledged_starts.extend(acknowledged.try_iter().flatten());

    let service = Service::start(&data, &out, &[]);
    settle(&service);
    let segments = get(&service, "/api/v1/events/wimbledon-sf1/segments").json();
    let served: BTreeSet<u64> = segments["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_f64().unwrap() as u64)
        .filter(|start| *start >= 1000)
        .collect();
    let lost: Vec<&u64> = acknowledged_starts.difference(&served).collect();
    assert!(lost.is_empty(), "acknowledged and lost: {lost:?}");
    // Nothing twice in the log, and every line of it whole.
    let log = fs::read_to_string(data.join("records.jsonl")).unwrap();
    let mut distinct = BTreeSet::new();
    for line in log.lines() {
        serde_json::from_str::<Value>(line).unwrap();
        assert!(distinct.insert(line), "a record twice in the log: {line}");
    }
    assert!(log.ends_with('\n'));
    assert_eq!(
        get(&service, "/health").json()["applied"].as_u64().unwrap(),
        log.lines().count() as u64
    );
}

#[test]
fn the_demo_played_live_grows_its_catch_up_replay_version_by_version() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&dir.path().join("data"), &dir.path().join("out"), &[]);
    let replay = "demo-catchup";
    let mut events = Events::open(&service, &format!("/api/v1/replays/{replay}/changes"), None);
    let (seen, versions) = mpsc::channel();
    std::thread::spawn(move || {
        while let Some((_, id, data)) = events.try_next() {
            if seen.send((id, data, Instant::now())).is_err() {
                return;
            }
        }
    });
    let demo = dir.path().join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["demo", "--quiet", "--out", demo.to_str().unwrap()])
        .args(["--live", "--speed", "16", "--api", &service.base])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let log = fs::read_to_string(demo.join("demo-log.jsonl")).unwrap();
    let chunks = log.lines().filter(|line| line.contains(r#""type":"chunk""#)).count();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("played {chunks} chunks")), "{stdout}");
    settle(&service);
    let last = get(&service, &format!("/api/v1/replays/{replay}")).json();
    let last_version = last["version"].as_u64().unwrap();
    let mut received = Vec::new();
    while received
        .last()
        .is_none_or(|(id, _, _): &(String, Value, Instant)| *id != last_version.to_string())
    {
        received.push(versions.recv_timeout(PATIENCE).expect("every version is streamed"));
    }
    // The replay grew over the match: several versions, one by one, apart in time.
    let ids: Vec<u64> = received.iter().map(|(id, _, _)| id.parse().unwrap()).collect();
    assert_eq!(ids, (1..=last_version).collect::<Vec<_>>());
    assert!(last_version >= 3, "versions: {ids:?}");
    let (first_at, last_at) = (received[0].2, received.last().unwrap().2);
    assert!(last_at - first_at > Duration::from_secs(2), "the versions came over the playout");
    // And it ends as the demo's own run of the same log left it.
    let file = read_json(&demo.join(format!("replays/{replay}/selection.json")));
    for field in ["status", "clips", "total_duration", "total_score"] {
        assert_eq!(last[field], file[field], "{field}");
    }
}

/// A UDP port on loopback that was free a moment ago.
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A 40 s "match" with a roar from 20 to 26 s, made with the ffmpeg command line.
fn roaring_match(path: &Path) {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=40"])
        .args(["-f", "lavfi", "-i", "anoisesrc=r=48000:c=pink:a=0.02:seed=3:d=40"])
        .args(["-f", "lavfi", "-i", "anoisesrc=r=48000:c=white:a=0.5:seed=4:d=6"])
        .args([
            "-filter_complex",
            "[2:a]adelay=20000:all=1[roar];[1:a][roar]amix=inputs=2:normalize=0[a]",
        ])
        .args(["-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast"])
        .args(["-g", "50", "-c:a", "aac", "-shortest", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_live_stream_ingested_into_the_service_grows_its_catch_up_replay_while_it_plays() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("match.mp4");
    roaring_match(&source);
    let service = Service::start(&dir.path().join("data"), &dir.path().join("out"), &[]);
    let replay = "final-catchup";
    let mut events = Events::open(&service, &format!("/api/v1/replays/{replay}/changes"), None);
    let (seen, changes) = mpsc::channel();
    std::thread::spawn(move || {
        while let Some((_, _, data)) = events.try_next() {
            if seen.send((data, Instant::now())).is_err() {
                return;
            }
        }
    });
    let port = free_udp_port();
    let url = format!("udp://127.0.0.1:{port}");
    let ingest = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(["ingest", &url, "--event-id", "final", "--catchup", "20", "--silence", "3"])
        .args(["--chunk-dir", dir.path().join("chunks").to_str().unwrap()])
        .args(["--api", &service.base])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Listening once the port is taken: a bind of it fails.
    let started = Instant::now();
    while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(started.elapsed() < PATIENCE, "ingest never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Twice real time: the roar is on the wire 10 to 13 s after the start, and the stream
    // goes on for 7 s more.
    let push = Command::new("ffmpeg")
        .args(["-v", "error", "-readrate", "2", "-i", source.to_str().unwrap()])
        .args(["-c", "copy", "-f", "mpegts", &format!("{url}?pkt_size=1316")])
        .output()
        .unwrap();
    let pushed = Instant::now();
    assert!(push.status.success(), "{}", String::from_utf8_lossy(&push.stderr));
    let output = ingest.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("analysed 10 chunks"), "{stdout}");
    assert!(stdout.contains("sent ") && stdout.contains("of event final to"), "{stdout}");
    assert!(stdout.contains("from a chunk's cut, median / p95 ms: its chunk record"), "{stdout}");

    settle(&service);
    let last = get(&service, &format!("/api/v1/replays/{replay}")).json();
    let clips = last["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 1, "{last}");
    let (start, end) = (clips[0]["start"].as_f64().unwrap(), clips[0]["end"].as_f64().unwrap());
    assert!(start <= 20.0 && end >= 26.0, "the clip holds the roar: {last}");
    // The roar's clip was in the replay before the stream ended.
    let mut grown_at = None;
    while grown_at.is_none() {
        let (data, at) = changes.recv_timeout(PATIENCE).expect("the replay's changes stream");
        if data["clips"].as_array().is_some_and(|c| !c.is_empty()) {
            grown_at = Some(at);
        }
    }
    assert!(grown_at.unwrap() < pushed, "the replay grew only after the stream ended");
    // The chunks the service renders from are where ingest was told to put them.
    let chunk = dir.path().join("chunks/final/chunk-00000.ts");
    assert!(chunk.is_file(), "{chunk:?}");
}
