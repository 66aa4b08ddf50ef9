//! The built-in plugins on the synthetic match: they find its known cuts, roars, black and
//! silence within stated tolerances, chunk by chunk; segments and optimizations follow the
//! rules of the segmenter and optimizer, and segments open where the scoreboard holds still;
//! a damaged chunk is a recorded failure and the chunks after it are still analysed.

use std::path::PathBuf;
use std::sync::OnceLock;

use reeltime_connectors::ingest::split::split_file;
use reeltime_connectors::ingest::ChunkIngest;
use reeltime_connectors::synth::{make_match, SynthMatch, SynthSpec};
use reeltime_plugins::records::{Detection, PluginRecord};
use reeltime_plugins::{AnalysisConfig, EventAnalyzer};

fn synthetic() -> &'static SynthMatch {
    static MADE: OnceLock<(tempfile::TempDir, SynthMatch)> = OnceLock::new();
    let (_, made) = MADE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let made = make_match(dir.path(), &SynthSpec::default()).unwrap();
        (dir, made)
    });
    made
}

/// Every record of the synthetic match in its 4 s chunks.
fn analyse_all() -> Vec<PluginRecord> {
    analyse(&synthetic().chunks)
}

/// Every record of the media in `chunks`.
fn analyse(chunks: &[PathBuf]) -> Vec<PluginRecord> {
    let mut ingest = ChunkIngest::new("synthetic");
    let mut analyzer = EventAnalyzer::new(AnalysisConfig::default(), &[1]);
    let mut records = Vec::new();
    for path in chunks {
        let chunk = ingest.add(path).unwrap();
        records.extend(analyzer.analyze_chunk(&chunk).unwrap());
    }
    records.extend(analyzer.finish().unwrap());
    records
}

fn detections<'a>(records: &'a [PluginRecord], plugin: &str) -> Vec<&'a Detection> {
    records
        .iter()
        .filter_map(|r| match r {
            PluginRecord::Detection(d) if d.plugin == plugin => Some(d),
            _ => None,
        })
        .collect()
}

/// `found` is within `tolerance_ms` of `wanted`.
fn near(found: u64, wanted: u64, tolerance_ms: u64) -> bool {
    found.abs_diff(wanted) <= tolerance_ms
}

#[test]
fn the_detectors_find_the_known_moments_of_the_synthetic_match() {
    let truth = &synthetic().truth;
    let records = analyse_all();

    // Cuts: at 5 analysed frames per second a cut is found on the first sampled frame after
    // it, so within 200 ms; and nothing else is a cut.
    let cuts: Vec<u64> = detections(&records, "SceneCut").iter().map(|d| d.start_ms).collect();
    for &cut in &truth.cuts_ms {
        assert!(cuts.iter().any(|&c| near(c, cut, 200)), "cut at {cut} ms not found in {cuts:?}");
    }
    assert_eq!(cuts.len(), truth.cuts_ms.len(), "no false cuts: {cuts:?}");

    // Roars: within 300 ms (the loudness window is 400 ms, sampled every 100 ms); the
    // whistles are too short to count; big and small roars are told apart.
    let roars = detections(&records, "AudioLoudness");
    assert_eq!(roars.len(), truth.roars.len(), "{roars:?}");
    for (found, wanted) in roars.iter().zip(&truth.roars) {
        assert!(near(found.start_ms, wanted.span.start_ms, 300), "{found:?} vs {wanted:?}");
        assert!(near(found.end_ms, wanted.span.end_ms, 300), "{found:?} vs {wanted:?}");
        let level = if wanted.big { "high" } else { "medium" };
        assert_eq!(found.attributes["Excitement"], level, "{found:?}");
        assert_eq!(found.track, Some(1));
    }

    let black = detections(&records, "BlackFrame");
    assert_eq!(black.len(), truth.black.len(), "{black:?}");
    for (found, wanted) in black.iter().zip(&truth.black) {
        assert!(
            near(found.start_ms, wanted.start_ms, 200) && near(found.end_ms, wanted.end_ms, 200)
        );
        assert_eq!(found.track, None, "video applies to every track");
    }
    let silence = detections(&records, "Silence");
    assert_eq!(silence.len(), truth.silence.len(), "{silence:?}");
    for (found, wanted) in silence.iter().zip(&truth.silence) {
        assert!(
            near(found.start_ms, wanted.start_ms, 100) && near(found.end_ms, wanted.end_ms, 100)
        );
    }
}

#[test]
fn segments_open_then_complete_around_every_roar_and_optimized_clips_never_overlap() {
    let truth = &synthetic().truth;
    let records = analyse_all();
    let config = AnalysisConfig::default().segmenter;
    let mut open = Vec::new();
    let mut complete = Vec::new();
    for record in &records {
        if let PluginRecord::Segment(s) = record {
            match s.end_ms {
                None => open.push(s.start_ms),
                Some(end) => {
                    assert!(open.contains(&s.start_ms), "published open before complete: {s:?}");
                    assert!(end > s.start_ms && end - s.start_ms <= config.max_length_ms, "{s:?}");
                    complete.push((s.start_ms, end));
                }
            }
        }
    }
    assert_eq!(open.len(), complete.len(), "every open segment is completed");
    for roar in &truth.roars {
        assert!(
            complete.iter().any(|&(s, e)| s <= roar.span.start_ms && e >= roar.span.end_ms),
            "roar {roar:?} is inside a segment of {complete:?}"
        );
    }
    // The first roar (20 s) wants a start at 15 s; the cut at 14 s is within the snap.
    assert_eq!(complete[0].0, 14_000);
    // The scoreboard holds still from 1.5 s before to 2.5 s after every segment's start, so a
    // plugin reading it there knows the score; the segments open on different scores.
    let mut opening_scores = Vec::new();
    for &(start, _) in &complete {
        let changes: Vec<u64> = truth
            .scores
            .iter()
            .map(|s| s.span.start_ms)
            .filter(|&change| change + 1_500 >= start && change <= start + 2_500 && change > 0)
            .collect();
        assert!(changes.is_empty(), "the score changes at {changes:?} ms, near {start} ms");
        let shown = truth.scores.iter().find(|s| s.span.end_ms > start).unwrap();
        assert!(!opening_scores.contains(&&shown.text), "{} opens two segments", shown.text);
        opening_scores.push(&shown.text);
    }
    let mut clips: Vec<(u64, u64)> = records
        .iter()
        .filter_map(|r| match r {
            PluginRecord::Optimization(o) => Some((o.opto_start_ms, o.opto_end_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(clips.len(), complete.len(), "one optimization per segment and track");
    clips.sort_unstable();
    for pair in clips.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "clips overlap: {pair:?}");
    }
    for record in &records {
        let line = serde_json::to_vec(&record.to_json("synthetic")).unwrap();
        reeltime_schemas::decode(&line, 1 << 20).expect("every record is valid input");
    }
}

#[test]
fn a_damaged_chunk_is_a_recorded_failure_and_the_next_chunks_go_on() {
    let made = synthetic();
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, path) in made.chunks.iter().enumerate() {
        let copy = dir.path().join(path.file_name().unwrap());
        let mut bytes = std::fs::read(path).unwrap();
        if i == 8 {
            // Cut off mid-packet, and scribble over the middle.
            bytes.truncate(bytes.len() * 3 / 5 + 101);
            let middle = bytes.len() / 2;
            bytes[middle..middle + 4_000].fill(0x5a);
        }
        std::fs::write(&copy, bytes).unwrap();
        paths.push(copy);
    }
    let mut ingest = ChunkIngest::new("damaged");
    let mut analyzer = EventAnalyzer::new(AnalysisConfig::default(), &[1]);
    let mut records = Vec::new();
    let mut failures = Vec::new();
    for path in &paths {
        let chunk = ingest.add(path).unwrap();
        match analyzer.analyze_chunk(&chunk) {
            Ok(found) => records.extend(found),
            Err(failure) => {
                records.extend(failure.salvaged.clone());
                failures.push(failure);
            }
        }
    }
    records.extend(analyzer.finish().unwrap());
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].seq_no, 8);
    let message = failures[0].to_string();
    assert!(message.contains("chunk-00008.ts") && message.contains("damaged media"), "{message}");
    // After the damaged chunk (32..36 s) the cut at 41 s and the roar at 45 s are found.
    let cuts: Vec<u64> = detections(&records, "SceneCut").iter().map(|d| d.start_ms).collect();
    assert!(cuts.iter().any(|&c| near(c, 41_000, 200)), "{cuts:?}");
    let roars = detections(&records, "AudioLoudness");
    assert!(roars.iter().any(|r| near(r.start_ms, 45_000, 300)), "{roars:?}");
}

#[test]
fn findings_do_not_depend_on_how_the_media_is_cut_into_chunks() {
    let made = synthetic();
    let dir = tempfile::tempdir().unwrap();
    let eight: Vec<PathBuf> =
        split_file(&made.file, dir.path(), 8.0).unwrap().into_iter().map(|c| c.path).collect();
    assert_eq!(eight.len(), 15);
    let by_four = analyse(&made.chunks);
    let by_eight = analyse(&eight);
    // Each chunk's audio decoding starts afresh, which moves loudness levels by a tenth of a
    // LU or so; times, kinds and everything else must be the same.
    let summary = |records: &[PluginRecord]| -> Vec<String> {
        let mut lines: Vec<String> = records
            .iter()
            .map(|r| {
                let mut json = r.to_json("e");
                if let Some(attributes) = json["attributes"].as_object_mut() {
                    for level in ["baseline_lufs", "lu_above_baseline", "peak_lufs"] {
                        attributes.remove(level);
                    }
                }
                json.to_string()
            })
            .collect();
        lines.sort();
        lines
    };
    let (four, eight) = (summary(&by_four), summary(&by_eight));
    let only_four: Vec<&String> = four.iter().filter(|l| !eight.contains(l)).collect();
    let only_eight: Vec<&String> = eight.iter().filter(|l| !four.contains(l)).collect();
    assert!(
        only_four.is_empty() && only_eight.is_empty(),
        "4 s only: {only_four:#?}\n8 s only: {only_eight:#?}"
    );
}
