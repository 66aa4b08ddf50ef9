//! The reeltime engine: wires sources, the dataflow and sinks together, and runs them.
//!
//! This crate sits at the top of the workspace. The `reeltime` binary is a thin command line
//! over it.
//!
//! - [`export`]: EDLs and JSON exports of every event and replay, from the read model.
//! - [`process`]: the embedded mode over an event log (`reeltime process`): read, decode and
//!   dead-letter, run the dataflow in epochs, keep the read model, write the output layout.
//! - [`progress`]: progress reporting for long work, on a terminal or in logs.
//! - [`publish`]: JSON Lines onto an input topic after the engine's checks (`reeltime
//!   publish`).
//! - [`topics`]: creating reeltime's Kafka topics (`reeltime topics create`).

pub mod export;
pub mod process;
pub mod progress;
pub mod publish;
pub mod topics;
