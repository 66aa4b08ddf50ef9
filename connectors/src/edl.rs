//! CMX 3600 edit decision lists (EDLs) of clips, for editors' importers (SEMANTICS §6).
//!
//! A pure writer: clips with in/out points in milliseconds of event time go in, the text of
//! one or more EDL files comes out. Each file is
//!
//! ```text
//! TITLE: wimbledon-sf1 track 1
//! FCM: NON-DROP FRAME
//!
//! 001  AX       B     C        00:01:14:00 00:01:22:20 00:00:00:00 00:00:08:20
//! * FROM CLIP NAME: wimbledon-sf1 74.000-82.800
//! ```
//!
//! - **Frames.** An instant becomes the nearest frame at the frame rate, ties away from zero,
//!   in integer arithmetic (29.97 fps is exactly 30000/1001). [`FrameRate`] accepts whole
//!   rates up to 100 fps and the NTSC rates `n × 1000/1001` (23.976, 29.97, 59.94, ...);
//!   others (such as 12.5) have no timecode, and [`FrameRate::from_milli`] says so.
//! - **Timecode.** Non-drop-frame `HH:MM:SS:FF` counts frames at the whole rate above the real
//!   one (30 for 29.97). Drop-frame `HH:MM:SS;FF`, for 29.97 and 59.94 only and only when
//!   asked for, skips the frame numbers 0 and 1 (0 to 3 at 59.94) at the start of every minute
//!   except every tenth, so that its labels keep up with the clock. Timecode holds 24 hours;
//!   a later instant is an error.
//! - **Events.** Numbered `001`.. in the order given; reel `AX` (an auxiliary source: the
//!   clips come from the event's own media, which has no tape reel); channel `V` for a
//!   video-only source, `B` (video and audio) otherwise; transition `C` (cut). Source in/out
//!   are the clip's bounds; record in of the first event is `00:00:00:00` and each record out
//!   is its record in plus the clip's length in frames, so the clips lie back to back. A
//!   `* FROM CLIP NAME:` comment names each clip. A clip shorter than half a frame rounds to
//!   no frames and is left out (an event of no length is not an edit).
//! - **More than 999 events.** Event numbers have three digits, so the clips are split into
//!   parts of 999, each a complete EDL of its own (header, events from `001`, record time from
//!   `00:00:00:00`) whose title ends with `(part N of M)`. Part 1 is written to `<stem>.edl`,
//!   part N ≥ 2 to `<stem>.partN.edl` ([`part_file_name`]).
//! - **Text.** Lines end with `\n`. Control characters in titles and clip names become spaces;
//!   titles are cut to 70 characters, the limit of the `TITLE:` line.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The frame rate assumed for an event that states none: 25 fps, the broadcast rate of most
/// of the world's sports television (and the rate of the example match).
pub const DEFAULT_FRAME_RATE_MILLI: u64 = 25_000;

/// The most events one EDL file holds: event numbers have three digits.
pub const MAX_EVENTS_PER_FILE: usize = 999;

/// The reel of every event: `AX`, the name CMX 3600 readers know as an auxiliary source.
pub const REEL: &str = "AX";

/// The longest reel name of CMX 3600.
pub const MAX_REEL_CHARS: usize = 8;

/// The longest title of the `TITLE:` line.
pub const MAX_TITLE_CHARS: usize = 70;

/// The highest whole rate with a two-digit frame field.
const MAX_TIMECODE_BASE: u64 = 100;

/// Why an EDL or timecode could not be made.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum EdlError {
    /// The frame rate has no timecode.
    #[error("frame rate {} fps has no timecode: an EDL needs a whole number of frames per second up to 100, or an NTSC rate such as 23.976, 29.97 or 59.94", format_milli(*.milli))]
    UnsupportedRate {
        /// The rate in thousandths of a frame per second.
        milli: u64,
    },
    /// An instant lies 24 hours or more after 00:00:00:00.
    #[error("frame {frame} at {} fps is 24 hours or more after 00:00:00:00, beyond what a timecode holds", format_milli(*.milli))]
    BeyondDay {
        /// The frame number.
        frame: u64,
        /// The rate in thousandths of a frame per second.
        milli: u64,
    },
    /// A timecode that is not `HH:MM:SS:FF` (or `HH:MM:SS;FF`) at its rate.
    #[error("timecode {text:?} is invalid: {reason}")]
    InvalidTimecode {
        /// The timecode as written.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Writes thousandths as a decimal without trailing zeros (29970 -> `29.97`).
fn format_milli(milli: u64) -> String {
    let text = format!("{}.{:03}", milli / 1000, milli % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A frame rate that has a timecode: a whole number of frames per second (at most 100), or
/// an NTSC rate `n × 1000/1001`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRate {
    milli: u64,
    /// Frames per second as the exact fraction `numerator / denominator`.
    numerator: u64,
    denominator: u64,
    /// Frames per second of timecode: the rate itself, or `n` for an NTSC rate.
    base: u64,
}

impl FrameRate {
    /// The rate of `milli` thousandths of a frame per second (as events state it: 29970 for
    /// 29.97). A thousandths value that rounds `n × 1000/1001` to three decimals is that NTSC
    /// rate exactly.
    pub fn from_milli(milli: u64) -> Result<FrameRate, EdlError> {
        let unsupported = EdlError::UnsupportedRate { milli };
        if milli == 0 || milli > MAX_TIMECODE_BASE * 1000 {
            return Err(unsupported);
        }
        let (numerator, denominator, base) = if milli.is_multiple_of(1000) {
            (milli / 1000, 1, milli / 1000)
        } else {
            let base = (milli * 1001 + 500_000) / 1_000_000;
            if (base * 1_000_000 + 500) / 1001 != milli {
                return Err(unsupported);
            }
            (base * 1000, 1001, base)
        };
        if base > MAX_TIMECODE_BASE {
            return Err(unsupported);
        }
        Ok(FrameRate { milli, numerator, denominator, base })
    }

    /// The rate in thousandths of a frame per second.
    pub fn milli(self) -> u64 {
        self.milli
    }

    /// Frames per second as the nearest double of the exact rate (30000/1001 for 29.97), as
    /// timecode libraries such as OpenTimelineIO want it.
    pub fn per_second(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }

    /// Frames per second of timecode (30 for 29.97).
    pub fn timecode_base(self) -> u64 {
        self.base
    }

    /// The frame nearest to `ms` milliseconds after 0 (ties away from zero).
    pub fn frame_at(self, ms: u64) -> u64 {
        let per_second = u128::from(self.numerator);
        let divisor = 1000 * u128::from(self.denominator);
        let frame = (2 * u128::from(ms) * per_second + divisor) / (2 * divisor);
        u64::try_from(frame).expect("a frame number of a u64 instant fits in u64")
    }

    /// Frame numbers drop-frame timecode skips at each minute: 2 at 29.97, 4 at 59.94; `None`
    /// at rates without drop-frame timecode.
    pub fn dropped_per_minute(self) -> Option<u64> {
        match (self.denominator, self.base) {
            (1001, 30) => Some(2),
            (1001, 60) => Some(4),
            _ => None,
        }
    }
}

/// A timecode label `HH:MM:SS:FF` (`HH:MM:SS;FF` in drop-frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timecode {
    /// Hours, 0..24.
    pub hours: u8,
    /// Minutes, 0..60.
    pub minutes: u8,
    /// Seconds, 0..60.
    pub seconds: u8,
    /// Frames within the second, 0..the timecode base.
    pub frames: u8,
    /// Whether it is a drop-frame label (written with `;` before the frames).
    pub drop_frame: bool,
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separator = if self.drop_frame { ';' } else { ':' };
        write!(
            f,
            "{:02}:{:02}:{:02}{separator}{:02}",
            self.hours, self.minutes, self.seconds, self.frames
        )
    }
}

impl FromStr for Timecode {
    type Err = EdlError;

    /// Reads `HH:MM:SS:FF` or `HH:MM:SS;FF` (two digits each); ranges are checked by
    /// [`TimecodeFormat::frame`], which knows the rate.
    fn from_str(text: &str) -> Result<Timecode, EdlError> {
        let invalid = |reason| EdlError::InvalidTimecode { text: text.to_owned(), reason };
        let bytes = text.as_bytes();
        if bytes.len() != 11 || bytes[2] != b':' || bytes[5] != b':' {
            return Err(invalid("not HH:MM:SS:FF"));
        }
        let drop_frame = match bytes[8] {
            b':' => false,
            b';' => true,
            _ => return Err(invalid("not HH:MM:SS:FF")),
        };
        let field = |at: usize| -> Result<u8, EdlError> {
            let digits = &bytes[at..at + 2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(invalid("a field is not two digits"));
            }
            Ok((digits[0] - b'0') * 10 + (digits[1] - b'0'))
        };
        Ok(Timecode {
            hours: field(0)?,
            minutes: field(3)?,
            seconds: field(6)?,
            frames: field(9)?,
            drop_frame,
        })
    }
}

/// How frames are written as timecode: a rate, drop-frame or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimecodeFormat {
    rate: FrameRate,
    drop_frame: bool,
}

impl TimecodeFormat {
    /// Timecode at `rate`; drop-frame when `drop_frame` is asked for and the rate has it
    /// (29.97 and 59.94), non-drop-frame otherwise.
    pub fn new(rate: FrameRate, drop_frame: bool) -> TimecodeFormat {
        TimecodeFormat { rate, drop_frame: drop_frame && rate.dropped_per_minute().is_some() }
    }

    /// The frame rate.
    pub fn rate(self) -> FrameRate {
        self.rate
    }

    /// Whether labels are drop-frame.
    pub fn is_drop_frame(self) -> bool {
        self.drop_frame
    }

    /// The `FCM:` line of an EDL in this format.
    pub fn fcm_line(self) -> &'static str {
        if self.drop_frame {
            "FCM: DROP FRAME"
        } else {
            "FCM: NON-DROP FRAME"
        }
    }

    fn dropped(self) -> Option<u64> {
        self.rate.dropped_per_minute().filter(|_| self.drop_frame)
    }

    /// The label of frame number `frame` (0 is `00:00:00:00`).
    pub fn timecode(self, frame: u64) -> Result<Timecode, EdlError> {
        let base = self.rate.base;
        let label = match self.dropped() {
            None => frame,
            Some(dropped) => {
                // Every ten minutes hold 10 × 60 × base labels less 9 minutes' dropped ones;
                // within them, the first minute is whole and each later one starts `dropped`
                // labels on.
                let per_minute = base * 60 - dropped;
                let per_ten_minutes = base * 600 - 9 * dropped;
                let (tens, within) = (frame / per_ten_minutes, frame % per_ten_minutes);
                let later_minutes =
                    if within < dropped { 0 } else { (within - dropped) / per_minute };
                frame + dropped * (9 * tens + later_minutes)
            }
        };
        let total_seconds = label / base;
        let hours = total_seconds / 3600;
        if hours >= 24 {
            return Err(EdlError::BeyondDay { frame, milli: self.rate.milli });
        }
        let two_digits = |value: u64| u8::try_from(value).expect("below 100");
        Ok(Timecode {
            hours: two_digits(hours),
            minutes: two_digits(total_seconds / 60 % 60),
            seconds: two_digits(total_seconds % 60),
            frames: two_digits(label % base),
            drop_frame: self.drop_frame,
        })
    }

    /// The frame number a label stands for; an error when the label is not one of this
    /// format: fields out of range, the wrong separator, or a drop-frame label that does not
    /// exist (such as `00:01:00;00`).
    pub fn frame(self, timecode: Timecode) -> Result<u64, EdlError> {
        let invalid = |reason| EdlError::InvalidTimecode { text: timecode.to_string(), reason };
        let base = self.rate.base;
        if timecode.drop_frame != self.drop_frame {
            return Err(invalid(if self.drop_frame {
                "drop-frame timecode separates the frames with ';'"
            } else {
                "non-drop-frame timecode separates the frames with ':'"
            }));
        }
        if timecode.hours >= 24 || timecode.minutes >= 60 || timecode.seconds >= 60 {
            return Err(invalid("hours, minutes or seconds out of range"));
        }
        if u64::from(timecode.frames) >= base {
            return Err(invalid("frames not below the timecode rate"));
        }
        let minutes = u64::from(timecode.hours) * 60 + u64::from(timecode.minutes);
        let label =
            (minutes * 60 + u64::from(timecode.seconds)) * base + u64::from(timecode.frames);
        match self.dropped() {
            None => Ok(label),
            Some(dropped) => {
                let skipped = timecode.seconds == 0
                    && u64::from(timecode.frames) < dropped
                    && !timecode.minutes.is_multiple_of(10);
                if skipped {
                    return Err(invalid("drop-frame timecode skips this label"));
                }
                Ok(label - dropped * (minutes - minutes / 10))
            }
        }
    }
}

/// What an event's source carries, for the channel field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Picture only (`V`): an event without audio tracks.
    Video,
    /// Picture and sound (`B`).
    VideoAndAudio,
}

impl Channel {
    /// The channel as written in an event line.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Video => "V",
            Channel::VideoAndAudio => "B",
        }
    }
}

/// One clip of an EDL: a range of event time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdlClip {
    /// The name in its `* FROM CLIP NAME:` comment.
    pub name: String,
    /// Source in-point in milliseconds of event time.
    pub source_in_ms: u64,
    /// Source out-point in milliseconds of event time (after the in-point).
    pub source_out_ms: u64,
}

/// The clips of an EDL and how to write them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edl {
    /// The title (its `TITLE:` line).
    pub title: String,
    /// The channel of every event.
    pub channel: Channel,
    /// The timecode of every event.
    pub format: TimecodeFormat,
    /// The clips, in the order of the events.
    pub clips: Vec<EdlClip>,
}

impl Edl {
    /// The text of each file of this EDL: one, or one per 999 events (see the module
    /// documentation). Always at least one, with the header only when there are no clips.
    pub fn write(&self) -> Result<Vec<String>, EdlError> {
        let mut frames = Vec::with_capacity(self.clips.len());
        for clip in &self.clips {
            let source_in = self.format.rate.frame_at(clip.source_in_ms);
            let source_out = self.format.rate.frame_at(clip.source_out_ms);
            if source_out > source_in {
                frames.push((clip, source_in, source_out));
            }
        }
        let parts: Vec<_> = if frames.is_empty() {
            vec![&frames[..]]
        } else {
            frames.chunks(MAX_EVENTS_PER_FILE).collect()
        };
        let count = parts.len();
        parts
            .iter()
            .enumerate()
            .map(|(index, events)| {
                let suffix = if count > 1 {
                    format!(" (part {} of {count})", index + 1)
                } else {
                    String::new()
                };
                self.write_part(&suffix, events)
            })
            .collect()
    }

    /// One file: the header and `events` as `(clip, source in frame, source out frame)`.
    fn write_part(
        &self,
        title_suffix: &str,
        events: &[(&EdlClip, u64, u64)],
    ) -> Result<String, EdlError> {
        let title_chars = MAX_TITLE_CHARS - title_suffix.chars().count();
        let title: String = one_line(&self.title).chars().take(title_chars).collect();
        let mut text =
            format!("TITLE: {}{title_suffix}\n{}\n", title.trim_end(), self.format.fcm_line());
        let mut record_in = 0;
        for (index, (clip, source_in, source_out)) in events.iter().enumerate() {
            let record_out = record_in + (source_out - source_in);
            let timecode = |frame| self.format.timecode(frame);
            text.push_str(&format!(
                "\n{:03}  {REEL:<8} {:<5} C        {} {} {} {}\n* FROM CLIP NAME: {}\n",
                index + 1,
                self.channel.code(),
                timecode(*source_in)?,
                timecode(*source_out)?,
                timecode(record_in)?,
                timecode(record_out)?,
                one_line(&clip.name).trim(),
            ));
            record_in = record_out;
        }
        Ok(text)
    }
}

/// `text` with every control character (line breaks included) replaced by a space.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The file name of part `part` (0-based) of an EDL whose single file would be `<stem>.edl`:
/// `<stem>.edl` for the first part, `<stem>.partN.edl` (N = 2, 3, ...) for the others.
pub fn part_file_name(stem: &str, part: usize) -> String {
    if part == 0 {
        format!("{stem}.edl")
    } else {
        format!("{stem}.part{}.edl", part + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(milli: u64) -> FrameRate {
        FrameRate::from_milli(milli).unwrap()
    }

    fn tc(format: TimecodeFormat, frame: u64) -> String {
        format.timecode(frame).unwrap().to_string()
    }

    fn frame_of(format: TimecodeFormat, text: &str) -> Result<u64, EdlError> {
        format.frame(text.parse()?)
    }

    #[test]
    fn rates_with_timecode_and_without() {
        for (milli, base) in
            [(25_000, 25), (50_000, 50), (30_000, 30), (23_976, 24), (29_970, 30), (59_940, 60)]
        {
            assert_eq!(rate(milli).timecode_base(), base, "{milli}");
        }
        for milli in [0, 12_500, 29_971, 30_001, 101_000, 119_880, 120_000, u64::MAX] {
            assert_eq!(
                FrameRate::from_milli(milli),
                Err(EdlError::UnsupportedRate { milli }),
                "{milli}"
            );
        }
        assert_eq!(
            EdlError::UnsupportedRate { milli: 12_500 }.to_string().split(':').next().unwrap(),
            "frame rate 12.5 fps has no timecode"
        );
    }

    #[test]
    fn nearest_frame_with_ties_away_from_zero() {
        let pal = rate(25_000); // 40 ms a frame
        assert_eq!(pal.frame_at(0), 0);
        assert_eq!(pal.frame_at(19), 0);
        assert_eq!(pal.frame_at(20), 1, "a tie goes up");
        assert_eq!(pal.frame_at(59), 1);
        assert_eq!(pal.frame_at(60), 2, "a tie goes up");
        assert_eq!(pal.frame_at(74_000), 1850);
        let fifty = rate(50_000); // 20 ms a frame
        assert_eq!(fifty.frame_at(10), 1);
        assert_eq!(fifty.frame_at(9), 0);
        let ntsc = rate(29_970); // 1001/30 ms a frame
        assert_eq!(ntsc.frame_at(1001), 30, "exactly 30 frames");
        assert_eq!(ntsc.per_second(), 30_000.0 / 1001.0);
        // Frame 1 is at 33.3667 ms: the tie between frames 0 and 1 is 16.683 ms.
        assert_eq!(ntsc.frame_at(16), 0);
        assert_eq!(ntsc.frame_at(17), 1);
        // At 29.97 no whole millisecond is a tie (1001 and 60 have no common factor); at 60
        // fps 25 ms is one and a half frames.
        assert_eq!(rate(60_000).frame_at(25), 2, "1.5 frames rounds up");
        assert_eq!(rate(60_000).frame_at(8), 0, "0.48 frames rounds down");
        assert_eq!(rate(23_976).frame_at(1001), 24);
        assert_eq!(rate(23_976).frame_at(10 * 3600 * 1000), 863_137, "10 h at 23.976");
    }

    #[test]
    fn non_drop_frame_labels() {
        let pal = TimecodeFormat::new(rate(25_000), true);
        assert!(!pal.is_drop_frame(), "25 fps has no drop-frame timecode");
        assert_eq!(pal.fcm_line(), "FCM: NON-DROP FRAME");
        assert_eq!(tc(pal, 0), "00:00:00:00");
        assert_eq!(tc(pal, 24), "00:00:00:24");
        assert_eq!(tc(pal, 25), "00:00:01:00");
        assert_eq!(tc(pal, 1850), "00:01:14:00");
        assert_eq!(tc(pal, 25 * 3600 * 24 - 1), "23:59:59:24");
        assert_eq!(
            pal.timecode(25 * 3600 * 24),
            Err(EdlError::BeyondDay { frame: 25 * 3600 * 24, milli: 25_000 })
        );
        let ntsc = TimecodeFormat::new(rate(29_970), false);
        assert_eq!(tc(ntsc, 1800), "00:01:00:00", "non-drop 29.97 counts 30 a second");
        assert_eq!(tc(TimecodeFormat::new(rate(50_000), false), 149), "00:00:02:49");
    }

    #[test]
    fn drop_frame_labels_skip_the_first_frames_of_most_minutes() {
        let df = TimecodeFormat::new(rate(29_970), true);
        assert!(df.is_drop_frame());
        assert_eq!(df.fcm_line(), "FCM: DROP FRAME");
        assert_eq!(tc(df, 0), "00:00:00;00");
        assert_eq!(tc(df, 1799), "00:00:59;29");
        assert_eq!(tc(df, 1800), "00:01:00;02");
        assert_eq!(tc(df, 17_981), "00:09:59;29");
        assert_eq!(tc(df, 17_982), "00:10:00;00");
        assert_eq!(tc(df, 17_982 + 1800), "00:11:00;02");
        // One hour of 29.97 is 107892 frames and 01:00:00;00 exactly.
        assert_eq!(tc(df, 107_892), "01:00:00;00");
        assert_eq!(frame_of(df, "00:01:00;02"), Ok(1800));
        assert_eq!(frame_of(df, "00:10:00;00"), Ok(17_982));
        for missing in ["00:01:00;00", "00:01:00;01", "00:59:00;01", "23:01:00;00"] {
            assert!(
                matches!(frame_of(df, missing), Err(EdlError::InvalidTimecode { .. })),
                "{missing} does not exist in drop-frame"
            );
        }
        assert!(frame_of(df, "00:00:00:00").is_err(), "':' is not drop-frame");

        let df60 = TimecodeFormat::new(rate(59_940), true);
        assert!(df60.is_drop_frame());
        assert_eq!(tc(df60, 3599), "00:00:59;59");
        assert_eq!(tc(df60, 3600), "00:01:00;04");
        assert_eq!(tc(df60, 35_963), "00:09:59;59");
        assert_eq!(tc(df60, 35_964), "00:10:00;00");
        assert!(frame_of(df60, "00:01:00;03").is_err());
        assert_eq!(frame_of(df60, "00:01:00;04"), Ok(3600));

        assert!(!TimecodeFormat::new(rate(23_976), true).is_drop_frame());
        assert!(!TimecodeFormat::new(rate(30_000), true).is_drop_frame());
    }

    #[test]
    fn every_frame_round_trips_and_labels_increase() {
        for (milli, drop_frame) in
            [(29_970, true), (59_940, true), (29_970, false), (25_000, false), (23_976, false)]
        {
            let format = TimecodeFormat::new(rate(milli), drop_frame);
            let base = format.rate().timecode_base();
            let mut previous: Option<Timecode> = None;
            // Well past the first ten minutes, then around the end of the first hour.
            let frames = (0..base * 60 * 21).chain(base * 3590..base * 3610);
            for frame in frames {
                let label = format.timecode(frame).unwrap();
                assert_eq!(format.frame(label), Ok(frame), "{label} at {milli}");
                let text = label.to_string();
                assert_eq!(text.parse::<Timecode>(), Ok(label));
                if let Some(previous) = previous.filter(|_| frame % (base * 3590) != 0) {
                    assert!(previous.to_string() < text, "{previous} then {text} at {milli}");
                }
                previous = Some(label);
            }
        }
    }

    #[test]
    fn the_day_of_drop_frame_labels_ends_at_23_59_59_29() {
        // 24 hours of drop-frame labels are 24 × 107892 frames (3.6 ms short of an hour each).
        let df = TimecodeFormat::new(rate(29_970), true);
        assert_eq!(tc(df, 24 * 107_892 - 1), "23:59:59;29");
        assert!(df.timecode(24 * 107_892).is_err());
        assert_eq!(frame_of(df, "23:59:59;29"), Ok(24 * 107_892 - 1));
    }

    #[test]
    fn timecode_text_is_checked() {
        for bad in ["0:00:00:00", "00:00:00:0x", "00-00-00-00", "00:00:00.00", "00:00:00:000"] {
            assert!(bad.parse::<Timecode>().is_err(), "{bad}");
        }
        let pal = TimecodeFormat::new(rate(25_000), false);
        assert!(frame_of(pal, "00:00:00:25").is_err(), "frames must be below 25");
        assert!(frame_of(pal, "00:60:00:00").is_err());
        assert!(frame_of(pal, "24:00:00:00").is_err());
        assert!(frame_of(pal, "00:00:00;00").is_err(), "';' is drop-frame");
    }

    fn clip(name: &str, source_in_ms: u64, source_out_ms: u64) -> EdlClip {
        EdlClip { name: name.into(), source_in_ms, source_out_ms }
    }

    #[test]
    fn writes_the_cmx_3600_lines() {
        let edl = Edl {
            title: "wimbledon-sf1 track 1".into(),
            channel: Channel::VideoAndAudio,
            format: TimecodeFormat::new(rate(25_000), false),
            clips: vec![
                clip("wimbledon-sf1 74.000-82.800", 74_000, 82_800),
                clip("a\nb", 5_360, 16_480),
                clip("too short", 1_000, 1_019),
            ],
        };
        let parts = edl.write().unwrap();
        assert_eq!(
            parts,
            ["TITLE: wimbledon-sf1 track 1\n\
              FCM: NON-DROP FRAME\n\
              \n\
              001  AX       B     C        00:01:14:00 00:01:22:20 00:00:00:00 00:00:08:20\n\
              * FROM CLIP NAME: wimbledon-sf1 74.000-82.800\n\
              \n\
              002  AX       B     C        00:00:05:09 00:00:16:12 00:00:08:20 00:00:19:23\n\
              * FROM CLIP NAME: a b\n"]
        );
        for line in parts[0].lines().filter(|l| l.starts_with("00")) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 8, "{line}");
            assert!(fields[1].len() <= MAX_REEL_CHARS);
        }
        assert!(REEL.len() <= MAX_REEL_CHARS);
    }

    #[test]
    fn drop_frame_video_only_events() {
        let edl = Edl {
            title: "t".into(),
            channel: Channel::Video,
            format: TimecodeFormat::new(rate(29_970), true),
            clips: vec![clip("c", 59_000, 61_000)],
        };
        // 59 s = 1768.23 frames -> 1768 = 00:00:58;28; 61 s = 1828.17 -> 1828 = 00:01:01;00.
        assert_eq!(
            edl.write().unwrap(),
            ["TITLE: t\nFCM: DROP FRAME\n\n\
              001  AX       V     C        00:00:58;28 00:01:01;00 00:00:00;00 00:00:02;00\n\
              * FROM CLIP NAME: c\n"]
        );
    }

    #[test]
    fn an_edl_without_clips_is_its_header() {
        let edl = Edl {
            title: format!("{}\r", "x".repeat(100)),
            channel: Channel::Video,
            format: TimecodeFormat::new(rate(50_000), false),
            clips: Vec::new(),
        };
        assert_eq!(
            edl.write().unwrap(),
            [format!("TITLE: {}\nFCM: NON-DROP FRAME\n", "x".repeat(MAX_TITLE_CHARS))]
        );
    }

    #[test]
    fn more_than_999_events_are_split_into_parts() {
        let clips: Vec<EdlClip> =
            (0..2000).map(|i| clip(&format!("c{i}"), i * 1000, i * 1000 + 400)).collect();
        let edl = Edl {
            title: "long".into(),
            channel: Channel::VideoAndAudio,
            format: TimecodeFormat::new(rate(25_000), false),
            clips,
        };
        let parts = edl.write().unwrap();
        assert_eq!(parts.len(), 3);
        let events = |part: &str| part.lines().filter(|l| l.starts_with(char::is_numeric)).count();
        assert_eq!(parts.iter().map(|p| events(p)).collect::<Vec<_>>(), [999, 999, 2]);
        assert!(parts[1].starts_with("TITLE: long (part 2 of 3)\nFCM: NON-DROP FRAME\n\n"));
        let first_of_part_two = parts[1].lines().nth(3).unwrap();
        assert_eq!(
            first_of_part_two,
            "001  AX       B     C        00:16:39:00 00:16:39:10 00:00:00:00 00:00:00:10"
        );
        assert!(parts[2].contains("\n002  AX "));
        assert_eq!(part_file_name("event-1", 0), "event-1.edl");
        assert_eq!(part_file_name("event-1", 2), "event-1.part3.edl");
    }
}
