//! The replay dataflow of reeltime: from input records to segment, event and replay views.
//!
//! This crate is the middle of the event -> operator -> sink path. It links timely and
//! differential dataflow but never rdkafka or ffmpeg, so it builds and tests in seconds.
//!
//! - [`dataflow`]: the incremental computation, as functions from collections to collections.
//! - [`selection`]: the replay decisions as plain functions (ranking, the duration budget,
//!   equal distribution, statuses), called by the dataflow and unit-tested on their own.
//! - [`harness`]: runs the dataflow over epochs on worker threads and hands back each closed
//!   epoch's updates.
//! - [`read_model`]: the views after each closed epoch, replay versions and notifications.
//! - [`reference`](mod@reference): a from-scratch implementation of the same views, for tests.

pub mod dataflow;
pub mod harness;
pub mod read_model;
pub mod reference;
pub mod selection;
pub mod views;
