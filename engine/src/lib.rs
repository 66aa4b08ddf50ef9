//! The reeltime engine: wires sources, the dataflow and sinks together, and runs them.
//!
//! This crate sits at the top of the workspace. The `reeltime` binary is a thin command line
//! over it.
//!
//! - [`cluster`]: the processes of a cluster (`[cluster]` and its hosts file).
//! - [`config`]: the layered configuration of `reeltime run` (defaults, file, environment,
//!   flags).
//! - [`decode`]: an input record decoded into the compact form the dataflow holds, or why it
//!   is rejected.
//! - [`demo`]: `reeltime demo`, a synthetic match made, analysed and processed end to end.
//! - [`driver`]: the one epoch driver every mode shares: the read model, the render sink,
//!   the logs and the files after each closed epoch.
//! - [`epoch_stats`]: how long each live epoch's steps took (`engine.epoch_stats_file`).
//! - [`export`]: EDLs and JSON exports of every event and replay, from the read model.
//! - [`file_writer`]: the files of what changed, written on a thread of their own from a
//!   copy of the read model, so that no epoch waits for them.
//! - [`highlights`]: `reeltime highlights`, a user's video or HLS playlist made into
//!   highlights.
//! - [`live_ingest`]: `reeltime ingest`, an event's media (a live stream above all) analysed
//!   into a running service chunk by chunk, so its catch-up replays grow as the stream plays.
//! - [`media_pipeline`]: what the demo, `highlights` and `ingest` share: media ingested and
//!   analysed by the built-in plugins into a sink (an event log, or a running service), then
//!   a log processed with the render sink on.
//! - [`output`]: what every mode writes into the output directory: the notification and
//!   dead-letter logs, the views with their exports (for what changed), and the tables.
//! - [`playout`]: `reeltime demo --live`: the demo's log sent chunk by chunk, as a live
//!   broadcast arrives, to a service's API or to the Kafka topics.
//! - [`process`]: the embedded mode over an event log (`reeltime process`): a log file as the
//!   source of the dataflow's epochs, decoded and dead-lettered by the workers.
//! - [`progress`]: progress reporting for long work, on a terminal or in logs.
//! - [`publish`]: JSON Lines onto an input topic after the engine's checks (`reeltime
//!   publish`).
//! - [`render_sink`]: the render sink: segment clips, event playlists and replay videos made
//!   from the views as they change, on threads beside the dataflow.
//! - [`record_log`]: the embedded service's durable log of input records and epoch ends.
//! - [`run`]: the service over Kafka (`reeltime run`): Kafka partitions as the source; rebuild
//!   from the inputs, then publish each epoch's changes exactly once.
//! - [`serve`]: the HTTP API over the views, its change streams and the web console.
//! - [`service`]: the embedded service (`reeltime run` without Kafka): the record log as the
//!   source, the HTTP API in front.
//! - [`topics`]: creating reeltime's Kafka topics (`reeltime topics create`).

pub mod cluster;
pub mod config;
pub mod decode;
pub mod demo;
pub mod driver;
pub mod epoch_stats;
pub mod export;
pub mod file_writer;
pub mod highlights;
pub mod live_ingest;
pub mod media_pipeline;
pub mod output;
pub mod playout;
pub mod process;
pub mod progress;
pub mod publish;
pub mod record_log;
pub mod render_sink;
pub mod run;
pub mod serve;
pub mod service;
pub mod topics;
