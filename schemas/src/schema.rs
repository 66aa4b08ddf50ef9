//! The JSON Schema of every record reeltime reads and writes, for plugin authors in any
//! language. `reeltime schema` prints [`document`]; `schemas/record-schema.json` is its
//! committed snapshot, kept fresh by a test.

use schemars::generate::SchemaSettings;
use serde_json::{json, Value};

use crate::document::{DeadLetterDoc, NotificationDoc, SegmentsDoc, SelectionDoc};
use crate::export::{EventExportDoc, ReplayExportDoc};
use crate::wire::InputRecord;

/// The schemas of the inputs (`type`-tagged records) and of each output document.
pub fn document() -> Value {
    let schema = |generate: fn(&mut schemars::SchemaGenerator) -> schemars::Schema| {
        let mut generator = SchemaSettings::draft2020_12().into_generator();
        generate(&mut generator).to_value()
    };
    json!({
        "title": "reeltime records",
        "description": "Inputs are one JSON object per line or Kafka message, tagged by `type`. \
                        Times are seconds of event time (3 decimals kept); unknown fields are \
                        kept in exports and ignored by the computation.",
        "inputs": schema(|g| g.root_schema_for::<InputRecord>()),
        "outputs": {
            "selection.json": schema(|g| g.root_schema_for::<SelectionDoc>()),
            "segments.json": schema(|g| g.root_schema_for::<SegmentsDoc>()),
            "notifications.jsonl": schema(|g| g.root_schema_for::<NotificationDoc>()),
            "dead-letter.jsonl": schema(|g| g.root_schema_for::<DeadLetterDoc>()),
            "events/<event_id>/export.json": schema(|g| g.root_schema_for::<EventExportDoc>()),
            "replays/<replay_id>/export.json": schema(|g| g.root_schema_for::<ReplayExportDoc>()),
        }
    })
}
