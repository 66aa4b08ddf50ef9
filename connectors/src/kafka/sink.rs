//! Publishing each closed epoch's output exactly once.
//!
//! Contract: [`TransactionalSink::publish`] sends an epoch's output messages and the input
//! offsets the epoch consumed in one Kafka transaction, so a `read_committed` consumer sees
//! all of an epoch or none of it, and a restarted engine resumes exactly after the last
//! committed epoch. Transient failures (a broker restarting, a timeout) are retried with
//! back-off, each one logged, up to a bound; a fatal error (the producer was fenced by a newer
//! engine with the same transactional id) ends the run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use thiserror::Error;

use super::{ClientSettings, Topic, TopicNames};

/// One message of an epoch's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputMessage {
    /// Its topic.
    pub topic: Topic,
    /// Its key.
    pub key: String,
    /// Its value; `None` is a tombstone (a removed view of a compacted topic).
    pub payload: Option<Vec<u8>>,
}

/// Why an epoch could not be published.
#[derive(Debug, Error)]
pub enum SinkError {
    /// The producer could not be made or registered.
    #[error("cannot start the transactional producer {transactional_id:?} on {brokers}: {source}")]
    Start {
        /// Its transactional id.
        transactional_id: String,
        /// The bootstrap servers.
        brokers: String,
        /// What librdkafka said.
        source: Box<KafkaError>,
    },
    /// Publishing failed for good.
    #[error("cannot publish epoch {epoch} after {attempts} attempts: {source}")]
    Publish {
        /// The epoch.
        epoch: u64,
        /// How many attempts were made.
        attempts: u32,
        /// The last error.
        source: Box<KafkaError>,
    },
}

/// The largest message the sink produces.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// How long one transaction step may take before it counts as failed.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one poll waits for deliveries before the commit.
const DELIVERY_POLL: Duration = Duration::from_millis(1);
/// The producer's own librdkafka settings for latency, each used unless the user's client
/// settings give it: a short linger batches an epoch's messages without holding them; and a
/// transaction's first request after a commit often finds the broker still writing the previous
/// one's markers (CONCURRENT_TRANSACTIONS), which librdkafka retries after `retry.backoff.ms`,
/// 100 ms by default: that put a tenth of a second on about one epoch in a hundred, while
/// retrying after 10 ms (backing off up to librdkafka's maximum) keeps the commit at its round
/// trips.
const LATENCY_DEFAULTS: [(&str, &str); 2] = [("linger.ms", "5"), ("retry.backoff.ms", "10")];

/// Attempts at one epoch before giving up (with back-off, about two minutes in all).
const MAX_ATTEMPTS: u32 = 8;

/// A transactional producer of the output topics.
pub struct TransactionalSink {
    producer: BaseProducer,
    names: TopicNames,
    group: ConsumerGroupMetadata,
}

impl TransactionalSink {
    /// Starts the producer and registers its transactional id, which fences any earlier
    /// producer with the same id (a crashed engine's unfinished transaction is aborted).
    pub fn new(
        settings: &ClientSettings,
        names: &TopicNames,
        transactional_id: &str,
        group: ConsumerGroupMetadata,
    ) -> Result<Self, SinkError> {
        let start_error = |source| SinkError::Start {
            transactional_id: transactional_id.to_owned(),
            brokers: settings.brokers.clone(),
            source: Box::new(source),
        };
        let mut config = settings.client_config();
        config
            .set("transactional.id", transactional_id)
            .set("enable.idempotence", "true")
            .set("transaction.timeout.ms", "60000")
            // A dead letter holds a whole rejected record (up to the input's own limit) and a
            // replay view can list hundreds of clips: the output topics take messages up to
            // this size (`reeltime topics create` sets `max.message.bytes` to match).
            .set("message.max.bytes", MAX_MESSAGE_BYTES.to_string());
        for (key, value) in latency_defaults(settings) {
            config.set(key, value);
        }
        let producer: BaseProducer = config.create().map_err(start_error)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match producer.init_transactions(STEP_TIMEOUT) {
                Ok(()) => break,
                Err(error) if attempt < MAX_ATTEMPTS && is_retriable(&error) => {
                    warn(&format!("starting the producer failed ({error}); retrying"));
                    std::thread::sleep(backoff(attempt));
                }
                Err(error) => return Err(start_error(error)),
            }
        }
        Ok(TransactionalSink { producer, names: names.clone(), group })
    }

    /// Publishes epoch `epoch`: `messages` and, for the consumer group, `offsets` (the offset
    /// after the last record read, per input partition), in one transaction.
    pub fn publish(
        &mut self,
        epoch: u64,
        messages: &[OutputMessage],
        offsets: &BTreeMap<(Topic, i32), i64>,
    ) -> Result<(), SinkError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.try_publish(messages, offsets) {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            if attempt >= MAX_ATTEMPTS || !is_retriable(&error) {
                return Err(SinkError::Publish {
                    epoch,
                    attempts: attempt,
                    source: Box::new(error),
                });
            }
            warn(&format!(
                "publishing epoch {epoch} failed ({error}); aborting and retrying (attempt {attempt} of {MAX_ATTEMPTS})"
            ));
            if let Err(abort) = self.producer.abort_transaction(STEP_TIMEOUT) {
                warn(&format!("aborting the failed transaction of epoch {epoch}: {abort}"));
            }
            std::thread::sleep(backoff(attempt));
        }
    }

    fn try_publish(
        &mut self,
        messages: &[OutputMessage],
        offsets: &BTreeMap<(Topic, i32), i64>,
    ) -> Result<(), KafkaError> {
        self.producer.begin_transaction()?;
        for message in messages {
            let topic = self.names.name(message.topic);
            loop {
                let mut record = BaseRecord::<str, [u8]>::to(&topic).key(&message.key);
                if let Some(payload) = &message.payload {
                    record = record.payload(payload);
                }
                match self.producer.send(record) {
                    Ok(()) => break,
                    // The local queue is full: let librdkafka deliver some, then send again.
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        self.producer.poll(Duration::from_millis(50));
                    }
                    Err((error, _)) => return Err(error),
                }
            }
        }
        if !offsets.is_empty() {
            let mut list = TopicPartitionList::new();
            for ((topic, partition), next) in offsets {
                list.add_partition_offset(
                    &self.names.name(*topic),
                    *partition,
                    Offset::Offset(*next),
                )?;
            }
            self.producer.send_offsets_to_transaction(&list, &self.group, STEP_TIMEOUT)?;
        }
        self.await_deliveries();
        self.producer.commit_transaction(STEP_TIMEOUT)
    }

    /// Waits, in short polls, until every message sent is delivered (or the step's time is
    /// up; the commit then reports what failed). rust-rdkafka's commit flushes first by polling
    /// in slices of 100 ms, each of which waits out its time when nothing is there to serve,
    /// so a transaction committed straight after its sends cost a tenth of a second; after
    /// this wait it costs its round trips to the broker.
    fn await_deliveries(&self) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while self.producer.in_flight_count() > 0 && Instant::now() < deadline {
            self.producer.poll(DELIVERY_POLL);
        }
    }
}

/// Whether a failed step may succeed when the transaction is tried again.
fn is_retriable(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(error) => !error.is_fatal(),
        KafkaError::Flush(_) | KafkaError::MessageProduction(_) => true,
        _ => false,
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 << attempt.min(6))
}

fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// The settings of [`LATENCY_DEFAULTS`] that `settings` leave to the producer.
fn latency_defaults(settings: &ClientSettings) -> Vec<(&'static str, &'static str)> {
    LATENCY_DEFAULTS.into_iter().filter(|(key, _)| !settings.extra.contains_key(*key)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_defaults_apply_unless_the_user_sets_them() {
        let mut settings = ClientSettings::new("127.0.0.1:9092");
        assert_eq!(latency_defaults(&settings), [("linger.ms", "5"), ("retry.backoff.ms", "10")]);
        settings.extra.insert("retry.backoff.ms".into(), "250".into());
        assert_eq!(latency_defaults(&settings), [("linger.ms", "5")]);
    }
}
