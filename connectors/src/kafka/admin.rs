//! Creating reeltime's topics, with the partitions and configuration each one needs.
//!
//! [`topic_specs`] says what every topic of [`Topic::ALL`] should look like; [`Admin::create_topics`]
//! makes the missing ones and checks the existing ones against the specs, so running it again
//! is harmless. Existing topics are never changed: a difference is reported as a warning,
//! because fixing it (more partitions, another cleanup policy) moves or drops data and is an
//! operator's decision.
//!
//! | topic | partitions | cleanup | retention | why |
//! |---|---|---|---|---|
//! | control | 1 | delete | 7 days | few records; one partition keeps operator commands in one order |
//! | chunks, segments, detections | N (6) | delete | 7 days | the engine replays them at start |
//! | clips, replays | N (6) | compact | latest value per key | upserted views |
//! | notifications | N (6) | delete | 7 days | a feed, read as it comes |
//! | dead-letter | 1 | delete | 30 days | few records, kept for investigation |
//!
//! Input topics stamp records with the broker's append time (`LogAppendTime`): the engine
//! orders records of one event across topics by that time (see `source`). They also take
//! messages up to [`INPUT_MAX_MESSAGE_BYTES`], so the largest record the engine accepts fits;
//! the output topics up to [`MAX_MESSAGE_BYTES`], what the engine's producer may send.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_executor::block_on;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use thiserror::Error;

use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;

use super::sink::MAX_MESSAGE_BYTES;
use super::{ClientSettings, Topic, TopicNames};

/// Partitions of the inputs that carry per-event data, and of the keyed outputs, unless the
/// operator chooses otherwise: 6 divides evenly among 1, 2, 3 and 6 workers (each worker reads
/// a fixed share of the partitions), and adding partitions later moves keys to other
/// partitions, so there should be enough from the start.
pub const DEFAULT_PARTITIONS: i32 = 6;

/// How long input records are kept. The engine rebuilds its state by replaying the inputs
/// at every start, so this also bounds what a restart can recover: records older than this
/// are gone from the rebuilt views. Raise it (or set `retention.ms=-1`) for events that must
/// survive longer restarts.
pub const INPUT_RETENTION_MS: i64 = 7 * DAY_MS;

/// How long notifications are kept: a feed for consumers that read as it comes.
pub const NOTIFICATION_RETENTION_MS: i64 = 7 * DAY_MS;

/// How long dead letters are kept: few, and looked at later, when someone investigates.
pub const DEAD_LETTER_RETENTION_MS: i64 = 30 * DAY_MS;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Room above the largest record the engine accepts for its key and Kafka's batch framing.
pub const FRAMING_BYTES: usize = 64 * 1024;

/// The largest message an input topic takes: a record of the engine's default size limit
/// (1 MiB) with its framing. Kafka's own default (1 MiB + 12 bytes, framing included) would
/// refuse the largest records the engine accepts.
pub const INPUT_MAX_MESSAGE_BYTES: usize = DEFAULT_MAX_RECORD_BYTES + FRAMING_BYTES;

/// How often the metadata of a just-created topic is asked for, until the brokers serve it.
const METADATA_POLL: Duration = Duration::from_millis(50);

/// The longest topic name Kafka accepts.
const MAX_TOPIC_NAME_LEN: usize = 249;

/// Why the topics could not be created or checked.
#[derive(Debug, Error)]
pub enum AdminError {
    /// A topic name Kafka would refuse.
    #[error("invalid topic name {name:?}: {reason}")]
    InvalidTopicName {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The partition count asked for is not positive.
    #[error("invalid partition count {0}: a topic needs at least 1 partition")]
    InvalidPartitions(i32),
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
    /// The brokers refused to create a topic.
    #[error("creating topic {topic:?} on {brokers}: {code}")]
    Create {
        /// The topic.
        topic: String,
        /// The bootstrap servers.
        brokers: String,
        /// What the broker said.
        code: RDKafkaErrorCode,
    },
    /// A created topic was not served by the brokers in time.
    #[error("topic {topic:?} was created on {brokers} but has no leader after {timeout:?}")]
    NotServed {
        /// The topic.
        topic: String,
        /// The bootstrap servers.
        brokers: String,
        /// How long was waited.
        timeout: Duration,
    },
    /// The brokers refused to describe a topic.
    #[error("describing topic {topic:?} on {brokers}: {code}")]
    Describe {
        /// The topic.
        topic: String,
        /// The bootstrap servers.
        brokers: String,
        /// What the broker said.
        code: RDKafkaErrorCode,
    },
}

/// What one topic should look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    /// What the topic is for.
    pub topic: Topic,
    /// Its full name.
    pub name: String,
    /// Its partition count.
    pub partitions: i32,
    /// Topic configuration, as the broker names it (`cleanup.policy`, `retention.ms`, ...).
    pub config: BTreeMap<&'static str, String>,
}

/// The specs of every topic of [`Topic::ALL`] under `names`, with `partitions` partitions for
/// the per-event inputs and the keyed outputs (control and dead-letter always have one).
pub fn topic_specs(names: &TopicNames, partitions: i32) -> Result<Vec<TopicSpec>, AdminError> {
    if partitions < 1 {
        return Err(AdminError::InvalidPartitions(partitions));
    }
    Topic::ALL
        .into_iter()
        .map(|topic| {
            let name = names.name(topic);
            check_topic_name(&name)?;
            let (partitions, mut config) = match topic {
                Topic::Control => (1, input_config()),
                Topic::Chunks | Topic::Segments | Topic::Detections => (partitions, input_config()),
                Topic::Clips | Topic::Replays => {
                    (partitions, BTreeMap::from([("cleanup.policy", "compact".to_owned())]))
                }
                Topic::Notifications => (partitions, delete_config(NOTIFICATION_RETENTION_MS)),
                Topic::DeadLetter => (1, delete_config(DEAD_LETTER_RETENTION_MS)),
            };
            if !topic.is_input() {
                // What the engine's transactional producer may send (a whole rejected record
                // in a dead letter, a long replay view).
                config.insert("max.message.bytes", MAX_MESSAGE_BYTES.to_string());
            }
            Ok(TopicSpec { topic, name, partitions, config })
        })
        .collect()
}

fn delete_config(retention_ms: i64) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("cleanup.policy", "delete".to_owned()),
        ("retention.ms", retention_ms.to_string()),
    ])
}

fn input_config() -> BTreeMap<&'static str, String> {
    let mut config = delete_config(INPUT_RETENTION_MS);
    config.insert("message.timestamp.type", "LogAppendTime".to_owned());
    config.insert("max.message.bytes", INPUT_MAX_MESSAGE_BYTES.to_string());
    config
}

/// Checks a full topic name against Kafka's rules (ASCII letters, digits, `.`, `_`, `-`; at
/// most 249 characters; not `.` or `..`), so a bad prefix is named before anything is sent.
pub fn check_topic_name(name: &str) -> Result<(), AdminError> {
    let invalid = |reason| Err(AdminError::InvalidTopicName { name: name.to_owned(), reason });
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name == "." || name == ".." {
        return invalid("`.` and `..` are not allowed");
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return invalid("it is longer than 249 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return invalid("only ASCII letters, digits, `.`, `_` and `-` are allowed");
    }
    Ok(())
}

/// What [`Admin::create_topics`] did with one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicOutcome {
    /// The topic was created as specified.
    Created,
    /// The topic existed already; `warnings` says where it differs from the spec (empty when
    /// it matches).
    Existed {
        /// Each difference, e.g. `has 3 partitions, not 6`.
        warnings: Vec<String>,
    },
}

/// One topic's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicReport {
    /// The topic's full name.
    pub name: String,
    /// What happened.
    pub outcome: TopicOutcome,
}

/// The admin client of one command: the brokers it talks to and how long to wait for them.
pub struct Admin {
    client: AdminClient<DefaultClientContext>,
    brokers: String,
    timeout: Duration,
}

impl Admin {
    /// An admin client for `settings`; each request waits at most `timeout` for the brokers.
    pub fn new(settings: &ClientSettings, timeout: Duration) -> Result<Admin, AdminError> {
        let client = settings.client_config().create().map_err(|source| AdminError::Kafka {
            action: "creating the admin client".to_owned(),
            brokers: settings.brokers.clone(),
            source: Box::new(source),
        })?;
        Ok(Admin { client, brokers: settings.brokers.clone(), timeout })
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }

    fn kafka_error(&self, action: impl Into<String>) -> impl FnOnce(KafkaError) -> AdminError {
        let action = action.into();
        let brokers = self.brokers.clone();
        move |source| AdminError::Kafka { action, brokers, source: Box::new(source) }
    }

    /// Creates the topics of `specs` that do not exist; the others are checked against their
    /// spec (partition count and configuration) and left as they are. `replication_factor`
    /// `None` takes the cluster's default (`default.replication.factor`).
    pub fn create_topics(
        &self,
        specs: &[TopicSpec],
        replication_factor: Option<i32>,
    ) -> Result<Vec<TopicReport>, AdminError> {
        let new_topics: Vec<NewTopic> = specs
            .iter()
            .map(|spec| NewTopic {
                name: &spec.name,
                num_partitions: spec.partitions,
                replication: TopicReplication::Fixed(replication_factor.unwrap_or(-1)),
                config: spec.config.iter().map(|(key, value)| (*key, value.as_str())).collect(),
            })
            .collect();
        let results = block_on(self.client.create_topics(&new_topics, &self.options()))
            .map_err(self.kafka_error("creating topics"))?;
        let mut reports = Vec::with_capacity(specs.len());
        for (spec, result) in specs.iter().zip(results) {
            let outcome = match result {
                Ok(_) => TopicOutcome::Created,
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    TopicOutcome::Existed { warnings: self.differences(spec)? }
                }
                Err((topic, code)) => {
                    return Err(AdminError::Create { topic, brokers: self.brokers.clone(), code })
                }
            };
            reports.push(TopicReport { name: spec.name.clone(), outcome });
        }
        let created = reports.iter().filter(|r| r.outcome == TopicOutcome::Created);
        self.wait_until_served(created.map(|r| r.name.as_str()))?;
        Ok(reports)
    }

    /// Waits until every topic of `names` has a leader for each partition. The controller
    /// answers a create before the brokers serve the topic, and a client that asks right
    /// away (`reeltime publish` after `reeltime topics create`) would be told it does not
    /// exist.
    fn wait_until_served<'a>(
        &self,
        names: impl Iterator<Item = &'a str>,
    ) -> Result<(), AdminError> {
        let deadline = Instant::now() + self.timeout;
        for name in names {
            while !self.is_served(name)? {
                if Instant::now() >= deadline {
                    return Err(AdminError::NotServed {
                        topic: name.to_owned(),
                        brokers: self.brokers.clone(),
                        timeout: self.timeout,
                    });
                }
                std::thread::sleep(METADATA_POLL);
            }
        }
        Ok(())
    }

    fn is_served(&self, name: &str) -> Result<bool, AdminError> {
        let metadata = self
            .client
            .inner()
            .fetch_metadata(Some(name), self.timeout)
            .map_err(self.kafka_error(format!("reading the metadata of topic {name:?}")))?;
        Ok(metadata.topics().iter().any(|topic| {
            topic.name() == name
                && topic.error().is_none()
                && !topic.partitions().is_empty()
                && topic.partitions().iter().all(|p| p.error().is_none() && p.leader() >= 0)
        }))
    }

    /// How an existing topic differs from its spec.
    fn differences(&self, spec: &TopicSpec) -> Result<Vec<String>, AdminError> {
        let mut warnings = Vec::new();
        let partitions = self.partition_count(&spec.name)?;
        if partitions != spec.partitions {
            warnings.push(format!("has {partitions} partitions, not {}", spec.partitions));
        }
        let config = self.topic_config(&spec.name)?;
        for (key, want) in &spec.config {
            match config.get(*key) {
                Some(have) if have == want => {}
                Some(have) => warnings.push(format!("has {key}={have}, not {want}")),
                None => warnings.push(format!("has no {key}, want {want}")),
            }
        }
        Ok(warnings)
    }

    /// The partition count of a topic, 0 when it does not exist.
    pub fn partition_count(&self, name: &str) -> Result<i32, AdminError> {
        let metadata = self
            .client
            .inner()
            .fetch_metadata(Some(name), self.timeout)
            .map_err(self.kafka_error(format!("reading the metadata of topic {name:?}")))?;
        Ok(metadata
            .topics()
            .iter()
            .find(|topic| topic.name() == name && topic.error().is_none())
            .map_or(0, |topic| topic.partitions().len() as i32))
    }

    /// The configuration of a topic as the broker reports it, defaults included; sensitive
    /// values are left out.
    pub fn topic_config(&self, name: &str) -> Result<BTreeMap<String, String>, AdminError> {
        let resources = [ResourceSpecifier::Topic(name)];
        let results = block_on(self.client.describe_configs(&resources, &self.options()))
            .map_err(self.kafka_error(format!("describing topic {name:?}")))?;
        let mut config = BTreeMap::new();
        for result in results {
            let resource = result.map_err(|code| AdminError::Describe {
                topic: name.to_owned(),
                brokers: self.brokers.clone(),
                code,
            })?;
            for entry in resource.entries {
                if entry.is_sensitive {
                    continue;
                }
                if let Some(value) = entry.value {
                    config.insert(entry.name, value);
                }
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_cover_every_topic_with_its_policy() {
        let specs = topic_specs(&TopicNames::new("x."), 4).unwrap();
        assert_eq!(specs.iter().map(|s| s.topic).collect::<Vec<_>>(), Topic::ALL.to_vec());
        let by_topic: BTreeMap<Topic, &TopicSpec> = specs.iter().map(|s| (s.topic, s)).collect();
        for topic in Topic::INPUTS {
            let spec = by_topic[&topic];
            assert_eq!(spec.config["cleanup.policy"], "delete", "{topic:?}");
            assert_eq!(spec.config["retention.ms"], "604800000", "{topic:?}");
            assert_eq!(spec.config["message.timestamp.type"], "LogAppendTime", "{topic:?}");
            assert_eq!(spec.config["max.message.bytes"], "1114112", "{topic:?}");
        }
        for topic in [Topic::Clips, Topic::Replays] {
            assert_eq!(by_topic[&topic].config["cleanup.policy"], "compact");
            assert!(!by_topic[&topic].config.contains_key("retention.ms"));
        }
        assert_eq!(by_topic[&Topic::DeadLetter].config["retention.ms"], "2592000000");
        for topic in Topic::ALL.into_iter().filter(|t| !t.is_input()) {
            assert_eq!(by_topic[&topic].config["max.message.bytes"], "10485760", "{topic:?}");
        }
        assert_eq!(by_topic[&Topic::Notifications].config["cleanup.policy"], "delete");
        let partitions: Vec<i32> = specs.iter().map(|s| s.partitions).collect();
        assert_eq!(partitions, [1, 4, 4, 4, 4, 4, 4, 1]);
        assert_eq!(by_topic[&Topic::DeadLetter].name, "x.dead-letter");
    }

    #[test]
    fn bad_prefixes_and_partition_counts_are_named() {
        let error = topic_specs(&TopicNames::new("my topics/"), 6).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid topic name \"my topics/control\": only ASCII letters, digits, `.`, `_` and \
             `-` are allowed"
        );
        let long = "p".repeat(240);
        let error = topic_specs(&TopicNames::new(long), 6).unwrap_err();
        assert!(error.to_string().contains("longer than 249"), "{error}");
        let error = topic_specs(&TopicNames::default(), 0).unwrap_err();
        assert!(error.to_string().contains("invalid partition count 0"), "{error}");
        assert!(check_topic_name("..").is_err());
        assert!(check_topic_name("").is_err());
        assert!(check_topic_name("reeltime.dead-letter_2").is_ok());
    }
}
