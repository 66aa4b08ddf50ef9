//! Event time: seconds on the wire, integer milliseconds inside.
//!
//! SEMANTICS §1: a time is normalised to integer milliseconds, rounding half away from zero on
//! the decimal the publisher wrote, and is valid between 0 and 10 days.

use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest valid time or duration: 10 days, in milliseconds.
pub const MAX_TIME_MS: u64 = 10 * 24 * 3600 * 1000;

/// A time or duration in integer milliseconds, read from and written as seconds.
///
/// Reading accepts a JSON number of seconds between 0 and 864000 (10 days); more than three
/// decimals are rounded half away from zero. Writing produces seconds with at most 3 decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(pub u64);

impl Seconds {
    /// The value in milliseconds.
    pub fn ms(self) -> u64 {
        self.0
    }
}

/// Converts seconds, as parsed from JSON, to milliseconds, or says why it cannot.
///
/// Rounding works on the shortest decimal that reads back as `seconds` (what the publisher
/// wrote, for up to 15 significant digits), so `1.0005` rounds up to 1001 ms although its
/// nearest double is slightly below the half.
///
/// The range is checked on the rounded value (SEMANTICS §8.1): `-0`, `-0.0` and `-0.0004`
/// round to 0 ms and are valid; `-0.0005` rounds to -1 ms and is negative.
pub fn seconds_to_ms(seconds: f64) -> Result<u64, String> {
    if !seconds.is_finite() {
        return Err(format!("{seconds} is not a finite number of seconds"));
    }
    let millis = round_decimal_thousandths(seconds.abs());
    if seconds.is_sign_negative() && millis > 0 {
        return Err(format!("{seconds} is negative"));
    }
    if millis > MAX_TIME_MS {
        return Err(format!("{seconds} is more than 10 days (864000 s)"));
    }
    Ok(millis)
}

/// Rounds a non-negative finite number to thousandths, half away from zero, on its shortest
/// decimal representation; saturates at `u64::MAX`.
pub fn round_decimal_thousandths(value: f64) -> u64 {
    // Most times are a whole number of milliseconds, give or take the error of binary floating
    // point, and then no decimal needs to be written out. The shortest decimal `d` is within half
    // an ulp of `value`, so below 1e9 `d * 1000` is within 3e-4 of `value * 1000`: when that is
    // within 0.25 of an integer, `d * 1000` is within 0.5 of it and rounds to it.
    let thousandths = value * 1000.0;
    let nearest = thousandths.round();
    if value.is_sign_positive() && value < 1e9 && (thousandths - nearest).abs() < 0.25 {
        return nearest as u64;
    }
    round_written_decimal(value)
}

/// [`round_decimal_thousandths`] by writing the decimal out.
fn round_written_decimal(value: f64) -> u64 {
    if value >= 1e15 {
        return u64::MAX;
    }
    // Rust's `Display` for f64 prints the shortest round-tripping decimal, never an exponent.
    let text = format!("{value}");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole: u64 = whole.parse().unwrap_or(u64::MAX);
    let digits: Vec<u64> = fraction.bytes().map(|b| u64::from(b - b'0')).collect();
    let digit = |i: usize| digits.get(i).copied().unwrap_or(0);
    let thousandths = digit(0) * 100 + digit(1) * 10 + digit(2);
    let round_up = u64::from(digit(3) >= 5);
    whole.saturating_mul(1000).saturating_add(thousandths + round_up)
}

/// Writes milliseconds as seconds: the nearest double to the decimal, which JSON writers print
/// with at most three decimals.
pub fn ms_to_seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Seconds as JSON writes them: `12.5`, `3`, `0.04`.
impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", ms_to_seconds(self.0))
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(ms_to_seconds(self.0))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;
        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds between 0 and 864000")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                if v > MAX_TIME_MS / 1000 {
                    return Err(E::custom(format!("{v} is more than 10 days (864000 s)")));
                }
                Ok(Seconds(v * 1000))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                if v < 0 {
                    return Err(E::custom(format!("{v} is negative")));
                }
                self.visit_u64(v as u64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                seconds_to_ms(v).map(Seconds).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SecondsVisitor)
    }
}

impl JsonSchema for Seconds {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Seconds".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "minimum": 0,
            "maximum": 864000,
            "description": "Seconds of event time (0 = first frame of the first chunk); \
                            more than 3 decimals are rounded half away from zero"
        })
    }
}

/// Serde helpers for optional times, where JSON `null` means absent.
pub mod optional {
    use super::Seconds;
    use serde::{Serialize, Serializer};

    /// Writes an optional millisecond value as seconds or `null`.
    pub fn serialize<S: Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
        value.map(Seconds).serialize(serializer)
    }
}

/// Serde helpers for a millisecond `u64` field written as seconds.
pub mod millis {
    use super::Seconds;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes milliseconds as seconds.
    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        Seconds(*value).serialize(serializer)
    }

    /// Reads seconds into milliseconds, with the rules of [`Seconds`].
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        Seconds::deserialize(deserializer).map(Seconds::ms)
    }
}

/// A rate (frames per second) normalised to thousandths, like times: 29.97 is 29970.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(pub u64);

/// The largest accepted rate, in frames per second.
pub const MAX_RATE: u64 = 1000;

impl Rate {
    /// The rate in thousandths of a frame per second.
    pub fn milli(self) -> u64 {
        self.0
    }
}

/// A rate in thousandths as frames per second (29970 -> 29.97).
pub fn per_second(milli: u64) -> f64 {
    milli as f64 / 1000.0
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(1000) {
            serializer.serialize_u64(self.0 / 1000)
        } else {
            serializer.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        let out_of_range = || {
            de::Error::custom(format!(
                "{value} is not a rate above 0 and at most {MAX_RATE} per second"
            ))
        };
        if !value.is_finite() || value <= 0.0 || value > MAX_RATE as f64 {
            return Err(out_of_range());
        }
        match round_decimal_thousandths(value) {
            0 => Err(out_of_range()),
            milli => Ok(Rate(milli)),
        }
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_RATE,
            "description": "Frames per second, e.g. 25, 29.97 or 50 (3 decimals kept)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero_on_the_written_decimal() {
        assert_eq!(seconds_to_ms(1.0005), Ok(1001));
        assert_eq!(seconds_to_ms(1.0004999), Ok(1000));
        assert_eq!(seconds_to_ms(0.0015), Ok(2));
        assert_eq!(seconds_to_ms(2.675), Ok(2675));
        assert_eq!(seconds_to_ms(0.1 + 0.2), Ok(300));
        assert_eq!(seconds_to_ms(12.3456789), Ok(12346));
        assert_eq!(seconds_to_ms(0.0), Ok(0));
    }

    #[test]
    fn rounding_without_writing_the_decimal_agrees_with_writing_it() {
        // Decimals of up to 7 places (what publishers write), values near the half of a
        // thousandth, and arbitrary doubles, from a fixed xorshift sequence.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut values = vec![0.0, -0.0, 0.0005, 0.0015, 2.675, 1.0005, 864000.0004, 1e9, 1e15];
        for _ in 0..200_000 {
            let places = (next() % 8) as i32;
            let digits = next() % 10_000_000_000_000;
            values.push(digits as f64 / 10f64.powi(places));
            let half = (next() % 1_000_000_000) as f64 + 0.5;
            values.push(half / 1000.0);
            values.push(f64::from_bits(next() >> 2));
            values.push(f64::from_bits(next() % 0x41d0_0000_0000_0000));
        }
        for value in values {
            assert_eq!(
                round_decimal_thousandths(value),
                round_written_decimal(value),
                "{value} ({:#x})",
                value.to_bits()
            );
        }
    }

    #[test]
    fn rejects_negative_non_finite_and_too_large() {
        assert!(seconds_to_ms(-0.001).is_err());
        assert!(seconds_to_ms(-0.0005).is_err());
        // Rounds to 0 ms, which is not negative.
        assert_eq!(seconds_to_ms(-0.0), Ok(0));
        assert_eq!(seconds_to_ms(-0.0004), Ok(0));
        assert!(seconds_to_ms(f64::NAN).is_err());
        assert!(seconds_to_ms(f64::INFINITY).is_err());
        assert_eq!(seconds_to_ms(864000.0), Ok(MAX_TIME_MS));
        assert!(seconds_to_ms(864000.001).is_err());
        // Rounds to 10 days exactly, which is still valid.
        assert_eq!(seconds_to_ms(864000.0004), Ok(MAX_TIME_MS));
    }

    #[test]
    fn seconds_round_trip_through_json() {
        let parsed: Seconds = serde_json::from_str("12.345").unwrap();
        assert_eq!(parsed, Seconds(12345));
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "12.345");
        assert_eq!(serde_json::to_string(&Seconds(10_000)).unwrap(), "10.0");
        let integer: Seconds = serde_json::from_str("7").unwrap();
        assert_eq!(integer, Seconds(7000));
        assert!(serde_json::from_str::<Seconds>("-1").is_err());
        assert!(serde_json::from_str::<Seconds>("\"1\"").is_err());
    }

    #[test]
    fn rates_keep_three_decimals() {
        assert_eq!(serde_json::from_str::<Rate>("29.97").unwrap(), Rate(29970));
        assert_eq!(serde_json::from_str::<Rate>("25").unwrap(), Rate(25000));
        assert!(serde_json::from_str::<Rate>("0").is_err());
        assert!(serde_json::from_str::<Rate>("0.0001").is_err());
        assert_eq!(serde_json::to_string(&Rate(25000)).unwrap(), "25");
        assert_eq!(serde_json::to_string(&Rate(29970)).unwrap(), "29.97");
    }
}
