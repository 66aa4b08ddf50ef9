//! The built-in plugins of reeltime: featurers, a classifier and an optimizer over FFmpeg
//! filter graphs, for what needs no ML model.
//!
//! They sit between chunk ingest and the dataflow: ingest (`reeltime_connectors::ingest`)
//! turns media into `chunk` records, the plugins analyse each chunk into the records an
//! external plugin would publish (`detection`, `segment` and `optimization`, see
//! `docs/plugins.md`), and the dataflow takes those records in like any other plugin's, so
//! the engine treats built-in and external plugins alike.
//!
//! | plugin | kind | finds |
//! |---|---|---|
//! | `AudioLoudness` | featurer (audio) | crowd roars above the event's own loudness baseline (EBU R128) |
//! | `SceneCut` | featurer (video) | hard cuts (`scdet`, plus the edges of black) |
//! | `BlackFrame` | featurer (video) | black pictures (`blackdetect`) |
//! | `Silence` | featurer (audio) | digital silence (`silencedetect`) |
//! | `MotionEnergy` | featurer (video; sources without sound) | bursts of motion above the event's own baseline (`scdet`'s frame difference) |
//! | `ExcitementSegmenter` | classifier | segments around roars (bursts of motion without sound), on scene cuts |
//! | `CutOptimizer` | optimizer | clip bounds moved onto cuts or silences nearby |
//!
//! The main types: [`EventAnalyzer`] runs them all on one event, chunk by chunk, with the
//! settings of [`AnalysisConfig`]; it returns [`PluginRecord`]s, or a [`ChunkFailure`] for
//! a damaged chunk.
//!
//! - [`analyzer`]: [`EventAnalyzer`], which routes decoded frames to the analyses and turns
//!   what they find into records.
//! - [`audio`] and [`video`]: the filter graphs and what they find.
//! - `decode`: decoding a chunk with its damage counted.
//! - `graph`: feeding an analysis filter graph and taking its output.
//! - [`loudness`]: the roar detector over momentary loudness.
//! - [`optimizer`]: the cut optimizer.
//! - [`records`]: the records the plugins publish.
//! - [`segmenter`]: the excitement segmenter.

pub mod analyzer;
pub mod audio;
mod decode;
mod graph;
pub mod loudness;
pub mod optimizer;
pub mod records;
pub mod segmenter;
pub mod video;

pub use analyzer::{
    segments, AnalysisConfig, ChunkFailure, EventAnalyzer, AUDIO_LOUDNESS, BLACK_FRAME,
    MOTION_ENERGY, SCENE_CUT, SILENCE,
};
pub use records::PluginRecord;
