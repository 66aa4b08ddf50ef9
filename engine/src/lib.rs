//! The reeltime engine: wires sources, the dataflow and sinks together, and runs them.
//!
//! This crate sits at the top of the workspace. The `reeltime` binary is a thin command line
//! over it.
//!
//! - [`config`]: the layered configuration of `reeltime run` (defaults, file, environment,
//!   flags).
//! - [`export`]: EDLs and JSON exports of every event and replay, from the read model.
//! - [`output`]: what both modes write into the output directory: the notification and
//!   dead-letter logs, and the views with their exports and tables.
//! - [`process`]: the embedded mode over an event log (`reeltime process`): read, decode and
//!   dead-letter, run the dataflow in epochs, keep the read model, write the output layout.
//! - [`run`]: the service over Kafka (`reeltime run`): rebuild from the inputs, then publish
//!   each epoch's changes exactly once.
//! - [`progress`]: progress reporting for long work, on a terminal or in logs.

pub mod config;
pub mod export;
pub mod output;
pub mod process;
pub mod progress;
pub mod run;
