//! The reeltime engine: wires sources, the dataflow and sinks together, and runs them.
//!
//! This crate sits at the top of the workspace. The `reeltime` binary is a thin command line
//! over it.
//!
//! - [`config`]: the layered configuration of `reeltime run` (defaults, file, environment,
//!   flags).
//! - [`demo`]: `reeltime demo`, a synthetic match made, analysed and processed end to end.
//! - [`export`]: EDLs and JSON exports of every event and replay, from the read model.
//! - [`highlights`]: `reeltime highlights`, a user's video or HLS playlist made into
//!   highlights.
//! - [`media_pipeline`]: what the demo and `highlights` share: media ingested and analysed by
//!   the built-in plugins into an event log, then the log processed with the render sink on.
//! - [`output`]: what both modes write into the output directory: the notification and
//!   dead-letter logs, and the views with their exports and tables.
//! - [`process`]: the embedded mode over an event log (`reeltime process`): read, decode and
//!   dead-letter, run the dataflow in epochs, keep the read model, write the output layout.
//! - [`progress`]: progress reporting for long work, on a terminal or in logs.
//! - [`publish`]: JSON Lines onto an input topic after the engine's checks (`reeltime
//!   publish`).
//! - [`render_sink`]: the render sink: segment clips, event playlists and replay videos made
//!   from the views as they change, on threads beside the dataflow.
//! - [`run`]: the service over Kafka (`reeltime run`): rebuild from the inputs, then publish
//!   each epoch's changes exactly once.
//! - [`topics`]: creating reeltime's Kafka topics (`reeltime topics create`).

pub mod config;
pub mod demo;
pub mod export;
pub mod highlights;
pub mod media_pipeline;
pub mod output;
pub mod process;
pub mod progress;
pub mod publish;
pub mod render_sink;
pub mod run;
pub mod topics;
