//! The HTTP service over the views: the API, its change streams and the web console.
//!
//! - [`state`]: the documents of the last closed epoch, as JSON text, and their changes.
//! - [`api`]: the routes (axum), with the error shape, the token and the body limit.
//! - [`kafka_writer`]: the write routes' records published to the input topics (Kafka mode).
//! - [`metrics`]: the counters that `/metrics` shows.
//! - [`console`]: the console's files, part of the binary.
//! - [`openapi`]: the OpenAPI document of the routes, from the documents' types.
//! - [`server`]: the tokio runtime the routes run on, beside the dataflow's threads.

pub mod api;
pub mod console;
pub mod kafka_writer;
pub mod metrics;
pub mod openapi;
pub mod server;
pub mod state;
