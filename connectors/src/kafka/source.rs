//! Reading the input topics: which partitions there are, where the last committed epoch left
//! each of them, and a reader over a fixed share of them.
//!
//! Contract: a [`PartitionReader`] is `assign`ed its partitions (no consumer-group
//! membership, so no rebalancing in the data path) and always reads them from their
//! beginning: the engine rebuilds its state from the inputs on every start, and the offsets
//! committed with the last epoch say where the rebuild ends and new output begins.
//!
//! Every message gets a [`Seq`], the order "latest" means in SEMANTICS §2 and §8.4: the
//! broker's append time, made non-decreasing per partition, then the topic, then a counter
//! among the partition's messages of that same millisecond. Within a partition this is the
//! offset order; across the topics of one event it is the order in which the broker received
//! the records (so an event delete removes what arrived before it). It depends only on the
//! partition's contents, so a rebuild gives every record the same `Seq` as before.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};
use thiserror::Error;

use reeltime_schemas::record::Seq;

use super::{ClientSettings, Topic, TopicNames};

/// Why the inputs cannot be read.
#[derive(Debug, Error)]
pub enum SourceError {
    /// An input topic does not exist (after waiting for it).
    #[error("input topic {topic:?} does not exist on {brokers} (create the topics with `reeltime topics create`)")]
    MissingTopic {
        /// The topic.
        topic: String,
        /// The bootstrap servers asked.
        brokers: String,
    },
    /// The brokers did not answer or refused a request.
    #[error("{action}: {source}")]
    Kafka {
        /// What was being done.
        action: String,
        /// What librdkafka said.
        source: KafkaError,
    },
}

fn kafka(action: impl Into<String>) -> impl FnOnce(KafkaError) -> SourceError {
    let action = action.into();
    move |source| SourceError::Kafka { action, source }
}

/// One partition of an input topic and where the last committed epoch left it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InputPartition {
    /// The topic.
    pub topic: Topic,
    /// The partition.
    pub partition: i32,
    /// The offset after the last record of the last committed epoch (0 when nothing was
    /// committed): the records before it are already reflected in the outputs.
    pub committed: i64,
}

/// How long metadata and offset requests may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The partitions of every input topic, with the offsets committed for `group_id`; waits up
/// to `wait` for topics that do not exist yet.
pub fn input_partitions(
    settings: &ClientSettings,
    names: &TopicNames,
    group_id: &str,
    wait: Duration,
) -> Result<Vec<InputPartition>, SourceError> {
    let consumer = offsets_consumer(settings, group_id)?;
    let deadline = Instant::now() + wait;
    // The group coordinator of a broker that has just started comes up within seconds.
    let coordinator_deadline = Instant::now() + wait.max(COORDINATOR_WAIT);
    let mut partitions = Vec::new();
    for topic in Topic::INPUTS {
        let name = names.name(topic);
        let count = loop {
            let metadata = consumer.fetch_metadata(Some(&name), REQUEST_TIMEOUT).map_err(kafka(
                format!("reading the metadata of {name:?} from {}", settings.brokers),
            ))?;
            let count = metadata
                .topics()
                .iter()
                .find(|t| t.name() == name && t.error().is_none())
                .map_or(0, |t| t.partitions().len());
            if count > 0 {
                break count;
            }
            if Instant::now() >= deadline {
                return Err(SourceError::MissingTopic {
                    topic: name,
                    brokers: settings.brokers.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let mut list = TopicPartitionList::new();
        for partition in 0..count as i32 {
            list.add_partition(&name, partition);
        }
        // A broker that has just started has no group coordinator yet (its offsets topic is
        // made on first use): that is waited for like a missing topic.
        let committed = loop {
            match consumer.committed_offsets(list.clone(), REQUEST_TIMEOUT) {
                Err(error)
                    if coordinator_starting(&error) && Instant::now() < coordinator_deadline =>
                {
                    std::thread::sleep(Duration::from_millis(200));
                }
                result => {
                    break result
                        .map_err(kafka(format!("reading the committed offsets of {name:?}")))?
                }
            }
        };
        for element in committed.elements() {
            let committed = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => 0,
            };
            partitions.push(InputPartition { topic, partition: element.partition(), committed });
        }
    }
    partitions.sort();
    Ok(partitions)
}

/// How long a group coordinator that is not there yet is waited for, at least.
const COORDINATOR_WAIT: Duration = Duration::from_secs(30);

/// Whether `error` says the group coordinator is not there yet (a broker starting up).
fn coordinator_starting(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::CoordinatorLoadInProgress
        )
    )
}

/// The metadata of consumer group `group_id` that transactional offset commits need.
pub fn group_metadata(
    settings: &ClientSettings,
    group_id: &str,
) -> Result<ConsumerGroupMetadata, SourceError> {
    offsets_consumer(settings, group_id)?.group_metadata().ok_or_else(|| SourceError::Kafka {
        action: format!("reading the metadata of consumer group {group_id:?}"),
        source: KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownGroup),
    })
}

/// A consumer of `group_id` that never joins the group: for committed offsets and for the
/// group metadata of transactional offset commits.
fn offsets_consumer(
    settings: &ClientSettings,
    group_id: &str,
) -> Result<BaseConsumer, SourceError> {
    let mut config = settings.client_config();
    config.set("group.id", group_id).set("enable.auto.commit", "false");
    config.create().map_err(kafka(format!("connecting to {}", settings.brokers)))
}

/// The share of `partitions` that worker `index` of `peers` reads: every `peers`-th, so the
/// shares are fixed for a given set of partitions and workers.
pub fn share(partitions: &[InputPartition], index: usize, peers: usize) -> Vec<InputPartition> {
    partitions
        .iter()
        .enumerate()
        .filter(|(i, _)| i % peers == index)
        .map(|(_, p)| p.clone())
        .collect()
}

/// The latest value of every key of a (compacted) topic, read to its end with
/// `read_committed` isolation; a tombstone removes its key. Waits up to `timeout`.
pub fn read_latest(
    settings: &ClientSettings,
    topic: &str,
    timeout: Duration,
) -> Result<BTreeMap<String, Vec<u8>>, SourceError> {
    let mut config = settings.client_config();
    config
        .set("group.id", "reeltime-state-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true");
    let consumer: BaseConsumer =
        config.create().map_err(kafka(format!("connecting to {}", settings.brokers)))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(kafka(format!("reading the metadata of {topic:?}")))?;
    let count = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len());
    if count == 0 {
        return Err(SourceError::MissingTopic {
            topic: topic.to_owned(),
            brokers: settings.brokers.clone(),
        });
    }
    let mut list = TopicPartitionList::new();
    for partition in 0..count as i32 {
        list.add_partition_offset(topic, partition, Offset::Beginning)
            .map_err(kafka(format!("assigning {topic}/{partition}")))?;
    }
    consumer.assign(&list).map_err(kafka(format!("assigning {topic:?}")))?;
    let deadline = Instant::now() + timeout;
    let mut at_end = BTreeSet::new();
    let mut latest = BTreeMap::new();
    while at_end.len() < count {
        if Instant::now() >= deadline {
            return Err(SourceError::Kafka {
                action: format!("reading {topic:?} to its end"),
                source: KafkaError::MessageConsumption(RDKafkaErrorCode::OperationTimedOut),
            });
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(error)) => warn(&format!("reading {topic:?}: {error}")),
            Some(Ok(message)) => {
                let Some(key) = message.key().map(|k| String::from_utf8_lossy(k).into_owned())
                else {
                    continue;
                };
                match message.payload() {
                    Some(payload) => latest.insert(key, payload.to_vec()),
                    None => latest.remove(&key),
                };
            }
        }
    }
    Ok(latest)
}

fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// A message of an input topic, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputMessage {
    /// Its topic.
    pub topic: Topic,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its place in the order "latest" means.
    pub seq: Seq,
    /// Its value (empty for a message without one).
    pub payload: Vec<u8>,
    /// Whether the last committed epoch already covered it (it only rebuilds state).
    pub rebuild: bool,
}

impl InputMessage {
    /// Its position as dead letters and notifications give it: `topic/partition/offset`.
    pub fn position(&self, names: &TopicNames) -> String {
        format!("{}/{}/{}", names.name(self.topic), self.partition, self.offset)
    }
}

/// Reads a fixed set of input partitions from their beginning.
pub struct PartitionReader {
    consumer: BaseConsumer,
    partitions: HashMap<(String, i32), PartitionState>,
}

/// What a reader keeps per partition.
struct PartitionState {
    topic: Topic,
    committed: i64,
    /// The offset after the last message read.
    next: i64,
    clock: SeqClock,
}

impl PartitionReader {
    /// A reader of `partitions` (from their beginning), with `read_committed` isolation so
    /// that aborted input transactions are never seen.
    pub fn new(
        settings: &ClientSettings,
        names: &TopicNames,
        group_id: &str,
        partitions: &[InputPartition],
    ) -> Result<Self, SourceError> {
        let mut config = settings.client_config();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("auto.offset.reset", "earliest");
        let consumer: BaseConsumer =
            config.create().map_err(kafka(format!("connecting to {}", settings.brokers)))?;
        let mut list = TopicPartitionList::new();
        let mut states = HashMap::new();
        for p in partitions {
            let name = names.name(p.topic);
            list.add_partition_offset(&name, p.partition, Offset::Beginning)
                .map_err(kafka(format!("assigning {name}/{}", p.partition)))?;
            let state = PartitionState {
                topic: p.topic,
                committed: p.committed,
                next: 0,
                clock: SeqClock::default(),
            };
            states.insert((name, p.partition), state);
        }
        consumer.assign(&list).map_err(kafka("assigning the input partitions"))?;
        Ok(PartitionReader { consumer, partitions: states })
    }

    /// Whether this reader has no partitions at all.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// Waits up to `timeout` for the next message. `Ok(None)` when none came; an error is a
    /// transient problem of the brokers (librdkafka keeps retrying), to be logged.
    pub fn poll(&mut self, timeout: Duration) -> Result<Option<InputMessage>, KafkaError> {
        let message = match self.consumer.poll(timeout) {
            None => return Ok(None),
            Some(Err(KafkaError::PartitionEOF(_))) => return Ok(None),
            Some(Err(error)) => return Err(error),
            Some(Ok(message)) => message,
        };
        let key = (message.topic().to_owned(), message.partition());
        let Some(state) = self.partitions.get_mut(&key) else {
            return Ok(None);
        };
        let append_ms = match message.timestamp() {
            Timestamp::LogAppendTime(ms) | Timestamp::CreateTime(ms) => ms,
            Timestamp::NotAvailable => 0,
        };
        state.next = message.offset() + 1;
        Ok(Some(InputMessage {
            topic: state.topic,
            partition: message.partition(),
            offset: message.offset(),
            seq: state.clock.next(append_ms, state.topic),
            payload: message.payload().unwrap_or_default().to_vec(),
            rebuild: message.offset() < state.committed,
        }))
    }

    /// Stops fetching `partition` of `topic` until [`PartitionReader::resume_all`]; the
    /// next message read from it is the one after the last message this reader returned.
    pub fn pause(
        &mut self,
        topic: Topic,
        partition: i32,
        names: &TopicNames,
    ) -> Result<(), KafkaError> {
        let mut list = TopicPartitionList::new();
        list.add_partition(&names.name(topic), partition);
        self.consumer.pause(&list)
    }

    /// Fetches every partition again.
    pub fn resume_all(&mut self) -> Result<(), KafkaError> {
        let assignment = self.consumer.assignment()?;
        self.consumer.resume(&assignment)
    }

    /// Whether every partition has been read up to its committed offset, so that what comes
    /// next is new.
    pub fn rebuilt(&self) -> bool {
        self.partitions.values().all(|state| state.next >= state.committed)
    }
}

/// Gives the messages of one partition their [`Seq`]: append time in milliseconds (41 bits
/// hold times until the year 2039; later times saturate), never decreasing; then the topic
/// (2 bits); then the count of earlier messages of the same millisecond (20 bits).
#[derive(Debug, Default)]
struct SeqClock {
    millis: u64,
    count: u64,
}

const TOPIC_BITS: u32 = 2;
const COUNT_BITS: u32 = 20;
const MAX_MILLIS: u64 = (1 << (64 - TOPIC_BITS - COUNT_BITS)) - 1;

impl SeqClock {
    fn next(&mut self, append_ms: i64, topic: Topic) -> Seq {
        let millis = u64::try_from(append_ms).unwrap_or(0).min(MAX_MILLIS);
        if millis > self.millis {
            self.millis = millis;
            self.count = 0;
        } else {
            self.count += 1;
        }
        let topic = Topic::INPUTS.iter().position(|t| *t == topic).unwrap_or(0) as u64;
        (self.millis << (TOPIC_BITS + COUNT_BITS))
            | (topic << COUNT_BITS)
            | self.count.min((1 << COUNT_BITS) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_follow_the_offsets_of_a_partition_even_when_the_clock_goes_back() {
        let mut clock = SeqClock::default();
        let times = [1_700_000_000_000, 1_700_000_000_000, 1_699_999_999_000, 1_700_000_000_001];
        let seqs: Vec<Seq> = times.iter().map(|&t| clock.next(t, Topic::Segments)).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    }

    #[test]
    fn across_topics_the_earlier_append_comes_first() {
        let mut control = SeqClock::default();
        let mut detections = SeqClock::default();
        let early = detections.next(1_000, Topic::Detections);
        let delete = control.next(1_001, Topic::Control);
        let late = detections.next(1_002, Topic::Detections);
        assert!(early < delete && delete < late);
    }

    #[test]
    fn shares_cover_every_partition_once() {
        let partitions: Vec<InputPartition> = (0..7)
            .map(|partition| InputPartition { topic: Topic::Detections, partition, committed: 0 })
            .collect();
        let mut seen: Vec<InputPartition> = (0..3).flat_map(|i| share(&partitions, i, 3)).collect();
        seen.sort();
        assert_eq!(seen, partitions);
    }
}
