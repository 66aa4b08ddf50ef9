//! Latency: from a probe detection to the replay view that contains it, under a paced
//! background load, split by the engine's epoch stats into waiting for the epoch, computing,
//! committing and reading back (see the bench's opening comment).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};

use crate::common::{
    create_topics, engine_command, interleaved, load_now, now_us, produce_all, producer, quantile,
    send, terminate, unique_prefix, wait_bounded, Arrival, EpochStat, EpochStatsTail, Outgoing,
    Watcher,
};
use crate::synthetic_match::MatchShape;
use crate::Options;

/// The latency goal: p99 within the epoch length plus this.
const GOAL_OVER_EPOCH_MS: f64 = 20.0;
/// Above the epoch length plus this, the issue's row is not done.
const NOT_DONE_OVER_EPOCH_MS: f64 = 100.0;
const PROBE_EVENT: &str = "probe-match";
const PROBE_REPLAY: &str = "probe-replay";
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// Background matches.
const LATENCY_MATCHES: usize = 10;
/// The bare transactions the committing step is compared with: how many, and their size.
const BARE_TRANSACTIONS: usize = 30;
const BARE_MESSAGES: usize = 100;
/// Background load before the first probe, so the engine is in its steady state.
const WARMUP: Duration = Duration::from_secs(3);
/// How long after the last probe its view may still arrive.
const PROBE_GRACE: Duration = Duration::from_secs(30);

/// Start in seconds of probe segment `index`: 10 s slots, 8 s segments, the probe at +4 s.
fn probe_segment_start(index: usize) -> u64 {
    10 + index as u64 * 10
}

/// The probe match's records before the run: the event, its replay (features mode, looking
/// only for `Probe`, which only probes carry) and one complete, optimized segment per probe.
/// The profile is the synthetic matches'.
fn probe_setup(probes: usize) -> Vec<Outgoing> {
    let mut records = vec![
        json!({
            "type": "event", "event_id": PROBE_EVENT, "program": "Synthetic Open",
            "profile": "tennis-broadcast", "status": "started", "frame_rate": 25,
            "audio_tracks": [1, 2],
        }),
        json!({
            "type": "replay", "replay_id": PROBE_REPLAY, "event_id": PROBE_EVENT,
            "mode": "features", "catchup": true,
            "priorities": [{"plugin": "scoreboard", "attribute": "Probe"}],
        }),
    ];
    for index in 0..probes {
        let start = probe_segment_start(index);
        records.push(json!({
            "type": "segment", "event_id": PROBE_EVENT, "plugin": "rally-segmenter",
            "start": start,
        }));
        records.push(json!({
            "type": "segment", "event_id": PROBE_EVENT, "plugin": "rally-segmenter",
            "start": start, "end": start + 8,
        }));
        // The profile has an optimizer: a segment is a candidate only once optimized.
        records.push(json!({
            "type": "optimization", "event_id": PROBE_EVENT, "plugin": "silence-optimizer",
            "start": start, "track": 1, "opto_start": start, "opto_end": start + 8,
        }));
    }
    records.into_iter().map(|record| Outgoing::routed(record.to_string())).collect()
}

fn probe(index: usize) -> Outgoing {
    let at = probe_segment_start(index) + 4;
    let record = json!({
        "type": "detection", "event_id": PROBE_EVENT, "plugin": "scoreboard",
        "start": at, "end": at + 1, "attributes": {"Probe": true},
    });
    Outgoing::routed(record.to_string())
}

/// The background matches: their records but detections and the end (the matches are live),
/// and their detections in publication order, `detections` in all.
fn background(options: &Options, detections: usize) -> (Vec<Outgoing>, Vec<Outgoing>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(options.seed + 1);
    let shapes = (0..LATENCY_MATCHES).map(|index| MatchShape {
        event_id: format!("live-{index:02}"),
        seed: options.seed * 1_000 + 500 + index as u64,
        length_ms: 3 * 3_600_000,
        segments: 300,
        detections: detections.div_ceil(LATENCY_MATCHES),
        replays: 4,
        feedback: 10,
        chunk_ms: None,
    });
    let (mut setup, mut load) = (Vec::new(), Vec::new());
    for json in interleaved(shapes, &mut rng) {
        let record = Outgoing::routed(json);
        if record.topic == "detections" {
            load.push(record);
        } else if !record.payload.contains(r#""status":"ended""#) {
            setup.push(record);
        }
    }
    (setup, load)
}
/// What a probe output says.
enum ProbeOutput {
    /// A replay view with this many clips.
    View(usize),
    /// The `replay_updated` notification of a version, published in this epoch.
    Notice(u64),
}

/// A version of the probe replay, or its notification, as it arrived.
struct ProbeVersion {
    wall_us: i64,
    version: u64,
    output: ProbeOutput,
}

fn probe_version(arrival: &Arrival) -> Option<ProbeVersion> {
    let doc: Value = serde_json::from_slice(&arrival.payload).ok()?;
    if doc["replay_id"] != PROBE_REPLAY {
        return None;
    }
    let version = doc["version"].as_u64()?;
    let output = if arrival.topic.ends_with(".replays") {
        ProbeOutput::View(doc["clips"].as_array()?.len())
    } else if doc["type"] == "replay_updated" {
        ProbeOutput::Notice(doc["epoch"].as_u64()?)
    } else {
        return None;
    };
    Some(ProbeVersion { wall_us: arrival.wall_us, version, output })
}

/// One probe's way out, in microseconds since the Unix epoch: sent, its epoch's moments (when
/// its notification and the epoch's stats were found), the view and the notification seen.
struct ProbeTimes {
    sent_us: i64,
    epoch: Option<EpochStat>,
    /// When the epoch before it was recorded: its sink was busy until then.
    previous_recorded_us: Option<i64>,
    view_us: i64,
    notice_us: Option<i64>,
}

pub fn latency(options: &Options, dir: &Path) {
    let prefix = unique_prefix("latency");
    create_topics(&options.brokers, &prefix);
    let span = WARMUP + PROBE_INTERVAL * options.probes as u32 + PROBE_GRACE;
    let wanted = (options.rate as f64 * span.as_secs_f64()) as usize;
    let (mut setup, load) = background(options, wanted);
    setup.extend(probe_setup(options.probes));
    produce_all(&options.brokers, &prefix, &setup);
    println!(
        "latency: {} setup records ({LATENCY_MATCHES} live matches and the probe match), {} \
         background detections ready, {} probes every {} ms",
        setup.len(),
        load.len(),
        options.probes,
        PROBE_INTERVAL.as_millis()
    );

    let watcher = Watcher::start(
        &options.brokers,
        &prefix,
        &["replays", "notifications"],
        Some(PROBE_REPLAY),
    );
    let out = dir.join("latency-out");
    let stderr = dir.join("latency-engine.stderr");
    let stats_path = dir.join("latency-epochs.jsonl");
    let ids = format!("{prefix}engine");
    let binary = Command::new(env!("CARGO_BIN_EXE_reeltime"));
    let mut engine = engine_command(&binary, options, &prefix, &ids, &out, "0")
        .env("REELTIME__ENGINE__EPOCH_STATS_FILE", &stats_path)
        .stdout(Stdio::null())
        .stderr(File::create(&stderr).expect("the engine's stderr file"))
        .spawn()
        .expect("reeltime runs");

    // The engine is caught up with the setup once the probe replay's first version is out.
    let started = Instant::now();
    let mut versions: Vec<ProbeVersion> = Vec::new();
    let mut cursor = 0;
    let mut catch_up = |versions: &mut Vec<ProbeVersion>| {
        let new = watcher.parsed_since(cursor, probe_version);
        cursor += new.len();
        versions.extend(new.into_iter().flatten());
    };
    while versions.is_empty() {
        catch_up(&mut versions);
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no version of {PROBE_REPLAY} within 300 s; the engine's stderr is in {}",
            stderr.display()
        );
        assert!(
            engine.try_wait().expect("the engine can be waited for").is_none(),
            "the engine exited"
        );
        thread::sleep(Duration::from_millis(50));
    }
    println!(
        "latency: engine caught up with the setup in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let stop_load = Arc::new(AtomicBool::new(false));
    let loader = {
        let (brokers, prefix, stop, rate) =
            (options.brokers.clone(), prefix.clone(), stop_load.clone(), options.rate);
        thread::spawn(move || steady_load(&brokers, &prefix, &load, rate, &stop))
    };
    thread::sleep(WARMUP);

    let producer = producer(&options.brokers, 0);
    // The first probe should not pay for finding the partition's leader.
    producer
        .client()
        .fetch_metadata(Some(&format!("{prefix}detections")), Duration::from_secs(30))
        .expect("the detections topic's metadata");
    let first_probe = Instant::now();
    let probing_from_us = now_us();
    let mut sent = Vec::with_capacity(options.probes);
    for index in 0..options.probes {
        let due = first_probe + PROBE_INTERVAL * index as u32;
        thread::sleep(due.saturating_duration_since(Instant::now()));
        sent.push(now_us());
        send(&producer, &prefix, &probe(index));
        producer.poll(Duration::ZERO);
    }
    let probing_until_us = now_us();
    producer.flush(Duration::from_secs(30)).expect("the probes are delivered");
    let deadline = Instant::now() + PROBE_GRACE;
    loop {
        catch_up(&mut versions);
        let all_seen = versions
            .iter()
            .any(|v| matches!(v.output, ProbeOutput::View(clips) if clips >= options.probes));
        if all_seen || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    stop_load.store(true, Ordering::Relaxed);
    let (loaded, load_time) = loader.join().expect("the background producer ends");
    let load_average = load_now();

    let stopping = Instant::now();
    terminate(&engine);
    let stopped = wait_bounded(&mut engine, Duration::from_secs(60));
    let stop_time = stopping.elapsed();
    thread::sleep(Duration::from_secs(1));
    let seen = watcher.finish();
    assert!(stopped, "the engine did not stop cleanly on SIGTERM; stderr in {}", stderr.display());

    let epochs: BTreeMap<u64, EpochStat> =
        EpochStatsTail::new(&stats_path).new_epochs().into_iter().map(|e| (e.epoch, e)).collect();
    let versions: Vec<ProbeVersion> = seen.arrivals.iter().filter_map(probe_version).collect();
    let probes: Vec<ProbeTimes> = sent
        .iter()
        .enumerate()
        .filter_map(|(index, sent_us)| {
            let view = versions
                .iter()
                .find(|v| matches!(v.output, ProbeOutput::View(clips) if clips > index))?;
            let notice = versions.iter().find_map(|v| match v.output {
                ProbeOutput::Notice(epoch) if v.version == view.version => Some((v, epoch)),
                _ => None,
            });
            Some(ProbeTimes {
                sent_us: *sent_us,
                epoch: notice.and_then(|(_, epoch)| epochs.get(&epoch).copied()),
                previous_recorded_us: notice
                    .and_then(|(_, epoch)| Some(epochs.get(&epoch.checked_sub(1)?)?.recorded_us)),
                view_us: view.wall_us,
                notice_us: notice.map(|(v, _)| v.wall_us),
            })
        })
        .collect();
    println!();
    println!(
        "latency: background {loaded} detections in {:.1} s ({:.0} records/s, asked {}); \
         engine.epoch_ms {}; load average {load_average}; engine stopped {:.2} s after SIGTERM",
        load_time.as_secs_f64(),
        loaded as f64 / load_time.as_secs_f64(),
        options.rate,
        options.epoch_ms,
        stop_time.as_secs_f64()
    );
    report_latency(&probes, options);
    report_epochs(&epochs, probing_from_us, probing_until_us);
    bare_transactions(&options.brokers);
    let missing = options.probes - probes.len();
    if missing > 0 {
        println!("  {missing} of {} probes never showed within {PROBE_GRACE:?}", options.probes);
    }
}

/// Sends `load` at `rate` records per second, paced by the clock, until `stop` (wrapping
/// around if it runs out); returns how many it sent and for how long.
fn steady_load(
    brokers: &str,
    prefix: &str,
    load: &[Outgoing],
    rate: u64,
    stop: &AtomicBool,
) -> (u64, Duration) {
    let producer = producer(brokers, 5);
    let started = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due {
            send(&producer, prefix, &load[sent as usize % load.len()]);
            sent += 1;
        }
        producer.poll(Duration::ZERO);
        thread::sleep(Duration::from_millis(1));
    }
    let elapsed = started.elapsed();
    producer.flush(Duration::from_secs(30)).expect("the background load is delivered");
    (sent, elapsed)
}

/// Milliseconds between two moments in microseconds.
fn ms(from_us: i64, to_us: i64) -> f64 {
    (to_us - from_us) as f64 / 1000.0
}

/// The probes' latency against the goal, and where it went.
fn report_latency(probes: &[ProbeTimes], options: &Options) {
    if probes.is_empty() {
        println!("  no probe arrived");
        return;
    }
    let epoch_ms = options.epoch_ms as f64;
    let (goal, not_done) = (epoch_ms + GOAL_OVER_EPOCH_MS, epoch_ms + NOT_DONE_OVER_EPOCH_MS);
    let row = |what: &str, mut values: Vec<f64>| {
        let (p50, p99, max) =
            (quantile(&mut values, 0.5), quantile(&mut values, 0.99), quantile(&mut values, 1.0));
        println!("  {what:<48} {:>5} {p50:>9.1} {p99:>9.1} {max:>9.1}", values.len());
    };
    println!("  {:<48} {:>5} {:>9} {:>9} {:>9}", "ms", "n", "p50", "p99", "max");
    let total: Vec<f64> = probes.iter().map(|p| ms(p.sent_us, p.view_us)).collect();
    row("probe -> replay view", total.clone());
    row(
        "probe -> replay_updated notification",
        probes.iter().filter_map(|p| Some(ms(p.sent_us, p.notice_us?))).collect(),
    );
    let split: Vec<(&ProbeTimes, EpochStat)> =
        probes.iter().filter_map(|p| Some((p, p.epoch?))).collect();
    println!("  split by the epoch that published the probe's version:");
    row(
        "  waiting for the epoch (sent -> closed)",
        split.iter().map(|(p, e)| ms(p.sent_us, e.closed_us)).collect(),
    );
    row(
        "  computing (closed -> computed)",
        split.iter().map(|(_, e)| ms(e.closed_us, e.computed_us)).collect(),
    );
    row(
        "    of which the sink still on the epoch before",
        split
            .iter()
            .map(|(p, e)| match p.previous_recorded_us {
                Some(recorded) => ms(e.closed_us, recorded.clamp(e.closed_us, e.computed_us)),
                None => 0.0,
            })
            .collect(),
    );
    row(
        "  committing (computed -> published)",
        split.iter().map(|(_, e)| ms(e.computed_us, e.published_us)).collect(),
    );
    row(
        "  reading back (published -> view seen)",
        split.iter().map(|(p, e)| ms(e.published_us, p.view_us)).collect(),
    );
    if split.len() < probes.len() {
        println!(
            "  ({} probes without their epoch: no notification or no stats line)",
            probes.len() - split.len()
        );
    }
    let tenth = (total.len() / 10).max(1);
    let mean = |part: &[f64]| part.iter().sum::<f64>() / part.len() as f64;
    println!(
        "  probe -> replay view, mean of the first tenth {:.1} ms, of the last tenth {:.1} ms",
        mean(&total[..tenth]),
        mean(&total[total.len() - tenth..])
    );
    let p99 = quantile(&mut total.clone(), 0.99);
    let verdict = if p99 <= goal {
        "goal met"
    } else if p99 <= not_done {
        "goal missed, within the not-done line"
    } else {
        "not done"
    };
    println!(
        "  p99 {p99:.1} ms against the goal {goal:.0} ms (epoch + {GOAL_OVER_EPOCH_MS:.0}), \
         not done above {not_done:.0} ms (epoch + {NOT_DONE_OVER_EPOCH_MS:.0}): {verdict}"
    );
}

/// What the live epochs closed while probing cost: how many, how big, how long each step.
fn report_epochs(epochs: &BTreeMap<u64, EpochStat>, from_us: i64, until_us: i64) {
    let during: Vec<&EpochStat> =
        epochs.values().filter(|e| e.closed_us >= from_us && e.closed_us <= until_us).collect();
    if during.len() < 2 {
        println!("  epochs while probing: {}", during.len());
        return;
    }
    let mut records: Vec<f64> = during.iter().map(|e| e.records as f64).collect();
    let mut compute: Vec<f64> = during.iter().map(|e| ms(e.closed_us, e.computed_us)).collect();
    let mut commit: Vec<f64> = during.iter().map(|e| ms(e.computed_us, e.published_us)).collect();
    let mut record: Vec<f64> = during.iter().map(|e| ms(e.published_us, e.recorded_us)).collect();
    let mut period: Vec<f64> =
        during.windows(2).map(|w| ms(w[0].closed_us, w[1].closed_us)).collect();
    let seconds = ms(during[0].closed_us, during[during.len() - 1].closed_us) / 1000.0;
    println!(
        "  epochs while probing: {} in {seconds:.1} s; p50 / p99: records {:.0} / {:.0}, closed \
         to closed {:.1} / {:.1} ms, computing {:.1} / {:.1} ms, committing {:.1} / {:.1} ms, \
         recording (logs and files due) {:.1} / {:.1} ms",
        during.len(),
        quantile(&mut records, 0.5),
        quantile(&mut records, 0.99),
        quantile(&mut period, 0.5),
        quantile(&mut period, 0.99),
        quantile(&mut compute, 0.5),
        quantile(&mut compute, 0.99),
        quantile(&mut commit, 0.5),
        quantile(&mut commit, 0.99),
        quantile(&mut record, 0.5),
        quantile(&mut record, 0.99),
    );
}

/// The floor of the committing step: Kafka transactions of `BARE_MESSAGES` messages of 500
/// bytes and one offset commit each, by a bare transactional `BaseProducer` on this broker,
/// two ways. As the engine's sink does it, `commit_transaction` right after the sends:
/// rust-rdkafka's `commit_transaction` flushes first, and its flush waits for the deliveries
/// in `poll` calls of up to 100 ms that do not return when the deliveries arrive. And with
/// the delivery reports served first by 1 ms polls, so that the flush finds nothing to wait
/// for.
fn bare_transactions(brokers: &str) {
    let prefix = unique_prefix("transactions");
    create_topics(brokers, &prefix);
    let topic = format!("{prefix}replays");
    let payload = "x".repeat(500);
    let group: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{prefix}group"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("a consumer");
    let group = group.group_metadata().expect("the group's metadata");
    let timeout = Duration::from_secs(30);
    let mut results = Vec::new();
    for (way, serve_reports_first) in
        [("commit_transaction after the sends", false), ("delivery reports served first", true)]
    {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("transactional.id", format!("{prefix}{serve_reports_first}"))
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create()
            .expect("a transactional producer");
        producer.init_transactions(timeout).expect("the transactional id is registered");
        let mut times = Vec::with_capacity(BARE_TRANSACTIONS);
        for round in 0..BARE_TRANSACTIONS {
            let started = Instant::now();
            producer.begin_transaction().expect("a transaction begins");
            for index in 0..BARE_MESSAGES {
                let key = format!("replay-{index}");
                producer
                    .send(BaseRecord::to(&topic).key(&key).payload(&payload))
                    .expect("the message is queued");
            }
            let mut offsets = TopicPartitionList::new();
            offsets
                .add_partition_offset(
                    &format!("{prefix}detections"),
                    0,
                    Offset::Offset(round as i64 + 1),
                )
                .expect("a partition");
            producer
                .send_offsets_to_transaction(&offsets, &group, timeout)
                .expect("the offsets join the transaction");
            if serve_reports_first {
                let deadline = Instant::now() + timeout;
                while producer.in_flight_count() > 0 && Instant::now() < deadline {
                    producer.poll(Duration::from_millis(1));
                }
            }
            producer.commit_transaction(timeout).expect("the transaction commits");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            thread::sleep(PROBE_INTERVAL);
        }
        results.push((way, quantile(&mut times, 0.5), quantile(&mut times, 0.99)));
    }
    let text: Vec<String> =
        results.iter().map(|(way, p50, p99)| format!("{way} {p50:.1} / {p99:.1}")).collect();
    println!(
        "  the floor of committing: {BARE_TRANSACTIONS} bare transactions of {BARE_MESSAGES} \
         messages and an offset commit, ms p50 / p99: {}",
        text.join("; ")
    );
}
