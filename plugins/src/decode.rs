//! Decoding one chunk for analysis, with its damage counted instead of hidden.
//!
//! Video and audio frames are handed over with their presentation time in event
//! microseconds. Damaged data (a packet the demuxer flags corrupt or cannot read, a packet
//! the decoder rejects, a frame it marks corrupt) is counted and described, so the caller can
//! report the chunk as failed while keeping what decoded.

use std::path::Path;

use ffmpeg::{codec, frame, media, Packet, Rational};
use ffmpeg_next as ffmpeg;

use reeltime_connectors::ingest::probe::{open, to_us};
use reeltime_connectors::ingest::MediaError;

/// What went wrong while decoding a chunk.
#[derive(Debug, Default)]
pub(crate) struct Damage {
    /// How many problems there were.
    pub count: u32,
    /// The first of them.
    pub first: Option<String>,
}

impl Damage {
    fn note(&mut self, problem: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(problem());
        }
    }
}

/// Receives decoded frames.
pub(crate) trait FrameSink {
    /// A video frame at `event_us`.
    fn video(&mut self, frame: &mut frame::Video, event_us: i64) -> Result<(), String>;
    /// An audio frame of the `index`-th audio stream (0-based) at `event_us`.
    fn audio(
        &mut self,
        index: usize,
        frame: &mut frame::Audio,
        event_us: i64,
    ) -> Result<(), String>;
}

enum Decoder {
    Video(codec::decoder::Video),
    Audio(usize, codec::decoder::Audio),
}

impl Decoder {
    /// Sends a packet, or the end of the stream (`None`).
    fn send(&mut self, packet: Option<&Packet>) -> Result<(), ffmpeg::Error> {
        match (self, packet) {
            (Decoder::Video(d), Some(packet)) => d.send_packet(packet),
            (Decoder::Audio(_, d), Some(packet)) => d.send_packet(packet),
            (Decoder::Video(d), None) => d.send_eof(),
            (Decoder::Audio(_, d), None) => d.send_eof(),
        }
    }
}

/// Decodes the chunk at `path` into `sink`. `anchor_us` is the source time of event time 0;
/// `skip_non_reference` lets the video decoder drop frames nothing else refers to (cheaper
/// when analysis samples fewer frames than the video has).
pub(crate) fn decode_chunk(
    path: &Path,
    anchor_us: i64,
    skip_non_reference: bool,
    sink: &mut dyn FrameSink,
) -> Result<Damage, MediaError> {
    let mut input = open(path)?;
    // A chunk with sound only (a radio commentary) has no video to decode.
    let video_index = input.streams().best(media::Type::Video).map(|s| s.index());
    if video_index.is_none()
        && !input.streams().any(|s| s.parameters().medium() == media::Type::Audio)
    {
        return Err(MediaError::NoStreams { path: path.to_owned() });
    }
    let mut decoders: Vec<Option<(Decoder, Rational)>> = Vec::new();
    let mut audio_count = 0;
    for stream in input.streams() {
        let medium = stream.parameters().medium();
        let unreadable = |source| MediaError::Unreadable { path: path.to_owned(), source };
        let mut context =
            codec::context::Context::from_parameters(stream.parameters()).map_err(unreadable)?;
        let decoder = if Some(stream.index()) == video_index {
            // Pictures are decoded on every core (frame threads, as many as FFmpeg sees
            // cores): decoding is most of what the analysis costs. The results do not depend
            // on it; H.264 decoding is exact.
            context.set_threading(codec::threading::Config {
                kind: codec::threading::Type::Frame,
                count: 0,
                ..Default::default()
            });
            let mut decoder = context.decoder();
            if skip_non_reference {
                decoder.skip_frame(ffmpeg::Discard::NonReference);
            }
            Some(Decoder::Video(decoder.video().map_err(unreadable)?))
        } else if medium == media::Type::Audio {
            audio_count += 1;
            Some(Decoder::Audio(audio_count - 1, context.decoder().audio().map_err(unreadable)?))
        } else {
            None
        };
        decoders.push(decoder.map(|d| (d, stream.time_base())));
    }

    let mut damage = Damage::default();
    let mut packet = Packet::empty();
    let mut video_frame = frame::Video::empty();
    let mut audio_frame = frame::Audio::empty();
    loop {
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::InvalidData) => {
                damage.note(|| "the demuxer met invalid data".to_owned());
                continue;
            }
            Err(e) => {
                damage.note(|| format!("reading stopped early: {e}"));
                break;
            }
        }
        let Some(Some((decoder, time_base))) = decoders.get_mut(packet.stream()) else { continue };
        if packet.is_corrupt() {
            let at = packet.pts().map_or(0, |p| to_us(p, *time_base) - anchor_us);
            damage.note(|| format!("a corrupt packet at {:.3} s", at as f64 / 1e6));
        }
        if let Err(e) = decoder.send(Some(&packet)) {
            let kind = if matches!(decoder, Decoder::Video(_)) { "video" } else { "audio" };
            damage.note(|| format!("the {kind} decoder rejected a packet: {e}"));
        }
        drain(
            decoder,
            *time_base,
            anchor_us,
            &mut video_frame,
            &mut audio_frame,
            sink,
            &mut damage,
        );
    }
    for (decoder, time_base) in decoders.iter_mut().flatten() {
        // The end of the stream makes each decoder give up the frames it still holds.
        let _ = decoder.send(None);
        drain(
            decoder,
            *time_base,
            anchor_us,
            &mut video_frame,
            &mut audio_frame,
            sink,
            &mut damage,
        );
    }
    Ok(damage)
}

/// Hands every frame the decoder has ready to `sink`.
fn drain(
    decoder: &mut Decoder,
    time_base: Rational,
    anchor_us: i64,
    video_frame: &mut frame::Video,
    audio_frame: &mut frame::Audio,
    sink: &mut dyn FrameSink,
    damage: &mut Damage,
) {
    let event_us = |ts: Option<i64>| ts.map(|t| to_us(t, time_base) - anchor_us);
    match decoder {
        Decoder::Video(d) => {
            while d.receive_frame(video_frame).is_ok() {
                if video_frame.is_corrupt() || video_frame.has_decode_errors() {
                    damage.note(|| "a video frame decoded with errors".to_owned());
                }
                let Some(at) = event_us(video_frame.timestamp()) else { continue };
                if let Err(e) = sink.video(video_frame, at) {
                    damage.note(|| e);
                }
            }
        }
        Decoder::Audio(index, d) => {
            while d.receive_frame(audio_frame).is_ok() {
                if audio_frame.is_corrupt() || audio_frame.has_decode_errors() {
                    damage.note(|| "an audio frame decoded with errors".to_owned());
                }
                let Some(at) = event_us(audio_frame.timestamp()) else { continue };
                if let Err(e) = sink.audio(*index, audio_frame, at) {
                    damage.note(|| e);
                }
            }
        }
    }
}
