//! `reeltime run` against a real Apache Kafka broker (started by `scripts/test`, address in
//! `REELTIME_KAFKA_BROKERS`): the example log is published with kcat, an independent client;
//! the engine runs until idle; the output topics, read back with kcat in `read_committed`
//! isolation, must hold the views `reeltime process` computes from the same records, every
//! replay version once, and the bad records as dead letters with their positions. Restarted
//! on the same output directory, the engine keeps what its files said and adds to them.
//!
//! Without a broker the tests say so and pass, unless `REELTIME_REQUIRE_KAFKA=1`.

mod kafka;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use kafka::{
    broker, check_replays, consume, consume_text, create_topics, route, run_engine, run_process,
    unique_prefix,
};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tennis-match.jsonl");
const BAD_CHUNK: &str = r#"{"type":"chunk","event_id":"wimbledon-sf1","seq_no":999,"uri":"media/x.ts","start":-1,"duration":10}"#;

/// Publishes the lines of `log` in their order with kcat, keyed as [`route`] says; returns
/// the lines (1-based numbers) that went to each topic, in order.
fn publish(brokers: &str, prefix: &str, log: &str) -> BTreeMap<&'static str, Vec<usize>> {
    let mut by_topic: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    let lines: Vec<(usize, &str)> = log
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    // Consecutive lines of one topic go in one kcat call, so the log order is kept across
    // topics as the broker's append order.
    let mut start = 0;
    while start < lines.len() {
        let topic = route(lines[start].1).0;
        let mut end = start;
        let mut input = String::new();
        while end < lines.len() && route(lines[end].1).0 == topic {
            let (number, line) = lines[end];
            input.push_str(&format!("{}\t{line}\n", route(line).1));
            by_topic.entry(topic).or_default().push(number);
            end += 1;
        }
        let mut child = Command::new("kcat")
            .args(["-P", "-b", brokers, "-K", "\t", "-t"])
            .arg(format!("{prefix}{topic}"))
            .stdin(Stdio::piped())
            .spawn()
            .expect("kcat runs (apt-get install kcat)");
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "kcat could not publish to {prefix}{topic}");
        start = end;
    }
    by_topic
}

#[test]
fn run_publishes_the_views_process_computes_once_each() {
    let Some(brokers) = broker() else { return };
    let prefix = unique_prefix("e2e");
    create_topics(&brokers, &prefix);
    // The example has bad records for three input topics; one for the chunks topic makes four.
    let mut log = fs::read_to_string(EXAMPLE).unwrap();
    log.push_str(BAD_CHUNK);
    log.push('\n');
    let log_file = tempfile::NamedTempFile::new().unwrap();
    fs::write(log_file.path(), &log).unwrap();
    let routed = publish(&brokers, &prefix, &log);

    let out = tempfile::tempdir().unwrap();
    let output = run_engine(&brokers, &prefix, &out.path().join("run"));
    assert!(
        output.status.success(),
        "reeltime run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let process_out = out.path().join("process");
    run_process(log_file.path(), &process_out);
    check_replays(&brokers, &prefix, &process_out, "the example match");

    // Segments: the latest message per key are the segments of process's segments.json.
    let mut segments: BTreeMap<String, Value> = BTreeMap::new();
    for (_, _, key, value) in consume(&brokers, &format!("{prefix}clips")) {
        match value {
            Some(value) => segments.insert(key, value),
            None => segments.remove(&key),
        };
    }
    let segments_json = process_out.join("events/wimbledon-sf1/segments.json");
    let expected: Value =
        serde_json::from_str(&fs::read_to_string(segments_json).unwrap()).unwrap();
    let expected = expected["segments"].as_array().unwrap();
    assert_eq!(segments.len(), expected.len());
    for segment in expected {
        let start = segment["start"].as_f64().unwrap();
        let key = format!("wimbledon-sf1/{start:.3}");
        let mut published = segments.get(&key).unwrap_or_else(|| panic!("no {key}")).clone();
        assert_eq!(published.as_object_mut().unwrap().remove("event_id").unwrap(), "wimbledon-sf1");
        assert_eq!(&published, segment, "segment {key}");
    }

    // Dead letters: the bad lines, each naming the topic/partition/offset that holds it.
    let dead: Vec<Value> = consume(&brokers, &format!("{prefix}dead-letter"))
        .into_iter()
        .map(|(_, _, _, value)| value.unwrap())
        .collect();
    let bad_lines =
        fs::read_to_string(process_out.join("dead-letter.jsonl")).unwrap().lines().count();
    assert_eq!(dead.len(), bad_lines, "{dead:#?}");
    let mut inputs = BTreeMap::new();
    for topic in routed.keys() {
        let name = format!("{prefix}{topic}");
        for (partition, offset, _, value) in consume_text(&brokers, &name) {
            inputs.insert(format!("{name}/{partition}/{offset}"), value.unwrap_or_default());
        }
    }
    let mut topics_with_dead_letters = std::collections::BTreeSet::new();
    for letter in &dead {
        let position = letter["position"].as_str().unwrap();
        topics_with_dead_letters.insert(position.split('/').next().unwrap().to_owned());
        assert_eq!(
            inputs.get(position).map(String::as_str),
            letter["record"].as_str(),
            "{position}"
        );
        assert!(!letter["reason"].as_str().unwrap().is_empty());
    }

    assert_eq!(topics_with_dead_letters.len(), 4, "{topics_with_dead_letters:?}");

    // The output directory has the layout of process, with the same exports.
    for file in ["events/wimbledon-sf1/segments.json", "events/wimbledon-sf1/event-1.edl"] {
        let run_file = fs::read_to_string(out.path().join("run").join(file)).unwrap();
        let process_file = fs::read_to_string(process_out.join(file)).unwrap();
        assert_eq!(run_file, process_file, "{file}");
    }

    // A restart goes on with the same output directory: what its files said stays, rebuilt
    // state and all, and what comes after is added.
    let run_dir = out.path().join("run");
    let read = |file: &str| fs::read_to_string(run_dir.join(file)).unwrap();
    let dead_before = read("dead-letter.jsonl");
    let notifications_before = read("notifications.jsonl");
    let segments_before = read("events/wimbledon-sf1/segments.json");
    assert_eq!(dead_before.lines().count(), bad_lines);
    let late_bad_chunk = BAD_CHUNK.replace("999", "1000");
    publish(&brokers, &prefix, &format!("{late_bad_chunk}\n"));
    let output = run_engine(&brokers, &prefix, &run_dir);
    assert!(
        output.status.success(),
        "reeltime run failed after a restart: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dead_after = read("dead-letter.jsonl");
    assert!(dead_after.starts_with(&dead_before), "{dead_after}");
    assert_eq!(dead_after.lines().count(), bad_lines + 1, "{dead_after}");
    assert!(dead_after.lines().last().unwrap().contains("1000"), "{dead_after}");
    assert!(read("notifications.jsonl").starts_with(&notifications_before));
    assert_eq!(read("events/wimbledon-sf1/segments.json"), segments_before);
    assert!(run_dir.join("replays/best-of-match/selection.json").is_file());
}

#[test]
fn run_names_a_missing_topic() {
    let Some(brokers) = broker() else { return };
    let prefix = unique_prefix("missing");
    let out = tempfile::tempdir().unwrap();
    let output = run_engine(&brokers, &prefix, out.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("input topic \"{prefix}control\" does not exist")),
        "{stderr}"
    );
}
