//! Reading a source's HLS media playlists: once (VOD), or followed while they grow (live).
//!
//! Only what ingest needs is read: `#EXTINF` durations, segment URIs (relative ones are
//! resolved against the playlist's folder), `#EXT-X-MEDIA-SEQUENCE` (so a live playlist whose
//! window slides yields each segment once), `#EXT-X-ENDLIST`, and for fragmented MP4 (CMAF)
//! segments `#EXT-X-MAP` (the initialisation segment) and `#EXT-X-BYTERANGE` (a segment that
//! is part of a larger file). A master playlist is followed to its first variant.
//!
//! An MPEG-TS segment is a file FFmpeg reads on its own. A CMAF segment is not (it needs its
//! initialisation segment), nor is a byte range: [`standalone`] writes such a segment out as a
//! chunk file of its own (the initialisation segment, then the segment's bytes), which is a
//! valid fragmented MP4.

use std::io::{Read, Seek, SeekFrom, Write};
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
    /// The part of `path` it is (`#EXT-X-BYTERANGE`), or `None` for the whole file.
    pub range: Option<ByteRange>,
    /// Its initialisation segment (`#EXT-X-MAP`), for fragmented MP4.
    pub init: Option<(PathBuf, Option<ByteRange>)>,
}

/// Bytes `[offset, offset + length)` of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// Where the range starts.
    pub offset: u64,
    /// How many bytes it holds.
    pub length: u64,
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
    /// A segment (or its initialisation segment) could not be read, or written out whole.
    #[error("segment {sequence}: cannot read {path:?}: {source}")]
    Segment {
        /// Its media sequence number.
        sequence: u64,
        /// The file that could not be read or written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
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
    let mut pending_range: Option<(u64, Option<u64>)> = None;
    let mut init: Option<(PathBuf, Option<ByteRange>)> = None;
    // Where the last byte range of each file ended: a range without an offset follows it.
    let mut range_end: Option<(PathBuf, u64)> = None;
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
        } else if let Some(value) = line.strip_prefix("#EXT-X-BYTERANGE:") {
            pending_range = Some(parse_range(value).map_err(|message| (number, message))?);
        } else if let Some(attributes) = line.strip_prefix("#EXT-X-MAP:") {
            let uri = attribute(attributes, "URI")
                .ok_or_else(|| (number, "#EXT-X-MAP has no URI".to_owned()))?;
            let range = match attribute(attributes, "BYTERANGE") {
                Some(text) => match parse_range(&text).map_err(|message| (number, message))? {
                    (length, Some(offset)) => Some(ByteRange { offset, length }),
                    (_, None) => {
                        return Err((number, "#EXT-X-MAP's BYTERANGE needs an offset".into()))
                    }
                },
                None => None,
            };
            init = Some((resolve(base, &uri), range));
        } else if line == "#EXT-X-ENDLIST" {
            ended = true;
        } else if !line.starts_with('#') {
            let duration_seconds = pending_duration
                .take()
                .ok_or_else(|| (number, format!("segment {line:?} has no #EXTINF before it")))?;
            let path = resolve(base, line);
            let range = match pending_range.take() {
                None => None,
                Some((length, offset)) => {
                    let follows = range_end.as_ref().filter(|(file, _)| *file == path);
                    let offset = match (offset, follows) {
                        (Some(offset), _) => offset,
                        (None, Some((_, end))) => *end,
                        (None, None) => {
                            return Err((
                                number,
                                format!("the byte range of {line:?} has no offset and follows no range of the same file"),
                            ))
                        }
                    };
                    range_end = Some((path.clone(), offset + length));
                    Some(ByteRange { offset, length })
                }
            };
            segments.push(PlaylistSegment {
                sequence: sequence + segments.len() as u64,
                path,
                duration_seconds,
                range,
                init: init.clone(),
            });
        }
    }
    Ok(MediaPlaylist { segments, ended })
}

/// `LENGTH[@OFFSET]`, as `#EXT-X-BYTERANGE` and `BYTERANGE="..."` write it.
fn parse_range(text: &str) -> Result<(u64, Option<u64>), String> {
    let text = text.trim().trim_matches('"');
    let number = |part: &str| {
        part.trim()
            .parse::<u64>()
            .map_err(|_| format!("byte range {text:?} is not LENGTH[@OFFSET]"))
    };
    match text.split_once('@') {
        Some((length, offset)) => Ok((number(length)?, Some(number(offset)?))),
        None => Ok((number(text)?, None)),
    }
}

/// The value of `NAME=value` or `NAME="value"` in an attribute list.
fn attribute(list: &str, name: &str) -> Option<String> {
    let mut rest = list;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let (value, after) = quoted.split_once('"')?;
                (value, after.strip_prefix(',').unwrap_or(after))
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        if key.trim() == name {
            return Some(value.to_owned());
        }
        rest = next;
    }
    None
}

/// A file FFmpeg can read on its own for `segment`: its own path when it is a whole file with
/// no initialisation segment, else a chunk written into `dir` (the initialisation segment,
/// then the segment's bytes).
pub fn standalone(segment: &PlaylistSegment, dir: &Path) -> Result<PathBuf, HlsError> {
    if segment.range.is_none() && segment.init.is_none() {
        return Ok(segment.path.clone());
    }
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| HlsError::Segment { sequence: segment.sequence, path, source }
    };
    std::fs::create_dir_all(dir).map_err(failed(dir))?;
    let extension = match &segment.init {
        Some(_) => "mp4",
        None => segment.path.extension().and_then(|e| e.to_str()).unwrap_or("ts"),
    };
    let chunk = dir.join(format!("segment-{:06}.{extension}", segment.sequence));
    let mut bytes = Vec::new();
    if let Some((init, range)) = &segment.init {
        bytes.extend(read_part(init, *range).map_err(failed(init))?);
    }
    bytes.extend(read_part(&segment.path, segment.range).map_err(failed(&segment.path))?);
    let mut file = std::fs::File::create(&chunk).map_err(failed(&chunk))?;
    file.write_all(&bytes).map_err(failed(&chunk))?;
    Ok(chunk)
}

/// The bytes of `range` of `path` (all of it without a range); a range past the end of the
/// file is an error, not a short read.
fn read_part(path: &Path, range: Option<ByteRange>) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let Some(range) = range else {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        return Ok(bytes);
    };
    file.seek(SeekFrom::Start(range.offset))?;
    let mut bytes = vec![0; range.length as usize];
    file.read_exact(&mut bytes).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("bytes {}..{} are past its end", range.offset, range.offset + range.length),
        )
    })?;
    Ok(bytes)
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
                    duration_seconds: 4.0,
                    range: None,
                    init: None,
                },
                PlaylistSegment {
                    sequence: 8,
                    path: PathBuf::from("http://host/b.ts"),
                    duration_seconds: 3.5,
                    range: None,
                    init: None,
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

    #[test]
    fn reads_cmaf_segments_with_their_map_and_byte_ranges() {
        let text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI=\"main.mp4\",BYTERANGE=\"720@0\"\n\
                    #EXTINF:4,\n#EXT-X-BYTERANGE:1000@720\nmain.mp4\n\
                    #EXTINF:4,\n#EXT-X-BYTERANGE:900\nmain.mp4\n#EXT-X-ENDLIST\n";
        let playlist = parse_media_playlist(text, Path::new("/m")).unwrap();
        let init = Some((PathBuf::from("/m/main.mp4"), Some(ByteRange { offset: 0, length: 720 })));
        assert_eq!(playlist.segments[0].init, init);
        assert_eq!(playlist.segments[0].range, Some(ByteRange { offset: 720, length: 1000 }));
        // Without an offset, a range follows the last range of the same file.
        assert_eq!(playlist.segments[1].range, Some(ByteRange { offset: 1720, length: 900 }));
        let text = "#EXTM3U\n#EXTINF:4,\n#EXT-X-BYTERANGE:900\na.mp4\n";
        assert!(parse_media_playlist(text, Path::new(".")).unwrap_err().1.contains("no offset"));
        let text = "#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"1@0\"\n";
        assert_eq!(
            parse_media_playlist(text, Path::new(".")).unwrap_err(),
            (2, "#EXT-X-MAP has no URI".to_owned())
        );
    }

    #[test]
    fn a_segment_of_a_larger_file_is_written_out_with_its_init_segment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("main.mp4");
        std::fs::write(&file, b"INITsegment-onesegment-two").unwrap();
        let segment = PlaylistSegment {
            sequence: 3,
            path: file.clone(),
            duration_seconds: 4.0,
            range: Some(ByteRange { offset: 15, length: 11 }),
            init: Some((file.clone(), Some(ByteRange { offset: 0, length: 4 }))),
        };
        let chunk = standalone(&segment, &dir.path().join("chunks")).unwrap();
        assert_eq!(std::fs::read(&chunk).unwrap(), b"INITsegment-two");
        assert!(chunk.ends_with("segment-000003.mp4"));
        let past = PlaylistSegment { range: Some(ByteRange { offset: 20, length: 50 }), ..segment };
        let error = standalone(&past, dir.path()).unwrap_err().to_string();
        assert!(error.contains("segment 3") && error.contains("past its end"), "{error}");
    }
}
