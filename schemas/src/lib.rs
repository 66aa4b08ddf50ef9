//! Record types of reeltime: what plugins and operators publish, and what the engine derives.
//!
//! This crate sits at the bottom of the workspace; every other crate speaks its types.
//!
//! - [`wire`]: the JSON form of the input records of SEMANTICS §2 (`profile`, `event`,
//!   `chunk`, `segment`, `optimization`, `label`, `detection`, `replay`, `feedback`, `delete`)
//!   and [`wire::decode`], which validates one record and normalises it.
//! - [`record`]: the normalised records the dataflow computes on (integer milliseconds,
//!   canonical attribute values).
//! - [`view`]: the derived views (segments, replays, events) and notifications, in both their
//!   dataflow form and the JSON documents of SEMANTICS §6.
//! - [`export`]: the JSON exports of events and replays (`export.json`).
//! - [`json`], [`time`], [`value`]: strict JSON, time normalisation, attribute values.
//! - [`api`]: the HTTP API's own documents (write answers, lists, pages, change messages).
//! - [`schema`]: the JSON Schema of every record, printed by `reeltime schema`.

pub mod api;
pub mod document;
pub mod error;
pub mod export;
pub mod json;
pub mod record;
pub mod schema;
pub mod time;
pub mod value;
pub mod view;
pub mod wire;

pub use error::RecordError;
pub use record::Record;
pub use wire::decode;
