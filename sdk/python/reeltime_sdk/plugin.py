"""The four plugin kinds, as decorated functions, and what each is given.

A plugin is a plain function marked with one of the decorators below; the decorator records its
name, kind, dependencies and configuration defaults and returns the function unchanged, so it
can be called directly in a unit test. Times a plugin returns are **event time in seconds**
(0 is the first frame of the event's first chunk); :attr:`ChunkInput.start` and the media
helpers give event times, and :meth:`reeltime_sdk.records.Chunk.to_event_time` converts a time
measured from the chunk's start. The builders (:meth:`ChunkInput.detection`,
:meth:`SegmentInput.label`, ...) fill in the event, the plugin's name and the track.

========== =========================================== ==============================
kind       called                                      returns
========== =========================================== ==============================
featurer   per chunk (audio: per chunk and track):     detections
           ``f(chunk, media, dependencies)``
segmenter  per chunk, in chunk order, with MRE's       complete segments and at most
           look-back: ``f(chunk, state, dependencies)`` one open segment
optimizer  per complete segment not yet optimized:     optimizations, or ``DEFER``
           ``f(segment, dependencies)``
labeler    per complete segment not yet labelled:      a label, or None
           ``f(segment, media, dependencies)``
========== =========================================== ==============================
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

from .records import (
    Attributes,
    Chunk,
    Detection,
    Event,
    Label,
    Media,
    Optimization,
    Profile,
    Segment,
    canonical_attributes,
    seconds_to_ms,
)

PluginKind = Literal["featurer", "segmenter", "optimizer", "labeler"]
F = TypeVar("F", bound=Callable[..., Any])

_SPEC = "__reeltime_plugin__"


@dataclass(frozen=True)
class PluginSpec:
    """What a decorator recorded about a plugin function."""

    name: str
    kind: PluginKind
    function: Callable[..., Any]
    depends_on: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    media: Media | None = None

    def config(self, profile_config: Mapping[str, Any]) -> dict[str, Any]:
        """The plugin's configuration: its defaults, overridden by the profile's ``config``."""
        return {**self.defaults, **profile_config}


def _decorator(kind: PluginKind, name: str | None, depends_on: Iterable[str],
               config: Mapping[str, Any] | None,
               media: Media | None = None) -> Callable[[F], F]:
    def mark(function: F) -> F:
        spec = PluginSpec(name=name or function.__name__, kind=kind, function=function,
                          depends_on=tuple(depends_on), defaults=dict(config or {}),
                          media=media)
        setattr(function, _SPEC, spec)
        return function
    return mark


def featurer(name: str | None = None, *, media: Media = "video",
             depends_on: Iterable[str] = (),
             config: Mapping[str, Any] | None = None) -> Callable[[F], F]:
    """Marks ``f(chunk: ChunkInput, media: MediaReader, dependencies: Results)`` as a featurer.

    It returns the detections it finds in the chunk (build them with
    :meth:`ChunkInput.detection`). ``media="audio"`` runs it once per audio track of the event,
    with ``chunk.track`` set. ``depends_on`` names featurers whose detections of the chunk it is
    given; ``config`` holds the defaults of its settings.
    """
    return _decorator("featurer", name, depends_on, config, media)


def segmenter(name: str | None = None, *, depends_on: Iterable[str] = (),
              config: Mapping[str, Any] | None = None) -> Callable[[F], F]:
    """Marks ``f(chunk: ChunkInput, state: LookBack, dependencies: Results)`` as a segmenter.

    Called for every chunk of an event in chunk order, it gets the open segment or the last
    complete one (``state``) and the dependencies' detections since then, and returns the
    segments it completed plus at most one open segment (no end). Without ``depends_on`` it is
    given the detections of every featurer of the profile.
    """
    return _decorator("segmenter", name, depends_on, config)


def optimizer(name: str | None = None, *, depends_on: Iterable[str] = (),
              config: Mapping[str, Any] | None = None) -> Callable[[F], F]:
    """Marks ``f(segment: SegmentInput, dependencies: Results)`` as an optimizer.

    Called once per complete segment (again if its end changes) once the media up to its end
    plus the profile's search window has been analysed, with the dependencies' detections
    around its bounds within that window. It returns optimizations (one per audio track, built
    with :meth:`SegmentInput.optimization`), or :data:`DEFER` to be asked again after the next
    chunk.
    """
    return _decorator("optimizer", name, depends_on, config)


def labeler(name: str | None = None, *, depends_on: Iterable[str] = (),
            config: Mapping[str, Any] | None = None) -> Callable[[F], F]:
    """Marks ``f(segment: SegmentInput, media: MediaReader, dependencies: Results)`` as a labeler.

    Called once per complete segment (again if its end changes) once its media is there, with
    the dependencies' detections inside it; returns a label (:meth:`SegmentInput.label`) or None.
    """
    return _decorator("labeler", name, depends_on, config)


class _Defer:
    """The optimizer's answer for "not yet": ask again after the next chunk."""

    def __repr__(self) -> str:
        return "DEFER"


#: What an optimizer returns to be asked again after the next chunk.
DEFER = _Defer()


def spec_of(function: Any) -> PluginSpec | None:
    """The plugin spec of a decorated function, or None."""
    spec = getattr(function, _SPEC, None)
    return spec if isinstance(spec, PluginSpec) else None


def plugins_of(module: ModuleType) -> dict[str, PluginSpec]:
    """The plugins a module defines, by name; two plugins with one name are an error."""
    found: dict[str, PluginSpec] = {}
    for value in vars(module).values():
        spec = spec_of(value)
        if spec is None:
            continue
        if spec.name in found and found[spec.name].function is not spec.function:
            raise ValueError(f"module {module.__name__} defines two plugins named {spec.name!r}")
        found[spec.name] = spec
    return found


def load_module(name_or_path: str) -> ModuleType:
    """Imports plugins from a module name (``my_plugins``) or a file (``plugins/motion.py``)."""
    path = Path(name_or_path)
    if path.suffix == ".py" or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"no plugin module at {path}")
        module_name = f"reeltime_plugins_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(path.parent.resolve()))
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(name_or_path)


# --- What plugins are given -----------------------------------------------------------------


class Results(dict[str, list[Detection]]):
    """The dependencies' detections, by plugin name (an absent plugin has none)."""

    def __missing__(self, plugin: str) -> list[Detection]:
        return []

    def all(self) -> list[Detection]:
        """Every detection, in time order."""
        return sorted((d for ds in self.values() for d in ds), key=lambda d: (d.start_ms,
                                                                              d.end_ms))

    def between(self, start: float, end: float) -> list[Detection]:
        """Detections touching ``[start, end]`` (seconds), in time order."""
        start_ms, end_ms = seconds_to_ms(start), seconds_to_ms(end)
        return [d for d in self.all() if d.overlaps(start_ms, end_ms)]


def _ms(seconds: float) -> int:
    return seconds_to_ms(round(seconds, 6))


@dataclass(frozen=True)
class ChunkInput:
    """A chunk as a featurer or segmenter gets it, with builders for its results."""

    chunk: Chunk
    event: Event
    profile: Profile
    plugin: str
    config: dict[str, Any]
    track: int | None = None

    @property
    def event_id(self) -> str:
        """The event."""
        return self.chunk.event_id

    @property
    def start(self) -> float:
        """Event time of the chunk's first frame, in seconds."""
        return self.chunk.start

    @property
    def end(self) -> float:
        """Event time just after the chunk, in seconds."""
        return self.chunk.end

    def detection(self, start: float, end: float | None = None, *,
                  attributes: Mapping[str, Any] | None = None, label: str | None = None,
                  track: int | None = None) -> Detection:
        """A detection of this plugin at ``start``..``end`` (event seconds); an audio featurer's
        detections are on its track unless ``track`` says otherwise."""
        start_ms = _ms(start)
        end_ms = start_ms if end is None else _ms(end)
        return Detection(event_id=self.event_id, plugin=self.plugin, start_ms=start_ms,
                         end_ms=max(end_ms, start_ms),
                         attributes=canonical_attributes(attributes or {}),
                         track=self.track if track is None else track, label=label)

    def segment(self, start: float, end: float | None = None, *,
                attributes: Mapping[str, Any] | None = None) -> Segment:
        """A segment of this plugin: open while ``end`` is None."""
        return Segment(event_id=self.event_id, plugin=self.plugin, start_ms=_ms(start),
                       end_ms=None if end is None else _ms(end),
                       attributes=canonical_attributes(attributes or {}))


@dataclass(frozen=True)
class LookBack:
    """A segmenter's state for an event: the open segment, or else the last complete one."""

    open: Segment | None = None
    last_complete: Segment | None = None

    @property
    def since_ms(self) -> int:
        """Where the dependencies' detections it is given start."""
        if self.open is not None:
            return self.open.start_ms
        if self.last_complete is not None and self.last_complete.end_ms is not None:
            return self.last_complete.end_ms
        return 0

    def after(self, segments: Iterable[Segment]) -> LookBack:
        """The state after the segmenter returned ``segments`` (in order)."""
        state = self
        for segment in segments:
            if segment.deleted:
                if state.open is not None and state.open.start_ms == segment.start_ms:
                    state = LookBack(None, state.last_complete)
                continue
            if segment.is_complete:
                last = state.last_complete
                if last is None or segment.start_ms >= last.start_ms:
                    last = segment
                still_open = state.open
                if still_open is not None and still_open.start_ms <= segment.start_ms:
                    still_open = None
                state = LookBack(still_open, last)
            else:
                state = LookBack(segment, state.last_complete)
        return state


@dataclass(frozen=True)
class SegmentInput:
    """A complete segment as an optimizer or labeler gets it, with builders for its results."""

    segment: Segment
    event: Event
    profile: Profile
    plugin: str
    config: dict[str, Any]

    @property
    def event_id(self) -> str:
        """The event."""
        return self.segment.event_id

    @property
    def start(self) -> float:
        """The segment's start in seconds."""
        return self.segment.start

    @property
    def end(self) -> float:
        """The segment's end in seconds."""
        end = self.segment.end
        assert end is not None, "optimizers and labelers get complete segments"
        return end

    @property
    def search_window(self) -> float:
        """How far the optimizer may move a bound, in seconds (the profile's, default 0)."""
        window = self.profile.optimizer.search_window_ms if self.profile.optimizer else None
        return (window or 0) / 1000.0

    @property
    def tracks(self) -> tuple[int, ...]:
        """The event's audio tracks (track 1 for a source without sound)."""
        return self.event.audio_tracks or (1,)

    def _segment_end(self) -> dict[str, Any]:
        # Which version of the segment the result is for: a segment whose end changes is
        # optimized or labelled again, also after a runner restarts.
        return {"segment_end": self.segment.end_ms / 1000.0 if self.segment.end_ms else 0}

    def optimization(self, opto_start: float, opto_end: float, *, track: int = 1) -> Optimization:
        """New bounds of the segment on ``track``."""
        return Optimization(event_id=self.event_id, plugin=self.plugin,
                            start_ms=self.segment.start_ms, opto_start_ms=_ms(opto_start),
                            opto_end_ms=_ms(opto_end), track=track, extra=self._segment_end())

    def label(self, label: str, attributes: Mapping[str, Any] | None = None) -> Label:
        """A label and attributes for the segment."""
        canonical: Attributes = canonical_attributes(attributes or {})
        return Label(event_id=self.event_id, plugin=self.plugin, start_ms=self.segment.start_ms,
                     label=label, attributes=canonical, extra=self._segment_end())
