"""Fast play from the picture alone: a motion featurer and a segmenter that follows it.

``MotionEnergyPy`` (featurer, video) samples the chunk at the profile's ``processing_fps``,
grey and downscaled to ``width`` x ``height`` (160x90), and measures the *motion energy* of
each step from one sampled frame to the next: the mean absolute difference of their pixels
(0..255). A run of steps at or above ``threshold`` lasting at least ``min_duration`` seconds is
fast play, published as a detection labelled ``Fast play`` with the attributes
``{"FastPlay": true, "energy": <mean of the run, one decimal>}``. A hard cut is one step, far
shorter than ``min_duration``, so cuts are not fast play.

At 160x90, FFmpeg's ``testsrc2`` pattern drawn at 640x360 measures about 5.5 per step at 5 fps,
the same pattern at 320x180 about 10, moving film grain about 2 and a still picture 0: the
default ``threshold`` of 4 separates the moving pattern from grain and stills.

Chunk boundaries: a featurer is given the media of its own chunk only, so each chunk is
measured on its own and the step from the last frame of one chunk to the first of the next is
not measured. Fast play that goes on across a boundary gives one detection on each side, a
frame apart, and the segmenter joins them (its ``gap`` is far longer than a frame); fast play
shorter than ``min_duration`` on both sides of a boundary is not found.

``FastPlaySegmenter`` (segmenter, depends on ``MotionEnergyPy``) opens a segment ``pre_roll``
seconds before the first fast play after the last complete segment (never before that
segment's end, so segments never overlap), keeps it open while fast play continues with pauses
shorter than ``gap`` seconds, and completes it ``post_roll`` seconds after the last fast play
once ``gap`` seconds have passed without any, or when it reaches the profile's
``max_segment_length`` (fast play still going on then opens the next segment right there).
An open segment is published once, when it opens; its completion has the same start.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from reeltime_sdk import (
    ChunkInput,
    Detection,
    LookBack,
    MediaReader,
    Results,
    Segment,
    featurer,
    segmenter,
)

#: The featurer's plugin name.
MOTION_ENERGY = "MotionEnergyPy"
#: The segmenter's plugin name.
FAST_PLAY_SEGMENTER = "FastPlaySegmenter"
#: The label of the featurer's detections.
FAST_PLAY_LABEL = "Fast play"


@dataclass(frozen=True)
class Stretch:
    """A run of fast steps: from the first frame of its first step to the last frame of its
    last, in event seconds, with the mean motion energy of its steps."""

    start: float
    end: float
    energy: float


def motion_energies(frames: Sequence[np.ndarray]) -> list[float]:
    """The mean absolute difference (0..255) between each frame and the next.

    The frames are grey pictures of one size; the result has one value fewer than there are
    frames.
    """
    energies = []
    for before, after in itertools.pairwise(frames):
        # int16 because uint8 subtraction wraps around instead of going negative.
        step = np.abs(after.astype(np.int16) - before.astype(np.int16))
        energies.append(float(step.mean()))
    return energies


def fast_stretches(times: Sequence[float], energies: Sequence[float], threshold: float,
                   min_duration: float) -> list[Stretch]:
    """The runs of steps whose energy is at least ``threshold`` and that last at least
    ``min_duration`` seconds.

    ``times`` are the frames' event times and ``energies[i]`` is the step from frame ``i`` to
    frame ``i + 1``, so there is one more time than there are energies.
    """
    if len(times) != len(energies) + 1:
        raise ValueError(f"{len(times)} frame times for {len(energies)} steps; "
                         "expected one time more than steps")
    stretches = []
    first: int | None = None
    # A sentinel step below every threshold closes a run that reaches the last frame.
    for i, energy in enumerate([*energies, -math.inf]):
        if energy >= threshold:
            if first is None:
                first = i
            continue
        if first is None:
            continue
        start, end = times[first], times[i]
        # Compared in milliseconds: in floats, 1.4 - 0.4 is 0.9999999999999999.
        if round(end * 1000) - round(start * 1000) >= round(min_duration * 1000):
            run = energies[first:i]
            stretches.append(Stretch(start=start, end=end, energy=sum(run) / len(run)))
        first = None
    return stretches


@featurer(MOTION_ENERGY, media="video",
          config={"threshold": 4.0, "min_duration": 1.0, "width": 160, "height": 90})
def motion_energy(chunk: ChunkInput, media: MediaReader,
                  dependencies: Results) -> list[Detection]:
    """Fast play in the chunk: runs of high frame-to-frame difference (see the module)."""
    config = chunk.config
    frames = list(media.frames(gray=True, width=int(config["width"]),
                               height=int(config["height"])))
    if not frames:
        return []
    energies = motion_energies([frame.image for frame in frames])
    found = fast_stretches([frame.time for frame in frames], energies,
                           float(config["threshold"]), float(config["min_duration"]))
    return [chunk.detection(s.start, s.end, label=FAST_PLAY_LABEL,
                            attributes={"FastPlay": True, "energy": round(s.energy, 1)})
            for s in found]


@dataclass
class _Building:
    """The segment being built: its start, the end of its last fast play and its peak energy
    (all milliseconds but the energy); ``last_end_ms`` is None until fast play joins it."""

    start_ms: int
    last_end_ms: int | None = None
    peak: float = 0.0


def _fast_play(detections: Iterable[Detection]) -> list[Detection]:
    """The detections that mark fast play, by start."""
    fast = [d for d in detections if d.attributes.get("FastPlay") is True]
    return sorted(fast, key=lambda d: (d.start_ms, d.end_ms))


def _energy(detection: Detection) -> float:
    """A detection's ``energy`` attribute, 0 if it has none."""
    value = detection.attributes.get("energy")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


@segmenter(FAST_PLAY_SEGMENTER, depends_on=(MOTION_ENERGY,),
           config={"pre_roll": 1.0, "post_roll": 1.0, "gap": 2.0})
def fast_play_segmenter(chunk: ChunkInput, state: LookBack,
                        dependencies: Results) -> list[Segment]:
    """Segments around fast play (see the module): the ones completed in this chunk, then the
    segment opened in it, if any."""
    config = chunk.config
    pre_roll = round(float(config["pre_roll"]) * 1000)
    post_roll = round(float(config["post_roll"]) * 1000)
    gap = round(float(config["gap"]) * 1000)
    max_length = chunk.profile.max_segment_length_ms or math.inf
    last = state.last_complete
    # Where a new segment may start: after the last complete one.
    floor = last.end_ms if last is not None and last.end_ms is not None else 0
    building = _Building(state.open.start_ms) if state.open is not None else None
    out: list[Segment] = []

    def complete(end_ms: float) -> None:
        nonlocal building, floor
        assert building is not None
        # Never past the media analysed so far, nor longer than the profile allows.
        end = int(min(end_ms, building.start_ms + max_length, chunk.chunk.end_ms))
        if end > building.start_ms:
            out.append(chunk.segment(building.start_ms / 1000, end / 1000,
                                     attributes={"FastPlay": True,
                                                 "peak_energy": round(building.peak, 1)}))
            floor = end
        building = None

    for detection in _fast_play(dependencies.all()):
        if detection.end_ms <= floor:
            continue
        if building is not None and building.last_end_ms is not None and \
                detection.start_ms - building.last_end_ms >= gap:
            complete(building.last_end_ms + post_roll)
        if building is None:
            building = _Building(max(floor, detection.start_ms - pre_roll))
        building.last_end_ms = max(building.last_end_ms or 0, detection.end_ms)
        building.peak = max(building.peak, _energy(detection))
        # Fast play longer than a segment may be: cut at the limit, and the play goes on in
        # a segment that starts where this one ends.
        while building.last_end_ms - building.start_ms > max_length:
            active_until, peak = building.last_end_ms, building.peak
            cut = building.start_ms + max_length
            complete(cut)
            building = _Building(int(cut), active_until, peak)

    if building is not None:
        active_until = building.last_end_ms if building.last_end_ms is not None \
            else building.start_ms
        if chunk.chunk.end_ms - active_until >= gap:
            complete(active_until + post_roll)
        elif chunk.chunk.end_ms - building.start_ms >= max_length:
            complete(building.start_ms + max_length)
    if building is not None and (state.open is None or state.open.start_ms != building.start_ms):
        out.append(chunk.segment(building.start_ms / 1000, attributes={"FastPlay": True}))
    return out
