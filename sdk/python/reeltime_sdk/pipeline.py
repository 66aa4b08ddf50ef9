"""What runs which plugin when: the state of each event and the order of the work.

The Kafka runner and the offline mode both feed a :class:`Pipeline` the records they read
(:meth:`Pipeline.observe`), hand it each new chunk (:meth:`Pipeline.run_chunk`) and ask it for
the work that segments make ready (:meth:`Pipeline.run_segments`); it returns the records the
plugins made, already validated as the engine validates them. Its state per event is a
function of the records it has seen, so a runner that restarts rebuilds it by observing the
input topics again.

Per chunk, the module's featurers run in dependency order (those whose dependencies are done
run together, on a thread pool; an audio featurer once per audio track), then the segmenter with
its look-back state. A dependency may be a plugin the module does not provide (a built-in one):
its detections are read from what was observed, so the caller must have seen them first (see
:meth:`Pipeline.needs_lookahead`). Optimizers and labelers run on complete segments, whoever
made them, once the media they need has been analysed; each does a segment once per version of
its end. A plugin that raises is retried with back-off; if it still fails, a ``Plugin failed``
detection over the chunk (or segment) says so and the event goes on.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .detection_index import DetectionIndex, identity
from .media import MediaReader
from .plugin import (
    DEFER,
    ChunkInput,
    LookBack,
    PluginSpec,
    Results,
    SegmentInput,
)
from .records import (
    AnyRecord,
    Chunk,
    Detection,
    Event,
    Label,
    Optimization,
    Profile,
    Record,
    RecordError,
    Segment,
    decode,
)

#: The label of the detection that reports a plugin's failure.
FAILURE_LABEL = "Plugin failed"


@dataclass(frozen=True)
class RetryPolicy:
    """How often a plugin that raises is tried, and how long to wait between tries."""

    attempts: int = 3
    first_delay: float = 0.5
    factor: float = 2.0
    sleep: Callable[[float], None] = time.sleep


@dataclass
class EventState:
    """What the pipeline knows of one event."""

    event: Event | None = None
    chunks: dict[int, Chunk] = field(default_factory=dict)
    analysed_ms: int = 0
    detections: DetectionIndex = field(default_factory=DetectionIndex)
    segments: dict[int, Segment] = field(default_factory=dict)
    lookback: LookBack = field(default_factory=LookBack)
    optimized: dict[int, int] = field(default_factory=dict)
    labelled: dict[int, int] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        """Whether the event's status is ``ended``."""
        return self.event is not None and self.event.status == "ended"


def _segment_end_of(record: Label | Optimization) -> int | None:
    value = record.extra.get("segment_end")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(value * 1000)
    return None


class PluginFailure(Exception):
    """A plugin raised on every try, or returned something that is not a valid result."""


class Pipeline:
    """Runs a module's plugins over the events of the records it is given."""

    def __init__(self, plugins: Mapping[str, PluginSpec], retry: RetryPolicy | None = None,
                 threads: int = 4, log: Callable[[str], None] | None = None) -> None:
        self.plugins = dict(plugins)
        self.retry = retry or RetryPolicy()
        self.profiles: dict[str, Profile] = {}
        self.events: dict[str, EventState] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads),
                                       thread_name_prefix="reeltime-plugin")
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.failures = 0

    def close(self) -> None:
        """Stops the thread pool."""
        self.pool.shutdown(wait=True)

    # --- State ----------------------------------------------------------------------------

    def state(self, event_id: str) -> EventState:
        """The state of an event (made empty when first asked)."""
        return self.events.setdefault(event_id, EventState())

    def profile_of(self, event_id: str) -> Profile | None:
        """The profile of an event, once both its event and profile records were seen."""
        state = self.events.get(event_id)
        if state is None or state.event is None:
            return None
        return self.profiles.get(state.event.profile)

    def observe(self, record: AnyRecord, processed: bool = False) -> None:
        """Takes in one input record. A chunk observed with ``processed`` counts as analysed
        (a runner rebuilding its state from chunks it had already done)."""
        if isinstance(record, Profile):
            self.profiles[record.name] = record
        elif isinstance(record, Event):
            self.state(record.event_id).event = record
        elif isinstance(record, Chunk):
            state = self.state(record.event_id)
            state.chunks[record.seq_no] = record
            if processed:
                state.analysed_ms = max(state.analysed_ms, record.end_ms)
        elif isinstance(record, Detection):
            detections = self.state(record.event_id).detections
            if record.deleted:
                detections.remove(record)
            else:
                detections.add(record)
        elif isinstance(record, Segment):
            self._observe_segment(record)
        elif isinstance(record, Label):
            end = _segment_end_of(record)
            if end is not None and self._own("labeler", record.plugin):
                self.state(record.event_id).labelled[record.start_ms] = end
        elif isinstance(record, Optimization):
            end = _segment_end_of(record)
            if end is not None and self._own("optimizer", record.plugin):
                self.state(record.event_id).optimized[record.start_ms] = end

    def _observe_segment(self, segment: Segment) -> None:
        state = self.state(segment.event_id)
        if segment.deleted:
            state.segments.pop(segment.start_ms, None)
        else:
            state.segments[segment.start_ms] = segment
        if self._own("segmenter", segment.plugin):
            state.lookback = state.lookback.after([segment])

    def _own(self, kind: str, plugin: str) -> bool:
        """Whether ``plugin`` is this module's plugin of that kind."""
        spec = self.plugins.get(plugin)
        return spec is not None and spec.kind == kind

    # --- What runs ------------------------------------------------------------------------

    def _featurers(self, profile: Profile) -> list[tuple[str, PluginSpec, tuple[str, ...]]]:
        """The module's featurers of the profile with their dependencies, in profile order."""
        out = []
        for slot in profile.featurers:
            spec = self.plugins.get(slot.plugin)
            if spec is not None and spec.kind == "featurer":
                out.append((slot.plugin, spec, tuple(dict.fromkeys(
                    (*slot.depends_on, *spec.depends_on)))))
        return out

    def _slot_plugin(self, profile: Profile, kind: str) -> PluginSpec | None:
        slot = {"segmenter": profile.classifier, "optimizer": profile.optimizer,
                "labeler": profile.labeler}[kind]
        spec = self.plugins.get(slot.plugin) if slot is not None else None
        return spec if spec is not None and spec.kind == kind else None

    def _dependencies(self, profile: Profile, spec: PluginSpec) -> tuple[str, ...]:
        if spec.depends_on:
            return spec.depends_on
        return tuple(f.plugin for f in profile.featurers)

    def needs_lookahead(self, event_id: str) -> bool:
        """Whether the module's chunk plugins of this event depend on plugins it does not
        provide: then a chunk must wait until their records of it have been observed (in a
        stream, until the next chunk or the event's end has arrived)."""
        profile = self.profile_of(event_id)
        if profile is None:
            return False
        needed: set[str] = set()
        for _, _, depends in self._featurers(profile):
            needed.update(depends)
        segmenter = self._slot_plugin(profile, "segmenter")
        if segmenter is not None:
            needed.update(self._dependencies(profile, segmenter))
        return any(name not in self.plugins for name in needed)

    def results(self, event_id: str, plugins: Iterable[str], start_ms: int, end_ms: int,
                track: int | None = None) -> Results:
        """Detections of ``plugins`` touching ``[start_ms, end_ms]``; with a track, those of
        that track and those of the picture."""
        found = Results()
        index = self.state(event_id).detections
        for plugin in dict.fromkeys(plugins):
            touching = [d for d in index.touching(plugin, start_ms, end_ms)
                        if track is None or d.track in (None, track)]
            if touching:
                found[plugin] = touching
        for detections in found.values():
            detections.sort(key=lambda d: (d.start_ms, d.end_ms, d.track or 0))
        return found

    # --- Running --------------------------------------------------------------------------

    def run_chunk(self, chunk: Chunk) -> list[Record]:
        """Runs the featurers and the segmenter of the chunk's event on it; returns their
        records (also observed). A chunk of an event whose profile is unknown is only kept."""
        self.observe(chunk)
        state = self.state(chunk.event_id)
        profile = self.profile_of(chunk.event_id)
        out: list[Record] = []
        if profile is not None and state.event is not None and chunk.error is None:
            out.extend(self._run_featurers(chunk, state.event, profile))
            out.extend(self._run_segmenter(chunk, state, profile))
        state.analysed_ms = max(state.analysed_ms, chunk.end_ms)
        return out

    def _run_featurers(self, chunk: Chunk, event: Event, profile: Profile) -> list[Record]:
        pending = self._featurers(profile)
        ours = {name for name, _, _ in pending}
        out: list[Record] = []
        while pending:
            wave = [p for p in pending if not any(d in ours and d in {q[0] for q in pending}
                                                 for d in p[2])]
            if not wave:
                names = ", ".join(name for name, _, _ in pending)
                raise ValueError(f"profile {profile.name}: featurers {names} depend on each "
                                 "other in a cycle")
            tasks = []
            for name, spec, depends in wave:
                slot = profile.featurer(name)
                media = (slot.media if slot is not None and slot.media else spec.media)
                tracks: list[int | None] = [None]
                if media == "audio":
                    tracks = list(event.audio_tracks)
                for track in tracks:
                    tasks.append((name, spec, depends, track))
            futures = [self.pool.submit(self._featurer_task, chunk, event, profile, *task)
                       for task in tasks]
            for future in futures:
                for record in future.result():
                    self.observe(record)
                    out.append(record)
            done = {name for name, _, _ in wave}
            pending = [p for p in pending if p[0] not in done]
        return out

    def _featurer_task(self, chunk: Chunk, event: Event, profile: Profile, name: str,
                       spec: PluginSpec, depends: tuple[str, ...],
                       track: int | None) -> list[Record]:
        slot = profile.slot(name)
        given = ChunkInput(chunk=chunk, event=event, profile=profile, plugin=name,
                           config=spec.config(slot.config if slot else {}), track=track)
        media = MediaReader([chunk], profile.processing_fps, chunk.start_ms, chunk.end_ms, track)
        deps = self.results(chunk.event_id, depends, chunk.start_ms, chunk.end_ms, track)
        where = f"chunk {chunk.seq_no}" + (f", track {track}" if track is not None else "")
        return self._call(spec, name, chunk.event_id, where, chunk.start_ms, chunk.end_ms,
                          lambda: spec.function(given, media, deps), (Detection,), track)

    def _run_segmenter(self, chunk: Chunk, state: EventState, profile: Profile) -> list[Record]:
        spec = self._slot_plugin(profile, "segmenter")
        if spec is None or state.event is None:
            return []
        name = profile.classifier.plugin
        given = ChunkInput(chunk=chunk, event=state.event, profile=profile, plugin=name,
                           config=spec.config(profile.classifier.config))
        lookback = state.lookback
        deps = self.results(chunk.event_id, self._dependencies(profile, spec),
                            lookback.since_ms, chunk.end_ms)
        records = self._call(spec, name, chunk.event_id, f"chunk {chunk.seq_no}",
                             chunk.start_ms, chunk.end_ms,
                             lambda: spec.function(given, lookback, deps), (Segment,), None)
        segments = [r for r in records if isinstance(r, Segment)]
        if sum(1 for s in segments if not s.is_complete and not s.deleted) > 1:
            self._report(name, chunk.event_id, f"chunk {chunk.seq_no}",
                         "returned more than one open segment; only the last is kept open")
        for record in records:
            self.observe(record)
        return records

    def _chunks(self, event_id: str, start_ms: int, end_ms: int) -> list[Chunk]:
        """The event's chunks that hold some of ``[start_ms, end_ms)``."""
        return [c for c in self.state(event_id).chunks.values()
                if c.start_ms < end_ms and c.end_ms > start_ms]

    def run_segments(self, event_id: str, final: bool = False) -> list[Record]:
        """Runs the optimizer and labeler on the event's complete segments whose media has been
        analysed (all of them when ``final``: the event has ended and every chunk is done)."""
        state = self.state(event_id)
        profile = self.profile_of(event_id)
        if profile is None or state.event is None:
            return []
        out: list[Record] = []
        optimizer = self._slot_plugin(profile, "optimizer")
        labeler = self._slot_plugin(profile, "labeler")
        for start_ms in sorted(state.segments):
            segment = state.segments[start_ms]
            if not segment.is_complete or segment.end_ms is None:
                continue
            if optimizer is not None and state.optimized.get(start_ms) != segment.end_ms:
                out.extend(self._optimize(segment, state, profile, optimizer, final))
            if labeler is not None and state.labelled.get(start_ms) != segment.end_ms and (
                    final or state.analysed_ms >= segment.end_ms):
                out.extend(self._label(segment, state, profile, labeler))
        return out

    def _optimize(self, segment: Segment, state: EventState, profile: Profile,
                  spec: PluginSpec, final: bool) -> list[Record]:
        assert profile.optimizer is not None and state.event is not None
        assert segment.end_ms is not None
        window = profile.optimizer.search_window_ms or 0
        if not final and state.analysed_ms < segment.end_ms + window:
            return []
        name = profile.optimizer.plugin
        given = SegmentInput(segment=segment, event=state.event, profile=profile, plugin=name,
                             config=spec.config(profile.optimizer.config))
        deps = self.results(segment.event_id, self._dependencies(profile, spec),
                            max(0, segment.start_ms - window), segment.start_ms + window)
        for plugin, detections in self.results(
                segment.event_id, self._dependencies(profile, spec),
                max(0, segment.end_ms - window), segment.end_ms + window).items():
            merged = {identity(d): d for d in (*deps.get(plugin, []), *detections)}
            deps[plugin] = sorted(merged.values(),
                                  key=lambda d: (d.start_ms, d.end_ms, d.track or 0))
        where = f"segment {segment.start:.3f}"
        answer: list[Any] = []

        def call() -> Any:
            result = spec.function(given, deps)
            answer.append(result)
            return [] if result is DEFER else result

        records = self._call(spec, name, segment.event_id, where, segment.start_ms,
                             segment.end_ms, call, (Optimization,), None)
        if answer and answer[-1] is DEFER:
            if not final:
                return []
            self._report(name, segment.event_id, where,
                         "deferred the segment after the event ended; it stays unoptimized")
        state.optimized[segment.start_ms] = segment.end_ms
        for record in records:
            self.observe(record)
        return records

    def _label(self, segment: Segment, state: EventState, profile: Profile,
               spec: PluginSpec) -> list[Record]:
        assert profile.labeler is not None and state.event is not None
        assert segment.end_ms is not None
        name = profile.labeler.plugin
        given = SegmentInput(segment=segment, event=state.event, profile=profile, plugin=name,
                             config=spec.config(profile.labeler.config))
        media = MediaReader(self._chunks(segment.event_id, segment.start_ms, segment.end_ms),
                            profile.processing_fps, segment.start_ms, segment.end_ms)
        deps = self.results(segment.event_id, self._dependencies(profile, spec),
                            segment.start_ms, segment.end_ms)
        records = self._call(spec, name, segment.event_id, f"segment {segment.start:.3f}",
                             segment.start_ms, segment.end_ms,
                             lambda: spec.function(given, media, deps), (Label,), None)
        state.labelled[segment.start_ms] = segment.end_ms
        for record in records:
            self.observe(record)
        return records

    # --- Calling a plugin -----------------------------------------------------------------

    def _call(self, spec: PluginSpec, name: str, event_id: str, where: str, start_ms: int,
              end_ms: int, call: Callable[[], Any], kinds: tuple[type, ...],
              track: int | None) -> list[Record]:
        """Calls a plugin with retries; its valid results, or the record of its failure."""
        delay = self.retry.first_delay
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._checked(call(), kinds, event_id, name)
            except Exception as error:  # a plugin may raise anything; the event goes on
                reason = (str(error) if isinstance(error, PluginFailure) else
                          "".join(traceback.format_exception_only(type(error), error)).strip())
                if attempt == self.retry.attempts:
                    self._report(name, event_id, where,
                                 f"failed {attempt} times, giving up: {reason}")
                    self.failures += 1
                    return [Detection(event_id=event_id, plugin=name, start_ms=start_ms,
                                      end_ms=end_ms, track=track, label=FAILURE_LABEL,
                                      attributes={"PluginFailed": True,
                                                  "error": reason[:500]})]
                self._report(name, event_id, where,
                             f"failed (try {attempt} of {self.retry.attempts}), trying again "
                             f"in {delay:g} s: {reason}")
                self.retry.sleep(delay)
                delay *= self.retry.factor
        return []

    def _checked(self, result: Any, kinds: tuple[type, ...], event_id: str,
                 name: str) -> list[Record]:
        """The records a plugin returned, each checked as the engine will check it."""
        if result is None:
            return []
        items = [result] if isinstance(result, Record) else list(result)
        out: list[Record] = []
        for item in items:
            if not isinstance(item, kinds):
                wanted = " or ".join(k.__name__ for k in kinds)
                raise PluginFailure(f"returned {type(item).__name__}, expected {wanted}")
            if getattr(item, "event_id", event_id) != event_id:
                raise PluginFailure(f"returned a record of event {item.event_id!r}, "
                                    f"not {event_id!r}")
            if getattr(item, "plugin", name) != name:
                raise PluginFailure(f"returned a record of plugin {item.plugin!r}, not {name!r}")
            try:
                decode(item.to_json())
            except RecordError as e:
                raise PluginFailure(f"returned an invalid record: {e}") from None
            out.append(item)
        return out

    def _report(self, plugin: str, event_id: str, where: str, message: str) -> None:
        self.log(f"plugin {plugin}, event {event_id}, {where}: {message}")
