//! Reading a source's HLS media playlists: once (VOD), or followed while they grow (live).
//!
//! Only what ingest needs is read: `#EXTINF` durations, segment URIs (relative ones are
//! resolved against the playlist's folder), `#EXT-X-MEDIA-SEQUENCE` (so a live playlist whose
//! window slides yields each segment once) and `#EXT-X-ENDLIST`. A master playlist is
//! followed to its first variant.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A segment of a media playlist.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaylistSegment {
    /// Its media sequence number.
    pub sequence: u64,
    /// Where it is: the URI resolved against the playlist's folder (or the URL as written).
    pub path: PathBuf,
    /// Its `#EXTINF` duration in seconds.
    pub duration_seconds: f64,
}

/// A media playlist as read at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaPlaylist {
    /// Its segments, in order.
    pub segments: Vec<PlaylistSegment>,
    /// Whether it has `#EXT-X-ENDLIST` (no segment will be added).
    pub ended: bool,
}

/// Why a playlist could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HlsError {
    /// The playlist could not be read.
    #[error("cannot read playlist {path:?}: {source}")]
    Io {
        /// The playlist.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not an HLS playlist, or breaks its syntax.
    #[error("{path:?} line {line}: {message}")]
    Syntax {
        /// The playlist.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A master playlist without variants.
    #[error("master playlist {path:?} lists no variant")]
    NoVariant {
        /// The playlist.
        path: PathBuf,
    },
}

/// Reads the media playlist at `path` (a master playlist is followed to its first variant).
pub fn read_playlist(path: &Path) -> Result<MediaPlaylist, HlsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| HlsError::Io { path: path.to_owned(), source })?;
    let base = path.parent().unwrap_or(Path::new("."));
    if text.lines().any(|l| l.starts_with("#EXT-X-STREAM-INF")) {
        let variant = text
            .lines()
            .skip_while(|l| !l.starts_with("#EXT-X-STREAM-INF"))
            .skip(1)
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .ok_or_else(|| HlsError::NoVariant { path: path.to_owned() })?;
        return read_playlist(&resolve(base, variant.trim()));
    }
    parse_media_playlist(&text, base).map_err(|(line, message)| HlsError::Syntax {
        path: path.to_owned(),
        line,
        message,
    })
}

/// A URI of a playlist in folder `base`: URLs as written, relative paths joined to `base`.
fn resolve(base: &Path, uri: &str) -> PathBuf {
    if uri.contains("://") || Path::new(uri).is_absolute() {
        PathBuf::from(uri)
    } else {
        base.join(uri)
    }
}

/// Parses a media playlist; an error is `(line number, message)`.
fn parse_media_playlist(text: &str, base: &Path) -> Result<MediaPlaylist, (usize, String)> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    match lines.next() {
        Some((_, "#EXTM3U")) => {}
        _ => return Err((1, "not an HLS playlist: the first line is not #EXTM3U".into())),
    }
    let mut sequence = 0u64;
    let mut pending_duration: Option<f64> = None;
    let mut segments = Vec::new();
    let mut ended = false;
    for (number, line) in lines {
        if line.is_empty() {
            continue;
        }
        if let Some(value) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            sequence = value
                .trim()
                .parse()
                .map_err(|_| (number, format!("media sequence {value:?} is not a number")))?;
        } else if let Some(value) = line.strip_prefix("#EXTINF:") {
            let duration = value.split(',').next().unwrap_or_default().trim();
            let seconds: f64 =
                duration
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| (number, format!("duration {duration:?} is not a number")))?;
            pending_duration = Some(seconds);
        } else if line == "#EXT-X-ENDLIST" {
            ended = true;
        } else if !line.starts_with('#') {
            let duration_seconds = pending_duration
                .take()
                .ok_or_else(|| (number, format!("segment {line:?} has no #EXTINF before it")))?;
            segments.push(PlaylistSegment {
                sequence: sequence + segments.len() as u64,
                path: resolve(base, line),
                duration_seconds,
            });
        }
    }
    Ok(MediaPlaylist { segments, ended })
}

/// Follows a live playlist: re-reads it every `poll_interval` and hands each new segment to
/// `on_segment` once, in order, until the playlist has `#EXT-X-ENDLIST` or `stop` is set.
/// A VOD playlist is handed over whole and the call returns.
pub fn follow(
    path: &Path,
    poll_interval: Duration,
    stop: &AtomicBool,
    mut on_segment: impl FnMut(&PlaylistSegment),
) -> Result<(), HlsError> {
    let mut next_sequence = 0u64;
    loop {
        let playlist = read_playlist(path)?;
        let first_new = next_sequence;
        for segment in playlist.segments.iter().filter(|s| s.sequence >= first_new) {
            on_segment(segment);
            next_sequence = segment.sequence + 1;
        }
        if playlist.ended || stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        std::thread::sleep(poll_interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_segments_with_sequence_numbers() {
        let text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:7\n\
                    #EXTINF:4.000,\na.ts\n#EXTINF:3.5,\nhttp://host/b.ts\n#EXT-X-ENDLIST\n";
        let playlist = parse_media_playlist(text, Path::new("/media")).unwrap();
        assert!(playlist.ended);
        assert_eq!(
            playlist.segments,
            [
                PlaylistSegment {
                    sequence: 7,
                    path: PathBuf::from("/media/a.ts"),
                    duration_seconds: 4.0
                },
                PlaylistSegment {
                    sequence: 8,
                    path: PathBuf::from("http://host/b.ts"),
                    duration_seconds: 3.5
                },
            ]
        );
    }

    #[test]
    fn names_the_line_of_a_bad_duration() {
        let text = "#EXTM3U\n#EXTINF:four,\na.ts\n";
        assert_eq!(
            parse_media_playlist(text, Path::new(".")).unwrap_err(),
            (2, "duration \"four\" is not a number".to_owned())
        );
        assert_eq!(parse_media_playlist("hello\n", Path::new(".")).unwrap_err().0, 1);
        let text = "#EXTM3U\na.ts\n";
        assert!(parse_media_playlist(text, Path::new(".")).unwrap_err().1.contains("#EXTINF"));
    }
}
