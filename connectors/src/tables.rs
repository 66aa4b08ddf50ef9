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
use serde::{Deserialize, Serialize};
use thiserror::Error;

use reeltime_schemas::export::{EventExportDoc, ReplayExportDoc};
use reeltime_schemas::time::Seconds;

use crate::output_dir::{AtomicFile, OutputDir, OutputError};

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
    // Rows go by event id; a first pass reads only the ids.
    let mut events: Vec<(String, PathBuf)> = out
        .export_paths("events")?
        .into_iter()
        .map(|path| Ok((out.read_export::<EventId>(&path)?.event_id, path)))
        .collect::<Result<_, OutputError>>()?;
    events.sort();
    let mut tables = TableWriter::create(out, formats)?;
    for (_, path) in &events {
        tables.add_event(&out.read_export(path)?)?;
    }
    for (_, replay) in out.read_exports::<ReplayExportDoc>("replays")? {
        tables.add_replay(replay);
    }
    tables.commit()
}

/// The `event_id` of an event export, all a first pass over the exports needs.
#[derive(Debug, Deserialize)]
struct EventId {
    event_id: String,
}

/// The tables of an output directory, written from its exports as they are made.
///
/// Events are added in event id order, one at a time (a record batch each), so the memory it
/// takes does not grow with the number of events; replays, which are few rows, are held and
/// written by replay id at [`TableWriter::commit`]. Nothing appears in `tables/` before then.
pub struct TableWriter {
    segments: TableFiles,
    detections: TableFiles,
    replays: TableFiles,
    held_replays: Vec<ReplayExportDoc>,
}

impl TableWriter {
    /// Starts the tables of `out` in every one of `formats`.
    pub fn create(out: &OutputDir, formats: &[TableFormat]) -> Result<TableWriter, TableError> {
        Ok(TableWriter {
            segments: TableFiles::create(out, "segments", segments_schema(), formats)?,
            detections: TableFiles::create(out, "detections", detections_schema(), formats)?,
            replays: TableFiles::create(out, "replays", replays_schema(), formats)?,
            held_replays: Vec::new(),
        })
    }

    /// Adds the rows of an event's export (after those of every event with a smaller id).
    pub fn add_event(&mut self, event: &EventExportDoc) -> Result<(), TableError> {
        self.segments.write(&segments_batch(event)?)?;
        self.detections.write(&detections_batch(event)?)
    }

    /// Adds the rows of a replay's export.
    pub fn add_replay(&mut self, replay: ReplayExportDoc) {
        self.held_replays.push(replay);
    }

    /// Finishes every table and puts its files in place; returns them (relative to the
    /// output directory).
    pub fn commit(mut self) -> Result<Vec<PathBuf>, TableError> {
        self.held_replays.sort_by(|a, b| a.replay_id.cmp(&b.replay_id));
        self.replays.write(&replays_batch(&self.held_replays)?)?;
        let mut written = self.segments.commit()?;
        written.extend(self.detections.commit()?);
        written.extend(self.replays.commit()?);
        Ok(written)
    }
}

/// A value as the compact JSON text the tables hold (keys sorted, as `serde_json` orders an
/// object it reads, so the text is the same whether the export was read from a file or not).
fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).expect("exports serialize to JSON").to_string()
}

fn seconds(value: Seconds) -> f64 {
    value.ms() as f64 / 1000.0
}

/// One table being written in every format.
struct TableFiles {
    table: &'static str,
    arrow: Option<(PathBuf, FileWriter<AtomicFile>)>,
    parquet: Option<(PathBuf, ArrowWriter<AtomicFile>)>,
}

impl TableFiles {
    fn create(
        out: &OutputDir,
        table: &'static str,
        schema: SchemaRef,
        formats: &[TableFormat],
    ) -> Result<TableFiles, TableError> {
        let path = |format: TableFormat| {
            Path::new("tables").join(format!("{table}.{}", format.extension()))
        };
        let mut files = TableFiles { table, arrow: None, parquet: None };
        if formats.contains(&TableFormat::Arrow) {
            let path = path(TableFormat::Arrow);
            let writer = FileWriter::try_new(out.create(&path)?, &schema)
                .map_err(|source| TableError::Arrow { table, source })?;
            files.arrow = Some((path, writer));
        }
        if formats.contains(&TableFormat::Parquet) {
            let path = path(TableFormat::Parquet);
            let properties =
                WriterProperties::builder().set_compression(Compression::SNAPPY).build();
            let writer = ArrowWriter::try_new(out.create(&path)?, schema, Some(properties))
                .map_err(|source| TableError::Parquet { table, source })?;
            files.parquet = Some((path, writer));
        }
        Ok(files)
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), TableError> {
        let table = self.table;
        if let Some((_, writer)) = self.arrow.as_mut() {
            writer.write(batch).map_err(|source| TableError::Arrow { table, source })?;
        }
        if let Some((_, writer)) = self.parquet.as_mut() {
            writer.write(batch).map_err(|source| TableError::Parquet { table, source })?;
        }
        Ok(())
    }

    /// Finishes every file and renames it into place; returns their paths.
    fn commit(self) -> Result<Vec<PathBuf>, TableError> {
        let table = self.table;
        let mut written = Vec::new();
        if let Some((path, writer)) = self.arrow {
            let file = writer.into_inner().map_err(|source| TableError::Arrow { table, source })?;
            file.commit()?;
            written.push(path);
        }
        if let Some((path, writer)) = self.parquet {
            let file =
                writer.into_inner().map_err(|source| TableError::Parquet { table, source })?;
            file.commit()?;
            written.push(path);
        }
        Ok(written)
    }
}

fn segments_batch(event: &EventExportDoc) -> Result<RecordBatch, TableError> {
    let mut event_id = StringBuilder::new();
    let mut start = Float64Builder::new();
    let mut end = Float64Builder::new();
    let mut complete = BooleanBuilder::new();
    let mut plugin = StringBuilder::new();
    let mut label = StringBuilder::new();
    let mut json: [StringBuilder; 5] = std::array::from_fn(|_| StringBuilder::new());
    for segment in &event.segments {
        event_id.append_value(&event.event_id);
        start.append_value(seconds(segment.start));
        end.append_option(segment.end.map(seconds));
        complete.append_value(segment.complete);
        plugin.append_value(&segment.plugin);
        label.append_option(segment.label.as_ref().map(|l| &l.label));
        let values = [
            json_text(&segment.attributes),
            json_text(&segment.optimizations),
            json_text(&segment.clips),
            json_text(&segment.features),
            json_text(&segment.feedback),
        ];
        for (builder, value) in json.iter_mut().zip(values) {
            builder.append_value(value);
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

fn detections_batch(event: &EventExportDoc) -> Result<RecordBatch, TableError> {
    let mut event_id = StringBuilder::new();
    let mut plugin = StringBuilder::new();
    let mut start = Float64Builder::new();
    let mut end = Float64Builder::new();
    let mut track = UInt32Builder::new();
    let mut label = StringBuilder::new();
    let mut attributes = StringBuilder::new();
    for detection in &event.detections {
        event_id.append_value(&event.event_id);
        plugin.append_value(&detection.plugin);
        start.append_value(seconds(detection.start));
        end.append_value(seconds(detection.end));
        track.append_option(detection.track);
        label.append_option(detection.label.as_ref());
        attributes.append_value(json_text(&detection.attributes));
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

fn replays_batch(replays: &[ReplayExportDoc]) -> Result<RecordBatch, TableError> {
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
    for replay in replays {
        for (index, clip) in (0u32..).zip(&replay.clips) {
            replay_id.append_value(&replay.replay_id);
            event_id.append_value(&replay.event_id);
            version.append_value(replay.version);
            status.append_value(replay.status.as_str());
            mode.append_value(&replay.settings.mode);
            track.append_value(replay.settings.track);
            position.append_value(index);
            for (builder, value) in
                times.iter_mut().zip([clip.start, clip.end, clip.clip_start, clip.clip_end])
            {
                builder.append_value(seconds(value));
            }
            score.append_option(clip.score);
            forced.append_value(clip.forced);
            features.append_value(json_text(&clip.features));
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

#[cfg(test)]
mod tests {
    use super::*;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, UInt32Type};
    use arrow::ipc::reader::FileReader;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use serde_json::{json, Value};

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
        let edl = json!({"frame_rate": 25.0, "frame_rate_assumed": true, "drop_frame": false,
                         "channel": "B", "files": [], "error": null});
        write(
            &out,
            "events/b/export.json",
            json!({"event_id": "b", "event": null, "profile": null, "edl": edl,
                   "segments": [segment(1.5, Some(2.25), json!(null))],
                   "detections": [{"plugin": "p", "start": 1.5, "end": 1.5, "track": null,
                                   "label": null, "attributes": {"Ace": true}}]}),
        );
        write(
            &out,
            "events/a/export.json",
            json!({"event_id": "a", "event": null, "profile": null, "edl": edl, "segments": [
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
                   "settings": {"mode": "duration", "catchup": true, "duration": 60.0,
                                "tolerance": 30.0, "equal_distribution": false, "track": 2,
                                "priorities": [], "include_liked": false,
                                "ignore_disliked": false, "timestamps": [], "render": null,
                                "extra": {}},
                   "total_duration": 2.0, "total_score": 50, "edl": edl,
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
