//! Decoding input records into what the dataflow holds: one pass over the text for the typed
//! record ([`reeltime_schemas::decode`]), then its compact form
//! ([`Compact::from_record`]), or why the record is rejected.

use reeltime_operators::compact::Compact;
use reeltime_schemas::{decode, RecordError};

/// Decodes one record (a log line without its newline, or a Kafka message) into its compact
/// form.
pub fn decode_compact(bytes: &[u8], max_record_bytes: usize) -> Result<Compact, RecordError> {
    let record = decode(bytes, max_record_bytes)?;
    let record_type = record.type_name();
    // Validation already keeps times and tracks in range, so what is left is a symbol
    // collision: the record is rejected like any record the engine cannot take.
    Compact::from_record(record)
        .map_err(|error| RecordError::Invalid { record_type, message: error.to_string() })
}
