"""Testing plugins without a broker: a short synthetic match and a way to run plugins on it.

Installed as a pytest plugin, so a plugin author's tests get the ``synthetic_match`` fixture:
a 12-second match made by the ``ffmpeg`` command (a still picture with quiet noise for 4 s,
fast-moving test pattern with a loud tone for 4 s, still again for 4 s), cut into three 4 s
MPEG-TS chunks, with its event and chunk records. :func:`run_plugins` runs plugins over it as
the runner would and returns their records.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from .pipeline import Pipeline, RetryPolicy
from .plugin import PluginSpec, plugins_of, spec_of
from .records import Chunk, Event, Profile, Record

#: Where the synthetic match's fast play is, in event seconds.
FAST_PLAY = (4.0, 8.0)


@dataclass(frozen=True)
class SyntheticMatch:
    """A short match's chunks and records, made for tests."""

    directory: Path
    event: Event
    chunks: tuple[Chunk, ...]
    fast_play: tuple[float, float] = FAST_PLAY


def make_synthetic_match(directory: Path, event_id: str = "test-match") -> SyntheticMatch:
    """Makes the match in ``directory`` (needs the ``ffmpeg`` command)."""
    directory.mkdir(parents=True, exist_ok=True)
    pieces = [
        ("color=c=0x2f7d32:s=320x180:r=25", "anoisesrc=r=48000:a=0.01:seed=1"),
        ("testsrc2=s=320x180:r=25", "sine=f=440:sample_rate=48000"),
        ("color=c=0x2f7d32:s=320x180:r=25", "anoisesrc=r=48000:a=0.01:seed=2"),
    ]
    chunks = []
    for seq_no, (video, audio) in enumerate(pieces):
        path = directory / f"chunk-{seq_no:05d}.ts"
        offset = seq_no * 4
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", video, "-f",
             "lavfi", "-i", audio, "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
             "-g", "100", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1",
             "-output_ts_offset", str(offset), "-f", "mpegts", str(path)],
            check=True, capture_output=True)
        chunks.append(Chunk(event_id=event_id, seq_no=seq_no, uri=str(path),
                            start_ms=offset * 1000, duration_ms=4000))
    event = Event(event_id=event_id, profile="test", status="started", frame_rate_milli=25000,
                  audio_tracks=(1,))
    return SyntheticMatch(directory=directory, event=event, chunks=tuple(chunks))


def _specs(plugins: ModuleType | Iterable[object]) -> dict[str, PluginSpec]:
    if isinstance(plugins, ModuleType):
        return plugins_of(plugins)
    found = {}
    for function in plugins:
        spec = spec_of(function)
        if spec is None:
            raise TypeError(f"{function!r} is not a plugin (mark it with @featurer, ...)")
        found[spec.name] = spec
    return found


def run_plugins(plugins: ModuleType | Iterable[object], profile: Profile,
                match: SyntheticMatch, extra: Iterable[Record] = ()) -> list[Record]:
    """Runs the plugins of a module (or the given plugin functions) of ``profile`` over the
    match's chunks, then as the event ends; returns their records in order. ``extra`` are
    records observed first (e.g. what a built-in plugin would have found). A failing plugin
    is tried once, so a test sees its ``Plugin failed`` record at once."""
    pipeline = Pipeline(_specs(plugins), RetryPolicy(attempts=1))
    event = Event(**{**match.event.__dict__, "profile": profile.name})
    try:
        pipeline.observe(profile)
        pipeline.observe(event)
        for record in extra:
            pipeline.observe(record)
        out: list[Record] = []
        for chunk in match.chunks:
            out.extend(pipeline.run_chunk(chunk))
            out.extend(pipeline.run_segments(chunk.event_id))
        pipeline.observe(Event(**{**event.__dict__, "status": "ended"}))
        out.extend(pipeline.run_segments(event.event_id, final=True))
        return out
    finally:
        pipeline.close()


@pytest.fixture(scope="session")
def synthetic_match(tmp_path_factory: pytest.TempPathFactory) -> SyntheticMatch:
    """A 12 s match in three 4 s chunks, fast play from 4 to 8 s (made once per session)."""
    return make_synthetic_match(tmp_path_factory.mktemp("reeltime-match"))
