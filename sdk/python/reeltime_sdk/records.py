"""The records a plugin reads and writes, validated and normalised as the engine does.

Every record is a JSON object with a ``type``. :func:`decode` reads one (a log line or a Kafka
message) with the engine's rules: strict JSON (no duplicate keys, no NaN, no byte-order mark,
at most 1 MiB), the required fields present and not null, names not empty, times in seconds
between 0 and 864000 rounded half away from zero to the millisecond *on the written decimal*
(so ``2.675`` is 2675 ms, as a person reads it), rates above 0 and at most 1000 with three
decimals kept, audio tracks from 1, attribute values that are booleans, finite numbers or
strings (a number with an integral value is an integer, so ``1.0`` equals ``1``), and the
rules between fields (``end`` not before ``start``, ``opto_end`` after ``opto_start``, an
audio track listed once). Unknown fields are kept (``extra``) except on detections, where they
are dropped, as the engine does.

The typed records hold times as integer milliseconds (``start_ms``), exactly as the engine
computes on, with seconds properties (``start``) for plugin code; :meth:`Record.to_wire`
writes the JSON form back. ``FIELDS`` declares the wire form of each type; a test keeps it in
step with ``reeltime schema``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeAlias

#: The longest event time the engine takes: 10 days.
MAX_TIME_MS = 864_000_000
#: The engine's default limit on the size of one record.
DEFAULT_MAX_RECORD_BYTES = 1024 * 1024
#: The highest frame rate (per second) a rate field takes.
MAX_RATE = 1000
#: Nesting deeper than this is refused, as the engine's JSON reader refuses it.
MAX_DEPTH = 128

AttrValue: TypeAlias = bool | int | float | str
Attributes: TypeAlias = dict[str, AttrValue]
Media = Literal["video", "audio"]
EventStatus = Literal["scheduled", "started", "ended"]


class RecordError(ValueError):
    """A record the engine would reject, and why (which field and what rule)."""

    def __init__(self, message: str, record_type: str | None = None) -> None:
        self.record_type = record_type
        self.reason = message
        super().__init__(f"{record_type} record: {message}" if record_type else message)


# --- Times and rates --------------------------------------------------------------------------


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _round_written_decimal(value: float) -> int:
    """Thousandths of ``value`` rounded on its shortest decimal form (what was written)."""
    if value >= 1e15:
        return 2**64 - 1
    text = format(Decimal(repr(value)), "f")
    whole, _, fraction = text.partition(".")
    digits = [int(d) for d in fraction[:4]] + [0] * 4
    thousandths = digits[0] * 100 + digits[1] * 10 + digits[2]
    return int(whole) * 1000 + thousandths + (1 if digits[3] >= 5 else 0)


def round_decimal_thousandths(value: float) -> int:
    """Thousandths of a non-negative ``value``, rounded half away from zero as written."""
    thousandths = value * 1000.0
    nearest = _round_half_up(thousandths)
    if value >= 0 and value < 1e9 and abs(thousandths - nearest) < 0.25:
        return nearest
    return _round_written_decimal(value)


def seconds_to_ms(seconds: float) -> int:
    """Milliseconds of a time in seconds, as the engine reads it; ``RecordError`` if invalid."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise RecordError(f"{seconds!r} is not a number of seconds")
    if isinstance(seconds, int):
        if seconds < 0:
            raise RecordError(f"{seconds} is negative")
        if seconds > MAX_TIME_MS // 1000:
            raise RecordError(f"{seconds} is more than 10 days (864000 s)")
        return seconds * 1000
    if not math.isfinite(seconds):
        raise RecordError(f"{seconds} is not a finite number of seconds")
    millis = round_decimal_thousandths(abs(seconds))
    if math.copysign(1.0, seconds) < 0 and millis > 0:
        raise RecordError(f"{seconds} is negative")
    if millis > MAX_TIME_MS:
        raise RecordError(f"{seconds} is more than 10 days (864000 s)")
    return millis


def ms_to_seconds(ms: int) -> float:
    """Seconds of a time in milliseconds."""
    return ms / 1000.0


def rate_to_milli(rate: float) -> int:
    """Thousandths of a frame rate, as the engine reads it; ``RecordError`` if invalid."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise RecordError(f"{rate!r} is not a rate")
    value = float(rate)
    problem = f"{rate} is not a rate above 0 and at most {MAX_RATE} per second"
    if not math.isfinite(value) or value <= 0 or value > MAX_RATE:
        raise RecordError(problem)
    milli = round_decimal_thousandths(value)
    if milli == 0:
        raise RecordError(problem)
    return milli


def _seconds_json(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000.0


def canonical_value(value: Any) -> AttrValue:
    """The canonical form of an attribute value (integral numbers as integers)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordError("not a finite number")
        if value.is_integer() and abs(value) < 1e30:
            return int(value)
        return value
    if value is None:
        raise RecordError("null is not an attribute value (a boolean, a number or a string)")
    raise RecordError(f"{type(value).__name__} is not an attribute value "
                      "(a boolean, a number or a string)")


def canonical_attributes(attributes: Mapping[str, Any]) -> Attributes:
    """Attributes with every value in canonical form, sorted by name."""
    out: Attributes = {}
    for name in sorted(attributes):
        try:
            out[name] = canonical_value(attributes[name])
        except RecordError as e:
            raise RecordError(f"attribute `{name}`: {e.reason}") from None
    return out


# --- Strict JSON ----------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RecordError(f"not JSON: duplicate key {json.dumps(key)}")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise RecordError(f"not JSON: {name} is not a JSON number")


def _check_strings_and_depth(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise RecordError("not JSON: recursion limit exceeded")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RecordError("not JSON: lone surrogate in a string") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings_and_depth(key, depth + 1)
            _check_strings_and_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_strings_and_depth(item, depth + 1)


def parse_json(data: bytes | str, max_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> dict[str, Any]:
    """One record's JSON object, read as strictly as the engine reads it."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise RecordError(f"record is {len(raw)} bytes, more than the limit of {max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(f"not JSON: invalid UTF-8 at byte {e.start}") from None
    if text.startswith("\ufeff"):
        raise RecordError("not JSON: starts with a byte-order mark")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as e:
        raise RecordError(f"not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise RecordError("not JSON: recursion limit exceeded") from None
    _check_strings_and_depth(value)
    if not isinstance(value, dict):
        raise RecordError("not a JSON object")
    if not isinstance(value.get("type"), str):
        raise RecordError("missing field `type`")
    return value


# --- Field readers --------------------------------------------------------------------------


class _Fields:
    """Reads the fields of one record object, naming the field at fault."""

    def __init__(self, obj: Mapping[str, Any], path: str = "",
                 missing: list[str] | None = None) -> None:
        self.obj = obj
        self.path = path
        # Missing fields are reported after the fields that are there but wrong, as serde
        # reports them once the whole object has been read.
        self.missing = [] if missing is None else missing

    def nested(self, obj: Mapping[str, Any], path: str) -> _Fields:
        """The fields of an object inside this one, sharing its missing fields."""
        return _Fields(obj, path, self.missing)

    def done(self) -> None:
        """Raises for the first missing field, once every field has been read."""
        if self.missing:
            raise RecordError(self.missing[0])

    def name_of(self, key: str) -> str:
        return f"{self.path}{key}"

    def raw(self, key: str, required: bool) -> Any:
        value = self.obj.get(key)
        if value is None and required:
            null = " (null)" if key in self.obj else ""
            self.missing.append(f"missing field `{self.name_of(key)}`{null}")
        return value

    def fail(self, key: str, message: str) -> RecordError:
        return RecordError(f"field `{self.name_of(key)}`: {message}")

    def string(self, key: str, required: bool = False, non_empty: bool = False) -> str | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"invalid type: {_json_type(value)}, expected a string")
        if non_empty and not value:
            raise self.fail(key, "must not be empty")
        return value

    def name(self, key: str) -> str:
        return self.string(key, required=True, non_empty=True) or ""

    def seconds(self, key: str, required: bool = False) -> int | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"invalid type: {_json_type(value)}, "
                                 "expected a number of seconds between 0 and 864000")
        try:
            return seconds_to_ms(value)
        except RecordError as e:
            raise self.fail(key, e.reason) from None

    def rate(self, key: str, required: bool = False) -> int | None:
        value = self.raw(key, required)
        if value is None:
            return None
        try:
            return rate_to_milli(value)
        except RecordError as e:
            raise self.fail(key, e.reason) from None

    def integer(self, key: str, bits: int, required: bool = False) -> int | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"invalid type: {_json_type(value)}, expected an integer")
        if not 0 <= value < 2**bits:
            raise self.fail(key, f"invalid value: {value}, expected a {bits}-bit unsigned integer")
        return value

    def track(self, key: str) -> int | None:
        value = self.integer(key, 32)
        if value == 0:
            raise self.fail(key, "track must be at least 1")
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.raw(key, False)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.fail(key, f"invalid type: {_json_type(value)}, expected a boolean")
        return value

    def choice(self, key: str, options: tuple[str, ...], required: bool = False) -> str | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in options:
            raise self.fail(key, f"unknown variant {json.dumps(value)}, expected one of "
                                 + ", ".join(f"`{o}`" for o in options))
        return value

    def object(self, key: str, required: bool = False) -> dict[str, Any] | None:
        value = self.raw(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, f"invalid type: {_json_type(value)}, expected a map")
        return value

    def array(self, key: str) -> list[Any] | None:
        value = self.raw(key, False)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(key, f"invalid type: {_json_type(value)}, expected a sequence")
        return value

    def attributes(self, key: str, required: bool = False) -> Attributes:
        value = self.object(key, required)
        if value is None:
            return {}
        try:
            return canonical_attributes(value)
        except RecordError as e:
            raise self.fail(key, e.reason) from None

    def extra(self, known: tuple[str, ...]) -> dict[str, Any]:
        return {k: v for k, v in self.obj.items() if k not in known and k != "type"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value)}"
    if isinstance(value, list):
        return "sequence"
    return "map"


def _ms_text(ms: int) -> str:
    return f"{ms / 1000:.3f}"


# --- Records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginSlot:
    """A plugin named in a profile, with its configuration."""

    plugin: str
    config: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"plugin": self.plugin}
        if self.config:
            out["config"] = self.config
        return out


@dataclass(frozen=True)
class OptimizerSlot(PluginSlot):
    """The optimizer of a profile and how far it may move a bound."""

    search_window_ms: int | None = None

    def to_wire(self) -> dict[str, Any]:
        out = super().to_wire()
        if self.search_window_ms is not None:
            out["search_window"] = _seconds_json(self.search_window_ms)
        return out


@dataclass(frozen=True)
class FeaturerSlot(PluginSlot):
    """A featurer of a profile: what it depends on and which media it analyses."""

    depends_on: tuple[str, ...] = ()
    priority_for_replay: bool = True
    media: Media | None = None

    def to_wire(self) -> dict[str, Any]:
        out = super().to_wire()
        if self.depends_on:
            out["depends_on"] = list(self.depends_on)
        if not self.priority_for_replay:
            out["priority_for_replay"] = False
        if self.media:
            out["media"] = self.media
        return out


@dataclass(frozen=True)
class Record:
    """Base of the typed records."""

    TYPE: ClassVar[str] = ""
    #: The wire fields of the type: name -> (kind, required), kept in step with
    #: ``reeltime schema`` by a test.
    FIELDS: ClassVar[dict[str, tuple[str, bool]]] = {}

    def to_wire(self) -> dict[str, Any]:
        """The record's JSON object."""
        raise NotImplementedError

    def to_json(self) -> str:
        """The record as one line of JSON."""
        return json.dumps(self.to_wire(), separators=(",", ":"), ensure_ascii=False)


def _with_extra(out: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        out.setdefault(key, value)
    return out


@dataclass(frozen=True)
class Profile(Record):
    """A processing recipe: chunk size, sampling rate and the plugins, by name."""

    TYPE: ClassVar[str] = "profile"
    FIELDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "name": ("name", True),
        "chunk_size": ("seconds", True),
        "processing_fps": ("rate", True),
        "max_segment_length": ("seconds", True),
        "classifier": ("slot", True),
        "optimizer": ("optimizer_slot", False),
        "labeler": ("slot", False),
        "featurers": ("featurer_slots", False),
    }

    name: str
    chunk_size_ms: int
    processing_fps_milli: int
    max_segment_length_ms: int
    classifier: PluginSlot
    optimizer: OptimizerSlot | None = None
    labeler: PluginSlot | None = None
    featurers: tuple[FeaturerSlot, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def processing_fps(self) -> float:
        """Frames per second the featurers sample."""
        return self.processing_fps_milli / 1000.0

    def featurer(self, plugin: str) -> FeaturerSlot | None:
        """The featurer slot of ``plugin``, if the profile has one."""
        return next((f for f in self.featurers if f.plugin == plugin), None)

    def slot(self, plugin: str) -> PluginSlot | None:
        """The slot that names ``plugin``, of any kind."""
        for slot in (self.classifier, self.optimizer, self.labeler, *self.featurers):
            if slot is not None and slot.plugin == plugin:
                return slot
        return None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "profile",
            "name": self.name,
            "chunk_size": _seconds_json(self.chunk_size_ms),
            "processing_fps": _seconds_json(self.processing_fps_milli),
            "max_segment_length": _seconds_json(self.max_segment_length_ms),
            "classifier": self.classifier.to_wire(),
        }
        if self.optimizer:
            out["optimizer"] = self.optimizer.to_wire()
        if self.labeler:
            out["labeler"] = self.labeler.to_wire()
        if self.featurers:
            out["featurers"] = [f.to_wire() for f in self.featurers]
        return _with_extra(out, self.extra)


@dataclass(frozen=True)
class Event(Record):
    """An event (a match) and its lifecycle status."""

    TYPE: ClassVar[str] = "event"
    FIELDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "event_id": ("name", True),
        "program": ("string", False),
        "profile": ("name", True),
        "status": ("event_status", True),
        "frame_rate": ("rate", False),
        "audio_tracks": ("tracks", False),
        "title": ("string", False),
    }

    event_id: str
    profile: str
    status: EventStatus
    program: str | None = None
    frame_rate_milli: int | None = None
    audio_tracks: tuple[int, ...] = (1,)
    title: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "event", "event_id": self.event_id,
                               "profile": self.profile, "status": self.status}
        if self.program is not None:
            out["program"] = self.program
        if self.frame_rate_milli is not None:
            out["frame_rate"] = _seconds_json(self.frame_rate_milli)
        out["audio_tracks"] = list(self.audio_tracks)
        if self.title is not None:
            out["title"] = self.title
        return _with_extra(out, self.extra)


@dataclass(frozen=True)
class Chunk(Record):
    """A chunk of an event's video, as ingest publishes it."""

    TYPE: ClassVar[str] = "chunk"
    FIELDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "event_id": ("name", True),
        "seq_no": ("u64", True),
        "uri": ("name", True),
        "start": ("seconds", True),
        "duration": ("seconds", True),
        "pts_start": ("seconds", False),
        "error": ("name", False),
    }

    event_id: str
    seq_no: int
    uri: str
    start_ms: int
    duration_ms: int
    pts_start_ms: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> float:
        """Event time of the chunk's first frame, in seconds."""
        return ms_to_seconds(self.start_ms)

    @property
    def duration(self) -> float:
        """The chunk's length in seconds."""
        return ms_to_seconds(self.duration_ms)

    @property
    def end_ms(self) -> int:
        """Event time just after the chunk, in milliseconds."""
        return self.start_ms + self.duration_ms

    @property
    def end(self) -> float:
        """Event time just after the chunk, in seconds."""
        return ms_to_seconds(self.end_ms)

    def to_event_time(self, seconds_in_chunk: float) -> float:
        """Event time of a time measured from the chunk's first frame."""
        return self.start + seconds_in_chunk

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "chunk", "event_id": self.event_id, "seq_no": self.seq_no,
                               "uri": self.uri, "start": _seconds_json(self.start_ms),
                               "duration": _seconds_json(self.duration_ms)}
        if self.pts_start_ms is not None:
            out["pts_start"] = _seconds_json(self.pts_start_ms)
        if self.error is not None:
            out["error"] = self.error
        return _with_extra(out, self.extra)


@dataclass(frozen=True)
class Segment(Record):
    """A classifier result: the segment ``(event_id, start)``, open until it has an end."""

    TYPE: ClassVar[str] = "segment"
    FIELDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "event_id": ("name", True),
        "plugin": ("name", True),
        "start": ("seconds", True),
        "end": ("seconds", False),
        "attributes": ("attributes", False),
        "deleted": ("bool", False),
    }

    event_id: str
    plugin: str
    start_ms: int
    end_ms: int | None = None
    attributes: Attributes = field(default_factory=dict)
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> float:
        """Start in seconds."""
        return ms_to_seconds(self.start_ms)

    @property
    def end(self) -> float | None:
        """End in seconds, or None while open."""
        return None if self.end_ms is None else ms_to_seconds(self.end_ms)

    @property
    def is_complete(self) -> bool:
        """A segment is complete when its end is after its start."""
        return self.end_ms is not None and self.end_ms > self.start_ms

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "segment", "event_id": self.event_id,
                               "plugin": self.plugin, "start": _seconds_json(self.start_ms)}
        if self.end_ms is not None:
            out["end"] = _seconds_json(self.end_ms)
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        if self.deleted:
            out["deleted"] = True
        return _with_extra(out, self.extra)


@dataclass(frozen=True)
class Optimization(Record):
    """An optimizer result: new clip bounds of the segment ``(event_id, start)`` on a track."""

    TYPE: ClassVar[str] = "optimization"
    FIELDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "event_id": ("name", True),
        "plugin": ("name", True),
        "start": ("seconds", True),
        "track": ("track", False),
        "opto_start": ("seconds", True),
        "opto_end": ("seconds", True),
    }

    event_id: str
    plugin: str
    start_ms: int
    opto_start_ms: int
    opto_end_ms: int
    track: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> float:
        """The segment's start in seconds."""
        return ms_to_seconds(self.start_ms)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "optimization", "event_id": self.event_id,
                               "plugin": self.plugin, "start": _seconds_json(self.start_ms),
                               "track": self.track,
                               "opto_start": _seconds_json(self.opto_start_ms),
                               "opto_end": _seconds_json(self.opto_end_ms)}
        return _with_extra(out, self.extra)


@dataclass(frozen=True)
class Label(Record):
    """A labeler result: a label and attributes for the segment ``(event_id, start)``."""

    TYPE: ClassVar[str] = "label"
    FIELDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "event_id": ("name", True),
        "plugin": ("name", True),
        "start": ("seconds", True),
        "label": ("string", True),
        "attributes": ("attributes", False),
    }

    event_id: str
    plugin: str
    start_ms: int
    label: str
    attributes: Attributes = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> float:
        """The segment's start in seconds."""
        return ms_to_seconds(self.start_ms)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "label", "event_id": self.event_id,
                               "plugin": self.plugin, "start": _seconds_json(self.start_ms),
                               "label": self.label}
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        return _with_extra(out, self.extra)


@dataclass(frozen=True)
class Detection(Record):
    """A featurer result: something detected between ``start`` and ``end``."""

    TYPE: ClassVar[str] = "detection"
    FIELDS: ClassVar[dict[str, tuple[str, bool]]] = {
        "event_id": ("name", True),
        "plugin": ("name", True),
        "start": ("seconds", True),
        "end": ("seconds", False),
        "track": ("track", False),
        "label": ("string", False),
        "attributes": ("attributes", True),
        "deleted": ("bool", False),
    }

    event_id: str
    plugin: str
    start_ms: int
    end_ms: int
    attributes: Attributes = field(default_factory=dict)
    track: int | None = None
    label: str | None = None
    deleted: bool = False

    @property
    def start(self) -> float:
        """Start in seconds."""
        return ms_to_seconds(self.start_ms)

    @property
    def end(self) -> float:
        """End in seconds."""
        return ms_to_seconds(self.end_ms)

    def overlaps(self, start_ms: int, end_ms: int) -> bool:
        """Whether the detection touches ``[start_ms, end_ms]``."""
        return self.start_ms <= end_ms and self.end_ms >= start_ms

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "detection", "event_id": self.event_id,
                               "plugin": self.plugin, "start": _seconds_json(self.start_ms)}
        if self.end_ms != self.start_ms:
            out["end"] = _seconds_json(self.end_ms)
        if self.track is not None:
            out["track"] = self.track
        if self.label is not None:
            out["label"] = self.label
        out["attributes"] = dict(self.attributes)
        if self.deleted:
            out["deleted"] = True
        return out


@dataclass(frozen=True)
class OtherRecord(Record):
    """A record of a type plugins do not read (replay, feedback, delete), kept as it came."""

    TYPE: ClassVar[str] = "other"

    type: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return dict(self.fields)


#: Every type of record the engine reads.
RECORD_TYPES = ("profile", "event", "chunk", "segment", "optimization", "label", "detection",
                "replay", "feedback", "delete")
#: The typed records of this module, by type.
TYPED = {cls.TYPE: cls for cls in (Profile, Event, Chunk, Segment, Optimization, Label, Detection)}
#: The Kafka input topic (after the prefix) of each type.
TOPIC_OF = {"profile": "control", "event": "control", "replay": "control",
            "feedback": "control", "delete": "control", "chunk": "chunks",
            "segment": "segments", "optimization": "segments", "label": "segments",
            "detection": "detections"}


def _config(f: _Fields) -> dict[str, Any]:
    return f.object("config") or {}


def _read_slot(parent: _Fields, obj: dict[str, Any], path: str) -> PluginSlot:
    f = parent.nested(obj, path)
    return PluginSlot(plugin=f.name("plugin"), config=_config(f))


def _read_profile(f: _Fields) -> Profile:
    classifier = f.object("classifier", required=True) or {}
    optimizer = f.object("optimizer")
    labeler = f.object("labeler")
    featurers = []
    for i, item in enumerate(f.array("featurers") or []):
        path = f"featurers[{i}]."
        if not isinstance(item, dict):
            raise RecordError(f"field `featurers[{i}]`: invalid type: {_json_type(item)}, "
                              "expected struct FeaturerSlotRecord")
        s = f.nested(item, path)
        depends = []
        for j, name in enumerate(s.array("depends_on") or []):
            if not isinstance(name, str):
                raise RecordError(f"field `{path}depends_on[{j}]`: invalid type: "
                                  f"{_json_type(name)}, expected a string")
            if not name:
                raise RecordError(f"field `{path}depends_on[{j}]`: must not be empty")
            depends.append(name)
        priority = s.boolean("priority_for_replay")
        featurers.append(FeaturerSlot(
            plugin=s.name("plugin"), config=_config(s), depends_on=tuple(depends),
            priority_for_replay=True if priority is None else priority,
            media=s.choice("media", ("video", "audio"))))  # type: ignore[arg-type]
    optimizer_slot = None
    if optimizer is not None:
        o = f.nested(optimizer, "optimizer.")
        optimizer_slot = OptimizerSlot(plugin=o.name("plugin"), config=_config(o),
                                       search_window_ms=o.seconds("search_window"))
    profile = Profile(
        name=f.name("name"),
        chunk_size_ms=f.seconds("chunk_size", required=True) or 0,
        processing_fps_milli=f.rate("processing_fps", required=True) or 0,
        max_segment_length_ms=f.seconds("max_segment_length", required=True) or 0,
        classifier=_read_slot(f, classifier, "classifier."),
        optimizer=optimizer_slot,
        labeler=None if labeler is None else _read_slot(f, labeler, "labeler."),
        featurers=tuple(featurers),
        extra=f.extra(tuple(Profile.FIELDS)),
    )
    f.done()
    return profile


def _read_event(f: _Fields) -> Event:
    event_id = f.name("event_id")
    program = f.string("program")
    profile = f.name("profile")
    status = f.choice("status", ("scheduled", "started", "ended"), required=True)
    frame_rate = f.rate("frame_rate")
    tracks_raw = f.array("audio_tracks")
    tracks: list[int] = [1]
    if tracks_raw is not None:
        tracks = []
        for i, item in enumerate(tracks_raw):
            track = f.nested({f"[{i}]": item}, "audio_tracks").track(f"[{i}]")
            if track is None:
                raise RecordError(f"field `audio_tracks[{i}]`: invalid type: null, "
                                  "expected u32")
            tracks.append(track)
    title = f.string("title")
    f.done()
    seen: set[int] = set()
    for track in tracks:
        if track in seen:
            raise RecordError(f"field `audio_tracks`: track {track} is listed twice")
        seen.add(track)
    return Event(event_id=event_id, program=program, profile=profile,
                 status=status,  # type: ignore[arg-type]
                 frame_rate_milli=frame_rate, audio_tracks=tuple(tracks),
                 title=title, extra=f.extra(tuple(Event.FIELDS)))


def _read_chunk(f: _Fields) -> Chunk:
    chunk = Chunk(event_id=f.name("event_id"), seq_no=f.integer("seq_no", 64, required=True) or 0,
                 uri=f.name("uri"), start_ms=f.seconds("start", required=True) or 0,
                 duration_ms=f.seconds("duration", required=True) or 0,
                 pts_start_ms=f.seconds("pts_start"),
                 error=f.string("error", non_empty=True), extra=f.extra(tuple(Chunk.FIELDS)))
    f.done()
    return chunk


def _read_segment(f: _Fields) -> Segment:
    event_id, plugin = f.name("event_id"), f.name("plugin")
    start = f.seconds("start", required=True) or 0
    end = f.seconds("end")
    attributes = f.attributes("attributes")
    deleted = f.boolean("deleted")
    f.done()
    if end is not None and end < start:
        raise RecordError(f"field `end`: {_ms_text(end)} is before `start` {_ms_text(start)}")
    return Segment(event_id=event_id, plugin=plugin, start_ms=start, end_ms=end,
                   attributes=attributes, deleted=bool(deleted),
                   extra=f.extra(tuple(Segment.FIELDS)))


def _read_optimization(f: _Fields) -> Optimization:
    event_id, plugin = f.name("event_id"), f.name("plugin")
    start = f.seconds("start", required=True) or 0
    track = f.track("track")
    opto_start = f.seconds("opto_start", required=True) or 0
    opto_end = f.seconds("opto_end", required=True) or 0
    f.done()
    if opto_end <= opto_start:
        raise RecordError(f"field `opto_end`: {_ms_text(opto_end)} is not after "
                          f"`opto_start` {_ms_text(opto_start)}")
    return Optimization(event_id=event_id, plugin=plugin, start_ms=start,
                        track=1 if track is None else track, opto_start_ms=opto_start,
                        opto_end_ms=opto_end, extra=f.extra(tuple(Optimization.FIELDS)))


def _read_label(f: _Fields) -> Label:
    event_id, plugin = f.name("event_id"), f.name("plugin")
    start = f.seconds("start", required=True) or 0
    label = f.string("label", required=True) or ""
    attributes = f.attributes("attributes")
    f.done()
    return Label(event_id=event_id, plugin=plugin, start_ms=start, label=label,
                 attributes=attributes, extra=f.extra(tuple(Label.FIELDS)))


def _read_detection(f: _Fields) -> Detection:
    event_id, plugin = f.name("event_id"), f.name("plugin")
    start = f.seconds("start", required=True) or 0
    end = f.seconds("end")
    track = f.track("track")
    label = f.string("label")
    attributes = f.attributes("attributes", required=True)
    deleted = f.boolean("deleted")
    f.done()
    end = start if end is None else end
    if end < start:
        raise RecordError(f"field `end`: {_ms_text(end)} is before `start` {_ms_text(start)}")
    return Detection(event_id=event_id, plugin=plugin, start_ms=start, end_ms=end, track=track,
                     label=label, attributes=attributes, deleted=bool(deleted))


_READERS = {"profile": _read_profile, "event": _read_event, "chunk": _read_chunk,
            "segment": _read_segment, "optimization": _read_optimization,
            "label": _read_label, "detection": _read_detection}

AnyRecord: TypeAlias = (
    Profile | Event | Chunk | Segment | Optimization | Label | Detection | OtherRecord
)


def from_object(obj: Mapping[str, Any]) -> AnyRecord:
    """The typed record of a JSON object already parsed, validated as the engine does."""
    record_type = obj.get("type")
    if not isinstance(record_type, str):
        raise RecordError("missing field `type`")
    reader = _READERS.get(record_type)
    if reader is None:
        if record_type in RECORD_TYPES:
            return OtherRecord(type=record_type, fields=dict(obj))
        raise RecordError(f"unknown type {json.dumps(record_type)}; expected one of "
                          + ", ".join(RECORD_TYPES))
    try:
        return reader(_Fields(obj))
    except RecordError as e:
        raise RecordError(e.reason, record_type) from None


def decode(data: bytes | str, max_bytes: int = DEFAULT_MAX_RECORD_BYTES) -> AnyRecord:
    """One record (a log line without its newline, or a Kafka message), as the engine reads it.

    Records of types plugins do not read (replay, feedback, delete) come back as
    :class:`OtherRecord` without their fields checked.
    """
    return from_object(parse_json(data, max_bytes))
