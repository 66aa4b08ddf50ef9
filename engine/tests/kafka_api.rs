//! The HTTP API of `reeltime run` in Kafka mode, against a real Apache Kafka broker (started
//! by `scripts/test`): records written through the API are published to the input topics,
//! consumed back by the same engine, and its views, read over HTTP and from the output topics
//! (with kcat, `read_committed`), are those `reeltime process` computes from the same records.
//!
//! Without a broker the test says so and passes, unless `REELTIME_REQUIRE_KAFKA=1`.

mod kafka;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use kafka::{
    broker, check_replays, consume, create_topics, engine_command, run_process, unique_prefix,
    without_version,
};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tennis-match.jsonl");
const PATIENCE: Duration = Duration::from_secs(60);

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PATIENCE))
        .build()
        .into()
}

fn get(base: &str, path: &str) -> (u16, Value) {
    let mut response = agent().get(&format!("{base}{path}")).call().unwrap();
    let mut body = Vec::new();
    response.body_mut().as_reader().read_to_end(&mut body).unwrap();
    (response.status().as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn records_written_through_the_api_are_published_consumed_and_served() {
    let Some(brokers) = broker() else { return };
    let prefix = unique_prefix("api");
    create_topics(&brokers, &prefix);
    let dir = tempfile::tempdir().unwrap();
    let mut child = engine_command(&brokers, &prefix, &dir.path().join("out"), "0")
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, stderr) = mpsc::channel();
    let pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let base = loop {
        let line = stderr.recv_timeout(PATIENCE).expect("the engine says where it listens");
        if let Some(at) = line.find("serving http://") {
            break line[at + "serving ".len()..].split_whitespace().next().unwrap().to_owned();
        }
    };

    let log = fs::read_to_string(EXAMPLE).unwrap();
    let mut response =
        agent().post(&format!("{base}/api/v1/records")).send(log.as_bytes()).unwrap();
    let mut body = String::new();
    response.body_mut().as_reader().read_to_string(&mut body).unwrap();
    assert_eq!(response.status().as_u16(), 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((answer["accepted"].as_u64(), answer["rejected"].as_u64()), (Some(221), Some(5)));

    let processed = dir.path().join("processed");
    run_process(std::path::Path::new(EXAMPLE), &processed);
    let expected: Vec<(String, Value)> = ["aces-only", "best-of-match"]
        .iter()
        .map(|id| {
            let path = processed.join(format!("replays/{id}/selection.json"));
            let doc: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
            (id.to_string(), without_version(doc))
        })
        .collect();
    let started = Instant::now();
    for (id, view) in &expected {
        loop {
            let (status, served) = get(&base, &format!("/api/v1/replays/{id}"));
            if status == 200 && without_version(served.clone()) == *view {
                break;
            }
            assert!(started.elapsed() < PATIENCE, "replay {id} never became {view}: {served}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // The input topics are consumed each at its own pace: the views agree once all is read.
    let file = processed.join("events/wimbledon-sf1/segments.json");
    let expected: Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
    loop {
        let (_, segments) = get(&base, "/api/v1/events/wimbledon-sf1/segments");
        if segments == expected {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the segments never became those of process");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Stopped, the engine has published every version once, in its transactions.
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(child.wait().unwrap().success());
    check_replays(&brokers, &prefix, &processed, "written through the API");
    let control = consume(&brokers, &format!("{prefix}control"));
    assert!(control.iter().any(|(_, _, key, _)| key == "best-of-match"), "keyed as publishers key");
}
