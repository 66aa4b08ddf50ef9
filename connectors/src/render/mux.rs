//! Writing packets to files: one MP4, or a run of MPEG-TS segments for HLS.
//!
//! Packets arrive with timestamps in [`TIMELINE`] ticks from the start of the output. Each
//! writer keeps DTS strictly increasing per stream (joins of chunks whose clocks disagree by a
//! tick must not make a muxer refuse a packet), writes under a temporary name and renames on
//! [`Cleanup::commit`]; [`Cleanup`] removes every file of a render that did not complete.

use std::fs;
use std::path::{Path, PathBuf};

use ffmpeg_next::codec::Parameters;
use ffmpeg_next::format::context::Output;
use ffmpeg_next::{codec, encoder, format, Dictionary, Packet, Rational};

use super::source::{Kind, TIMELINE};
use super::RenderError;
use crate::hls_writer::HlsSegment;

/// MPEG-TS output starts at 1.4 s, as FFmpeg's own HLS muxer does: B-frame reordering makes
/// the first DTS earlier than the first PTS, and a TS timeline must not go below zero.
const TS_OFFSET_TICKS: i64 = 126_000;

/// Files of a render in progress. Finished files wait under their temporary names and are
/// renamed into place together by [`Cleanup::commit`], the manifest last; dropped without a
/// commit (an error, a cancellation), it removes every file of the render, so the outputs of
/// an earlier render with the same names stay whole.
#[derive(Default)]
pub(crate) struct Cleanup {
    paths: Vec<PathBuf>,
    renames: Vec<(PathBuf, PathBuf)>,
}

impl Cleanup {
    /// Remembers a file to remove if the render does not complete.
    pub fn add(&mut self, path: PathBuf) {
        self.paths.push(path);
    }

    /// A finished file under its temporary name, to rename to `path` on commit.
    pub fn rename_on_commit(&mut self, partial: PathBuf, path: PathBuf) {
        self.paths.push(partial.clone());
        self.renames.push((partial, path));
    }

    /// The render completed: renames its files into place, in the order they were given.
    pub fn commit(mut self) -> Result<(), RenderError> {
        for (partial, path) in std::mem::take(&mut self.renames) {
            rename_into_place(&partial, &path)?;
        }
        self.paths.clear();
        Ok(())
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for path in &self.paths {
            // Best effort: a file that was never created is fine.
            let _ = fs::remove_file(path);
        }
    }
}

/// The temporary name beside `path` that a file is written under before its rename.
pub(crate) fn temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Renames a finished temporary file into place.
pub(crate) fn rename_into_place(from: &Path, to: &Path) -> Result<(), RenderError> {
    fs::rename(from, to).map_err(|e| RenderError::Output {
        path: to.to_owned(),
        problem: format!("rename from {from:?}: {e}"),
    })
}

/// Clears the codec tag of a stream whose parameters were copied from another container.
///
/// A tag is the container's own name for a codec (MPEG-TS calls H.264 `0x1b`); MP4 refuses a
/// tag it does not know, and with the tag cleared it picks its own. ffmpeg-next 9 has no safe
/// setter for it.
#[allow(unsafe_code)]
pub(crate) fn clear_codec_tag(parameters: &mut Parameters) {
    // SAFETY: `parameters` owns a valid AVCodecParameters for its whole lifetime (ffmpeg-next
    // allocates it in `Parameters::new`/`clone`), and `codec_tag` is a plain integer field.
    unsafe {
        (*parameters.as_mut_ptr()).codec_tag = 0;
    }
}

/// The container's tag of a stream's codec (an AVI FourCC such as `XVID` read as a
/// little-endian number; 0 when the container has none). ffmpeg-next 9 has no safe getter
/// for it.
#[allow(unsafe_code)]
pub(crate) fn codec_tag(parameters: &Parameters) -> u32 {
    // SAFETY: as in `clear_codec_tag`: a valid AVCodecParameters, read as a plain integer.
    unsafe { (*parameters.as_ptr()).codec_tag }
}

/// One output container with a video stream, an audio stream or both (sound only: a radio
/// commentary).
struct Container {
    output: Output,
    video: Option<usize>,
    audio: Option<usize>,
    last_dts: [Option<i64>; 2],
    offset: i64,
}

impl Container {
    fn create(
        path: &Path,
        format_name: &str,
        video: Option<&Parameters>,
        audio: Option<&Parameters>,
        options: Dictionary,
        offset: i64,
    ) -> Result<Container, RenderError> {
        let fail = |e: ffmpeg_next::Error| RenderError::Output {
            path: path.to_owned(),
            problem: e.to_string(),
        };
        let mut output = format::output_as(path, format_name).map_err(fail)?;
        let mut add = |parameters: &Parameters| -> Result<usize, RenderError> {
            let mut stream = output.add_stream(encoder::find(codec::Id::None)).map_err(fail)?;
            let mut parameters = parameters.clone();
            clear_codec_tag(&mut parameters);
            stream.set_parameters(parameters);
            stream.set_time_base(TIMELINE);
            Ok(stream.index())
        };
        let video = video.map(&mut add).transpose()?;
        let audio = audio.map(&mut add).transpose()?;
        output.write_header_with(options).map_err(fail)?;
        Ok(Container { output, video, audio, last_dts: [None, None], offset })
    }

    fn write(&mut self, kind: Kind, mut packet: Packet, path: &Path) -> Result<(), RenderError> {
        let (index, slot) = match (kind, self.video, self.audio) {
            (Kind::Video, Some(index), _) => (index, 0),
            (Kind::Audio, _, Some(index)) => (index, 1),
            _ => return Ok(()),
        };
        let pts = packet.pts().unwrap_or(0) + self.offset;
        let dts = packet.dts().unwrap_or(pts - self.offset) + self.offset;
        packet.set_pts(Some(pts));
        packet.set_dts(Some(dts));
        packet.set_position(-1);
        packet.set_stream(index);
        let time_base = self.time_base(index);
        packet.rescale_ts(TIMELINE, time_base);
        // DTS must increase in the stream's own time base (1/48000 for 48 kHz audio, say), so
        // two packets a tick apart on the timeline, where chunks join, are told apart there.
        let mut dts = packet.dts().unwrap_or(0);
        if let Some(last) = self.last_dts[slot] {
            if dts <= last {
                dts = last + 1;
            }
        }
        self.last_dts[slot] = Some(dts);
        packet.set_pts(Some(packet.pts().unwrap_or(dts).max(dts)));
        packet.set_dts(Some(dts));
        packet.write_interleaved(&mut self.output).map_err(|e| RenderError::Output {
            path: path.to_owned(),
            problem: format!("cannot write a packet: {e}"),
        })
    }

    fn time_base(&self, index: usize) -> Rational {
        self.output.stream(index).map_or(TIMELINE, |s| s.time_base())
    }

    fn finish(mut self, path: &Path) -> Result<(), RenderError> {
        self.output.write_trailer().map_err(|e| RenderError::Output {
            path: path.to_owned(),
            problem: format!("cannot finish the file: {e}"),
        })
    }
}

/// An MP4 file being written, with its index at the front so it plays while downloading.
pub(crate) struct Mp4Writer {
    container: Container,
    path: PathBuf,
    partial: PathBuf,
}

impl Mp4Writer {
    /// Starts `path` (written as `path.partial` until [`Mp4Writer::finish`]).
    pub fn create(
        path: &Path,
        video: Option<&Parameters>,
        audio: Option<&Parameters>,
        cleanup: &mut Cleanup,
    ) -> Result<Mp4Writer, RenderError> {
        let partial = temporary(path);
        cleanup.add(partial.clone());
        let mut options = Dictionary::new();
        options.set("movflags", "+faststart");
        let container = Container::create(&partial, "mp4", video, audio, options, 0)?;
        Ok(Mp4Writer { container, path: path.to_owned(), partial })
    }

    /// Writes one packet.
    pub fn write(&mut self, kind: Kind, packet: Packet) -> Result<(), RenderError> {
        self.container.write(kind, packet, &self.partial)
    }

    /// Completes the file; it is renamed into place when `cleanup` commits.
    pub fn finish(self, cleanup: &mut Cleanup) -> Result<(), RenderError> {
        self.container.finish(&self.partial)?;
        cleanup.rename_on_commit(self.partial, self.path);
        Ok(())
    }
}

/// MPEG-TS segments of one continuous timeline, each starting on a video keyframe, or, with
/// sound only, on an audio frame.
pub(crate) struct HlsSegmenter {
    dir: PathBuf,
    stem: String,
    target_ticks: i64,
    video: Option<Parameters>,
    audio: Option<Parameters>,
    current: Option<(Container, PathBuf, i64)>,
    segments: Vec<HlsSegment>,
    /// End of the latest frame of the stream segments start on.
    lead_end: i64,
    /// Timestamps of the first segment's packets, kept by the later ones too.
    offset: i64,
}

impl HlsSegmenter {
    /// Segments named `<stem>-00000.ts`, ... in `dir`, each at least `target_ms` long where
    /// keyframes allow.
    pub fn new(
        dir: &Path,
        stem: &str,
        target_ms: u64,
        video: Option<&Parameters>,
        audio: Option<&Parameters>,
    ) -> HlsSegmenter {
        HlsSegmenter {
            dir: dir.to_owned(),
            stem: stem.to_owned(),
            target_ticks: super::source::ms_to_ticks(target_ms),
            video: video.cloned(),
            audio: audio.cloned(),
            current: None,
            segments: Vec::new(),
            lead_end: 0,
            offset: TS_OFFSET_TICKS,
        }
    }

    /// Writes one packet, starting a new segment at a video keyframe (an audio frame, with
    /// sound only) once the current one is long enough.
    pub fn write(
        &mut self,
        kind: Kind,
        packet: Packet,
        cleanup: &mut Cleanup,
    ) -> Result<(), RenderError> {
        let pts = packet.pts().unwrap_or(0);
        let sound_only = self.video.is_none();
        if kind == Kind::Video || sound_only {
            let start_new = match &self.current {
                None => true,
                Some((_, _, start)) => {
                    (packet.is_key() || sound_only) && pts - start >= self.target_ticks
                }
            };
            if start_new {
                self.close_segment(pts)?;
                let name = format!("{}-{:05}.ts", self.stem, self.segments.len());
                let path = self.dir.join(&name);
                let partial = temporary(&path);
                cleanup.add(partial.clone());
                cleanup.add(path);
                let container = Container::create(
                    &partial,
                    "mpegts",
                    self.video.as_ref(),
                    self.audio.as_ref(),
                    Dictionary::new(),
                    self.offset,
                )?;
                self.current = Some((container, partial, pts));
            }
            self.lead_end = self.lead_end.max(pts + packet.duration().max(0));
        }
        match self.current.as_mut() {
            Some((container, partial, _)) => container.write(kind, packet, partial),
            // Audio before the first video keyframe has no segment to go in.
            None => Ok(()),
        }
    }

    fn close_segment(&mut self, end: i64) -> Result<(), RenderError> {
        let Some((container, partial, start)) = self.current.take() else {
            return Ok(());
        };
        container.finish(&partial)?;
        let name = format!("{}-{:05}.ts", self.stem, self.segments.len());
        rename_into_place(&partial, &self.dir.join(&name))?;
        self.segments.push(HlsSegment { uri: name, duration_ms: ticks_ms(end - start) });
        Ok(())
    }

    /// Completes the last segment; returns every segment in order.
    pub fn finish(mut self) -> Result<Vec<HlsSegment>, RenderError> {
        let end = self.lead_end;
        self.close_segment(end)?;
        Ok(self.segments)
    }
}

fn ticks_ms(ticks: i64) -> u64 {
    super::source::ticks_to_ms(ticks)
}
