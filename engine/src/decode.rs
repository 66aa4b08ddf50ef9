//! Decoding input records into what the dataflow holds: one pass over the text for the typed
//! record ([`reeltime_schemas::decode`]), then its compact form
//! ([`Compact::from_record`]), or why the record is rejected.
//!
//! A replay's `render` settings are checked here too, as the render sink will read them
//! ([`replay_options`]): a replay that asks for a resolution or a fade that cannot be made is
//! refused when it arrives, with the reason, not accepted and failed minutes later.

use reeltime_operators::compact::Compact;
use reeltime_schemas::{decode, Record, RecordError};

use crate::render_sink::settings::replay_options;

/// Decodes one record (a log line without its newline, or a Kafka message) into its compact
/// form.
pub fn decode_compact(bytes: &[u8], max_record_bytes: usize) -> Result<Compact, RecordError> {
    let record = decode(bytes, max_record_bytes)?;
    let record_type = record.type_name();
    if let Record::Replay(replay) = &record {
        replay_options(&replay.render)
            .map_err(|message| RecordError::Invalid { record_type, message })?;
    }
    // Validation already keeps times and tracks in range, so what is left is a symbol
    // collision: the record is rejected like any record the engine cannot take.
    Compact::from_record(record)
        .map_err(|error| RecordError::Invalid { record_type, message: error.to_string() })
}

#[cfg(test)]
mod tests {
    use reeltime_schemas::json::DEFAULT_MAX_RECORD_BYTES;

    use super::*;

    #[test]
    fn a_replay_with_render_settings_that_cannot_be_made_is_refused_when_decoded() {
        let replay = |render: &str| {
            format!(
                r#"{{"type":"replay","replay_id":"r","event_id":"e","mode":"features","priorities":[{{"attribute":"Ace"}}],"render":{render}}}"#
            )
        };
        assert!(decode_compact(
            replay(r#"{"resolutions":["720p"]}"#).as_bytes(),
            DEFAULT_MAX_RECORD_BYTES
        )
        .is_ok());
        for (render, named) in [
            (r#"{"resolutions":["4k"]}"#, "\"4k\""),
            (r#"{"resolution":["720p"]}"#, "resolution"),
            (r#"{"transition":{"fade_in_ms":60000}}"#, "fades"),
        ] {
            let error =
                decode_compact(replay(render).as_bytes(), DEFAULT_MAX_RECORD_BYTES).unwrap_err();
            assert!(error.to_string().contains(named), "{render}: {error}");
        }
    }
}
