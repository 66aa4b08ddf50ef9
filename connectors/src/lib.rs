//! Sources and sinks of reeltime: where records come from and where views go.
//!
//! This crate sits beside the dataflow: it turns bytes into positioned records for the
//! engine, and writes the views the engine hands it.
//!
//! - [`edl`]: CMX 3600 edit decision lists of clips, for editors' importers.
//! - [`hls_writer`]: the HLS playlists of rendered clips and replays (event, VOD and master
//!   playlists), built and written; [`ingest::hls_reader`] reads a source's playlists.
//! - [`ingest`]: chunk ingest from a folder, one recording or an HLS playlist (VOD or live):
//!   `chunk` records in event time.
//! - [`kafka`]: the topics and the client settings shared by every Kafka client.
//! - [`log_file`]: the embedded mode's input, a JSON Lines event log read line by line with
//!   1-based line numbers as positions.
//! - [`output_dir`]: the output layout of the README (views as JSON files, written
//!   atomically; notification and dead-letter logs appended as JSON Lines).
//! - [`render`]: clips and replays as video files: stream-copy or frame-accurate cuts of
//!   event-time ranges from the event's chunks to MP4 and HLS segments, thumbnails, and
//!   replays re-encoded per resolution.
//! - [`synth`]: a deterministic synthetic match made in-process with FFmpeg, with its
//!   ground truth (cuts, roars, black, silence).
//! - [`tables`]: the segments and replays tables as Arrow IPC files and Parquet, built from
//!   the JSON exports.

pub mod edl;
pub mod hls_writer;
pub mod ingest;
pub mod kafka;
pub mod log_file;
pub mod output_dir;
pub mod render;
pub mod synth;
pub mod tables;
