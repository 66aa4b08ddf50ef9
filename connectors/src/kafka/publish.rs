//! Publishing input records to an input topic, after the checks the engine makes.
//!
//! [`Publisher::check`] runs the engine's own decoding ([`reeltime_schemas::decode`]:
//! size limit, strict JSON, the record's schema and rules) and checks that the record's type
//! belongs on the topic; only a record that passes becomes a [`Valid`], and only a `Valid` can
//! be sent, so nothing the engine would dead-letter is ever produced.
//!
//! Contract: records are sent with an idempotent producer, keyed as docs/kafka.md says
//! ([`record_key`]), so records of one key land on one partition in the order they were sent,
//! without duplicates from retries. [`Publisher::finish`] waits until the broker acknowledged
//! every record (`acks=all`) or gave up on it; each failure is reported with the position the
//! caller gave the record. Running a publish again publishes the records again: Kafka has no
//! notion of a record already being there, and the engine treats a repeated record as the
//! same fact (SEMANTICS §2).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::util::Timeout;
use thiserror::Error;

use reeltime_schemas::{decode, Record, RecordError};

use super::admin::FRAMING_BYTES;
use super::{ClientSettings, Topic, TopicNames};

/// Why publishing cannot go on (as opposed to one record being rejected).
#[derive(Debug, Error)]
pub enum PublishError {
    /// `--topic` names no topic of reeltime.
    #[error(
        "unknown topic {given:?}: expected control, chunks, segments or detections, or a full \
         name such as {example:?}"
    )]
    UnknownTopic {
        /// What was given.
        given: String,
        /// A full name under the prefix in use.
        example: String,
    },
    /// `--topic` names an output topic, which only the engine writes.
    #[error(
        "topic {name:?} is an output of the engine; records are published to the input topics \
         control, chunks, segments and detections"
    )]
    OutputTopic {
        /// The topic's full name.
        name: String,
    },
    /// The topic does not exist on the cluster.
    #[error("topic {name:?} does not exist on {brokers} (create the topics with `reeltime topics create`)")]
    MissingTopic {
        /// The topic's full name.
        name: String,
        /// The bootstrap servers asked.
        brokers: String,
    },
    /// The brokers did not answer or refused a request.
    #[error("{action} on {brokers}")]
    Kafka {
        /// What was being done.
        action: String,
        /// The bootstrap servers.
        brokers: String,
        /// What librdkafka said (boxed: it is large, and errors are the rare path).
        source: Box<KafkaError>,
    },
}

/// Why one record is not published.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Rejection {
    /// The engine would reject it: not JSON, too large, unknown type, or breaks a rule.
    #[error(transparent)]
    Invalid(#[from] RecordError),
    /// A valid record of a type that goes to another topic.
    #[error("{record_type} records go to the {belongs} topic, not {topic}")]
    WrongTopic {
        /// The record's type.
        record_type: &'static str,
        /// The topic being published to (its suffix).
        topic: &'static str,
        /// The topic the record belongs on (its suffix).
        belongs: &'static str,
    },
}

/// The input topic a record belongs on (docs/kafka.md, "Publishing records").
pub fn home_topic(record: &Record) -> Topic {
    match record {
        Record::Profile(_)
        | Record::Event(_)
        | Record::Replay(_)
        | Record::Feedback(_)
        | Record::Delete(_) => Topic::Control,
        Record::Chunk(_) => Topic::Chunks,
        Record::Segment(_) | Record::Optimization(_) | Record::Label(_) => Topic::Segments,
        Record::Detection(_) => Topic::Detections,
    }
}

/// The key a record is published with: its event id; a profile's name, a replay's id and a
/// delete's id for the records that are about those (docs/kafka.md, "Publishing records").
pub fn record_key(record: &Record) -> &str {
    match record {
        Record::Profile(profile) => &profile.name,
        Record::Replay(replay) => &replay.replay_id,
        Record::Delete(delete) => &delete.id,
        Record::Event(r) => &r.event_id,
        Record::Chunk(r) => &r.event_id,
        Record::Segment(r) => &r.event_id,
        Record::Optimization(r) => &r.event_id,
        Record::Label(r) => &r.event_id,
        Record::Detection(r) => &r.event_id,
        Record::Feedback(r) => &r.event_id,
    }
}

/// The input topic `given` names: a short name (`detections`) or a full one
/// (`reeltime.detections` under the prefix of `names`).
pub fn input_topic(names: &TopicNames, given: &str) -> Result<Topic, PublishError> {
    let topic = names
        .topic(given)
        .or_else(|| Topic::ALL.into_iter().find(|topic| topic.suffix() == given))
        .ok_or_else(|| PublishError::UnknownTopic {
            given: given.to_owned(),
            example: names.name(Topic::Detections),
        })?;
    if !topic.is_input() {
        return Err(PublishError::OutputTopic { name: names.name(topic) });
    }
    Ok(topic)
}

/// A record that passed every check, ready to be sent.
#[derive(Debug)]
pub struct Valid<'a> {
    key: String,
    bytes: &'a [u8],
    record_type: &'static str,
}

impl Valid<'_> {
    /// The key it will be sent with.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Its type.
    pub fn record_type(&self) -> &'static str {
        self.record_type
    }
}

/// A record the broker did not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// The position the caller gave the record (a line number).
    pub position: u64,
    /// What the producer said.
    pub reason: String,
}

/// What [`Publisher::finish`] reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Records the broker acknowledged.
    pub acknowledged: u64,
    /// Records it did not, in the order the producer gave up on them.
    pub failures: Vec<DeliveryFailure>,
}

/// Counts acknowledgements and keeps failures, from the producer's delivery callbacks.
#[derive(Default)]
struct Deliveries {
    acknowledged: AtomicU64,
    failures: Mutex<Vec<DeliveryFailure>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    /// The record's position.
    type DeliveryOpaque = Box<u64>;

    fn delivery(&self, result: &DeliveryResult<'_>, position: Box<u64>) {
        match result {
            Ok(_) => {
                self.acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => {
                let failure = DeliveryFailure { position: *position, reason: error.to_string() };
                // A poisoned lock only means another callback panicked; the list is intact.
                self.failures.lock().unwrap_or_else(|p| p.into_inner()).push(failure);
            }
        }
    }
}

/// Publishes checked records to one input topic.
pub struct Publisher {
    producer: BaseProducer<Deliveries>,
    topic: Topic,
    name: String,
    brokers: String,
    max_record_bytes: usize,
}

impl Publisher {
    /// Connects to the brokers of `settings` and makes sure `topic` exists, waiting at most
    /// `timeout` for an answer. Records larger than `max_record_bytes` will be rejected, as
    /// the engine rejects them.
    pub fn connect(
        settings: &ClientSettings,
        names: &TopicNames,
        topic: Topic,
        max_record_bytes: usize,
        timeout: Duration,
    ) -> Result<Publisher, PublishError> {
        let brokers = settings.brokers.clone();
        let name = names.name(topic);
        let mut config = settings.client_config();
        // The producer refuses messages above `message.max.bytes` (1000000 by default), less
        // than the engine accepts: make room for the largest valid record and its framing.
        let max_message_bytes = (max_record_bytes + FRAMING_BYTES).max(1_000_000);
        for (key, value) in [
            // No duplicates and no reordering when a send is retried; implies acks=all.
            ("enable.idempotence", "true".to_owned()),
            ("message.max.bytes", max_message_bytes.to_string()),
            // A producer asks the broker to create unknown topics by default; a topic with the
            // broker's defaults instead of reeltime's is worse than a clear error.
            ("allow.auto.create.topics", "false".to_owned()),
        ] {
            set_default(&mut config, key, &value);
        }
        let producer: BaseProducer<Deliveries> = config
            .create_with_context(Deliveries::default())
            .map_err(|source| PublishError::Kafka {
                action: "creating the producer".to_owned(),
                brokers: brokers.clone(),
                source: Box::new(source),
            })?;
        let metadata =
            producer.client().fetch_metadata(Some(&name), timeout).map_err(|source| {
                PublishError::Kafka {
                    action: format!("reading the metadata of topic {name:?}"),
                    brokers: brokers.clone(),
                    source: Box::new(source),
                }
            })?;
        let exists = metadata
            .topics()
            .iter()
            .any(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty());
        if !exists {
            return Err(PublishError::MissingTopic { name, brokers });
        }
        Ok(Publisher { producer, topic, name, brokers, max_record_bytes })
    }

    /// The full name of the topic records go to.
    pub fn topic_name(&self) -> &str {
        &self.name
    }

    /// Checks one record as the engine will: decoded and validated, and of a type that belongs
    /// on this topic.
    pub fn check<'a>(&self, bytes: &'a [u8]) -> Result<Valid<'a>, Rejection> {
        check(bytes, self.topic, self.max_record_bytes)
    }

    /// Queues a checked record; `position` (its line number) names it in delivery failures.
    /// Waits while the producer's queue is full.
    pub fn send(&self, position: u64, record: &Valid<'_>) -> Result<(), PublishError> {
        let mut message = BaseRecord::with_opaque_to(&self.name, Box::new(position))
            .key(record.key.as_bytes())
            .payload(record.bytes);
        loop {
            match self.producer.send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    // Deliveries free the queue; serving them is what waiting means here.
                    self.producer.poll(Duration::from_millis(100));
                    message = returned;
                }
                Err((source, _)) => {
                    return Err(PublishError::Kafka {
                        action: format!("sending line {position} to {:?}", self.name),
                        brokers: self.brokers.clone(),
                        source: Box::new(source),
                    })
                }
            }
        }
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    /// Records acknowledged so far.
    pub fn acknowledged(&self) -> u64 {
        self.producer.context().acknowledged.load(Ordering::Relaxed)
    }

    /// Waits until every record sent so far was acknowledged or given up on, and takes the
    /// failures since the last call: the publisher goes on (a service's writes, batch after
    /// batch).
    pub fn flush(&self) -> Result<Vec<DeliveryFailure>, PublishError> {
        self.producer.flush(Timeout::Never).map_err(|source| PublishError::Kafka {
            action: format!("waiting for the records sent to {:?}", self.name),
            brokers: self.brokers.clone(),
            source: Box::new(source),
        })?;
        let failures = &self.producer.context().failures;
        Ok(std::mem::take(&mut *failures.lock().unwrap_or_else(|p| p.into_inner())))
    }

    /// Waits until every record sent was acknowledged or given up on (the producer gives up
    /// after `message.timeout.ms`, 5 minutes unless set), and says which.
    pub fn finish(self) -> Result<Delivered, PublishError> {
        self.producer.flush(Timeout::Never).map_err(|source| PublishError::Kafka {
            action: format!("waiting for the records sent to {:?}", self.name),
            brokers: self.brokers.clone(),
            source: Box::new(source),
        })?;
        let context = self.producer.context();
        let failures =
            std::mem::take(&mut *context.failures.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(Delivered { acknowledged: context.acknowledged.load(Ordering::Relaxed), failures })
    }
}

/// Sets `key` unless the pass-through settings already did: theirs win (see
/// [`ClientSettings::extra`]).
fn set_default(config: &mut ClientConfig, key: &str, value: &str) {
    if config.get(key).is_none() {
        config.set(key, value);
    }
}

/// Checks one record for `topic`, as [`Publisher::check`] does.
pub fn check(bytes: &[u8], topic: Topic, max_record_bytes: usize) -> Result<Valid<'_>, Rejection> {
    let record = decode(bytes, max_record_bytes)?;
    let belongs = home_topic(&record);
    if belongs != topic {
        return Err(Rejection::WrongTopic {
            record_type: record.type_name(),
            topic: topic.suffix(),
            belongs: belongs.suffix(),
        });
    }
    Ok(Valid { key: record_key(&record).to_owned(), bytes, record_type: record.type_name() })
}

#[cfg(test)]
mod tests {
    use super::*;

    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    use rdkafka::mocking::MockCluster;
    use rdkafka::{Offset, TopicPartitionList};

    const LIMIT: usize = 1024 * 1024;

    #[test]
    fn checked_records_reach_the_topic_in_order_with_their_keys() {
        let cluster = MockCluster::new(1).unwrap();
        let names = TopicNames::new("mock.");
        cluster.create_topic(&names.name(Topic::Segments), 1, 1).unwrap();
        let settings = ClientSettings::new(cluster.bootstrap_servers());
        let timeout = Duration::from_secs(10);
        let publisher =
            Publisher::connect(&settings, &names, Topic::Segments, LIMIT, timeout).unwrap();
        let lines: [&[u8]; 4] = [
            br#"{"type":"segment","event_id":"m1","plugin":"cls","start":1}"#,
            br#"{"type":"detection","event_id":"m1","plugin":"loud","start":2,"attributes":{}}"#,
            br#"{"type":"label","event_id":"m2","plugin":"lab","start":1,"label":"ace"}"#,
            br#"{"type":"segment","event_id":"m1","plugin":"cls","start":1,"end":4}"#,
        ];
        for (number, line) in lines.iter().enumerate() {
            if let Ok(valid) = publisher.check(line) {
                publisher.send(number as u64 + 1, &valid).unwrap();
            }
        }
        let delivered = publisher.finish().unwrap();
        assert_eq!(delivered, Delivered { acknowledged: 3, failures: vec![] });

        let consumer: BaseConsumer = settings
            .client_config()
            .set("group.id", "reader")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&names.name(Topic::Segments), 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&assignment).unwrap();
        let mut read = Vec::new();
        while read.len() < 3 {
            let message = consumer.poll(timeout).expect("a message within 10 s").unwrap();
            read.push((message.key().unwrap().to_vec(), message.payload().unwrap().to_vec()));
        }
        let want: Vec<(Vec<u8>, Vec<u8>)> = [(b"m1", 0), (b"m2", 2), (b"m1", 3)]
            .into_iter()
            .map(|(key, line)| (key.to_vec(), lines[line].to_vec()))
            .collect();
        assert_eq!(read, want);
    }

    #[test]
    fn a_missing_topic_is_named_before_anything_is_sent() {
        let cluster = MockCluster::new(1).unwrap();
        let settings = ClientSettings::new(cluster.bootstrap_servers());
        let error = Publisher::connect(
            &settings,
            &TopicNames::default(),
            Topic::Control,
            LIMIT,
            Duration::from_secs(10),
        )
        .err()
        .unwrap();
        assert!(
            error.to_string().starts_with("topic \"reeltime.control\" does not exist on "),
            "{error}"
        );
    }

    #[test]
    fn records_are_keyed_and_routed_as_the_architecture_says() {
        let cases: [(&str, Topic, &str); 7] = [
            (r#"{"type":"delete","kind":"replay","id":"best-of"}"#, Topic::Control, "best-of"),
            (
                r#"{"type":"event","event_id":"m1","profile":"tennis","status":"started"}"#,
                Topic::Control,
                "m1",
            ),
            (
                r#"{"type":"feedback","event_id":"m1","start":10,"verdict":"like"}"#,
                Topic::Control,
                "m1",
            ),
            (
                r#"{"type":"chunk","event_id":"m1","seq_no":0,"uri":"c0.ts","start":0,"duration":10}"#,
                Topic::Chunks,
                "m1",
            ),
            (
                r#"{"type":"segment","event_id":"m2","plugin":"cls","start":1,"end":5}"#,
                Topic::Segments,
                "m2",
            ),
            (
                r#"{"type":"label","event_id":"m2","plugin":"lab","start":1,"label":"ace"}"#,
                Topic::Segments,
                "m2",
            ),
            (
                r#"{"type":"detection","event_id":"m3","plugin":"loud","start":2,"attributes":{}}"#,
                Topic::Detections,
                "m3",
            ),
        ];
        for (line, topic, key) in cases {
            let valid =
                check(line.as_bytes(), topic, LIMIT).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(valid.key(), key, "{line}");
        }
    }

    #[test]
    fn a_record_on_the_wrong_topic_or_invalid_is_rejected_with_its_reason() {
        let segment = br#"{"type":"segment","event_id":"m2","plugin":"cls","start":1,"end":5}"#;
        let error = check(segment, Topic::Detections, LIMIT).unwrap_err();
        assert_eq!(error.to_string(), "segment records go to the segments topic, not detections");
        let error = check(b"{\"type\":\"segment\"", Topic::Segments, LIMIT).unwrap_err();
        assert!(matches!(error, Rejection::Invalid(RecordError::NotJson(_))), "{error:?}");
        let error = check(segment, Topic::Segments, 10).unwrap_err();
        assert!(matches!(error, Rejection::Invalid(RecordError::TooLarge { .. })), "{error:?}");
        let backwards = br#"{"type":"segment","event_id":"m2","plugin":"cls","start":5,"end":1}"#;
        let error = check(backwards, Topic::Segments, LIMIT).unwrap_err();
        assert!(error.to_string().starts_with("segment record: field `end`"), "{error}");
    }

    #[test]
    fn topics_are_named_short_or_full_and_must_be_inputs() {
        let names = TopicNames::new("prod.");
        assert_eq!(input_topic(&names, "detections").unwrap(), Topic::Detections);
        assert_eq!(input_topic(&names, "prod.control").unwrap(), Topic::Control);
        let error = input_topic(&names, "reeltime.control").unwrap_err();
        assert!(error.to_string().contains("\"prod.detections\""), "{error}");
        let error = input_topic(&names, "replays").unwrap_err();
        assert!(error.to_string().contains("\"prod.replays\" is an output"), "{error}");
    }
}
