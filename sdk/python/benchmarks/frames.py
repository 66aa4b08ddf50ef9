"""Benchmark: the frame helper against the ``ffmpeg`` command, on 1080p at processing_fps.

Makes a 1080p H.264 recording (``testsrc2``, 25 fps) in MPEG-TS chunks, then decodes every
chunk at ``--fps`` frames per second both ways, alternating, ``--runs`` times:

- the SDK: ``MediaReader.frames()``, each frame an RGB numpy array the plugin can use;
- the baseline: ``ffmpeg -i CHUNK -vf fps=N -pix_fmt rgb24 -f rawvideo -`` read to the end.

Prints the medians and their ratio (SDK time / ffmpeg time; at most 1.0 is the goal).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from reeltime_sdk.media import MediaReader
from reeltime_sdk.records import Chunk


def make_chunks(directory: Path, seconds: int, chunk: int) -> list[Chunk]:
    chunks = []
    for seq_no in range(seconds // chunk):
        path = directory / f"chunk-{seq_no:05d}.ts"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
             f"testsrc2=s=1920x1080:r=25:d={chunk}", "-c:v", "libx264", "-preset", "ultrafast",
             "-g", "50", "-pix_fmt", "yuv420p", "-output_ts_offset", str(seq_no * chunk),
             "-f", "mpegts", str(path)], check=True)
        chunks.append(Chunk(event_id="bench", seq_no=seq_no, uri=str(path),
                            start_ms=seq_no * chunk * 1000, duration_ms=chunk * 1000))
    return chunks


def sdk(chunks: list[Chunk], fps: float) -> int:
    reader = MediaReader(chunks, fps, chunks[0].start_ms, chunks[-1].end_ms)
    return sum(1 for frame in reader.frames() if frame.image.size)


def cli(chunks: list[Chunk], fps: float) -> int:
    frames = 0
    for chunk in chunks:
        done = subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-i", chunk.uri, "-an", "-vf", f"fps={fps}",
             "-pix_fmt", "rgb24", "-f", "rawvideo", "-"], capture_output=True, check=True)
        frames += len(done.stdout) // (1920 * 1080 * 3)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        chunks = make_chunks(Path(directory), args.seconds, 4)
        times: dict[str, list[float]] = {"sdk": [], "ffmpeg": []}
        counts = {}
        for _ in range(args.runs):
            for name, run in (("sdk", sdk), ("ffmpeg", cli)):
                started = time.perf_counter()
                counts[name] = run(chunks, args.fps)
                times[name].append(time.perf_counter() - started)
        assert counts["sdk"] == counts["ffmpeg"], counts
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"{args.seconds} s of 1080p at {args.fps:g} fps ({counts['sdk']} frames), "
              f"median of {args.runs}: SDK {medians['sdk']:.3f} s "
              f"({counts['sdk'] / medians['sdk']:.1f} frames/s), ffmpeg "
              f"{medians['ffmpeg']:.3f} s ({counts['ffmpeg'] / medians['ffmpeg']:.1f} frames/s), "
              f"ratio {medians['sdk'] / medians['ffmpeg']:.3f}")


if __name__ == "__main__":
    main()
