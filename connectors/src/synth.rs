//! A synthetic match made in-process from FFmpeg's lavfi sources, with its ground truth.
//!
//! Test media is made, not downloaded: a two-minute "match" of generated scenes with hard cuts
//! (`testsrc2`, a grainy green pitch, `smptehdbars`), a stretch of black, crowd noise from `anoisesrc`
//! with fixed seeds, loud "roars" at two levels, referee whistles (`sine`) and a stretch of
//! silence. Over every scene, a tennis scoreboard (`drawbox` and `drawtext` in DejaVu Sans Mono
//! Bold, from Debian's `fonts-dejavu-core`) shows `GAMES 2-1  PTS 40-15` in white on a black box
//! at the top left, its score changing every 6 to 10 s, so a plugin that reads it (OCR) can be
//! checked against what it says. One libavfilter graph with two sinks produces the picture and
//! the sound; libx264 (one thread, fixed keyframe interval, no scene-cut keyframes, bit-exact
//! flags) and FFmpeg's AAC encoder write `match.mp4`, which [`crate::ingest::split`] then cuts
//! into HLS-like `.ts` chunks at its keyframes. The same spec gives byte-identical files on
//! every run, and [`GroundTruth`] says where every cut, roar, black and silent stretch is and
//! which score shows when, so detectors can be checked against it; `scoreboard.json` beside
//! `match.mp4` holds the scoreboard's part of it for plugins written in other languages.

use std::fs;
use std::path::{Path, PathBuf};

use ffmpeg::{codec, encoder, filter, format, frame, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use crate::ingest::split::{split_file, SplitError};
use crate::ingest::{self, MediaError};

/// Length of the synthetic match.
pub const MATCH_MS: u64 = 120_000;

/// The picture of one scene.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Picture {
    /// FFmpeg's moving colour test pattern.
    TestPattern,
    /// A green pitch with moving film grain.
    Pitch,
    /// SMPTE HD colour bars, still.
    Bars,
    /// Black.
    Black,
}

/// Scenes: start (ms) and picture; each lasts until the next one starts.
const SCENES: &[(u64, Picture)] = &[
    (0, Picture::TestPattern),
    (14_000, Picture::Pitch),
    (27_000, Picture::Bars),
    (41_000, Picture::TestPattern),
    (55_000, Picture::Black),
    (59_000, Picture::Pitch),
    (75_000, Picture::Bars),
    (88_000, Picture::TestPattern),
    (103_000, Picture::Pitch),
];

/// The sound of one stretch.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sound {
    /// Quiet pink crowd noise.
    Crowd,
    /// A referee's whistle: a 3 kHz tone, shorter than a roar.
    Whistle,
    /// A roar: white noise of this amplitude (0..1).
    Roar(f64),
    /// Digital silence.
    Silence,
}

/// Amplitude of a big roar (about 35 LU above the crowd).
const BIG_ROAR: f64 = 0.5;
/// Amplitude of a small roar (about 15 LU above the crowd).
const SMALL_ROAR: f64 = 0.08;

/// Sound stretches: start (ms) and sound; each lasts until the next one starts.
const SOUNDS: &[(u64, Sound)] = &[
    (0, Sound::Crowd),
    (18_000, Sound::Whistle),
    (18_500, Sound::Crowd),
    (20_000, Sound::Roar(BIG_ROAR)),
    (26_000, Sound::Crowd),
    // Spans the chunk boundary at 48 s with 4 s chunks.
    (45_000, Sound::Roar(SMALL_ROAR)),
    (50_000, Sound::Crowd),
    (55_000, Sound::Silence),
    (61_000, Sound::Crowd),
    (76_000, Sound::Whistle),
    (76_500, Sound::Crowd),
    (78_000, Sound::Roar(BIG_ROAR)),
    (84_000, Sound::Crowd),
    (106_000, Sound::Roar(SMALL_ROAR)),
    (111_000, Sound::Crowd),
];

/// A player's points in the current game.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Points {
    /// No point yet ("0").
    Love,
    /// One point ("15").
    Fifteen,
    /// Two points ("30").
    Thirty,
    /// Three points ("40"), or back at deuce.
    Forty,
    /// Advantage after deuce ("AD").
    Advantage,
}

impl Points {
    /// How the scoreboard writes it.
    fn as_str(self) -> &'static str {
        match self {
            Points::Love => "0",
            Points::Fifteen => "15",
            Points::Thirty => "30",
            Points::Forty => "40",
            Points::Advantage => "AD",
        }
    }
}

/// A tennis score within a set: games won by players 1 and 2, and their points in the game
/// being played.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Score {
    /// Games of players 1 and 2.
    games: (u8, u8),
    /// Points of players 1 and 2 in the current game.
    points: (Points, Points),
}

impl Score {
    /// The scoreboard's text, e.g. `GAMES 2-1  PTS 40-15`.
    fn text(self) -> String {
        format!(
            "GAMES {}-{}  PTS {}-{}",
            self.games.0,
            self.games.1,
            self.points.0.as_str(),
            self.points.1.as_str()
        )
    }

    /// Whether the next point can win the game: one player has 40 and the other less, or one
    /// has the advantage. Deuce (40-40) is not a game point.
    fn is_game_point(self) -> bool {
        let (a, b) = self.points;
        a == Points::Advantage
            || b == Points::Advantage
            || (a == Points::Forty && b < Points::Forty)
            || (b == Points::Forty && a < Points::Forty)
    }
}

/// A score, for [`SCORES`].
const fn score(games: (u8, u8), points: (Points, Points)) -> Score {
    Score { games, points }
}

/// Scoreboard stretches: start (ms) and score; each lasts until the next one starts. One game
/// is won by player 1 from 40-0, one by player 2 from 15-40, and the last goes to deuce and
/// advantage. The built-in segmenter opens its segments 5 s before the roars at 20, 45, 78 and
/// 106 s, on the cuts at 14 and 41 s and (out of its snapping reach) at 72.979 and 100.979 s,
/// just before the cuts at 75 and 103 s; no score changes from 1.5 s before either to 2.5 s
/// after either, so the score at a segment's start is unambiguous: four different scores,
/// the last a game point (40-30).
const SCORES: &[(u64, Score)] = &[
    (0, score((2, 1), (Points::Love, Points::Love))),
    (7_000, score((2, 1), (Points::Fifteen, Points::Love))),
    (17_000, score((2, 1), (Points::Thirty, Points::Love))),
    (24_000, score((2, 1), (Points::Forty, Points::Love))),
    (31_000, score((3, 1), (Points::Love, Points::Love))),
    (37_000, score((3, 1), (Points::Love, Points::Fifteen))),
    (46_000, score((3, 1), (Points::Fifteen, Points::Fifteen))),
    (52_000, score((3, 1), (Points::Fifteen, Points::Thirty))),
    (58_000, score((3, 1), (Points::Fifteen, Points::Forty))),
    (64_000, score((3, 2), (Points::Love, Points::Love))),
    (70_000, score((3, 2), (Points::Fifteen, Points::Love))),
    (78_000, score((3, 2), (Points::Fifteen, Points::Fifteen))),
    (84_000, score((3, 2), (Points::Thirty, Points::Fifteen))),
    (90_000, score((3, 2), (Points::Thirty, Points::Thirty))),
    (96_000, score((3, 2), (Points::Forty, Points::Thirty))),
    (106_000, score((3, 2), (Points::Forty, Points::Forty))),
    (113_000, score((3, 2), (Points::Advantage, Points::Forty))),
];

/// The scoreboard's font: monospaced, so every text of the same length is as wide, and bold,
/// so OCR reads it at 640x360.
const SCOREBOARD_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf";
/// The Debian package that installs [`SCOREBOARD_FONT`].
const SCOREBOARD_FONT_PACKAGE: &str = "fonts-dejavu-core";
/// The scoreboard's font size in pixels (its capitals are 20 px tall).
const SCOREBOARD_FONT_SIZE: u32 = 28;
/// The scoreboard's black box: 10 px of black around the ink of its longest texts (20
/// characters, such as `GAMES 3-2  PTS AD-40`).
const SCOREBOARD: Region = Region { x: 16, y: 16, width: 356, height: 40 };
/// Where `drawtext` puts the text's origin so its ink starts 10 px inside the box (DejaVu Sans
/// Mono Bold at 28 px draws its first capital 2 px right of `x`, and its capitals from `y`).
const SCOREBOARD_TEXT_AT: (u32, u32) = (SCOREBOARD.x + 8, SCOREBOARD.y + 10);

/// A stretch of event time, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Where it starts.
    pub start_ms: u64,
    /// Where it ends.
    pub end_ms: u64,
}

/// A roar of the synthetic crowd.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roar {
    /// When it sounds.
    pub span: Span,
    /// True for a big roar (about 35 LU above the crowd), false for a small one (about 15 LU).
    pub big: bool,
}

/// A rectangle of the picture, in pixels from its top-left corner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// What the scoreboard shows for a stretch of the match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreStretch {
    /// When it shows.
    pub span: Span,
    /// Games of players 1 and 2 in the set.
    pub games: (u8, u8),
    /// Points of players 1 and 2 in the current game, as written: `0`, `15`, `30`, `40` or `AD`.
    pub points: (String, String),
    /// The whole text, exactly as drawn: `GAMES 2-1  PTS 40-15` (two spaces before `PTS`).
    pub text: String,
    /// Whether it is a game point: one player has 40 and the other less (not deuce, 40-40),
    /// or one player has the advantage (`AD`).
    pub game_point: bool,
}

/// Where the synthetic match's known moments are, in event time.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundTruth {
    /// Length of the match.
    pub duration_ms: u64,
    /// Hard cuts between scenes, including the cuts into and out of black.
    pub cuts_ms: Vec<u64>,
    /// Roars of the crowd.
    pub roars: Vec<Roar>,
    /// Referee whistles (loud, but shorter than a roar).
    pub whistles: Vec<Span>,
    /// Black pictures.
    pub black: Vec<Span>,
    /// Digital silence.
    pub silence: Vec<Span>,
    /// The scoreboard's black box; its text is drawn inside it, at every moment of the match.
    pub scoreboard: Region,
    /// What the scoreboard shows: contiguous stretches from 0 to the end, one at any time.
    pub scores: Vec<ScoreStretch>,
}

impl GroundTruth {
    /// The ground truth of the fixed timeline.
    pub fn of_timeline() -> Self {
        let scene_spans = stretches(SCENES);
        let sound_spans = stretches(SOUNDS);
        GroundTruth {
            duration_ms: MATCH_MS,
            cuts_ms: SCENES.iter().skip(1).map(|&(start, _)| start).collect(),
            roars: sound_spans
                .iter()
                .filter_map(|&(s, e, sound)| match sound {
                    Sound::Roar(amplitude) => Some(Roar {
                        span: Span { start_ms: s, end_ms: e },
                        big: amplitude >= BIG_ROAR,
                    }),
                    _ => None,
                })
                .collect(),
            whistles: sound_spans
                .iter()
                .filter(|(_, _, sound)| *sound == Sound::Whistle)
                .map(span_of)
                .collect(),
            black: scene_spans
                .iter()
                .filter(|(_, _, p)| *p == Picture::Black)
                .map(span_of)
                .collect(),
            silence: sound_spans
                .iter()
                .filter(|(_, _, sound)| *sound == Sound::Silence)
                .map(span_of)
                .collect(),
            scoreboard: SCOREBOARD,
            scores: stretches(SCORES)
                .iter()
                .map(|&(start_ms, end_ms, score)| ScoreStretch {
                    span: Span { start_ms, end_ms },
                    games: score.games,
                    points: (
                        score.points.0.as_str().to_owned(),
                        score.points.1.as_str().to_owned(),
                    ),
                    text: score.text(),
                    game_point: score.is_game_point(),
                })
                .collect(),
        }
    }

    /// The scoreboard's ground truth as `scoreboard.json` holds it: the box and every stretch,
    /// times in seconds.
    fn scoreboard_file(&self) -> ScoreboardFile<'_> {
        ScoreboardFile {
            region: self.scoreboard,
            scores: self
                .scores
                .iter()
                .map(|s| ScoreboardEntry {
                    start: s.span.start_ms as f64 / 1000.0,
                    end: s.span.end_ms as f64 / 1000.0,
                    text: &s.text,
                    games: [s.games.0, s.games.1],
                    points: [&s.points.0, &s.points.1],
                    game_point: s.game_point,
                })
                .collect(),
        }
    }
}

/// `scoreboard.json`: structs rather than a JSON value, so its keys keep this order.
#[derive(serde::Serialize)]
struct ScoreboardFile<'a> {
    /// The scoreboard's box.
    region: Region,
    /// Every stretch, in order.
    scores: Vec<ScoreboardEntry<'a>>,
}

/// One stretch of `scoreboard.json`.
#[derive(serde::Serialize)]
struct ScoreboardEntry<'a> {
    /// Start, in seconds of event time.
    start: f64,
    /// End (exclusive), in seconds of event time.
    end: f64,
    /// The text drawn.
    text: &'a str,
    /// Games of players 1 and 2.
    games: [u8; 2],
    /// Points of players 1 and 2, as written.
    points: [&'a str; 2],
    /// Whether it is a game point.
    game_point: bool,
}

/// The span of a `(start, end, what)` stretch.
fn span_of<T>(&(start_ms, end_ms, _): &(u64, u64, T)) -> Span {
    Span { start_ms, end_ms }
}

/// `(start, end, what)` of each stretch of a timeline that ends at [`MATCH_MS`].
fn stretches<T: Copy>(timeline: &[(u64, T)]) -> Vec<(u64, u64, T)> {
    timeline
        .iter()
        .enumerate()
        .map(|(i, &(start, what))| {
            let end = timeline.get(i + 1).map_or(MATCH_MS, |&(next, _)| next);
            (start, end, what)
        })
        .collect()
}

/// How the synthetic match is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynthSpec {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Chunk length in seconds; also the keyframe interval, so every chunk is this long.
    pub chunk_seconds: u32,
}

impl Default for SynthSpec {
    /// 640x360 at 25 fps in 4-second chunks: made in a few seconds.
    fn default() -> Self {
        SynthSpec { width: 640, height: 360, fps: 25, chunk_seconds: 4 }
    }
}

/// What [`make_match`] wrote.
#[derive(Clone, Debug)]
pub struct SynthMatch {
    /// The whole match as one MP4 file.
    pub file: PathBuf,
    /// The chunks, in order.
    pub chunks: Vec<PathBuf>,
    /// An HLS VOD media playlist of the chunks.
    pub playlist: PathBuf,
    /// `scoreboard.json`: the scoreboard's box and every score with its times, for tests of
    /// plugins that read it.
    pub scoreboard: PathBuf,
    /// Where the known moments are.
    pub truth: GroundTruth,
}

/// Why the synthetic match could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The output folder or a file in it could not be written.
    #[error("cannot write {path:?}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An FFmpeg step failed.
    #[error("making the synthetic match failed while {step}: {source}")]
    Ffmpeg {
        /// What was being done.
        step: &'static str,
        /// FFmpeg's error.
        source: ffmpeg::Error,
    },
    /// FFmpeg lacks something the match needs (a filter or an encoder).
    #[error("FFmpeg has no {0}; install FFmpeg with libx264 and libavfilter")]
    Missing(&'static str),
    /// The scoreboard's font file is not there.
    #[error("the scoreboard's font {path} is missing; install the Debian package {package}")]
    MissingFont {
        /// The font file.
        path: &'static str,
        /// The Debian package that installs it.
        package: &'static str,
    },
    /// The match could not be cut into chunks.
    #[error(transparent)]
    Split(#[from] SplitError),
}

fn ff(step: &'static str) -> impl FnOnce(ffmpeg::Error) -> SynthError {
    move |source| SynthError::Ffmpeg { step, source }
}

/// Makes the synthetic match in `dir` (created if missing): `match.mp4`, its chunks
/// `chunks/chunk-NNNNN.ts`, their playlist `match.m3u8` and the scoreboard's ground truth
/// `scoreboard.json`:
///
/// ```json
/// {"region": {"x": 16, "y": 16, "width": 356, "height": 40},
///  "scores": [{"start": 0.0, "end": 7.0, "text": "GAMES 2-1  PTS 0-0", "games": [2, 1],
///              "points": ["0", "0"], "game_point": false}, ...]}
/// ```
///
/// Fails with [`SynthError::MissingFont`] when the scoreboard's font is not installed.
pub fn make_match(dir: &Path, spec: &SynthSpec) -> Result<SynthMatch, SynthError> {
    require_font(SCOREBOARD_FONT)?;
    ingest::init().map_err(|e| match e {
        MediaError::Init(source) => SynthError::Ffmpeg { step: "initialising FFmpeg", source },
        other => SynthError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(other.to_string()),
        },
    })?;
    fs::create_dir_all(dir).map_err(|source| SynthError::Io { path: dir.to_owned(), source })?;
    let file = dir.join("match.mp4");
    encode(&file, spec)?;
    let chunks = split_file(&file, &dir.join("chunks"), f64::from(spec.chunk_seconds))?;
    let playlist = dir.join("match.m3u8");
    write_playlist(&playlist, &chunks, spec.chunk_seconds)?;
    let truth = GroundTruth::of_timeline();
    let scoreboard = dir.join("scoreboard.json");
    let mut text = serde_json::to_vec_pretty(&truth.scoreboard_file())
        .expect("the scoreboard's ground truth serializes to JSON");
    text.push(b'\n');
    fs::write(&scoreboard, text)
        .map_err(|source| SynthError::Io { path: scoreboard.clone(), source })?;
    Ok(SynthMatch {
        file,
        chunks: chunks.into_iter().map(|c| c.path).collect(),
        playlist,
        scoreboard,
        truth,
    })
}

/// Checks that the font file `path` is there: `drawtext` would only fail to configure the
/// graph, without saying which file or package is missing.
fn require_font(path: &'static str) -> Result<(), SynthError> {
    if Path::new(path).is_file() {
        Ok(())
    } else {
        Err(SynthError::MissingFont { path, package: SCOREBOARD_FONT_PACKAGE })
    }
}

/// Writes an HLS VOD media playlist of `chunks`.
fn write_playlist(
    path: &Path,
    chunks: &[crate::ingest::split::SplitChunk],
    chunk_seconds: u32,
) -> Result<(), SynthError> {
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{chunk_seconds}\n\
         #EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    );
    for chunk in chunks {
        let name = chunk.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        text.push_str(&format!(
            "#EXTINF:{:.3},\nchunks/{name}\n",
            chunk.duration_ms as f64 / 1000.0
        ));
    }
    text.push_str("#EXT-X-ENDLIST\n");
    fs::write(path, text).map_err(|source| SynthError::Io { path: path.to_owned(), source })
}

/// The libavfilter graph description of the whole match: `[vout]` and `[aout]`.
fn graph_description(spec: &SynthSpec) -> String {
    let size = format!("{}x{}", spec.width, spec.height);
    let fps = spec.fps;
    let mut description = String::new();
    let scenes = stretches(SCENES);
    for (i, &(start, end, picture)) in scenes.iter().enumerate() {
        let seconds = (end - start) as f64 / 1000.0;
        let source = match picture {
            Picture::TestPattern => format!("testsrc2=s={size}:r={fps}"),
            Picture::Pitch => {
                format!(
                    "color=c=0x2f7d32:s={size}:r={fps},noise=alls=12:allf=t:all_seed={}",
                    100 + i
                )
            }
            Picture::Bars => format!("smptehdbars=s={size}:r={fps}"),
            Picture::Black => format!("color=c=black:s={size}:r={fps}"),
        };
        description.push_str(&format!(
            "{source},trim=duration={seconds},setpts=PTS-STARTPTS,format=yuv420p,setsar=1[v{i}];"
        ));
    }
    let labels: String = (0..scenes.len()).map(|i| format!("[v{i}]")).collect();
    description.push_str(&format!("{labels}concat=n={}:v=1:a=0,", scenes.len()));
    description.push_str(&scoreboard_filters());
    description.push_str("[vout];");

    let sounds = stretches(SOUNDS);
    for (i, &(start, end, sound)) in sounds.iter().enumerate() {
        let seconds = (end - start) as f64 / 1000.0;
        let seed = 1000 + i;
        let source = match sound {
            Sound::Crowd => format!("anoisesrc=r=48000:c=pink:a=0.02:seed={seed}"),
            Sound::Whistle => "sine=f=3000:sample_rate=48000".to_owned(),
            Sound::Roar(amplitude) => {
                format!("anoisesrc=r=48000:c=white:a={amplitude}:seed={seed}")
            }
            Sound::Silence => "anullsrc=r=48000:cl=mono".to_owned(),
        };
        description.push_str(&format!(
            "{source},atrim=duration={seconds},asetpts=PTS-STARTPTS,\
             aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=mono[a{i}];"
        ));
    }
    let labels: String = (0..sounds.len()).map(|i| format!("[a{i}]")).collect();
    description.push_str(&format!("{labels}concat=n={}:v=0:a=1[aout]", sounds.len()));
    description
}

/// The scoreboard as a filter chain: the black box over the whole match, then one `drawtext`
/// per stretch of [`SCORES`], enabled from its start (included) to its end (excluded), so
/// exactly one text shows on every frame.
fn scoreboard_filters() -> String {
    let Region { x, y, width, height } = SCOREBOARD;
    let (text_x, text_y) = SCOREBOARD_TEXT_AT;
    let mut chain = format!("drawbox=x={x}:y={y}:w={width}:h={height}:color=black:t=fill");
    for (start, end, score) in stretches(SCORES) {
        // The text has no quote, colon or percent sign: quoted once, it is taken as it is,
        // and `expansion=none` keeps drawtext from reading it as a template.
        chain.push_str(&format!(
            ",drawtext=fontfile={SCOREBOARD_FONT}:text='{}':expansion=none\
             :fontsize={SCOREBOARD_FONT_SIZE}:fontcolor=white:x={text_x}:y={text_y}\
             :enable='gte(t,{:.3})*lt(t,{:.3})'",
            score.text(),
            start as f64 / 1000.0,
            end as f64 / 1000.0
        ));
    }
    chain
}

/// Encodes the match into `file` (MP4, H.264 + AAC).
fn encode(file: &Path, spec: &SynthSpec) -> Result<(), SynthError> {
    let mut graph = filter::Graph::new();
    let buffersink = filter::find("buffersink").ok_or(SynthError::Missing("buffersink filter"))?;
    let abuffersink =
        filter::find("abuffersink").ok_or(SynthError::Missing("abuffersink filter"))?;
    for (name, what) in [("drawbox", "drawbox filter"), ("drawtext", "drawtext filter")] {
        filter::find(name).ok_or(SynthError::Missing(what))?;
    }
    graph.add(&buffersink, "vout", "").map_err(ff("adding the video sink"))?;
    graph.add(&abuffersink, "aout", "").map_err(ff("adding the audio sink"))?;
    graph
        .input("vout", 0)
        .and_then(|p| p.input("aout", 0))
        .and_then(|p| p.parse(&graph_description(spec)))
        .map_err(ff("parsing the lavfi graph"))?;
    graph.validate().map_err(ff("configuring the lavfi graph"))?;

    let mut output = format::output(file).map_err(ff("opening the output file"))?;
    let global_header = output.format().flags().contains(format::Flags::GLOBAL_HEADER);
    let mut flags = codec::Flags::empty();
    if global_header {
        flags |= codec::Flags::GLOBAL_HEADER;
    }
    // Bit-exact: no encoder version strings, so output is identical from build to build.
    flags |= codec::Flags::BITEXACT;

    let x264 = encoder::find_by_name("libx264").ok_or(SynthError::Missing("libx264 encoder"))?;
    let video_time_base = Rational(1, spec.fps as i32);
    let mut video = codec::context::Context::new_with_codec(x264)
        .encoder()
        .video()
        .map_err(ff("creating the video encoder"))?;
    video.set_width(spec.width);
    video.set_height(spec.height);
    video.set_format(format::Pixel::YUV420P);
    video.set_time_base(video_time_base);
    video.set_frame_rate(Some(Rational(spec.fps as i32, 1)));
    video.set_flags(flags);
    let keyint = spec.fps * spec.chunk_seconds;
    let mut options = Dictionary::new();
    options.set("preset", "veryfast");
    options.set("crf", "26");
    options.set("threads", "1");
    options.set("x264-params", &format!("keyint={keyint}:min-keyint={keyint}:scenecut=0"));
    // Each chunk must open with an IDR frame (and so with SPS/PPS once split into MPEG-TS):
    // frames at chunk starts are marked I and x264 makes them IDR.
    options.set("forced-idr", "1");
    video.set_gop(keyint);
    let mut video = video.open_with(options).map_err(ff("opening libx264"))?;

    let aac = encoder::find(codec::Id::AAC).ok_or(SynthError::Missing("AAC encoder"))?;
    let mut audio = codec::context::Context::new_with_codec(aac)
        .encoder()
        .audio()
        .map_err(ff("creating the audio encoder"))?;
    audio.set_rate(48_000);
    audio.set_channel_layout(ffmpeg::ChannelLayout::MONO);
    audio.set_channels(1);
    audio.set_format(format::Sample::F32(format::sample::Type::Planar));
    audio.set_bit_rate(96_000);
    audio.set_time_base(Rational(1, 48_000));
    audio.set_flags(flags);
    let mut audio = audio.open().map_err(ff("opening the AAC encoder"))?;
    graph.get("aout").expect("the sink was added").sink().set_frame_size(audio.frame_size());

    {
        let mut stream = output.add_stream(x264).map_err(ff("adding the video stream"))?;
        stream.set_time_base(video_time_base);
        stream.set_parameters(&video);
    }
    {
        let mut stream = output.add_stream(aac).map_err(ff("adding the audio stream"))?;
        stream.set_time_base(Rational(1, 48_000));
        stream.set_parameters(&audio);
    }
    let mut options = Dictionary::new();
    options.set("fflags", "+bitexact");
    output.write_header_with(options).map_err(ff("writing the MP4 header"))?;
    let stream_time_bases: Vec<Rational> = output.streams().map(|s| s.time_base()).collect();

    let video_sink_tb = graph.get("vout").expect("the sink was added").sink().time_base();
    let audio_sink_tb = graph.get("aout").expect("the sink was added").sink().time_base();
    let mut video_frame = frame::Video::empty();
    let mut audio_frame = frame::Audio::empty();
    let (mut video_done, mut audio_done) = (false, false);
    let (mut video_seconds, mut audio_seconds) = (0.0f64, 0.0f64);
    let mut packet = Packet::empty();
    // Pull from whichever stream is behind, so the muxer interleaves without buffering much.
    while !(video_done && audio_done) {
        if !video_done && (audio_done || video_seconds <= audio_seconds) {
            match graph.get("vout").expect("the sink was added").sink().frame(&mut video_frame) {
                Ok(()) => {
                    let pts = video_frame.pts().unwrap_or(0);
                    let pts = pts_in(pts, video_sink_tb, video_time_base);
                    video_seconds = pts as f64 / f64::from(spec.fps);
                    video_frame.set_pts(Some(pts));
                    let chunk_start = pts % i64::from(keyint) == 0;
                    video_frame.set_kind(if chunk_start {
                        ffmpeg::picture::Type::I
                    } else {
                        ffmpeg::picture::Type::None
                    });
                    video.send_frame(&video_frame).map_err(ff("encoding video"))?;
                }
                Err(ffmpeg::Error::Eof) => {
                    video_done = true;
                    video.send_eof().map_err(ff("flushing libx264"))?;
                }
                Err(e) => return Err(ff("generating video")(e)),
            }
            while video.receive_packet(&mut packet).is_ok() {
                packet.set_stream(0);
                packet.rescale_ts(video_time_base, stream_time_bases[0]);
                packet.write_interleaved(&mut output).map_err(ff("writing video"))?;
            }
        } else {
            match graph.get("aout").expect("the sink was added").sink().frame(&mut audio_frame) {
                Ok(()) => {
                    let pts = audio_frame.pts().unwrap_or(0);
                    let pts = pts_in(pts, audio_sink_tb, Rational(1, 48_000));
                    audio_seconds = pts as f64 / 48_000.0;
                    audio_frame.set_pts(Some(pts));
                    audio.send_frame(&audio_frame).map_err(ff("encoding audio"))?;
                }
                Err(ffmpeg::Error::Eof) => {
                    audio_done = true;
                    audio.send_eof().map_err(ff("flushing the AAC encoder"))?;
                }
                Err(e) => return Err(ff("generating audio")(e)),
            }
            while audio.receive_packet(&mut packet).is_ok() {
                packet.set_stream(1);
                packet.rescale_ts(Rational(1, 48_000), stream_time_bases[1]);
                packet.write_interleaved(&mut output).map_err(ff("writing audio"))?;
            }
        }
    }
    output.write_trailer().map_err(ff("finishing the MP4 file"))?;
    Ok(())
}

/// `pts` of time base `from` in time base `to`, rounded to the nearest tick.
fn pts_in(pts: i64, from: Rational, to: Rational) -> i64 {
    use ffmpeg::Rescale;
    pts.rescale(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the built-in segmenter opens the demo's four segments (5 s before the roars at
    /// 20, 45, 78 and 106 s, as detected), each with the cut it is on or next to: the score
    /// must hold still from 1.5 s before the first to 2.5 s after the second.
    const SEGMENT_STARTS_MS: [(u64, u64); 4] =
        [(14_000, 14_000), (41_000, 41_000), (72_979, 75_000), (100_979, 103_000)];

    /// The score after the next point, won by player 1 (`first`) or player 2.
    fn after_point(score: Score, first: bool) -> Score {
        let (winner, loser) = if first { score.points } else { (score.points.1, score.points.0) };
        let (winner, loser) = match (winner, loser) {
            (Points::Advantage, _)
            | (Points::Forty, Points::Love | Points::Fifteen | Points::Thirty) => {
                let games = if first {
                    (score.games.0 + 1, score.games.1)
                } else {
                    (score.games.0, score.games.1 + 1)
                };
                return Score { games, points: (Points::Love, Points::Love) };
            }
            (Points::Forty, Points::Forty) => (Points::Advantage, Points::Forty),
            (Points::Forty, Points::Advantage) => (Points::Forty, Points::Forty),
            (Points::Love, _) => (Points::Fifteen, loser),
            (Points::Fifteen, _) => (Points::Thirty, loser),
            (Points::Thirty, _) => (Points::Forty, loser),
        };
        let points = if first { (winner, loser) } else { (loser, winner) };
        Score { games: score.games, points }
    }

    /// The score showing at `at_ms`.
    fn score_at(at_ms: u64) -> Score {
        SCORES.iter().rev().find(|&&(start, _)| start <= at_ms).expect("starts at 0").1
    }

    #[test]
    fn every_score_follows_from_the_one_before_by_one_point() {
        assert_eq!(SCORES[0].0, 0);
        for pair in SCORES.windows(2) {
            let ((_, before), (_, after)) = (pair[0], pair[1]);
            assert!(
                after == after_point(before, true) || after == after_point(before, false),
                "{} cannot follow {}",
                after.text(),
                before.text()
            );
        }
    }

    #[test]
    fn the_score_changes_every_6_to_12_seconds_but_never_at_a_segment_start() {
        for (start, end, score) in stretches(SCORES) {
            assert!((6_000..=12_000).contains(&(end - start)), "{} at {start} ms", score.text());
        }
        for &(change, _) in &SCORES[1..] {
            for (start, cut) in SEGMENT_STARTS_MS {
                assert!(
                    change + 1_500 < start || change > cut + 2_500,
                    "the score changes at {change} ms, near the segment start {start} ms"
                );
            }
        }
        let at_starts: Vec<Score> =
            SEGMENT_STARTS_MS.iter().map(|&(start, _)| score_at(start)).collect();
        for (i, a) in at_starts.iter().enumerate() {
            assert!(!at_starts[i + 1..].contains(a), "{} shows at two segment starts", a.text());
        }
        assert!(at_starts.iter().any(|s| s.is_game_point()));
        assert!(at_starts.iter().any(|s| !s.is_game_point()));
    }

    #[test]
    fn exactly_one_score_is_drawn_on_every_frame() {
        let truth = GroundTruth::of_timeline();
        let scores = &truth.scores;
        assert_eq!(scores[0].span.start_ms, 0);
        assert_eq!(scores.last().unwrap().span.end_ms, MATCH_MS);
        for pair in scores.windows(2) {
            assert_eq!(pair[0].span.end_ms, pair[1].span.start_ms, "{pair:?}");
        }
        // The enable expressions drawtext evaluates, taken back from the graph: at 25 fps,
        // every frame must enable exactly one text, the one of its stretch.
        let filters = scoreboard_filters();
        let enabled: Vec<(f64, f64, &str)> = filters
            .split(",drawtext=")
            .skip(1)
            .map(|f| {
                let text = f.split("text='").nth(1).unwrap().split('\'').next().unwrap();
                let bounds = f.split("enable='gte(t,").nth(1).unwrap();
                let (start, rest) = bounds.split_once(")*lt(t,").unwrap();
                let end = rest.split(')').next().unwrap();
                (start.parse().unwrap(), end.parse().unwrap(), text)
            })
            .collect();
        assert_eq!(enabled.len(), scores.len());
        for frame in 0..MATCH_MS / 40 {
            let t = frame as f64 * 0.04;
            let shown: Vec<&str> =
                enabled.iter().filter(|&&(s, e, _)| t >= s && t < e).map(|e| e.2).collect();
            let wanted = scores.iter().find(|s| s.span.end_ms > frame * 40).unwrap();
            assert_eq!(shown, [wanted.text.as_str()], "frame {frame}");
        }
    }

    #[test]
    fn game_points_and_texts_are_as_the_scoreboard_writes_them() {
        use Points::*;
        let cases = [
            ((2, 1), (Forty, Fifteen), "GAMES 2-1  PTS 40-15", true),
            ((0, 0), (Love, Love), "GAMES 0-0  PTS 0-0", false),
            ((3, 1), (Thirty, Forty), "GAMES 3-1  PTS 30-40", true),
            ((3, 2), (Forty, Forty), "GAMES 3-2  PTS 40-40", false),
            ((3, 2), (Advantage, Forty), "GAMES 3-2  PTS AD-40", true),
            ((3, 2), (Forty, Advantage), "GAMES 3-2  PTS 40-AD", true),
            ((1, 4), (Thirty, Thirty), "GAMES 1-4  PTS 30-30", false),
        ];
        for (games, points, text, game_point) in cases {
            let score = Score { games, points };
            assert_eq!(score.text(), text);
            assert_eq!(score.is_game_point(), game_point, "{text}");
        }
        let truth = GroundTruth::of_timeline();
        let last = truth.scores.last().unwrap();
        assert_eq!(last.points, ("AD".to_owned(), "40".to_owned()));
        assert_eq!((last.games, last.game_point), ((3, 2), true));
        // The longest texts fit the box with the margin the drawing assumes.
        let longest = truth.scores.iter().map(|s| s.text.len()).max().unwrap();
        assert_eq!(longest, 20);
    }

    #[test]
    fn a_missing_font_names_the_file_and_its_package() {
        let error = require_font("/nonexistent/DejaVuSansMono-Bold.ttf").unwrap_err();
        assert!(matches!(error, SynthError::MissingFont { .. }));
        let message = error.to_string();
        assert!(message.contains("/nonexistent/DejaVuSansMono-Bold.ttf"), "{message}");
        assert!(message.contains("fonts-dejavu-core"), "{message}");
    }

    #[test]
    fn scoreboard_json_lists_the_box_and_every_stretch_in_seconds() {
        let truth = GroundTruth::of_timeline();
        let json = serde_json::to_value(truth.scoreboard_file()).unwrap();
        assert_eq!(
            json["region"],
            serde_json::json!({"x": 16, "y": 16, "width": 356, "height": 40})
        );
        let scores = json["scores"].as_array().unwrap();
        assert_eq!(scores.len(), SCORES.len());
        assert_eq!(
            scores[3],
            serde_json::json!({"start": 24.0, "end": 31.0, "text": "GAMES 2-1  PTS 40-0",
                               "games": [2, 1], "points": ["40", "0"], "game_point": true})
        );
    }
}
