//! `reeltime topics create` and `reeltime publish` as a user runs them, against a real Apache
//! Kafka broker (started by `scripts/test`, address in `REELTIME_KAFKA_BROKERS`). What was
//! published is read back with kcat, an independent client.
//!
//! Without a broker the tests say so and pass, unless `REELTIME_REQUIRE_KAFKA=1`.

mod kafka;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use kafka::{broker, unique_prefix};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/tennis-match.jsonl");

/// Runs `reeltime ARGS` with `stdin` as its standard input.
fn reeltime(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reeltime"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("reeltime runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn create_topics(brokers: &str, prefix: &str, partitions: &str) -> Output {
    reeltime(
        &["topics", "create", "--brokers", brokers, "--prefix", prefix, "--partitions", partitions],
        b"",
    )
}

/// One message read back: partition, key, payload.
#[derive(Debug, PartialEq, Eq)]
struct Message {
    partition: i64,
    key: String,
    payload: String,
}

/// Every message of `topic`, read with kcat (JSON envelopes, so any payload survives),
/// partition by partition in offset order.
fn kcat(brokers: &str, topic: &str) -> Vec<Message> {
    let output = Command::new("kcat")
        .args(["-C", "-b", brokers, "-t", topic, "-e", "-q", "-J", "-m", "30"])
        .output()
        .expect("kcat runs (apt-get install kcat)");
    assert!(output.status.success(), "kcat: {}", text(&output.stderr));
    let mut messages: Vec<(i64, i64, Message)> = text(&output.stdout)
        .lines()
        .map(|line| {
            let envelope: Value = serde_json::from_str(line).unwrap();
            let message = Message {
                partition: envelope["partition"].as_i64().unwrap(),
                key: envelope["key"].as_str().unwrap().to_owned(),
                payload: envelope["payload"].as_str().unwrap().to_owned(),
            };
            (message.partition, envelope["offset"].as_i64().unwrap(), message)
        })
        .collect();
    messages.sort_by_key(|(partition, offset, _)| (*partition, *offset));
    messages.into_iter().map(|(_, _, message)| message).collect()
}

#[test]
fn a_log_with_bad_lines_publishes_the_good_ones_in_order_and_names_the_bad_ones() {
    let Some(brokers) = broker() else { return };
    let prefix = unique_prefix("publish");

    let created = create_topics(&brokers, &prefix, "2");
    assert!(created.status.success(), "{}", text(&created.stderr));
    let stdout = text(&created.stdout);
    assert!(stdout.contains(&format!("created {prefix}control: 1 partition, ")), "{stdout}");
    assert!(
        stdout
            .contains(&format!("created {prefix}replays: 2 partitions, cleanup.policy=compact, max.message.bytes=10485760\n")),
        "{stdout}"
    );
    assert!(stdout.ends_with("8 topics created, 0 existed\n"), "{stdout}");
    let again = create_topics(&brokers, &prefix, "2");
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).ends_with("0 topics created, 8 existed\n"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(text(&again.stderr), "", "no warnings for topics reeltime made");
    let other = create_topics(&brokers, &prefix, "3");
    assert!(other.status.success());
    assert!(
        text(&other.stderr)
            .contains(&format!("warning: topic {prefix}segments has 2 partitions, not 3\n")),
        "{}",
        text(&other.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("control.jsonl");
    let lines = [
        r#"{"type":"event","event_id":"m1","profile":"tennis","status":"scheduled"}"#,
        "",
        r#"{"type":"event","event_id":"m1","#,
        r#"{"type":"replay","replay_id":"best","event_id":"m1","mode":"features","catchup":false,"priorities":[{"attribute":"Ace"}]}"#,
        r#"{"type":"segment","event_id":"m1","plugin":"cls","start":1}"#,
        r#"{"type":"event","event_id":"m1","profile":"tennis","status":"paused"}"#,
        r#"{"type":"delete","kind":"replay","id":"best"}"#,
        r#"{"type":"event","event_id":"m2","profile":"tennis","status":"started"}"#,
    ];
    fs::write(&log, lines.join("\n")).unwrap();
    let log_arg = log.to_str().unwrap();
    let output = reeltime(
        &["publish", "--topic", "control", log_arg, "--brokers", &brokers, "--prefix", &prefix],
        b"",
    );
    assert!(!output.status.success(), "rejected lines make the exit status non-zero");
    let stderr = text(&output.stderr);
    let reported: Vec<&str> = stderr.lines().filter(|l| l.starts_with(log_arg)).collect();
    assert_eq!(reported.len(), 3, "{stderr}");
    assert!(reported[0].starts_with(&format!("{log_arg}:3: not JSON: ")), "{stderr}");
    assert_eq!(
        reported[1],
        format!("{log_arg}:5: segment records go to the segments topic, not control")
    );
    assert!(reported[2].starts_with(&format!("{log_arg}:6: event record: ")), "{stderr}");
    assert!(stderr.contains("error: 3 of the records of "), "{stderr}");
    assert_eq!(
        text(&output.stdout),
        format!("published 4 records to {prefix}control, rejected 3\n")
    );

    let published = kcat(&brokers, &format!("{prefix}control"));
    let want: Vec<Message> = [(0, "m1"), (3, "best"), (6, "best"), (7, "m2")]
        .into_iter()
        .map(|(line, key)| Message {
            partition: 0,
            key: key.to_owned(),
            payload: lines[line].to_owned(),
        })
        .collect();
    assert_eq!(published, want);

    // Nothing is published to a topic that is not one of ours, or not an input.
    for (topic, message) in
        [("clips", "is an output of the engine"), ("highlights", "unknown topic \"highlights\"")]
    {
        let output = reeltime(
            &["publish", "--topic", topic, log_arg, "--brokers", &brokers, "--prefix", &prefix],
            b"",
        );
        assert!(!output.status.success());
        assert!(text(&output.stderr).contains(message), "{}", text(&output.stderr));
    }
    let missing = reeltime(
        &["publish", "--topic", "control", log_arg, "--brokers", &brokers, "--prefix", "nowhere."],
        b"",
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("topic \"nowhere.control\" does not exist on ")
            && text(&missing.stderr).contains("reeltime topics create"),
        "{}",
        text(&missing.stderr)
    );
}

/// Publishing the example log to each input topic in turn puts every record on its topic,
/// keyed as docs/kafka.md says and in file order per key; the bad lines never go anywhere.
#[test]
fn the_example_log_splits_over_the_input_topics_from_standard_input() {
    let Some(brokers) = broker() else { return };
    let prefix = unique_prefix("example");
    let created = create_topics(&brokers, &prefix, "3");
    assert!(created.status.success(), "{}", text(&created.stderr));

    let example = fs::read(EXAMPLE).unwrap();
    let mut expected: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    let mut records = 0;
    for line in text(&example).lines() {
        // The example's bad lines (examples/README.md) are the engine's to reject.
        if reeltime_schemas::decode(line.as_bytes(), 1 << 20).is_err() {
            continue;
        }
        let record: Value = serde_json::from_str(line).unwrap();
        let kind = record["type"].as_str().unwrap_or_default();
        let (topic, key_field) = match kind {
            "profile" => ("control", "name"),
            "replay" => ("control", "replay_id"),
            "delete" => ("control", "id"),
            "event" | "feedback" => ("control", "event_id"),
            "chunk" => ("chunks", "event_id"),
            "segment" | "optimization" | "label" => ("segments", "event_id"),
            "detection" => ("detections", "event_id"),
            other => panic!("a valid record of unknown type {other:?}"),
        };
        let key = record[key_field].as_str().unwrap();
        expected.entry(topic).or_default().push((key.to_owned(), line.to_owned()));
        records += 1;
    }

    let mut published_total = 0;
    for topic in ["control", "chunks", "segments", "detections"] {
        let output = reeltime(
            &[
                "publish",
                "--quiet",
                "--topic",
                topic,
                "-",
                "--brokers",
                &brokers,
                "--prefix",
                &prefix,
            ],
            &example,
        );
        let stdout = text(&output.stdout);
        let published: u64 = stdout
            .strip_prefix("published ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("no summary in {stdout:?}: {}", text(&output.stderr)));
        published_total += published;
        assert!(
            text(&output.stderr).lines().any(|l| l.starts_with("stdin:")),
            "rejects name stdin"
        );

        let messages = kcat(&brokers, &format!("{prefix}{topic}"));
        assert_eq!(messages.len() as u64, published, "{topic}");
        // Per key, file order; a key stays on one partition.
        let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut partition_of: BTreeMap<String, i64> = BTreeMap::new();
        for message in messages {
            assert_eq!(
                *partition_of.entry(message.key.clone()).or_insert(message.partition),
                message.partition,
                "key {} on two partitions",
                message.key
            );
            by_key.entry(message.key).or_default().push(message.payload);
        }
        let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, line) in expected.get(topic).into_iter().flatten() {
            want.entry(key.clone()).or_default().push(line.clone());
        }
        assert_eq!(by_key, want, "{topic}");
    }
    assert_eq!(published_total, records);
}
