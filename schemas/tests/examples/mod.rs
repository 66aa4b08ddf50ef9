//! One valid record of every input type (and of every replay mode), shared by the decoding
//! tests and the schema tests: every example must decode and must validate against the
//! committed JSON Schema.

/// A profile with every slot filled and an unknown field.
pub const PROFILE: &str = r#"{"type":"profile","name":"tennis","chunk_size":20,"processing_fps":29.97,"max_segment_length":120.5,"classifier":{"plugin":"seg","config":{"min_gap":2}},"optimizer":{"plugin":"opt","search_window":1.5},"labeler":{"plugin":"lab"},"featurers":[{"plugin":"scoreboard","depends_on":["ocr"],"media":"video"},{"plugin":"crowd","config":{"db":-20},"priority_for_replay":false,"media":"audio"}],"owner":"ops"}"#;

/// An event with every field and an unknown one.
pub const EVENT: &str = r#"{"type":"event","event_id":"e1","program":"Open","profile":"tennis","status":"started","frame_rate":29.97,"audio_tracks":[1,2],"title":"Final","venue":"Court 1"}"#;

/// An event with only its required fields.
pub const EVENT_MINIMAL: &str =
    r#"{"type":"event","event_id":"e1","profile":"tennis","status":"scheduled"}"#;

/// A chunk whose `pts_start` has a fourth decimal.
pub const CHUNK: &str = r#"{"type":"chunk","event_id":"e1","seq_no":3,"uri":"s3://media/e1/3.ts","start":40,"duration":20,"pts_start":10.0005}"#;

/// An open segment (no `end`).
pub const SEGMENT_OPEN: &str = r#"{"type":"segment","event_id":"e1","plugin":"seg","start":10.25}"#;

/// A complete segment with attributes and an unknown field.
pub const SEGMENT_COMPLETE: &str = r#"{"type":"segment","event_id":"e1","plugin":"seg","start":10.25,"end":30.5,"attributes":{"Ace":true,"speed":201.5,"player":"A","points":2},"confidence":0.9}"#;

/// A segment delete.
pub const SEGMENT_DELETED: &str =
    r#"{"type":"segment","event_id":"e1","plugin":"seg","start":10.25,"deleted":true}"#;

/// An optimization on the default track.
pub const OPTIMIZATION: &str = r#"{"type":"optimization","event_id":"e1","plugin":"opt","start":10.25,"opto_start":9.5,"opto_end":30.2}"#;

/// A label with attributes.
pub const LABEL: &str = r#"{"type":"label","event_id":"e1","plugin":"lab","start":10.25,"label":"Ace by A","attributes":{"kind":"ace"}}"#;

/// A detection with every field and an unknown one.
pub const DETECTION: &str = r#"{"type":"detection","event_id":"e1","plugin":"scoreboard","start":12,"end":13.5,"track":2,"label":"score","attributes":{"Ace":true,"set":1.0},"frame":300}"#;

/// The duration-mode replay of SEMANTICS §5.
pub const REPLAY_DURATION: &str = r#"{"type":"replay","replay_id":"r1","event_id":"e1","mode":"duration","catchup":true,"duration":120,"tolerance":30,"equal_distribution":false,"track":1,"priorities":[{"plugin":"scoreboard","attribute":"Ace","value":true,"weight":90}],"include_liked":false,"ignore_disliked":false,"render":{"mp4":true,"hls":true,"resolutions":["720p"],"transition":{"fade_in_ms":500,"fade_out_ms":500}}}"#;

/// A duration-mode replay that relies on every default.
pub const REPLAY_DEFAULTS: &str = r#"{"type":"replay","replay_id":"r2","event_id":"e1","duration":60,"priorities":[{"attribute":"Ace","weight":50}]}"#;

/// A features-mode replay with an unknown field.
pub const REPLAY_FEATURES: &str = r#"{"type":"replay","replay_id":"r3","event_id":"e1","mode":"features","include_liked":true,"ignore_disliked":true,"priorities":[{"plugin":"crowd","attribute":"loud","value":2,"include":false},{"attribute":"player","value":"A"}],"requested_by":"ops"}"#;

/// A timestamps-mode replay.
pub const REPLAY_TIMESTAMPS: &str = r#"{"type":"replay","replay_id":"r4","event_id":"e1","mode":"timestamps","catchup":true,"track":2,"timestamps":[{"start":60,"end":75.5},{"start":10,"end":20}]}"#;

/// Feedback on the default track.
pub const FEEDBACK: &str = r#"{"type":"feedback","event_id":"e1","start":10.25,"verdict":"like"}"#;

/// A delete of a replay.
pub const DELETE: &str = r#"{"type":"delete","kind":"replay","id":"r1"}"#;

/// Every example above.
pub const ALL: &[&str] = &[
    PROFILE,
    EVENT,
    EVENT_MINIMAL,
    CHUNK,
    SEGMENT_OPEN,
    SEGMENT_COMPLETE,
    SEGMENT_DELETED,
    OPTIMIZATION,
    LABEL,
    DETECTION,
    REPLAY_DURATION,
    REPLAY_DEFAULTS,
    REPLAY_FEATURES,
    REPLAY_TIMESTAMPS,
    FEEDBACK,
    DELETE,
];

/// Every input `type`.
pub const TYPES: &[&str] = &[
    "profile",
    "event",
    "chunk",
    "segment",
    "optimization",
    "label",
    "detection",
    "replay",
    "feedback",
    "delete",
];
