//! The event's chunks read as one timeline of packets in event time.
//!
//! Each chunk is opened in turn; its packets' timestamps are moved from the chunk's own clock
//! (a `.ts` chunk starts around 1.4 s, and every chunk of a stream continues the previous one)
//! onto event time: `chunk.start_ms` is the event time of the chunk's first frame, and that
//! frame is at `pts_start_ms` on the chunk's clock when the chunk record gives it, else at the
//! video stream's start time. Timestamps come out in [`TIMELINE`] ticks, one clock for every
//! stream, fine enough for any frame or sample rate in use (90 kHz, as MPEG-TS).
//!
//! Chunks with sound only (a radio commentary) have no video: the audio track then times
//! them, as ingest did when it cut them.
//!
//! Only one chunk is open at a time and packets are handed out one by one, so memory does not
//! grow with the length of a range.
//!
//! The first chunk is probed (FFmpeg decodes its first frames to learn its streams). A stream
//! copy opens the chunks after it without probing when their first packets carry the first
//! chunk's H.264 parameter set and AAC header ([`super::fingerprint`]), which is what lets the
//! copy keep up with the FFmpeg command line reading a playlist; anything else is probed and
//! compared as before.

use std::collections::VecDeque;
use std::ffi::CString;

use ffmpeg_next::codec::{self, Parameters};
use ffmpeg_next::format::context::Input;
use ffmpeg_next::{format, media, Packet, Rational, Rescale};
use reeltime_schemas::record::Chunk;

use super::fingerprint::{adts_config, adts_frames, h264_sps};
use super::{EventRange, RenderError};

/// How many packets of an unprobed chunk are read, at most, to find its first video and audio
/// packets.
const FINGERPRINT_PACKETS: usize = 256;

/// The clock of every timestamp between reading and writing: 1/90000 s.
pub(crate) const TIMELINE: Rational = Rational(1, 90_000);

/// Ticks of [`TIMELINE`] per millisecond.
const TICKS_PER_MS: i64 = 90;

/// Holes between chunks up to this size are rounding of chunk durations to milliseconds.
const GAP_TOLERANCE_MS: u64 = 50;

/// A chunk whose frames stop this long before its declared end, where the range needed them,
/// is truncated (a little slack for durations rounded to milliseconds and a last frame that
/// has no duration).
const TRUNCATION_TOLERANCE_MS: i64 = 100;

/// Event time in milliseconds as [`TIMELINE`] ticks.
pub(crate) fn ms_to_ticks(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX / TICKS_PER_MS) * TICKS_PER_MS
}

/// [`TIMELINE`] ticks as milliseconds, rounded to the nearest (half away from zero).
pub(crate) fn ticks_to_ms(ticks: i64) -> u64 {
    u64::try_from((ticks + TICKS_PER_MS / 2).div_euclid(TICKS_PER_MS)).unwrap_or(0)
}

/// Which elementary stream a packet belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The event's video.
    Video,
    /// The audio track being rendered.
    Audio,
}

/// The codec parameters and clock of one stream, as the first chunk has them.
#[derive(Clone)]
pub(crate) struct StreamInfo {
    /// Codec parameters, for a muxer (stream copy) or a decoder.
    pub parameters: Parameters,
    /// The stream's own time base in the chunk.
    pub time_base: Rational,
    /// Frames per second (video only; for audio the sample rate in `parameters`).
    pub frame_rate: Rational,
}

/// One packet, its timestamps and duration in [`TIMELINE`] ticks of event time.
pub(crate) struct SourcePacket {
    /// Its stream.
    pub kind: Kind,
    /// The packet.
    pub packet: Packet,
}

/// A chunk being read.
struct OpenChunk {
    input: Input,
    video_index: Option<usize>,
    audio_index: Option<usize>,
    video_time_base: Rational,
    audio_time_base: Rational,
    /// Ticks added to a timestamp (already on [`TIMELINE`]) to make it event time.
    offset: i64,
    /// End of the latest frame read of the stream that times the chunk (its video, or its
    /// audio when it has none), in event ticks.
    media_end: i64,
    /// Duration of one frame in [`TIMELINE`] ticks, for packets that carry none.
    frame_ticks: i64,
    /// Packets already read (to check the chunk's streams, or split), handed out before
    /// reading on.
    pending: VecDeque<Packet>,
    /// Whether the chunk was opened without probing (see [`OpenChunk::read_more`]).
    unprobed: bool,
    /// Timestamp of the audio frame after the last one read from an unprobed chunk.
    audio_next: Option<i64>,
}

impl OpenChunk {
    /// Reads the next packet of the container into `pending`; false at the end.
    ///
    /// An unprobed chunk's audio is ADTS that FFmpeg could not time: only the first frame of
    /// each PES packet has a timestamp, and a packet may hold several frames. Its frames are
    /// split apart and timed on from the last one (1024 samples each).
    fn read_more(&mut self) -> Result<bool, ffmpeg_next::Error> {
        let mut packet = Packet::empty();
        match packet.read(&mut self.input) {
            Ok(()) => {}
            Err(ffmpeg_next::Error::Eof) => return Ok(false),
            Err(e) => return Err(e),
        }
        let frames = (self.unprobed && Some(packet.stream()) == self.audio_index)
            .then(|| adts_frames(packet.data().unwrap_or_default()))
            .flatten();
        let Some((frames, rate)) = frames else {
            self.pending.push_back(packet);
            return Ok(true);
        };
        let base = self.audio_time_base;
        let frame = 1024 * i64::from(base.denominator())
            / (i64::from(rate) * i64::from(base.numerator()).max(1));
        let data = packet.data().unwrap_or_default();
        let mut next = packet.pts().or(packet.dts()).or(self.audio_next);
        for (offset, length) in frames {
            let mut part = Packet::copy(&data[offset..offset + length]);
            part.set_stream(packet.stream());
            part.set_pts(next);
            part.set_dts(next);
            part.set_duration(frame);
            part.set_flags(packet.flags());
            self.pending.push_back(part);
            next = next.map(|t| t + frame);
        }
        self.audio_next = next;
        Ok(true)
    }
}

/// What the first chunk's packets carry ([`super::fingerprint`]), for joining later chunks
/// without probing them.
#[derive(Default)]
struct Fingerprints {
    sps: Option<Vec<u8>>,
    adts: Option<[u8; 3]>,
}

/// The chunks of a range, sorted and checked, read packet by packet.
pub(crate) struct Source {
    chunks: Vec<Chunk>,
    track: u32,
    next: usize,
    current: Option<OpenChunk>,
    /// Reading stops being needed at this event time; a chunk truncated before it is an error.
    needed_end: i64,
    /// Packets are decoded, not copied: later chunks need only the same codecs, not the same
    /// parameters (a decoder follows a change of picture size).
    decoding: bool,
    /// The video stream of the first chunk; `None` for chunks with sound only.
    pub video: Option<StreamInfo>,
    /// The audio stream of the first chunk, if it has the track.
    pub audio: Option<StreamInfo>,
    /// Taken from the first chunk's packets as they are read.
    reference: Fingerprints,
    /// Whether the chunk being read is the first.
    in_first: bool,
}

/// The event's chunks sorted by start, checked to cover `range` without holes; returns them
/// and the index of the one holding the in-point.
pub(crate) fn chunks_for(
    chunks: &[Chunk],
    range: EventRange,
) -> Result<(Vec<Chunk>, usize), RenderError> {
    if range.end_ms <= range.start_ms {
        return Err(RenderError::EmptyRange { range });
    }
    let mut sorted: Vec<Chunk> = chunks.to_vec();
    sorted.sort_by_key(|c| (c.start_ms, c.seq_no));
    let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
        return Err(RenderError::NoChunks { range });
    };
    let covered_start_ms = first.start_ms;
    let covered_end_ms = last.start_ms + last.duration_ms;
    if range.start_ms < covered_start_ms || range.end_ms > covered_end_ms {
        return Err(RenderError::NotCovered { range, covered_start_ms, covered_end_ms });
    }
    let from = sorted.iter().rposition(|c| c.start_ms <= range.start_ms).unwrap_or(0);
    let to = sorted.iter().rposition(|c| c.start_ms < range.end_ms).unwrap_or(from);
    for pair in sorted[from..=to].windows(2) {
        let end = pair[0].start_ms + pair[0].duration_ms;
        if pair[1].start_ms > end + GAP_TOLERANCE_MS {
            return Err(RenderError::Gap {
                before: pair[0].seq_no,
                after: pair[1].seq_no,
                gap_ms: pair[1].start_ms - end,
            });
        }
    }
    // One chunk before the in-point's stays available in case that chunk does not start
    // with a keyframe.
    let keep_from = from.saturating_sub(1);
    let selected = sorted[keep_from..=to].to_vec();
    Ok((selected, from - keep_from))
}

/// The local path or URL FFmpeg opens for a chunk's `uri`.
fn location(uri: &str) -> &str {
    uri.strip_prefix("file://").unwrap_or(uri)
}

fn chunk_error(chunk: &Chunk, problem: impl Into<String>) -> RenderError {
    RenderError::Chunk { seq_no: chunk.seq_no, uri: chunk.uri.clone(), problem: problem.into() }
}

fn frame_ticks(frame_rate: Rational) -> i64 {
    if frame_rate.numerator() > 0 && frame_rate.denominator() > 0 {
        90_000 * i64::from(frame_rate.denominator()) / i64::from(frame_rate.numerator())
    } else {
        3_600
    }
}

impl Source {
    /// Reads `chunks` (sorted and consecutive) from the one at `first`, for audio track
    /// `track` (1-based among the audio streams); `needed_end_ms` is where the range ends.
    pub fn open(
        chunks: Vec<Chunk>,
        first: usize,
        track: u32,
        needed_end_ms: u64,
    ) -> Result<Source, RenderError> {
        let chunk = &chunks[first];
        let (opened, video, audio) = open_chunk(chunk, track)?;
        Ok(Source {
            track,
            next: first + 1,
            current: Some(opened),
            needed_end: ms_to_ticks(needed_end_ms),
            decoding: false,
            video,
            audio,
            chunks,
            reference: Fingerprints::default(),
            in_first: true,
        })
    }

    /// The same source, for a reader that decodes its packets.
    pub fn for_decoding(mut self) -> Source {
        self.decoding = true;
        self
    }

    /// The chunk currently being read (for error messages).
    pub fn current_chunk(&self) -> &Chunk {
        &self.chunks[self.next - 1]
    }

    /// An error about the chunk being read.
    pub fn error(&self, problem: impl Into<String>) -> RenderError {
        chunk_error(self.current_chunk(), problem)
    }

    /// The next packet of the video or the audio track in event time, or `None` after the last
    /// chunk.
    pub fn next_packet(&mut self) -> Result<Option<SourcePacket>, RenderError> {
        loop {
            let Some(open) = self.current.as_mut() else {
                return Ok(None);
            };
            let mut packet = match open.pending.pop_front() {
                Some(packet) => packet,
                None => match open.read_more() {
                    Ok(true) => continue,
                    Ok(false) => {
                        self.finish_chunk()?;
                        continue;
                    }
                    Err(e) => return Err(self.error(format!("cannot read packets: {e}"))),
                },
            };
            let (kind, time_base) = if Some(packet.stream()) == open.video_index {
                (Kind::Video, open.video_time_base)
            } else if Some(packet.stream()) == open.audio_index {
                (Kind::Audio, open.audio_time_base)
            } else {
                continue;
            };
            if packet.pts().is_none() {
                packet.set_pts(packet.dts());
            }
            let Some(_) = packet.pts() else { continue };
            if packet.is_corrupt() {
                return Err(self.error("holds a corrupt packet"));
            }
            if self.in_first {
                let data = packet.data().unwrap_or_default();
                let reference = &mut self.reference;
                match kind {
                    Kind::Video if reference.sps.is_none() => {
                        reference.sps = h264_sps(data).map(<[u8]>::to_vec);
                    }
                    Kind::Audio if reference.adts.is_none() => reference.adts = adts_config(data),
                    _ => {}
                }
            }
            packet.rescale_ts(time_base, TIMELINE);
            let pts = packet.pts().unwrap_or(0) + open.offset;
            let dts = packet.dts().map_or(pts, |d| d + open.offset);
            packet.set_pts(Some(pts));
            packet.set_dts(Some(dts));
            if kind == Kind::Video {
                if packet.duration() <= 0 {
                    packet.set_duration(open.frame_ticks);
                }
                open.media_end = open.media_end.max(pts + packet.duration());
            } else if open.video_index.is_none() {
                open.media_end = open.media_end.max(pts + packet.duration().max(0));
            }
            return Ok(Some(SourcePacket { kind, packet }));
        }
    }

    /// At the end of a chunk: checks that it held the frames the range needed from it, and
    /// opens the next one with the same streams.
    fn finish_chunk(&mut self) -> Result<(), RenderError> {
        let chunk = self.current_chunk();
        if let Some(open) = &self.current {
            let declared_end = ms_to_ticks(chunk.start_ms + chunk.duration_ms);
            let needed = declared_end.min(self.needed_end);
            if open.media_end < needed - TRUNCATION_TOLERANCE_MS * TICKS_PER_MS {
                return Err(chunk_error(
                    chunk,
                    format!(
                        "truncated: its frames end at {} ms of event time, its record says {} ms",
                        ticks_to_ms(open.media_end),
                        chunk.start_ms + chunk.duration_ms
                    ),
                ));
            }
        }
        self.current = None;
        self.in_first = false;
        let Some(chunk) = self.chunks.get(self.next) else {
            return Ok(());
        };
        if ms_to_ticks(chunk.start_ms) >= self.needed_end {
            return Ok(());
        }
        if let Some(opened) = self.join_unprobed(chunk) {
            self.current = Some(opened);
            self.next += 1;
            return Ok(());
        }
        let (opened, video, audio) = open_chunk(chunk, self.track)?;
        for (what, first, this) in [("video", &self.video, &video), ("audio", &self.audio, &audio)]
        {
            match (first, this) {
                (Some(first), Some(this)) => {
                    check_same(chunk, what, first, this, self.decoding)?;
                }
                (None, None) => {}
                _ => {
                    return Err(RenderError::Incompatible {
                        seq_no: chunk.seq_no,
                        uri: chunk.uri.clone(),
                        problem: format!("{what} present in one chunk and not the other"),
                    })
                }
            }
        }
        self.current = Some(opened);
        self.next += 1;
        Ok(())
    }
}

impl Source {
    /// Opens `chunk` without probing it, for a stream copy, when its first packets show the
    /// same video and audio as the first chunk's; `None` when they do not or cannot tell (the
    /// chunk is then probed and its streams compared in full).
    fn join_unprobed(&self, chunk: &Chunk) -> Option<OpenChunk> {
        let sps = self.reference.sps.as_deref().filter(|_| !self.decoding)?;
        let first_video = self.video.as_ref()?;
        let pts_start_ms = chunk.pts_start_ms?;
        let input = open_unprobed(location(&chunk.uri))?;
        let video = input.streams().find(|s| s.parameters().medium() == media::Type::Video)?;
        if video.parameters().id() != first_video.parameters.id() {
            return None;
        }
        let audio = usize::try_from(self.track).ok().and_then(|t| t.checked_sub(1)).and_then(|n| {
            input.streams().filter(|s| s.parameters().medium() == media::Type::Audio).nth(n)
        });
        let (video_index, video_time_base) = (video.index(), video.time_base());
        let (audio_index, audio_time_base) = match (&self.audio, audio) {
            (Some(first), Some(this)) if this.parameters().id() == first.parameters.id() => {
                (Some(this.index()), this.time_base())
            }
            (None, None) => (None, TIMELINE),
            _ => return None,
        };
        let mut opened = OpenChunk {
            input,
            video_index: Some(video_index),
            audio_index,
            video_time_base,
            audio_time_base,
            offset: ms_to_ticks(chunk.start_ms) - ms_to_ticks(pts_start_ms),
            media_end: ms_to_ticks(chunk.start_ms),
            frame_ticks: frame_ticks(first_video.frame_rate),
            pending: VecDeque::new(),
            unprobed: true,
            audio_next: None,
        };
        let (mut video_seen, mut audio_seen) = (false, audio_index.is_none());
        let mut checked = 0;
        while !(video_seen && audio_seen) {
            while checked == opened.pending.len() {
                if checked >= FINGERPRINT_PACKETS || !opened.read_more().ok()? {
                    return None;
                }
            }
            let packet = &opened.pending[checked];
            checked += 1;
            let data = packet.data().unwrap_or_default();
            if packet.stream() == video_index && !video_seen {
                if h264_sps(data)? != sps {
                    return None;
                }
                video_seen = true;
            } else if Some(packet.stream()) == audio_index && !audio_seen {
                if adts_config(data)? != self.reference.adts? {
                    return None;
                }
                audio_seen = true;
            }
        }
        Some(opened)
    }
}

/// Opens a media file's container without probing its streams (`avformat_find_stream_info`,
/// which decodes their first frames): MPEG-TS knows its streams, codecs and time bases from
/// its program table, MP4 from its header. `None` when it cannot be opened.
#[allow(unsafe_code)]
fn open_unprobed(location: &str) -> Option<Input> {
    let path = CString::new(location).ok()?;
    let mut context = std::ptr::null_mut();
    // SAFETY: `context` starts null, as avformat_open_input requires, and `path` is a valid
    // C string that outlives the call. On success the context is fully opened and `Input`
    // takes ownership of it (it closes it when dropped); on failure FFmpeg frees what it
    // allocated and leaves `context` null, so nothing is wrapped.
    let opened = unsafe {
        ffmpeg_next::ffi::avformat_open_input(
            &mut context,
            path.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    // SAFETY: see above; `context` is an open input context owned by nobody else.
    (opened == 0).then(|| unsafe { Input::wrap(context) })
}

/// An opened chunk with its video and audio streams.
type Opened = (OpenChunk, Option<StreamInfo>, Option<StreamInfo>);

/// Opens one chunk and finds its video and audio track (a chunk with sound only has no
/// video, and must have the track).
fn open_chunk(chunk: &Chunk, track: u32) -> Result<Opened, RenderError> {
    let input = format::input(location(&chunk.uri))
        .map_err(|e| chunk_error(chunk, format!("cannot open: {e}")))?;
    let video_stream = input.streams().best(media::Type::Video);
    let audio_streams: Vec<_> =
        input.streams().filter(|s| s.parameters().medium() == media::Type::Audio).collect();
    let audio_stream = match usize::try_from(track).ok().and_then(|t| t.checked_sub(1)) {
        Some(n) if n < audio_streams.len() => Some(&audio_streams[n]),
        _ if audio_streams.is_empty() && track == 1 && video_stream.is_some() => None,
        _ if audio_streams.is_empty() && video_stream.is_none() => {
            return Err(chunk_error(chunk, "has no video or audio stream"))
        }
        _ => {
            return Err(chunk_error(
                chunk,
                format!("has no audio track {track} ({} audio streams)", audio_streams.len()),
            ))
        }
    };
    let video = video_stream.as_ref().map(|s| StreamInfo {
        parameters: s.parameters(),
        time_base: s.time_base(),
        frame_rate: match s.avg_frame_rate() {
            r if r.numerator() > 0 => r,
            _ => s.rate(),
        },
    });
    let audio = audio_stream.map(|s| StreamInfo {
        parameters: s.parameters(),
        time_base: s.time_base(),
        frame_rate: Rational(0, 1),
    });
    let anchor = match chunk.pts_start_ms {
        Some(pts_start_ms) => ms_to_ticks(pts_start_ms),
        None => {
            // The stream that times the chunk: its video, or its audio when it has none.
            let (start, time_base) = match (&video_stream, audio_stream) {
                (Some(s), _) | (None, Some(s)) => (s.start_time(), s.time_base()),
                (None, None) => (ffmpeg_next::ffi::AV_NOPTS_VALUE, TIMELINE),
            };
            if start == ffmpeg_next::ffi::AV_NOPTS_VALUE {
                return Err(chunk_error(
                    chunk,
                    "it has no start time: give pts_start in the chunk record",
                ));
            }
            start.rescale(time_base, TIMELINE)
        }
    };
    let opened = OpenChunk {
        video_index: video_stream.as_ref().map(|s| s.index()),
        audio_index: audio_stream.map(|s| s.index()),
        video_time_base: video.as_ref().map_or(TIMELINE, |v| v.time_base),
        audio_time_base: audio.as_ref().map_or(TIMELINE, |a| a.time_base),
        offset: ms_to_ticks(chunk.start_ms) - anchor,
        media_end: ms_to_ticks(chunk.start_ms),
        frame_ticks: frame_ticks(video.as_ref().map_or(Rational(0, 1), |v| v.frame_rate)),
        input,
        pending: VecDeque::new(),
        unprobed: false,
        audio_next: None,
    };
    Ok((opened, video, audio))
}

/// The name of a codec when chunks are compared: MPEG audio layers I, II and III are one
/// (the demuxer of an MPEG-TS chunk names its MPEG audio from the first frames it happens to
/// probe, MP2 in one chunk and MP3 in the next, and one decoder reads every layer).
fn codec_family(id: codec::Id) -> String {
    match id {
        codec::Id::MP1 | codec::Id::MP2 | codec::Id::MP3 => "MPEG audio".to_owned(),
        id => format!("{id:?}"),
    }
}

/// The codec facts that must agree for packets of two chunks to share one output stream.
fn describe(parameters: &Parameters) -> String {
    let id = codec_family(parameters.id());
    let Ok(context) = codec::Context::from_parameters(parameters.clone()) else {
        return id;
    };
    match parameters.medium() {
        media::Type::Video => match context.decoder().video() {
            Ok(v) => format!("{id} {}x{} {:?}", v.width(), v.height(), v.format()),
            Err(_) => id,
        },
        media::Type::Audio => match context.decoder().audio() {
            Ok(a) => format!("{id} {} Hz {} channels", a.rate(), a.channels()),
            Err(_) => id,
        },
        _ => id,
    }
}

fn check_same(
    chunk: &Chunk,
    what: &str,
    first: &StreamInfo,
    this: &StreamInfo,
    codec_only: bool,
) -> Result<(), RenderError> {
    let (expected, found) = if codec_only {
        (codec_family(first.parameters.id()), codec_family(this.parameters.id()))
    } else {
        (describe(&first.parameters), describe(&this.parameters))
    };
    if expected != found {
        return Err(RenderError::Incompatible {
            seq_no: chunk.seq_no,
            uri: chunk.uri.clone(),
            problem: format!("its {what} is {found}, the first chunk's is {expected}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(seq_no: u64, start_ms: u64, duration_ms: u64) -> Chunk {
        Chunk {
            event_id: "e".into(),
            seq_no,
            uri: format!("c{seq_no}.ts"),
            start_ms,
            duration_ms,
            pts_start_ms: None,
            error: None,
            extra: Default::default(),
        }
    }

    #[test]
    fn picks_the_chunks_of_a_range_and_one_before() {
        let chunks = [chunk(2, 4000, 2000), chunk(0, 0, 2000), chunk(1, 2000, 2000)];
        let (selected, first) = chunks_for(&chunks, EventRange::new(2500, 4100)).unwrap();
        let seqs: Vec<u64> = selected.iter().map(|c| c.seq_no).collect();
        assert_eq!((seqs, first), (vec![0, 1, 2], 1));
        let (selected, first) = chunks_for(&chunks, EventRange::new(0, 2000)).unwrap();
        assert_eq!((selected.len(), first), (1, 0));
    }

    #[test]
    fn rejects_holes_and_uncovered_ranges() {
        let chunks = [chunk(0, 0, 2000), chunk(2, 4000, 2000)];
        let error = chunks_for(&chunks, EventRange::new(1000, 5000)).unwrap_err();
        assert!(matches!(error, RenderError::Gap { before: 0, after: 2, gap_ms: 2000 }), "{error}");
        let error = chunks_for(&chunks, EventRange::new(5000, 6001)).unwrap_err();
        assert!(matches!(error, RenderError::NotCovered { covered_end_ms: 6000, .. }), "{error}");
        let error = chunks_for(&chunks, EventRange::new(10, 10)).unwrap_err();
        assert!(matches!(error, RenderError::EmptyRange { .. }), "{error}");
        assert!(matches!(
            chunks_for(&[], EventRange::new(0, 1)).unwrap_err(),
            RenderError::NoChunks { .. }
        ));
    }

    #[test]
    fn mpeg_audio_layers_are_one_codec_and_others_their_own() {
        assert_eq!(codec_family(codec::Id::MP2), codec_family(codec::Id::MP3));
        assert_eq!(codec_family(codec::Id::MP1), "MPEG audio");
        assert_eq!(codec_family(codec::Id::AAC), "AAC");
        assert_ne!(codec_family(codec::Id::AAC), codec_family(codec::Id::AC3));
    }

    #[test]
    fn milliseconds_and_ticks() {
        assert_eq!(ms_to_ticks(1480), 133_200);
        assert_eq!(ticks_to_ms(133_244), 1480);
        assert_eq!(ticks_to_ms(133_245), 1481);
        assert_eq!(ticks_to_ms(-5), 0);
    }
}
