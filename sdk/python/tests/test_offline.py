"""Offline mode end to end: ``reeltime-plugins analyse`` writes logs ``reeltime process`` takes.

- Over the demo's event log, the Python scoreboard labeler beside the built-in plugins: every
  segment the built-in segmenter made is labelled with the score the overlay shows, and the
  engine shows those labels.
- Over a video file, the Python featurer and segmenter alone: the fast play is a segment.
- Bad input is an error that names it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers import EXAMPLES, reeltime


def analyse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reeltime_sdk.cli", "analyse", *args],
                          capture_output=True, text=True, timeout=900, check=False)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_scoreboard_labeler_labels_the_demo_beside_the_builtin_plugins(
        demo: Path, tmp_path: Path) -> None:
    log = tmp_path / "labelled.jsonl"
    done = analyse(str(demo / "demo-log.jsonl"), "--module", str(EXAMPLES / "scoreboard.py"),
                   "--profile", str(EXAMPLES / "profile-builtin.json"), "--out", str(log))
    assert done.returncode == 0, done.stderr
    written = records(log)
    # The log's own lines are all there, in order, with the plugins' records between them.
    original = records(demo / "demo-log.jsonl")
    assert sum(r["type"] == "chunk" for r in written) == sum(
        r["type"] == "chunk" for r in original)
    assert written[-1]["type"] == "event" and written[-1]["status"] == "ended"
    segments = {}
    for record in written:
        if record["type"] == "segment" and record.get("end", 0) > record["start"]:
            segments[record["start"]] = record
    labels = {r["start"]: r for r in written if r["type"] == "label"}
    assert segments and set(labels) == set(segments)
    truth = json.loads((demo / "media" / "scoreboard.json").read_text())["scores"]
    for start, label in labels.items():
        score = next(s for s in truth if s["start"] <= start + 0.5 < s["end"])
        assert label["attributes"]["games"] == "-".join(map(str, score["games"])), label
        assert label["attributes"]["points"] == "-".join(score["points"]), label
        assert label["attributes"]["GamePoint"] is score["game_point"], label

    out = tmp_path / "out"
    reeltime("process", "--log", str(log), "--out", str(out))
    shown = json.loads((out / "events" / "synthetic-match" / "segments.json").read_text())
    assert {s["start"]: s["label"] for s in shown["segments"] if s.get("label")} == {
        start: label["label"] for start, label in labels.items()}


def test_a_video_file_becomes_labelled_segments(tmp_path: Path) -> None:
    video = tmp_path / "rally.mp4"
    made = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i",
         "color=c=0x2f7d32:s=320x180:r=25:d=8", "-f", "lavfi", "-i",
         "testsrc2=s=320x180:r=25:d=8", "-f", "lavfi", "-i",
         "color=c=0x2f7d32:s=320x180:r=25:d=12", "-f", "lavfi", "-i",
         "anoisesrc=r=48000:a=0.01:d=28", "-filter_complex",
         "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]", "-map", "3:a", "-c:v",
         "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", str(video)],
        capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    log = tmp_path / "rally.jsonl"
    done = analyse(str(video), "--module", str(EXAMPLES / "motion.py"), "--profile",
                   str(EXAMPLES / "profile.json"), "--out", str(log))
    assert done.returncode == 0, done.stderr
    written = records(log)
    assert written[0]["type"] == "profile" and written[1]["event_id"] == "rally"
    chunks = [r for r in written if r["type"] == "chunk"]
    assert sum(c["duration"] for c in chunks) >= 27
    assert [c["start"] for c in chunks] == sorted(c["start"] for c in chunks)
    out = tmp_path / "out"
    reeltime("process", "--log", str(log), "--out", str(out))
    shown = json.loads((out / "events" / "rally" / "segments.json").read_text())["segments"]
    # The fast play (8 to 16 s) is inside one complete segment, and nothing else is.
    assert len(shown) == 1, shown
    assert shown[0]["start"] <= 8.5 and shown[0]["end"] >= 15.5, shown


def test_bad_input_is_named(tmp_path: Path) -> None:
    playlist = tmp_path / "live.m3u8"
    playlist.write_text("not a playlist\n")
    profile = EXAMPLES / "profile.json"
    done = analyse(str(playlist), "--module", str(EXAMPLES / "motion.py"), "--profile",
                   str(profile), "--out", str(tmp_path / "x.jsonl"))
    assert done.returncode == 1 and f"{playlist}:1: not an HLS playlist" in done.stderr
    bad_profile = tmp_path / "profile.json"
    bad_profile.write_text('{"type":"profile","name":"p","chunk_size":-4}')
    done = analyse(str(playlist), "--module", str(EXAMPLES / "motion.py"), "--profile",
                   str(bad_profile), "--out", str(tmp_path / "x.jsonl"))
    assert done.returncode == 1 and "profile record: field `chunk_size`" in done.stderr
    done = analyse(str(tmp_path / "missing.mp4"), "--module", "no_such_module_here",
                   "--out", str(tmp_path / "x.jsonl"))
    assert done.returncode == 1 and "no_such_module_here" in done.stderr
