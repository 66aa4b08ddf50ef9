//! The write routes' records in Kafka mode: each published to its input topic, keyed as
//! every publisher keys it, and acknowledged by the brokers (`acks=all`, idempotent) before
//! the API answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

use reeltime_connectors::kafka::publish::{home_topic, Publisher};
use reeltime_connectors::kafka::{ClientSettings, Topic, TopicNames};

use super::api::RecordWriter;

/// One publisher per input topic; writes are serialised, so the records of a write (and of
/// successive writes) reach each partition in order.
pub struct KafkaWriter {
    publishers: Mutex<Vec<(Topic, Publisher)>>,
    max_record_bytes: usize,
    accepted: AtomicU64,
}

impl KafkaWriter {
    /// Connects a publisher to every input topic (each must exist).
    pub fn connect(
        settings: &ClientSettings,
        names: &TopicNames,
        max_record_bytes: usize,
        timeout: Duration,
    ) -> Result<KafkaWriter> {
        let mut publishers = Vec::new();
        for topic in Topic::INPUTS {
            let publisher = Publisher::connect(settings, names, topic, max_record_bytes, timeout)
                .with_context(|| {
                format!("connecting the API's publisher to {}", names.name(topic))
            })?;
            publishers.push((topic, publisher));
        }
        Ok(KafkaWriter {
            publishers: Mutex::new(publishers),
            max_record_bytes,
            accepted: AtomicU64::new(0),
        })
    }
}

impl RecordWriter for KafkaWriter {
    fn write(&self, records: &[Vec<u8>]) -> Result<()> {
        let publishers = self.publishers.lock().unwrap_or_else(|e| e.into_inner());
        for (index, bytes) in records.iter().enumerate() {
            let record = reeltime_schemas::decode(bytes, self.max_record_bytes)?;
            let topic = home_topic(&record);
            let (_, publisher) = publishers
                .iter()
                .find(|(t, _)| *t == topic)
                .expect("every input topic has a publisher");
            let valid = publisher.check(bytes)?;
            publisher.send(index as u64, &valid)?;
        }
        for (_, publisher) in publishers.iter() {
            if let Some(failure) = publisher.flush()?.into_iter().next() {
                return Err(anyhow!(
                    "the brokers did not take record {} of the write to {}: {}",
                    failure.position,
                    publisher.topic_name(),
                    failure.reason
                ));
            }
        }
        self.accepted.fetch_add(records.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}
