"""Frames and sound of an event's chunks as numpy arrays, in event time.

A :class:`MediaReader` covers a stretch of event time (one chunk for a featurer, the segment
for a labeler) over the chunks that hold it. Frames are decoded by the ``ffmpeg`` command
(Debian's ``ffmpeg`` package) and sampled at the profile's ``processing_fps`` unless asked
otherwise: frame *k* of a chunk is at event time ``chunk.start + k / fps``. Sound is one track
(track *n* is the *n*-th audio stream), its channels mixed to mono, as 32-bit floats.
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .records import Chunk


class MediaError(RuntimeError):
    """A chunk's media could not be read; names the chunk and what FFmpeg said."""


@dataclass(frozen=True)
class Frame:
    """One sampled picture: its event time and its pixels (H x W x 3 RGB, or H x W grey)."""

    time: float
    image: np.ndarray


@dataclass(frozen=True)
class Audio:
    """Sound of one track from ``start`` (event seconds): mono samples at ``sample_rate``."""

    start: float
    sample_rate: int
    samples: np.ndarray

    @property
    def duration(self) -> float:
        """Seconds of sound."""
        return len(self.samples) / self.sample_rate


@functools.lru_cache(maxsize=256)
def _video_size(uri: str) -> tuple[int, int]:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-of", "json", uri],
        capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise MediaError(f"cannot read {uri}: {probe.stderr.strip() or 'ffprobe failed'}")
    streams = json.loads(probe.stdout or "{}").get("streams") or []
    if not streams:
        raise MediaError(f"{uri} has no video stream")
    return int(streams[0]["width"]), int(streams[0]["height"])


def _trim(trim: str, setpts: str, offset: float, seconds: float, chunk: Chunk) -> list[str]:
    """The filters that keep ``seconds`` from ``offset`` of a chunk (none for all of it)."""
    if offset <= 0 and seconds * 1000 >= chunk.duration_ms:
        return []
    return [f"{trim}=start={offset:.3f}:end={offset + seconds:.3f}", f"{setpts}=PTS-STARTPTS"]


class MediaReader:
    """The media of ``[start_ms, end_ms)`` of an event, read from its chunks."""

    def __init__(self, chunks: Sequence[Chunk], processing_fps: float, start_ms: int,
                 end_ms: int, track: int | None = None) -> None:
        self.chunks = sorted(chunks, key=lambda c: c.start_ms)
        self.processing_fps = processing_fps
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.track = track

    def _pieces(self, start: float | None, end: float | None) -> Iterator[tuple[Chunk, float,
                                                                                float]]:
        """(chunk, offset into it, seconds) of each chunk piece of the range, in order."""
        lo = self.start_ms if start is None else round(start * 1000)
        hi = self.end_ms if end is None else round(end * 1000)
        for chunk in self.chunks:
            if chunk.error is not None:
                continue
            begin, finish = max(lo, chunk.start_ms), min(hi, chunk.end_ms)
            if finish > begin:
                yield chunk, (begin - chunk.start_ms) / 1000.0, (finish - begin) / 1000.0

    def frames(self, fps: float | None = None, *, start: float | None = None,
               end: float | None = None, crop: tuple[int, int, int, int] | None = None,
               width: int | None = None, height: int | None = None,
               gray: bool = False) -> Iterator[Frame]:
        """Frames sampled at ``fps`` (default the profile's), optionally cropped to
        ``(x, y, w, h)`` of the source picture and then scaled to ``width`` x ``height``."""
        rate = fps or self.processing_fps
        for chunk, offset, seconds in self._pieces(start, end):
            yield from self._chunk_frames(chunk, offset, seconds, rate, crop, width, height, gray)

    def frame_at(self, time: float, **options: object) -> Frame | None:
        """The first sampled frame at or after ``time`` (event seconds), if the range has one."""
        for frame in self.frames(start=time, end=min(time + 1.0, self.end_ms / 1000.0),
                                 **options):  # type: ignore[arg-type]
            return frame
        return None

    def _chunk_frames(self, chunk: Chunk, offset: float, seconds: float, fps: float,
                      crop: tuple[int, int, int, int] | None, width: int | None,
                      height: int | None, gray: bool) -> Iterator[Frame]:
        w, h = _video_size(chunk.uri)
        # The chunk is decoded from its start and trimmed in the graph: seeking an MPEG-TS
        # file before decoding (`-ss` before `-i`) can return nothing for a short stretch.
        filters = [*_trim("trim", "setpts", offset, seconds, chunk), f"fps={fps}"]
        if crop is not None:
            cx, cy, cw, ch = crop
            filters.append(f"crop={cw}:{ch}:{cx}:{cy}")
            w, h = cw, ch
        if width or height:
            w, h = width or w, height or h
            filters.append(f"scale={w}:{h}")
        channels = 1 if gray else 3
        command = ["ffmpeg", "-v", "error", "-nostdin", "-i", chunk.uri, "-an", "-vf",
                   ",".join(filters),
                   "-pix_fmt", "gray" if gray else "rgb24", "-f", "rawvideo", "-"]
        size = w * h * channels
        shape = (h, w) if gray else (h, w, 3)
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as ffmpeg:
            assert ffmpeg.stdout is not None and ffmpeg.stderr is not None
            index = 0
            while True:
                data = ffmpeg.stdout.read(size)
                if len(data) < size:
                    break
                yield Frame(time=round(chunk.start + offset + index / fps, 3),
                            image=np.frombuffer(data, np.uint8).reshape(shape))
                index += 1
            error = ffmpeg.stderr.read().decode(errors="replace").strip()
        if ffmpeg.returncode != 0:
            raise MediaError(f"chunk {chunk.seq_no} ({chunk.uri!r}): {error or 'ffmpeg failed'}")

    def audio(self, track: int | None = None, *, sample_rate: int = 16_000,
              start: float | None = None, end: float | None = None) -> Audio:
        """The sound of ``track`` (default the plugin's track, else 1) over the range."""
        track = track or self.track or 1
        pieces = list(self._pieces(start, end))
        parts = []
        for chunk, offset, seconds in pieces:
            trim = _trim("atrim", "asetpts", offset, seconds, chunk)
            command = ["ffmpeg", "-v", "error", "-nostdin", "-i", chunk.uri, "-map",
                       f"0:a:{track - 1}", *(["-af", ",".join(trim)] if trim else []), "-ac",
                       "1", "-ar", str(sample_rate), "-f", "f32le", "-"]
            done = subprocess.run(command, capture_output=True, check=False)
            if done.returncode != 0:
                raise MediaError(f"chunk {chunk.seq_no} ({chunk.uri!r}), audio track {track}: "
                                 f"{done.stderr.decode(errors='replace').strip()}")
            parts.append(np.frombuffer(done.stdout, np.float32))
        first = pieces[0][0].start + pieces[0][1] if pieces else self.start_ms / 1000.0
        samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return Audio(start=first, sample_rate=sample_rate, samples=samples)
