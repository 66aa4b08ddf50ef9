//! Kafka: reeltime's topics (docs/kafka.md) and the client settings every reeltime command shares.
//!
//! Every Kafka client reeltime makes (admin, producer, consumer) starts from
//! [`ClientSettings::client_config`], so `--brokers` and the pass-through librdkafka settings
//! (SASL, TLS, ...) apply the same way everywhere.
//!
//! - [`admin`]: creating the topics with their partitions and configuration, idempotently.
//! - [`publish`]: producing input records to their topic after the engine's own checks.
//! - [`sink`]: the transactional producer that publishes each epoch's output together with
//!   the input offsets it consumed.
//! - [`source`]: the input partitions, their committed offsets, and a reader of a fixed
//!   share of them that gives each message its place in the log order.

use std::collections::BTreeMap;

use rdkafka::config::ClientConfig;

pub mod admin;
pub mod publish;
pub mod sink;
pub mod source;

/// The default prefix of every topic name.
pub const DEFAULT_TOPIC_PREFIX: &str = "reeltime.";

/// What a topic is for, which fixes its name (after the prefix) and its configuration.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Topic {
    /// Operator input: profile, event, replay, feedback, delete.
    Control,
    /// Ingest input: chunk records.
    Chunks,
    /// Plugin input: segment, optimization, label.
    Segments,
    /// Plugin input: detection.
    Detections,
    /// Output: segment views, keyed `event_id/start` (compacted; tombstone when removed).
    Clips,
    /// Output: replay views with their version, keyed by replay id (compacted).
    Replays,
    /// Output: typed lifecycle notifications, keyed by event id.
    Notifications,
    /// Output: rejected input records with their position and reason.
    DeadLetter,
}

impl Topic {
    /// Every topic, inputs first.
    pub const ALL: [Topic; 8] = [
        Topic::Control,
        Topic::Chunks,
        Topic::Segments,
        Topic::Detections,
        Topic::Clips,
        Topic::Replays,
        Topic::Notifications,
        Topic::DeadLetter,
    ];

    /// The input topics the engine consumes.
    pub const INPUTS: [Topic; 4] =
        [Topic::Control, Topic::Chunks, Topic::Segments, Topic::Detections];

    /// The name after the prefix.
    pub fn suffix(self) -> &'static str {
        match self {
            Topic::Control => "control",
            Topic::Chunks => "chunks",
            Topic::Segments => "segments",
            Topic::Detections => "detections",
            Topic::Clips => "clips",
            Topic::Replays => "replays",
            Topic::Notifications => "notifications",
            Topic::DeadLetter => "dead-letter",
        }
    }

    /// Whether the engine reads this topic (the others it writes).
    pub fn is_input(self) -> bool {
        Topic::INPUTS.contains(&self)
    }
}

/// The topic names of one deployment: the prefix joined to each [`Topic`]'s suffix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicNames {
    prefix: String,
}

impl TopicNames {
    /// Names with the given prefix (`reeltime.` by default; may be empty).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    /// The full name of a topic.
    pub fn name(&self, topic: Topic) -> String {
        format!("{}{}", self.prefix, topic.suffix())
    }

    /// The topic a full name stands for, if it is one of ours.
    pub fn topic(&self, name: &str) -> Option<Topic> {
        let suffix = name.strip_prefix(&self.prefix)?;
        Topic::ALL.into_iter().find(|topic| topic.suffix() == suffix)
    }
}

impl Default for TopicNames {
    fn default() -> Self {
        Self::new(DEFAULT_TOPIC_PREFIX)
    }
}

/// Where the brokers are and how to talk to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// The bootstrap servers, `HOST:PORT[,HOST:PORT...]`.
    pub brokers: String,
    /// librdkafka settings passed through as they are (`security.protocol`, `sasl.*`,
    /// `ssl.*`, ...); they override reeltime's own choices.
    pub extra: BTreeMap<String, String>,
}

impl ClientSettings {
    /// Settings for the given bootstrap servers and nothing else.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self { brokers: brokers.into(), extra: BTreeMap::new() }
    }

    /// A client configuration with the brokers and the pass-through settings; callers add
    /// what their kind of client needs before creating it.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_prefix() {
        let names = TopicNames::new("prod.");
        for topic in Topic::ALL {
            assert_eq!(names.topic(&names.name(topic)), Some(topic));
        }
        assert_eq!(names.name(Topic::DeadLetter), "prod.dead-letter");
        assert_eq!(names.topic("reeltime.control"), None);
        assert_eq!(TopicNames::default().name(Topic::Control), "reeltime.control");
    }

    #[test]
    fn pass_through_settings_override_the_defaults() {
        let mut settings = ClientSettings::new("127.0.0.1:9092");
        settings.extra.insert("bootstrap.servers".into(), "10.0.0.1:9092".into());
        settings.extra.insert("security.protocol".into(), "SASL_SSL".into());
        let config = settings.client_config();
        assert_eq!(config.get("bootstrap.servers"), Some("10.0.0.1:9092"));
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
    }
}
