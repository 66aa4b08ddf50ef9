//! The views over a log, materialised: what the read model holds after each closed epoch, and
//! what the from-scratch reference computes.

use std::collections::BTreeMap;

use reeltime_schemas::view::{EventView, ReplayView, SegmentView};

/// Every view over a log at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Views {
    /// Live events by id.
    pub events: BTreeMap<String, EventView>,
    /// Live segments by `(event_id, start_ms)`.
    pub segments: BTreeMap<(String, u64), SegmentView>,
    /// Live replays by id (without versions).
    pub replays: BTreeMap<String, ReplayView>,
}
