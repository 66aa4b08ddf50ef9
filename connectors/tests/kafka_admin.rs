//! Topic creation against a real Apache Kafka broker (started by `scripts/test`, address in
//! `REELTIME_KAFKA_BROKERS`): creating twice changes nothing the second time, the topics have
//! the documented partitions and configuration as the broker reports them, and a topic made
//! differently beforehand is kept and reported.
//!
//! Without a broker the tests say so and pass, unless `REELTIME_REQUIRE_KAFKA=1`.

use std::time::Duration;

use futures_executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

use reeltime_connectors::kafka::admin::{topic_specs, Admin, TopicOutcome};
use reeltime_connectors::kafka::{ClientSettings, Topic, TopicNames};

const TIMEOUT: Duration = Duration::from_secs(30);

/// The broker of the tests, or `None` (with a message) when there is none.
fn broker() -> Option<String> {
    match std::env::var("REELTIME_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.is_empty() => Some(brokers),
        _ => {
            assert!(
                std::env::var_os("REELTIME_REQUIRE_KAFKA").is_none_or(|v| v != "1"),
                "REELTIME_REQUIRE_KAFKA=1 but REELTIME_KAFKA_BROKERS is not set: start a broker \
                 with `scripts/kafka-local start`"
            );
            eprintln!(
                "skipped: no Kafka broker (set REELTIME_KAFKA_BROKERS, see scripts/kafka-local)"
            );
            None
        }
    }
}

/// A topic prefix no other test or test run uses.
fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos();
    format!("t{}-{test}-{}.", std::process::id(), nanos % 1_000_000_000)
}

#[test]
fn creating_twice_keeps_the_topics_and_their_documented_configuration() {
    let Some(brokers) = broker() else { return };
    let prefix = unique_prefix("admin");
    let names = TopicNames::new(prefix.clone());
    let settings = ClientSettings::new(brokers.clone());

    // Someone made the chunks topic by hand: 2 partitions, the broker's defaults.
    let chunks = names.name(Topic::Chunks);
    let raw: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &brokers).create().unwrap();
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let made = block_on(
        raw.create_topics(&[NewTopic::new(&chunks, 2, TopicReplication::Fixed(1))], &options),
    )
    .unwrap();
    assert_eq!(made, vec![Ok(chunks.clone())]);

    let specs = topic_specs(&names, 3).unwrap();
    let admin = Admin::new(&settings, TIMEOUT).unwrap();
    let chunks_warnings = vec![
        "has 2 partitions, not 3".to_owned(),
        "has max.message.bytes=1048588, not 1114112".to_owned(),
        "has message.timestamp.type=CreateTime, not LogAppendTime".to_owned(),
    ];

    let first = admin.create_topics(&specs, Some(1)).unwrap();
    for (report, spec) in first.iter().zip(&specs) {
        assert_eq!(report.name, spec.name);
        let want = if spec.topic == Topic::Chunks {
            TopicOutcome::Existed { warnings: chunks_warnings.clone() }
        } else {
            TopicOutcome::Created
        };
        assert_eq!(report.outcome, want, "{}", report.name);
    }

    let second = admin.create_topics(&specs, Some(1)).unwrap();
    for (report, spec) in second.iter().zip(&specs) {
        let warnings = if spec.topic == Topic::Chunks { chunks_warnings.clone() } else { vec![] };
        assert_eq!(report.outcome, TopicOutcome::Existed { warnings }, "{}", report.name);
    }

    for spec in specs.iter().filter(|spec| spec.topic != Topic::Chunks) {
        assert_eq!(admin.partition_count(&spec.name).unwrap(), spec.partitions, "{}", spec.name);
        let config = admin.topic_config(&spec.name).unwrap();
        for (key, value) in &spec.config {
            assert_eq!(config.get(*key), Some(value), "{} {key}", spec.name);
        }
    }
    let config = |topic| admin.topic_config(&names.name(topic)).unwrap();
    assert_eq!(config(Topic::Replays)["cleanup.policy"], "compact");
    assert_eq!(config(Topic::Clips)["cleanup.policy"], "compact");
    assert_eq!(config(Topic::Detections)["retention.ms"], "604800000");
    assert_eq!(config(Topic::DeadLetter)["retention.ms"], "2592000000");
    assert_eq!(admin.partition_count(&names.name(Topic::Control)).unwrap(), 1);
    assert_eq!(admin.partition_count(&names.name(Topic::Segments)).unwrap(), 3);
    assert_eq!(admin.partition_count(&format!("{prefix}no-such-topic")).unwrap(), 0);
}

#[test]
fn unreachable_brokers_are_a_clear_error() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let settings = ClientSettings::new(format!("127.0.0.1:{port}"));
    let admin = Admin::new(&settings, Duration::from_secs(2)).unwrap();
    let specs = topic_specs(&TopicNames::default(), 1).unwrap();
    let error = admin.create_topics(&specs, None).unwrap_err();
    assert_eq!(error.to_string(), format!("creating topics on 127.0.0.1:{port}"));
    let cause = std::error::Error::source(&error).expect("the cause is kept").to_string();
    assert!(cause.contains("OperationTimedOut"), "{cause}");
}
