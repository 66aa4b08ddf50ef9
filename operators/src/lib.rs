//! The replay dataflow of reeltime: from input records to segment, event and replay views.
//!
//! This crate is the middle of the event -> operator -> sink path. It links timely and
//! differential dataflow but never rdkafka or ffmpeg, so it builds and tests in seconds.
//!
//! - [`symbol`] and [`compact`]: what the dataflow holds instead of strings and owned
//!   records: interned symbols, integer milliseconds, 16-byte values, interned attribute
//!   lists; [`compact::Compact::from_record`] turns a validated record into that form.
//! - [`dataflow`]: the computation, two keyed operators over epochs: [`control`] decides the
//!   winning profile and replay records, [`event_state`] keeps everything about one event
//!   (latest wins by [`latest`], segment [`features`], each replay's candidates and selection
//!   in [`replay_state`], kept in rank order by [`ranked`]) and emits its changes as [`rows`].
//! - [`selection`]: the replay decisions as plain functions (ranking, the duration budget,
//!   equal distribution, statuses), called by the dataflow and the reference alike.
//! - [`harness`]: runs the dataflow over epochs on worker threads and hands back each closed
//!   epoch's rows, pipelined with the caller's sink.
//! - [`read_model`]: the rows after each closed epoch, the documents assembled from them,
//!   replay versions and notifications.
//! - [`reference`](mod@reference): a from-scratch implementation of the same views, for tests.

pub mod compact;
pub mod control;
pub mod dataflow;
pub mod event_state;
pub mod features;
pub mod harness;
pub mod latest;
pub mod ranked;
pub mod read_model;
pub mod reference;
pub mod replay_state;
pub mod rows;
pub mod selection;
pub mod symbol;
pub mod views;
