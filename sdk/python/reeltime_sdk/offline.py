"""``reeltime-plugins analyse``: a module's plugins over local media, into an event log.

The input is an event log (JSON Lines, e.g. the ``demo-log.jsonl`` of ``reeltime demo``,
whose chunks are followed by what the built-in plugins found in them), a video file (cut into
MPEG-TS chunks at keyframes by the ``ffmpeg`` command, without re-encoding), a folder of
``.ts``/``.mp4`` chunks, or an HLS VOD media playlist. The output is an event log that
``reeltime process`` takes: the input's records (a log's lines as they were) with the plugins'
records after each chunk's, as a runner would have published them.

With a log, each chunk is analysed after the records that follow it (the built-in plugins'
results for it), so Python plugins may depend on built-in ones. With ``--profile`` the log's
events are analysed with that profile: it is written first, replaces the log's profile records,
and the log's event records are pointed at it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from .pipeline import Pipeline, RetryPolicy
from .plugin import PluginSpec
from .records import (
    AnyRecord,
    Chunk,
    Event,
    Profile,
    Record,
    RecordError,
    decode,
    seconds_to_ms,
)

MEDIA_SUFFIXES = (".ts", ".mp4", ".m4s", ".mov", ".mkv")


class AnalyseError(RuntimeError):
    """The input could not be read; the message names the file and, for a log, the line."""


@dataclass
class Summary:
    """What an analysis did."""

    chunks: int = 0
    records_in: int = 0
    records_out: int = 0  # the plugins' records
    failures: int = 0


def read_profile(path: Path) -> Profile:
    """A profile record from a JSON file, checked as the engine checks it."""
    try:
        record = decode(path.read_bytes())
    except OSError as e:
        raise AnalyseError(f"cannot read the profile {path}: {e.strerror}") from None
    except RecordError as e:
        raise AnalyseError(f"{path}: {e}") from None
    if not isinstance(record, Profile):
        raise AnalyseError(f"{path}: a {record.TYPE} record, not a profile")
    return record


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _probe(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "format=start_time,duration:stream=codec_type,r_frame_rate", "-of", "json", str(path)],
        capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AnalyseError(f"{path}: not readable media: {done.stderr.strip()}")
    return json.loads(done.stdout or "{}")


def _split(video: Path, into: Path, chunk_seconds: float) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    for old in into.glob("chunk-*.ts"):
        old.unlink()
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(video), "-map", "0:v:0", "-map", "0:a?",
         "-c", "copy", "-f", "segment", "-segment_time", f"{chunk_seconds:g}",
         "-segment_format", "mpegts", str(into / "chunk-%05d.ts")],
        capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AnalyseError(f"{video}: cannot be cut into chunks without re-encoding "
                           f"({done.stderr.strip()}); convert it to H.264/AAC first")
    return sorted(into.glob("chunk-*.ts"), key=_natural_key)


def _playlist(path: Path) -> list[Path]:
    lines = path.read_text().splitlines()
    if not lines or lines[0].strip() != "#EXTM3U":
        raise AnalyseError(f"{path}:1: not an HLS playlist (no #EXTM3U)")
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        raise AnalyseError(f"{path}: a master playlist; give one of its media playlists")
    found = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            found.append((path.parent / line).resolve())
    if not found:
        raise AnalyseError(f"{path}: the playlist lists no segments")
    return found


def media_chunks(source: Path, event_id: str, chunk_seconds: float,
                 chunks_dir: Path) -> tuple[list[Chunk], int | None, tuple[int, ...]]:
    """The chunks of a video file, folder or playlist, with the frame rate (thousandths) and
    audio tracks of the first."""
    if source.is_dir():
        files = sorted((p for p in source.iterdir() if p.suffix.lower() in MEDIA_SUFFIXES),
                       key=_natural_key)
        if not files:
            raise AnalyseError(f"{source}: no {'/'.join(MEDIA_SUFFIXES)} chunks in the folder")
    elif source.suffix.lower() == ".m3u8":
        files = _playlist(source)
    else:
        files = _split(source, chunks_dir, chunk_seconds)
    chunks: list[Chunk] = []
    start_ms = 0
    frame_rate: int | None = None
    tracks: tuple[int, ...] = ()
    for seq_no, file in enumerate(files):
        probe = _probe(file)
        streams = probe.get("streams") or []
        if seq_no == 0:
            video = [s for s in streams if s.get("codec_type") == "video"]
            if not video:
                raise AnalyseError(f"{file}: no video stream")
            rate = Fraction(video[0].get("r_frame_rate") or "0/1")
            frame_rate = round(rate * 1000) if rate > 0 else None
            tracks = tuple(range(1, 1 + sum(s.get("codec_type") == "audio" for s in streams)))
        fmt = probe.get("format") or {}
        duration_ms = seconds_to_ms(round(float(fmt.get("duration") or 0), 6))
        pts = fmt.get("start_time")
        chunks.append(Chunk(event_id=event_id, seq_no=seq_no, uri=str(file.resolve()),
                            start_ms=start_ms, duration_ms=duration_ms,
                            pts_start_ms=seconds_to_ms(round(float(pts), 6)) if pts else None))
        start_ms += duration_ms
    return chunks, frame_rate, tracks


def _log_groups(path: Path) -> Iterator[list[tuple[int, str, AnyRecord | None]]]:
    """The log's lines in groups: the lines before the first chunk, then each chunk with the
    lines after it. A line that is not a valid record is kept (the engine dead-letters it)."""
    group: list[tuple[int, str, AnyRecord | None]] = []
    with path.open(encoding="utf-8", errors="surrogateescape") as lines:
        for number, line in enumerate(lines, 1):
            text = line.rstrip("\n")
            if not text.strip():
                continue
            try:
                record: AnyRecord | None = decode(text)
            except RecordError:
                record = None
            if isinstance(record, Chunk) and group:
                yield group
                group = []
            group.append((number, text, record))
    if group:
        yield group


def _is_log(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in (".jsonl", ".ndjson", ".log")


def analyse(source: Path, plugins: dict[str, PluginSpec], out: IO[str], *,
            profile: Profile | None = None, event_id: str | None = None,
            chunk_seconds: float | None = None, chunks_dir: Path | None = None,
            retry: RetryPolicy | None = None, threads: int = 4,
            progress: Callable[[str], None] | None = None) -> Summary:
    """Runs ``plugins`` over ``source`` and writes the event log to ``out``."""
    say = progress or (lambda _line: None)
    pipeline = Pipeline(plugins, retry, threads, log=say)
    summary = Summary()

    def write(record: Record, from_plugin: bool = True) -> None:
        out.write(record.to_json() + "\n")
        summary.records_out += from_plugin

    try:
        if _is_log(source):
            _analyse_log(source, pipeline, profile, write, out, summary, say)
        else:
            if profile is None:
                raise AnalyseError("media input needs --profile (the plugins to run, "
                                   "their settings and the chunk size)")
            event = event_id or re.sub(r"[^A-Za-z0-9_.-]+", "-", source.stem) or "event"
            size = chunk_seconds or profile.chunk_size_ms / 1000.0
            chunks, frame_rate, tracks = media_chunks(
                source, event, size, chunks_dir or source.parent / f"{source.stem}-chunks")
            header = [profile, Event(event_id=event, profile=profile.name, status="started",
                                     frame_rate_milli=frame_rate, audio_tracks=tracks)]
            for record in header:
                pipeline.observe(record)
                write(record, from_plugin=False)
            for chunk in chunks:
                write(chunk, from_plugin=False)
                summary.chunks += 1
                for record in pipeline.run_chunk(chunk):
                    write(record)
                for record in pipeline.run_segments(event):
                    write(record)
                say(f"chunk {chunk.seq_no} ({chunk.start:.1f}-{chunk.end:.1f} s) analysed")
            ended = replace(header[1], status="ended")  # type: ignore[type-var]
            pipeline.observe(ended)
            for record in pipeline.run_segments(event, final=True):
                write(record)
            write(ended, from_plugin=False)
    finally:
        pipeline.close()
    summary.failures = pipeline.failures
    return summary


def _analyse_log(source: Path, pipeline: Pipeline, profile: Profile | None,
                 write: Callable[[Record, bool], None], out: IO[str], summary: Summary,
                 say: Callable[[str], None]) -> None:
    if profile is not None:
        pipeline.observe(profile)
        write(profile, False)
    for group in _log_groups(source):
        chunk: Chunk | None = None
        ended: list[tuple[Event, str]] = []
        for _, text, record in group:
            summary.records_in += 1
            if profile is not None and isinstance(record, Profile):
                continue
            if profile is not None and isinstance(record, Event):
                record = replace(record, profile=profile.name)
                text = record.to_json()
            if isinstance(record, Event) and record.status == "ended":
                # Written after the plugins' last records, as a runner's would arrive.
                ended.append((record, text))
                continue
            if isinstance(record, Chunk):
                chunk = record
            elif record is not None:
                pipeline.observe(record)
            out.write(text + "\n")
        if chunk is not None:
            summary.chunks += 1
            for record in pipeline.run_chunk(chunk):
                write(record, True)
            for record in pipeline.run_segments(chunk.event_id):
                write(record, True)
            say(f"{chunk.event_id}: chunk {chunk.seq_no} analysed")
        for event, text in ended:
            pipeline.observe(event)
            for record in pipeline.run_segments(event.event_id, final=True):
                write(record, True)
            out.write(text + "\n")
