//! The tables of an output directory (`tables/segments`, `tables/detections` and
//! `tables/replays`) as Arrow IPC files and Parquet, built from the JSON exports.
//!
//! Contract: the tables are made from the `events/*/export.json` and
//! `replays/*/export.json` files of the directory, never from the dataflow directly, so
//! `reeltime process` and `reeltime export --from` write the same bytes from the same
//! exports. Each file is written atomically ([`OutputDir::write_bytes`]). Rows are in a
//! fixed order (by event id, then in the order of the export; by replay id, then selection order), so a table is
//! deterministic. `docs/exports.md` documents the columns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, RecordBatch, StringBuilder, UInt32Builder,
    UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::ipc::writer::FileWriter;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use crate::output_dir::{OutputDir, OutputError};

/// A file format of the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// Arrow IPC file (`.arrow`), uncompressed.
    Arrow,
    /// Parquet (`.parquet`), Snappy-compressed.
    Parquet,
}

impl TableFormat {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Arrow => "arrow",
            TableFormat::Parquet => "parquet",
        }
    }
}

/// Why the tables could not be made.
#[derive(Debug, Error)]
pub enum TableError {
    /// Arrow refused a table.
    #[error("cannot build table {table:?}: {source}")]
    Arrow {
        /// The table.
        table: &'static str,
        /// What Arrow said.
        source: ArrowError,
    },
    /// Parquet refused a table.
    #[error("cannot write table {table:?} as Parquet: {source}")]
    Parquet {
        /// The table.
        table: &'static str,
        /// What Parquet said.
        source: ParquetError,
    },
    /// A table could not be written to the output directory.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The part of `events/<event_id>/export.json` the tables hold.
#[derive(Debug, Deserialize)]
struct EventExport {
    event_id: String,
    segments: Vec<SegmentExport>,
    detections: Vec<DetectionExport>,
}

#[derive(Debug, Deserialize)]
struct DetectionExport {
    plugin: String,
    start: f64,
    end: f64,
    track: Option<u32>,
    label: Option<String>,
    attributes: Value,
}

#[derive(Debug, Deserialize)]
struct SegmentExport {
    start: f64,
    end: Option<f64>,
    complete: bool,
    plugin: String,
    label: Option<LabelExport>,
    attributes: Value,
    optimizations: Value,
    clips: Value,
    features: Value,
    feedback: Value,
}

#[derive(Debug, Deserialize)]
struct LabelExport {
    label: String,
}

/// The part of `replays/<replay_id>/export.json` the tables hold.
#[derive(Debug, Deserialize)]
struct ReplayExport {
    replay_id: String,
    event_id: String,
    version: u64,
    status: String,
    settings: ReplaySettingsExport,
    clips: Vec<ClipExport>,
}

#[derive(Debug, Deserialize)]
struct ReplaySettingsExport {
    mode: String,
    track: u32,
}

#[derive(Debug, Deserialize)]
struct ClipExport {
    start: f64,
    end: f64,
    clip_start: f64,
    clip_end: f64,
    score: Option<u64>,
    forced: bool,
    features: Value,
}

/// The schema of `tables/segments`: one row per segment of every event.
pub fn segments_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("start", DataType::Float64, false),
        Field::new("end", DataType::Float64, true),
        Field::new("complete", DataType::Boolean, false),
        Field::new("plugin", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, true),
        Field::new("attributes", DataType::Utf8, false),
        Field::new("optimizations", DataType::Utf8, false),
        Field::new("clips", DataType::Utf8, false),
        Field::new("features", DataType::Utf8, false),
        Field::new("feedback", DataType::Utf8, false),
    ]))
}

/// The schema of `tables/detections`: one row per live detection of every event.
pub fn detections_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("plugin", DataType::Utf8, false),
        Field::new("start", DataType::Float64, false),
        Field::new("end", DataType::Float64, false),
        Field::new("track", DataType::UInt32, true),
        Field::new("label", DataType::Utf8, true),
        Field::new("attributes", DataType::Utf8, false),
    ]))
}

/// The schema of `tables/replays`: one row per selected clip of every replay.
pub fn replays_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("replay_id", DataType::Utf8, false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("version", DataType::UInt64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("mode", DataType::Utf8, false),
        Field::new("track", DataType::UInt32, false),
        Field::new("position", DataType::UInt32, false),
        Field::new("start", DataType::Float64, false),
        Field::new("end", DataType::Float64, false),
        Field::new("clip_start", DataType::Float64, false),
        Field::new("clip_end", DataType::Float64, false),
        Field::new("score", DataType::UInt64, true),
        Field::new("forced", DataType::Boolean, false),
        Field::new("features", DataType::Utf8, false),
    ]))
}

/// Writes every table of `out` in every one of `formats`, from the exports in `out`, and
/// returns the files written (relative to `out`).
pub fn write_tables(out: &OutputDir, formats: &[TableFormat]) -> Result<Vec<PathBuf>, TableError> {
    let replays: Vec<ReplayExport> =
        out.read_exports("replays")?.into_iter().map(|(_, doc)| doc).collect();
    let mut events: Vec<EventExport> =
        out.read_exports("events")?.into_iter().map(|(_, doc)| doc).collect();
    events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let batches = [
        ("segments", segments_batch(&events)?),
        ("detections", detections_batch(&events)?),
        ("replays", replays_batch(&replays)?),
    ];
    let mut written = Vec::new();
    for (table, batch) in &batches {
        for &format in formats {
            let bytes = match format {
                TableFormat::Arrow => {
                    arrow_bytes(batch).map_err(|source| TableError::Arrow { table, source })?
                }
                TableFormat::Parquet => {
                    parquet_bytes(batch).map_err(|source| TableError::Parquet { table, source })?
                }
            };
            let path = Path::new("tables").join(format!("{table}.{}", format.extension()));
            out.write_bytes(&path, &bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

fn segments_batch(events: &[EventExport]) -> Result<RecordBatch, TableError> {
    let mut event_id = StringBuilder::new();
    let mut start = Float64Builder::new();
    let mut end = Float64Builder::new();
    let mut complete = BooleanBuilder::new();
    let mut plugin = StringBuilder::new();
    let mut label = StringBuilder::new();
    let mut json: [StringBuilder; 5] = std::array::from_fn(|_| StringBuilder::new());
    for event in events {
        for segment in &event.segments {
            event_id.append_value(&event.event_id);
            start.append_value(segment.start);
            end.append_option(segment.end);
            complete.append_value(segment.complete);
            plugin.append_value(&segment.plugin);
            label.append_option(segment.label.as_ref().map(|l| &l.label));
            let values = [
                &segment.attributes,
                &segment.optimizations,
                &segment.clips,
                &segment.features,
                &segment.feedback,
            ];
            for (builder, value) in json.iter_mut().zip(values) {
                builder.append_value(value.to_string());
            }
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(event_id.finish()),
        Arc::new(start.finish()),
        Arc::new(end.finish()),
        Arc::new(complete.finish()),
        Arc::new(plugin.finish()),
        Arc::new(label.finish()),
    ];
    columns.extend(json.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    RecordBatch::try_new(segments_schema(), columns)
        .map_err(|source| TableError::Arrow { table: "segments", source })
}

fn detections_batch(events: &[EventExport]) -> Result<RecordBatch, TableError> {
    let mut event_id = StringBuilder::new();
    let mut plugin = StringBuilder::new();
    let mut start = Float64Builder::new();
    let mut end = Float64Builder::new();
    let mut track = UInt32Builder::new();
    let mut label = StringBuilder::new();
    let mut attributes = StringBuilder::new();
    for event in events {
        for detection in &event.detections {
            event_id.append_value(&event.event_id);
            plugin.append_value(&detection.plugin);
            start.append_value(detection.start);
            end.append_value(detection.end);
            track.append_option(detection.track);
            label.append_option(detection.label.as_ref());
            attributes.append_value(detection.attributes.to_string());
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(event_id.finish()),
        Arc::new(plugin.finish()),
        Arc::new(start.finish()),
        Arc::new(end.finish()),
        Arc::new(track.finish()),
        Arc::new(label.finish()),
        Arc::new(attributes.finish()),
    ];
    RecordBatch::try_new(detections_schema(), columns)
        .map_err(|source| TableError::Arrow { table: "detections", source })
}

fn replays_batch(replays: &[ReplayExport]) -> Result<RecordBatch, TableError> {
    let mut replay_id = StringBuilder::new();
    let mut event_id = StringBuilder::new();
    let mut version = UInt64Builder::new();
    let mut status = StringBuilder::new();
    let mut mode = StringBuilder::new();
    let mut track = UInt32Builder::new();
    let mut position = UInt32Builder::new();
    let mut times: [Float64Builder; 4] = std::array::from_fn(|_| Float64Builder::new());
    let mut score = UInt64Builder::new();
    let mut forced = BooleanBuilder::new();
    let mut features = StringBuilder::new();
    let mut replays: Vec<&ReplayExport> = replays.iter().collect();
    replays.sort_by(|a, b| a.replay_id.cmp(&b.replay_id));
    for replay in replays {
        for (index, clip) in (0u32..).zip(&replay.clips) {
            replay_id.append_value(&replay.replay_id);
            event_id.append_value(&replay.event_id);
            version.append_value(replay.version);
            status.append_value(&replay.status);
            mode.append_value(&replay.settings.mode);
            track.append_value(replay.settings.track);
            position.append_value(index);
            for (builder, value) in
                times.iter_mut().zip([clip.start, clip.end, clip.clip_start, clip.clip_end])
            {
                builder.append_value(value);
            }
            score.append_option(clip.score);
            forced.append_value(clip.forced);
            features.append_value(clip.features.to_string());
        }
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(replay_id.finish()),
        Arc::new(event_id.finish()),
        Arc::new(version.finish()),
        Arc::new(status.finish()),
        Arc::new(mode.finish()),
        Arc::new(track.finish()),
        Arc::new(position.finish()),
    ];
    columns.extend(times.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    columns.push(Arc::new(score.finish()));
    columns.push(Arc::new(forced.finish()));
    columns.push(Arc::new(features.finish()));
    RecordBatch::try_new(replays_schema(), columns)
        .map_err(|source| TableError::Arrow { table: "replays", source })
}

fn arrow_bytes(batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    let mut writer = FileWriter::try_new(Vec::new(), &batch.schema())?;
    writer.write(batch)?;
    writer.into_inner()
}

fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>, ParquetError> {
    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(properties))?;
    writer.write(batch)?;
    writer.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, UInt32Type};
    use arrow::ipc::reader::FileReader;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use serde_json::json;

    fn write(out: &OutputDir, relative: &str, value: Value) {
        out.write_json(Path::new(relative), &value).unwrap();
    }

    fn example(dir: &Path) -> OutputDir {
        let out = OutputDir::prepare(dir).unwrap();
        let segment = |start: f64, end: Option<f64>, label: Value| {
            json!({"start": start, "end": end, "complete": end.is_some(), "plugin": "cls",
                   "attributes": {"Team": "Home"}, "label": label, "optimizations": {},
                   "clips": {}, "features": {"1": []}, "feedback": {}, "extra": {}})
        };
        write(
            &out,
            "events/b/export.json",
            json!({"event_id": "b", "segments": [segment(1.5, Some(2.25), json!(null))],
                   "detections": [{"plugin": "p", "start": 1.5, "end": 1.5, "track": null,
                                   "label": null, "attributes": {"Ace": true}}]}),
        );
        write(
            &out,
            "events/a/export.json",
            json!({"event_id": "a", "segments": [
                segment(0.0, Some(4.0), json!({"plugin": "l", "label": "1-0", "attributes": {}})),
                segment(10.0, None, json!(null))], "detections": []}),
        );
        let clip = |start: f64, score: Value| {
            json!({"start": start, "end": start + 1.0, "clip_start": start, "clip_end": start + 1.0,
                   "score": score, "forced": false, "features": []})
        };
        write(
            &out,
            "replays/r/export.json",
            json!({"replay_id": "r", "event_id": "a", "version": 3, "status": "complete",
                   "settings": {"mode": "duration", "track": 2},
                   "clips": [clip(0.0, json!(50)), clip(3.0, json!(null))]}),
        );
        out
    }

    fn read_back(out: &OutputDir, table: &str, format: TableFormat) -> Vec<RecordBatch> {
        let path = out.root().join("tables").join(format!("{table}.{}", format.extension()));
        let file = std::fs::File::open(path).unwrap();
        match format {
            TableFormat::Arrow => {
                FileReader::try_new(file, None).unwrap().map(Result::unwrap).collect()
            }
            TableFormat::Parquet => ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect(),
        }
    }

    #[test]
    fn tables_read_back_with_their_schema_and_rows_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let out = example(dir.path());
        let written = write_tables(&out, &[TableFormat::Arrow, TableFormat::Parquet]).unwrap();
        assert_eq!(written.len(), 6);
        for format in [TableFormat::Arrow, TableFormat::Parquet] {
            let segments = read_back(&out, "segments", format);
            let segments = arrow::compute::concat_batches(&segments_schema(), &segments).unwrap();
            assert_eq!(segments.schema(), segments_schema(), "{format:?}");
            assert_eq!(segments.num_rows(), 3);
            let ids = segments.column(0).as_string::<i32>();
            assert_eq!(ids.iter().flatten().collect::<Vec<_>>(), ["a", "a", "b"]);
            let ends = segments.column(2).as_primitive::<Float64Type>();
            assert_eq!((ends.value(0), ends.is_null(1), ends.value(2)), (4.0, true, 2.25));
            let labels = segments.column(5).as_string::<i32>();
            assert_eq!(labels.iter().collect::<Vec<_>>(), [Some("1-0"), None, None]);
            assert_eq!(segments.column(6).as_string::<i32>().value(0), r#"{"Team":"Home"}"#);

            let detections = read_back(&out, "detections", format);
            let detections =
                arrow::compute::concat_batches(&detections_schema(), &detections).unwrap();
            assert_eq!(detections.schema(), detections_schema(), "{format:?}");
            assert_eq!(detections.num_rows(), 1);
            assert_eq!(detections.column(4).null_count(), 1);
            assert_eq!(detections.column(6).as_string::<i32>().value(0), r#"{"Ace":true}"#);

            let replays = read_back(&out, "replays", format);
            let replays = arrow::compute::concat_batches(&replays_schema(), &replays).unwrap();
            assert_eq!(replays.schema(), replays_schema(), "{format:?}");
            assert_eq!(replays.num_rows(), 2);
            let positions = replays.column(6).as_primitive::<UInt32Type>();
            assert_eq!(positions.values().to_vec(), [0, 1]);
            assert_eq!(replays.column(11).null_count(), 1);
        }
    }

    #[test]
    fn an_output_without_exports_has_empty_tables() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputDir::prepare(dir.path()).unwrap();
        write_tables(&out, &[TableFormat::Parquet]).unwrap();
        let batches = read_back(&out, "replays", TableFormat::Parquet);
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    }

    #[test]
    fn a_malformed_export_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputDir::prepare(dir.path()).unwrap();
        write(&out, "replays/r/export.json", json!({"replay_id": "r"}));
        let error = write_tables(&out, &[TableFormat::Arrow]).unwrap_err();
        assert!(error.to_string().contains("replays/r/export.json"), "{error}");
    }
}
