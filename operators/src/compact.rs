//! Compact records: the input records as the dataflow holds them.
//!
//! Everything a detection, segment, label, optimization or feedback carries becomes `Copy` data
//! that owns no heap memory: ids, plugins, labels, attribute names and string values are
//! [`Sym`]s; times are [`Ms`] (validation caps them at ten days, which fits 32 bits); an
//! attribute value is a 16-byte [`Value`]; a whole attribute list is one interned [`AttrSet`].
//! A detection's identity (SEMANTICS §8.6) is its [`DetKey`], which is what duplicates and
//! deletes are matched on. The rare records with many fields (profiles, events, replays,
//! chunks) are shared behind an `Arc` with the few fields the computation needs extracted.
//!
//! [`Compact::from_record`] turns a validated [`Record`] into this form, routed by the key the
//! dataflow exchanges it on: an event id, or a profile name or replay id for the control
//! records. Strings come back only when a view is written ([`Value::to_attr`],
//! [`AttrSet::to_attributes`], [`Feature::to_view`]).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use reeltime_schemas::record::{
    Chunk, DeleteKind, Event, Extra, Profile, Record, Replay, ReplayMode, TimeRange, Verdict,
};
use reeltime_schemas::value::{AttrValue, Attributes};
use reeltime_schemas::view;

use crate::symbol::{stable_hash, Collision, Sym, Table};

/// Milliseconds of event time.
pub type Ms = u32;

/// An audio track number (1 or more).
pub type Track = NonZeroU32;

/// Why a validated record cannot be held in compact form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    /// Two texts share a symbol.
    #[error(transparent)]
    Collision(#[from] Collision),
    /// A time beyond what the dataflow holds (validation allows at most ten days).
    #[error("field `{field}`: {ms} ms is beyond the longest event time the engine holds")]
    TimeOutOfRange {
        /// The field.
        field: &'static str,
        /// Its value in milliseconds.
        ms: u64,
    },
    /// A track number of 0.
    #[error("field `track`: track must be at least 1")]
    TrackZero,
}

/// A time in milliseconds as [`Ms`].
pub fn ms(field: &'static str, ms: u64) -> Result<Ms, CompactError> {
    Ms::try_from(ms).map_err(|_| CompactError::TimeOutOfRange { field, ms })
}

fn track(track: u32) -> Result<Track, CompactError> {
    Track::new(track).ok_or(CompactError::TrackZero)
}

fn intern(text: &str) -> Result<Sym, CompactError> {
    Ok(Sym::intern(text)?)
}

/// The unknown fields of a record: `None` when it had none.
fn extra(extra: &Extra) -> Result<Option<Sym>, CompactError> {
    if extra.0.is_empty() {
        Ok(None)
    } else {
        intern(&extra.0).map(Some)
    }
}

/// The unknown fields of a record back as [`Extra`].
pub fn extra_of(extra: Option<Sym>) -> Extra {
    Extra(extra.map(|s| s.text().to_owned()).unwrap_or_default())
}

/// An attribute value in 16 bytes, compared as SEMANTICS compares JSON values (`1` equals
/// `1.0`, `true` never equals `1`): each value has one representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// An integral number that fits 64 bits.
    Int(i64),
    /// A number with a fractional part, as the bits of its `f64`.
    Float(u64),
    /// A string.
    Str(Sym),
    /// An integral number beyond 64 bits, as its decimal text.
    BigInt(Sym),
}

impl Value {
    /// The compact form of a canonical attribute value.
    pub fn from_attr(value: &AttrValue) -> Result<Value, CompactError> {
        Ok(match value {
            AttrValue::Bool(b) => Value::Bool(*b),
            AttrValue::Int(i) => match i64::try_from(*i) {
                Ok(i) => Value::Int(i),
                Err(_) => Value::BigInt(intern(&i.to_string())?),
            },
            AttrValue::Float(f) => Value::Float(f.get().to_bits()),
            AttrValue::String(s) => Value::Str(intern(s)?),
        })
    }

    /// The value back in canonical form.
    pub fn to_attr(self) -> AttrValue {
        match self {
            Value::Bool(b) => AttrValue::Bool(b),
            Value::Int(i) => AttrValue::Int(i.into()),
            Value::Float(bits) => AttrValue::from_f64(f64::from_bits(bits))
                .expect("a compact float came from a finite attribute value"),
            Value::Str(s) => AttrValue::String(s.text().to_owned()),
            Value::BigInt(s) => AttrValue::Int(
                s.text().parse().expect("a compact big integer holds its decimal text"),
            ),
        }
    }

    /// Bytes that identify the value, for hashing attribute lists.
    fn encode(self, bytes: &mut Vec<u8>) {
        let (tag, payload) = match self {
            Value::Bool(b) => (0, u64::from(b)),
            Value::Int(i) => (1, i as u64),
            Value::Float(bits) => (2, bits),
            Value::Str(s) => (3, s.hash64()),
            Value::BigInt(s) => (4, s.hash64()),
        };
        bytes.push(tag);
        bytes.extend_from_slice(&payload.to_le_bytes());
    }
}

/// One attribute: its name and value.
pub type Attr = (Sym, Value);

static ATTR_SETS: LazyLock<Table<[Attr]>> = LazyLock::new(Table::new);

/// An interned attribute list (sorted by name, as the record had it): a segment's, label's or
/// detection's attributes in 8 bytes. Like [`Sym`], it is the stable hash of its content,
/// checked against a process-wide table, and serializes as its content.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrSet(std::num::NonZeroU64);

impl AttrSet {
    /// Interns a list of attributes, which must be sorted by name text and distinct.
    pub fn intern(attrs: &[Attr]) -> Result<AttrSet, CompactError> {
        let mut bytes = Vec::with_capacity(attrs.len() * 17);
        for (name, value) in attrs {
            bytes.extend_from_slice(&name.hash64().to_le_bytes());
            value.encode(&mut bytes);
        }
        let hash = stable_hash(&bytes);
        ATTR_SETS
            .intern(hash.get(), attrs, |attrs| Box::leak(attrs.into()))
            .map(|_| AttrSet(hash))
            .map_err(|held| {
                CompactError::Collision(Collision {
                    held: format!("{:?}", held),
                    new: format!("{:?}", attrs),
                })
            })
    }

    /// The compact form of canonical attributes.
    pub fn from_attributes(attributes: &Attributes) -> Result<AttrSet, CompactError> {
        let attrs = attributes
            .iter()
            .map(|(name, value)| Ok((intern(name)?, Value::from_attr(value)?)))
            .collect::<Result<Vec<Attr>, CompactError>>()?;
        AttrSet::intern(&attrs)
    }

    /// The attributes, sorted by name.
    pub fn attrs(self) -> &'static [Attr] {
        ATTR_SETS.get(self.0.get()).expect("every attribute set was interned before it was made")
    }

    /// The attributes back in canonical form.
    pub fn to_attributes(self) -> Attributes {
        self.attrs().iter().map(|(name, value)| (name.text().to_owned(), value.to_attr())).collect()
    }
}

impl fmt::Debug for AttrSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.attrs().iter().map(|(n, v)| (n, v))).finish()
    }
}

impl Serialize for AttrSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.attrs().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AttrSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let attrs = Vec::<Attr>::deserialize(deserializer)?;
        AttrSet::intern(&attrs).map_err(serde::de::Error::custom)
    }
}

/// A feature of a segment (SEMANTICS §4): an attribute value some plugin reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Feature {
    /// The plugin that reported it.
    pub plugin: Sym,
    /// The attribute name.
    pub attribute: Sym,
    /// The value.
    pub value: Value,
}

impl Feature {
    /// A bound below every feature, for ranges of keys.
    pub(crate) fn least() -> Feature {
        Feature { plugin: Sym::least(), attribute: Sym::least(), value: Value::Bool(false) }
    }

    /// A bound above every feature, for ranges of keys.
    pub(crate) fn greatest() -> Feature {
        let greatest = Sym::greatest();
        Feature { plugin: greatest, attribute: greatest, value: Value::BigInt(greatest) }
    }

    /// The features an attribute list of `plugin` gives.
    pub fn of(plugin: Sym, attrs: AttrSet) -> impl Iterator<Item = Feature> {
        attrs.attrs().iter().map(move |&(attribute, value)| Feature { plugin, attribute, value })
    }

    /// The feature as the views show it.
    pub fn to_view(self) -> view::Feature {
        view::Feature {
            plugin: self.plugin.text().to_owned(),
            attribute: self.attribute.text().to_owned(),
            value: self.value.to_attr(),
        }
    }
}

/// A detection's identity within its event (SEMANTICS §8.6), ordered by start first so that
/// the detections of a time range are a range of keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DetKey {
    /// Its start.
    pub start: Ms,
    /// Its end (its start when the record had none).
    pub end: Ms,
    /// Its audio track; `None` for video, which applies to every track.
    pub track: Option<Track>,
    /// The featurer.
    pub plugin: Sym,
    /// Its label.
    pub label: Option<Sym>,
    /// What was detected.
    pub attrs: AttrSet,
}

impl DetKey {
    /// The least key starting at `start`.
    pub fn first_at(start: Ms) -> DetKey {
        let least = Sym::least();
        DetKey {
            start,
            end: 0,
            track: None,
            plugin: least,
            label: None,
            attrs: AttrSet(std::num::NonZeroU64::MIN),
        }
    }

    /// The greatest key starting at `start`.
    pub fn last_at(start: Ms) -> DetKey {
        let greatest = Sym::greatest();
        DetKey {
            start,
            end: Ms::MAX,
            track: Some(Track::MAX),
            plugin: greatest,
            label: Some(greatest),
            attrs: AttrSet(std::num::NonZeroU64::MAX),
        }
    }

    /// Orders two detections of one event as their typed records order (start, then plugin,
    /// end, track, label and attributes by their text), without making the records.
    pub fn cmp_as_record(&self, other: &DetKey) -> std::cmp::Ordering {
        self.start
            .cmp(&other.start)
            .then_with(|| self.plugin.text().cmp(other.plugin.text()))
            .then_with(|| self.end.cmp(&other.end))
            .then_with(|| self.track.cmp(&other.track))
            .then_with(|| self.label.map(Sym::text).cmp(&other.label.map(Sym::text)))
            .then_with(|| self.attrs.to_attributes().cmp(&other.attrs.to_attributes()))
    }
}

/// The latest segment record of a start, in compact form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SegmentRec {
    /// Its end; `None` while open without one.
    pub end: Option<Ms>,
    /// The classifier.
    pub plugin: Sym,
    /// The classifier's attributes.
    pub attrs: AttrSet,
    /// Unknown fields, as canonical JSON text.
    pub extra: Option<Sym>,
}

impl SegmentRec {
    /// Complete when its end is after its start (SEMANTICS §3).
    pub fn is_complete(&self, start: Ms) -> bool {
        self.end.is_some_and(|end| end > start)
    }

    /// The end of its range: its start while open.
    pub fn range_end(&self, start: Ms) -> Ms {
        self.end.unwrap_or(start)
    }
}

/// The latest label of a start, in compact form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LabelRec {
    /// The labeler.
    pub plugin: Sym,
    /// The label text.
    pub label: Sym,
    /// The labeler's attributes.
    pub attrs: AttrSet,
}

/// Optimized bounds of a segment on one track.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bounds {
    /// The in-point.
    pub start: Ms,
    /// The out-point.
    pub end: Ms,
}

/// An event record with the fields the computation reads extracted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDef {
    /// The record, for the views.
    pub record: Event,
    /// Its profile's name.
    pub profile: Sym,
}

/// A priority entry of a replay that counts in its mode (SEMANTICS §5, §8.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Only features of this plugin match; any plugin when `None`.
    pub plugin: Option<Sym>,
    /// The attribute.
    pub attribute: Sym,
    /// The value.
    pub value: Value,
    /// Its weight (0 outside duration mode).
    pub weight: u64,
}

impl Entry {
    /// Whether the entry matches a feature.
    pub fn matches(&self, feature: &Feature) -> bool {
        self.attribute == feature.attribute
            && self.value == feature.value
            && self.plugin.is_none_or(|plugin| plugin == feature.plugin)
    }
}

/// A replay record with what the computation reads extracted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayDef {
    /// The record, for the views and exports.
    pub record: Replay,
    /// The replay's id.
    pub id: Sym,
    /// Its event.
    pub event: Sym,
    /// Its track.
    pub track: Track,
    /// The priority entries that count in its mode, in order.
    pub entries: Vec<Entry>,
}

impl ReplayDef {
    fn new(record: Replay) -> Result<ReplayDef, CompactError> {
        let scored = record.mode == ReplayMode::Duration;
        let entries = record
            .priorities
            .iter()
            .filter(|p| crate::selection::entry_counts(&record, p))
            .map(|p| {
                Ok(Entry {
                    plugin: p.plugin.as_deref().map(intern).transpose()?,
                    attribute: intern(&p.attribute)?,
                    value: Value::from_attr(&p.value)?,
                    weight: if scored { u64::from(p.weight.unwrap_or(0)) } else { 0 },
                })
            })
            .collect::<Result<_, CompactError>>()?;
        for range in &record.timestamps {
            check_range(range)?;
        }
        if let Some(duration) = record.duration_ms {
            ms("duration", duration)?;
        }
        Ok(ReplayDef {
            id: intern(&record.replay_id)?,
            event: intern(&record.event_id)?,
            track: track(record.track)?,
            entries,
            record,
        })
    }
}

fn check_range(range: &TimeRange) -> Result<(), CompactError> {
    ms("timestamps", range.start_ms)?;
    ms("timestamps", range.end_ms)?;
    Ok(())
}

/// A record about one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventInput {
    /// The event record.
    Event(Arc<EventDef>),
    /// A delete of the event.
    Delete,
    /// A chunk of its video.
    Chunk(Arc<Chunk>),
    /// A segment record.
    Segment {
        /// The segment's start.
        start: Ms,
        /// The record.
        rec: SegmentRec,
        /// Whether it removes the segment.
        deleted: bool,
    },
    /// An optimization.
    Optimization {
        /// The segment's start.
        start: Ms,
        /// The track.
        track: Track,
        /// The optimized bounds.
        bounds: Bounds,
    },
    /// A label.
    Label {
        /// The segment's start.
        start: Ms,
        /// The record.
        rec: LabelRec,
    },
    /// A detection.
    Detection {
        /// Its identity.
        key: DetKey,
        /// Whether it removes the identical earlier detection.
        deleted: bool,
    },
    /// Feedback.
    Feedback {
        /// The segment's start.
        start: Ms,
        /// The track.
        track: Track,
        /// The verdict.
        verdict: Verdict,
    },
}

/// A record keyed by a profile name or replay id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControlInput {
    /// A profile.
    Profile(Arc<Profile>),
    /// A replay.
    Replay(Arc<ReplayDef>),
    /// A delete of the profile.
    DeleteProfile,
    /// A delete of the replay.
    DeleteReplay,
}

/// A record in compact form with the key it is exchanged on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compact {
    /// About the event `.0`.
    Event(Sym, EventInput),
    /// About the profile or replay `.0`.
    Control(Sym, ControlInput),
}

impl Compact {
    /// The compact form of a validated record.
    pub fn from_record(record: Record) -> Result<Compact, CompactError> {
        Ok(match record {
            Record::Profile(p) => {
                Compact::Control(intern(&p.name)?, ControlInput::Profile(p.into()))
            }
            Record::Replay(r) => {
                let def = ReplayDef::new(r)?;
                Compact::Control(def.id, ControlInput::Replay(def.into()))
            }
            Record::Delete(d) => {
                let id = intern(&d.id)?;
                match d.kind {
                    DeleteKind::Event => Compact::Event(id, EventInput::Delete),
                    DeleteKind::Profile => Compact::Control(id, ControlInput::DeleteProfile),
                    DeleteKind::Replay => Compact::Control(id, ControlInput::DeleteReplay),
                }
            }
            Record::Event(e) => {
                let def = EventDef { profile: intern(&e.profile)?, record: e };
                Compact::Event(intern(&def.record.event_id)?, EventInput::Event(def.into()))
            }
            Record::Chunk(c) => Compact::Event(intern(&c.event_id)?, EventInput::Chunk(c.into())),
            Record::Segment(s) => {
                let start = ms("start", s.start_ms)?;
                let end = s.end_ms.map(|end| ms("end", end)).transpose()?;
                let rec = SegmentRec {
                    end,
                    plugin: intern(&s.plugin)?,
                    attrs: AttrSet::from_attributes(&s.attributes)?,
                    extra: extra(&s.extra)?,
                };
                Compact::Event(
                    intern(&s.event_id)?,
                    EventInput::Segment { start, rec, deleted: s.deleted },
                )
            }
            Record::Optimization(o) => Compact::Event(
                intern(&o.event_id)?,
                EventInput::Optimization {
                    start: ms("start", o.start_ms)?,
                    track: track(o.track)?,
                    bounds: Bounds {
                        start: ms("opto_start", o.opto_start_ms)?,
                        end: ms("opto_end", o.opto_end_ms)?,
                    },
                },
            ),
            Record::Label(l) => Compact::Event(
                intern(&l.event_id)?,
                EventInput::Label {
                    start: ms("start", l.start_ms)?,
                    rec: LabelRec {
                        plugin: intern(&l.plugin)?,
                        label: intern(&l.label)?,
                        attrs: AttrSet::from_attributes(&l.attributes)?,
                    },
                },
            ),
            Record::Detection(d) => {
                let key = DetKey {
                    start: ms("start", d.start_ms)?,
                    end: ms("end", d.end_ms)?,
                    track: d.track.map(track).transpose()?,
                    plugin: intern(&d.plugin)?,
                    label: d.label.as_deref().map(intern).transpose()?,
                    attrs: AttrSet::from_attributes(&d.attributes)?,
                };
                Compact::Event(
                    intern(&d.event_id)?,
                    EventInput::Detection { key, deleted: d.deleted },
                )
            }
            Record::Feedback(f) => Compact::Event(
                intern(&f.event_id)?,
                EventInput::Feedback {
                    start: ms("start", f.start_ms)?,
                    track: track(f.track)?,
                    verdict: f.verdict,
                },
            ),
        })
    }

    /// The key the record is exchanged on.
    pub fn key(&self) -> Sym {
        match self {
            Compact::Event(key, _) | Compact::Control(key, _) => *key,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AttrValue {
        serde_json::from_str::<reeltime_schemas::value::JsonValue>(text).unwrap().0
    }

    #[test]
    fn values_round_trip_and_compare_as_json_values() {
        for text in ["true", "false", "0", "-12", "1.5", "\"x\"", "1e25", "-1e25", "9.75e-3"] {
            let value = parse(text);
            assert_eq!(Value::from_attr(&value).unwrap().to_attr(), value, "{text}");
        }
        let one = Value::from_attr(&parse("1")).unwrap();
        assert_eq!(one, Value::from_attr(&parse("1.0")).unwrap());
        assert_ne!(one, Value::from_attr(&parse("true")).unwrap());
        assert_ne!(one, Value::from_attr(&parse("\"1\"")).unwrap());
        assert!(matches!(Value::from_attr(&parse("1e25")).unwrap(), Value::BigInt(_)));
        assert_eq!(std::mem::size_of::<Value>(), 16);
    }

    #[test]
    fn attribute_sets_are_interned_by_content() {
        let attrs: Attributes =
            [("Ace".to_owned(), AttrValue::Bool(true)), ("Level".to_owned(), parse("0.75"))].into();
        let a = AttrSet::from_attributes(&attrs).unwrap();
        assert_eq!(a, AttrSet::from_attributes(&attrs.clone()).unwrap());
        assert_eq!(a.to_attributes(), attrs);
        let mut other = attrs.clone();
        other.insert("Level".into(), parse("0.5"));
        assert_ne!(a, AttrSet::from_attributes(&other).unwrap());
        let empty = AttrSet::from_attributes(&Attributes::new()).unwrap();
        assert!(empty.attrs().is_empty());
    }

    #[test]
    fn a_detection_is_small_and_copy() {
        assert!(std::mem::size_of::<DetKey>() <= 40);
        assert!(std::mem::size_of::<EventInput>() <= 56);
    }

    #[test]
    fn detection_keys_of_a_start_lie_between_its_bounds() {
        let key = DetKey {
            start: 500,
            end: 900,
            track: Track::new(2),
            plugin: Sym::intern("p").unwrap(),
            label: Some(Sym::intern("l").unwrap()),
            attrs: AttrSet::from_attributes(&Attributes::new()).unwrap(),
        };
        assert!(DetKey::first_at(500) <= key && key <= DetKey::last_at(500));
        assert!(DetKey::last_at(499) < key && key < DetKey::first_at(501));
    }

    #[test]
    fn times_beyond_32_bits_are_refused() {
        assert_eq!(ms("start", 4_000_000_000).unwrap(), 4_000_000_000);
        assert!(matches!(ms("start", 5_000_000_000), Err(CompactError::TimeOutOfRange { .. })));
    }
}
