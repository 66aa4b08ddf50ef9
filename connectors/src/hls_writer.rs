//! Writing the HLS playlists of rendered clips and replays (RFC 8216, version 3).
//!
//! The media they list are MPEG-TS segments written by [`crate::render`], each starting on a
//! keyframe with its own PAT/PMT, H.264 video and AAC audio (ADTS): the one form that hls.js,
//! Safari and FFmpeg all play without an init segment. Three kinds of playlist:
//!
//! - [`EventPlaylist`]: per event and audio track, grows as clips complete
//!   (`#EXT-X-PLAYLIST-TYPE:EVENT`, an `#EXT-X-DISCONTINUITY` before every clip after the
//!   first since each clip has its own timeline, `#EXT-X-ENDLIST` once the event has ended).
//!   An EVENT playlist may only be appended to and its target duration may not change, so
//!   the target is fixed when the playlist is made and a longer segment is refused.
//! - [`vod_playlist`]: one rendition of a replay (`#EXT-X-PLAYLIST-TYPE:VOD`).
//! - [`master_playlist`]: one `#EXT-X-STREAM-INF` variant per rendition.
//!
//! The text is built here; [`write_playlist`] puts it on disk atomically.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use thiserror::Error;

/// One media segment: a file beside the playlist and its duration.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HlsSegment {
    /// The segment's URI relative to the playlist (a file name).
    pub uri: String,
    /// Its duration in milliseconds.
    pub duration_ms: u64,
}

/// A playlist that cannot be made as asked.
#[derive(Debug, Error)]
pub enum HlsError {
    /// A segment longer than the playlist's target duration allows.
    #[error("segment {uri:?} lasts {duration_ms} ms, more than the target duration of {target_s} s allows; make the playlist with a larger target or cut shorter segments")]
    SegmentTooLong {
        /// The segment.
        uri: String,
        /// Its duration.
        duration_ms: u64,
        /// The playlist's target duration in seconds.
        target_s: u64,
    },
    /// A clip without segments.
    #[error("a clip of an event playlist needs at least one segment")]
    EmptyClip,
    /// Writing the playlist failed.
    #[error("cannot write {path:?}: {source}")]
    Io {
        /// The playlist file.
        path: std::path::PathBuf,
        /// What the system said.
        source: io::Error,
    },
}

/// The protocol version: floating-point `#EXTINF` durations need 3; nothing here needs more.
const VERSION: u32 = 3;

/// The `#EXT-X-TARGETDURATION` a list of segments needs: the longest, rounded up to seconds.
pub fn target_duration_s(segments: &[HlsSegment]) -> u64 {
    segments.iter().map(|s| s.duration_ms.div_ceil(1000)).max().unwrap_or(1).max(1)
}

fn extinf(text: &mut String, segment: &HlsSegment) {
    let _ = writeln!(
        text,
        "#EXTINF:{}.{:03},\n{}",
        segment.duration_ms / 1000,
        segment.duration_ms % 1000,
        segment.uri
    );
}

/// An event's growing playlist of clips, in the order they were added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPlaylist {
    target_s: u64,
    clips: Vec<Vec<HlsSegment>>,
    ended: bool,
}

impl EventPlaylist {
    /// An empty playlist whose segments may last up to `target_s` seconds (rounded).
    pub fn new(target_s: u64) -> EventPlaylist {
        EventPlaylist { target_s: target_s.max(1), clips: Vec::new(), ended: false }
    }

    /// Appends a clip's segments.
    pub fn add_clip(&mut self, segments: Vec<HlsSegment>) -> Result<(), HlsError> {
        if segments.is_empty() {
            return Err(HlsError::EmptyClip);
        }
        // A duration counts as its nearest whole second against the target (RFC 8216 4.3.3.1).
        if let Some(long) = segments.iter().find(|s| (s.duration_ms + 500) / 1000 > self.target_s) {
            return Err(HlsError::SegmentTooLong {
                uri: long.uri.clone(),
                duration_ms: long.duration_ms,
                target_s: self.target_s,
            });
        }
        self.clips.push(segments);
        Ok(())
    }

    /// Marks the event as ended: the playlist gets `#EXT-X-ENDLIST` and is complete.
    pub fn end(&mut self) {
        self.ended = true;
    }

    /// The playlist text.
    pub fn to_m3u8(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "#EXTM3U\n#EXT-X-VERSION:{VERSION}");
        let _ = writeln!(text, "#EXT-X-TARGETDURATION:{}", self.target_s);
        text.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n");
        for (index, clip) in self.clips.iter().enumerate() {
            if index > 0 {
                text.push_str("#EXT-X-DISCONTINUITY\n");
            }
            for segment in clip {
                extinf(&mut text, segment);
            }
        }
        if self.ended {
            text.push_str("#EXT-X-ENDLIST\n");
        }
        text
    }
}

/// A complete playlist of one continuous rendition.
pub fn vod_playlist(segments: &[HlsSegment]) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "#EXTM3U\n#EXT-X-VERSION:{VERSION}");
    let _ = writeln!(text, "#EXT-X-TARGETDURATION:{}", target_duration_s(segments));
    text.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n");
    for segment in segments {
        extinf(&mut text, segment);
    }
    text.push_str("#EXT-X-ENDLIST\n");
    text
}

/// One rendition listed by a master playlist.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Variant {
    /// Its playlist's URI relative to the master playlist.
    pub uri: String,
    /// Peak bit rate in bits per second: the highest of any segment.
    pub bandwidth: u64,
    /// Average bit rate in bits per second over the whole rendition.
    pub average_bandwidth: u64,
    /// Width in pixels (0 for sound only: no `RESOLUTION`).
    pub width: u32,
    /// Height in pixels (0 for sound only).
    pub height: u32,
    /// RFC 6381 codecs, such as `avc1.64001f,mp4a.40.2`.
    pub codecs: String,
}

/// A master playlist with one variant per rendition, in the order given.
pub fn master_playlist(variants: &[Variant]) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "#EXTM3U\n#EXT-X-VERSION:{VERSION}");
    for variant in variants {
        // A rendition of sound only has no picture, so no resolution (RFC 8216 §4.3.4.2).
        let resolution = if variant.width > 0 && variant.height > 0 {
            format!(",RESOLUTION={}x{}", variant.width, variant.height)
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={}{resolution},CODECS=\"{}\"\n{}",
            variant.bandwidth.max(1),
            variant.average_bandwidth.max(1),
            variant.codecs,
            variant.uri
        );
    }
    text
}

/// The RFC 6381 name of H.264 video (`avc1.PPCCLL`) from an Annex B packet that holds its
/// sequence parameter set, as every keyframe of our segments does.
pub fn avc_codec(annex_b: &[u8]) -> Option<String> {
    match crate::render::fingerprint::h264_sps(annex_b)? {
        [_, profile, constraints, level, ..] => {
            Some(format!("avc1.{profile:02x}{constraints:02x}{level:02x}"))
        }
        _ => None,
    }
}

/// Writes a playlist atomically (temporary name in the same folder, then rename).
pub fn write_playlist(path: &Path, text: &str) -> Result<(), HlsError> {
    let io_error = |source| HlsError::Io { path: path.to_owned(), source };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    fs::write(&partial, text).map_err(io_error)?;
    fs::rename(&partial, path).map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(uri: &str, duration_ms: u64) -> HlsSegment {
        HlsSegment { uri: uri.into(), duration_ms }
    }

    #[test]
    fn event_playlist_grows_with_discontinuities_and_ends() {
        let mut playlist = EventPlaylist::new(6);
        playlist.add_clip(vec![segment("a-0.ts", 4000), segment("a-1.ts", 1960)]).unwrap();
        playlist.add_clip(vec![segment("b-0.ts", 5500)]).unwrap();
        let growing = playlist.to_m3u8();
        assert_eq!(
            growing,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-PLAYLIST-TYPE:EVENT\n#EXTINF:4.000,\na-0.ts\n#EXTINF:1.960,\na-1.ts\n\
             #EXT-X-DISCONTINUITY\n#EXTINF:5.500,\nb-0.ts\n"
        );
        playlist.end();
        assert_eq!(playlist.to_m3u8(), format!("{growing}#EXT-X-ENDLIST\n"));
    }

    #[test]
    fn event_playlist_refuses_segments_beyond_its_target() {
        let mut playlist = EventPlaylist::new(6);
        playlist.add_clip(vec![segment("ok.ts", 6499)]).unwrap();
        let error = playlist.add_clip(vec![segment("long.ts", 6500)]).unwrap_err();
        assert!(error.to_string().contains("\"long.ts\" lasts 6500 ms"), "{error}");
        assert!(matches!(playlist.add_clip(vec![]), Err(HlsError::EmptyClip)));
    }

    #[test]
    fn vod_target_duration_is_rounded_up() {
        let text = vod_playlist(&[segment("0.ts", 6000), segment("1.ts", 6040)]);
        assert!(text.contains("#EXT-X-TARGETDURATION:7\n"), "{text}");
        assert!(text.ends_with("#EXTINF:6.040,\n1.ts\n#EXT-X-ENDLIST\n"), "{text}");
    }

    #[test]
    fn master_lists_one_variant_per_rendition() {
        let text = master_playlist(&[Variant {
            uri: "720p/replay.m3u8".into(),
            bandwidth: 2_000_000,
            average_bandwidth: 1_500_000,
            width: 1280,
            height: 720,
            codecs: "avc1.64001f,mp4a.40.2".into(),
        }]);
        assert_eq!(
            text,
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,\
             AVERAGE-BANDWIDTH=1500000,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\"\n\
             720p/replay.m3u8\n"
        );
    }

    #[test]
    fn reads_the_codec_from_a_sequence_parameter_set() {
        let packet = [0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac];
        assert_eq!(avc_codec(&packet).as_deref(), Some("avc1.64001f"));
        assert_eq!(avc_codec(&[0, 0, 1, 0x65, 1, 2, 3]), None);
    }
}
