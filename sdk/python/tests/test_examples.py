"""The example plugins (sdk/python/examples): their plain functions, and the plugins run by the
pipeline over short videos made with the ``ffmpeg`` command whose content is known.

These tests need the ``ffmpeg`` and ``tesseract`` commands and the DejaVu fonts (Debian's
``ffmpeg``, ``tesseract-ocr`` and ``fonts-dejavu-core``); without them they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from reeltime_sdk import (
    Chunk,
    ChunkInput,
    Detection,
    Event,
    FeaturerSlot,
    Label,
    LookBack,
    Pipeline,
    PluginSlot,
    Profile,
    Results,
    RetryPolicy,
    Segment,
    decode,
    plugins_of,
)
from reeltime_sdk.offline import read_profile
from reeltime_sdk.plugin import load_module

SDK = Path(__file__).resolve().parent.parent
EXAMPLES = SDK / "examples"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf")

motion = load_module(str(EXAMPLES / "motion.py"))
scoreboard = load_module(str(EXAMPLES / "scoreboard.py"))

EVENT = "example-match"


def _pipeline(*modules) -> Pipeline:
    """A pipeline of the modules' plugins that tries a failing plugin once; what it reports
    goes to stderr, which pytest shows when a test fails."""
    plugins = {}
    for module in modules:
        plugins.update(plugins_of(module))
    return Pipeline(plugins, RetryPolicy(attempts=1))


def _scoreboard_filters(texts: list[tuple[float, float, str]], box_until: float) -> str:
    """drawbox and drawtext filters drawing the demo's scoreboard (connectors/src/synth.rs):
    the black box until ``box_until`` and each text from its start to its end."""
    chain = f"drawbox=x=16:y=16:w=356:h=40:color=black:t=fill:enable='lt(t,{box_until})'"
    for start, end, text in texts:
        chain += (f",drawtext=fontfile={FONT}:text='{text}':expansion=none:fontsize=28"
                  f":fontcolor=white:x=24:y=26:enable='gte(t,{start})*lt(t,{end})'")
    return chain


def _make_chunks(directory: Path, sources: list[str], filters: str,
                 seconds: int = 4) -> list[Chunk]:
    """Encodes the lavfi ``sources`` (one after the other, ``seconds`` each) through ``filters``
    into ``match.ts`` and cuts that into MPEG-TS chunks of ``seconds`` at its keyframes, as
    ingest does.

    Keyframes come every second besides the forced ones at the cuts, so a read inside a chunk
    cannot rely on starting at a keyframe.
    """
    directory.mkdir(parents=True, exist_ok=True)
    inputs: list[str] = []
    for source in sources:
        inputs += ["-f", "lavfi", "-t", str(seconds), "-i", source]
    graph = "".join(f"[{i}:v]" for i in range(len(sources)))
    graph += f"concat=n={len(sources)}:v=1:a=0,{filters}"
    match = directory / "match.ts"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", *inputs, "-filter_complex", graph,
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
         "-force_key_frames", f"expr:gte(t,n_forced*{seconds})", str(match)],
        check=True, capture_output=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(match), "-c", "copy", "-f",
         "segment", "-segment_time", str(seconds), "-reset_timestamps", "1",
         str(directory / "chunk-%05d.ts")],
        check=True, capture_output=True)
    paths = sorted(directory.glob("chunk-*.ts"))
    assert len(paths) == len(sources)
    return [Chunk(event_id=EVENT, seq_no=i, uri=str(path), start_ms=i * seconds * 1000,
                  duration_ms=seconds * 1000) for i, path in enumerate(paths)]


def test_the_tools_the_examples_need_are_installed():
    for command, package in (("ffmpeg", "ffmpeg"), ("ffprobe", "ffmpeg"),
                             ("tesseract", "tesseract-ocr")):
        assert shutil.which(command), f"{command} is missing: install Debian's {package}"
    assert FONT.is_file(), "the scoreboard font is missing: install Debian's fonts-dejavu-core"


# --- The score parser and the game-point rule -----------------------------------------------


@pytest.mark.parametrize(("text", "games", "points"), [
    ("GAMES 2-1  PTS 40-15", (2, 1), ("40", "15")),
    ("GAMES 2-1 PTS 40-15\n", (2, 1), ("40", "15")),
    ("GAMES3-2PTSAD-40", (3, 2), ("AD", "40")),
    ("games 0-0 pts 0-0", (0, 0), ("0", "0")),
    ("  GAMES 6 - 7   PTS 30 - AD \x0c", (6, 7), ("30", "AD")),
    ("GAMES 3-1 PTS 4O-I5", (3, 1), ("40", "15")),
    ("GAMES 2-l PTS 15\u201330", (2, 1), ("15", "30")),
    ("00:00:13.000\nGAMES 10-12  PTS 0-15", (10, 12), ("0", "15")),
])
def test_parse_score_reads_a_scoreboard_text(text, games, points):
    score = scoreboard.parse_score(text)
    assert score == scoreboard.Score(games=games, points=points)


@pytest.mark.parametrize("text", [
    "", "00:00:13.000", "GAMES 2-1", "GAMES 2-1  PTS 45-15", "GAMES 2-1  PTS 40-150",
    "GAMES A-1  PTS 40-15", "PTS 40-15 GAMES 2-1", "GAMES 2-1  PTS 40",
])
def test_parse_score_refuses_what_is_not_a_score(text):
    assert scoreboard.parse_score(text) is None


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("40", "0", True), ("40", "15", True), ("30", "40", True), ("AD", "40", True),
    ("40", "AD", True), ("40", "40", False), ("30", "30", False), ("0", "0", False),
    ("15", "30", False),
])
def test_is_game_point(first, second, expected):
    assert scoreboard.is_game_point(first, second) is expected


def test_a_score_makes_the_label_and_its_attributes():
    score = scoreboard.parse_score("GAMES 2-1  PTS 40-15")
    assert score is not None
    assert score.label == "Games 2-1, 40-15"
    assert score.attributes() == {"games": "2-1", "points": "40-15", "GamePoint": True}
    deuce = scoreboard.Score(games=(3, 2), points=("40", "40"))
    assert deuce.label == "Games 3-2, 40-40"
    assert deuce.attributes() == {"games": "3-2", "points": "40-40", "GamePoint": False}


def test_black_on_white_makes_white_text_on_black_dark_with_a_margin():
    image = np.zeros((10, 20), np.uint8)
    image[4:6, 5:15] = 230  # a white stroke on the black box
    page = scoreboard.black_on_white(image, margin=3)
    assert page.shape == (16, 26)
    assert (page[7:9, 8:18] == 0).all()
    assert int(page.sum()) == 255 * (16 * 26 - 20)
    # Dark text on a light page comes out the same.
    assert (scoreboard.black_on_white(255 - image, margin=3) == page).all()


def test_the_default_region_is_the_demo_scoreboard():
    spec = plugins_of(scoreboard)["ScoreboardLabeler"]
    assert spec.defaults["region"] == [16, 16, 356, 40]


# --- Motion energy without video ------------------------------------------------------------


def test_fast_stretches_finds_runs_long_enough():
    times = [round(i * 0.2, 1) for i in range(17)]  # 0.0 .. 3.2
    energies = [0, 0, 9, 10, 12, 9, 11, 0, 0, 20, 0, 9, 9, 9, 9, 9]
    found = motion.fast_stretches(times, [float(e) for e in energies], 8.0, 1.0)
    # Steps 2..6 run from frame 2 to frame 7; the single step 9 is a cut, too short; steps
    # 11..15 run from frame 11 to the last frame.
    assert found == [motion.Stretch(start=0.4, end=1.4, energy=51 / 5),
                     motion.Stretch(start=2.2, end=3.2, energy=9.0)]
    assert motion.fast_stretches(times, [float(e) for e in energies], 9.5, 1.0) == []


def test_fast_stretches_closes_a_run_at_the_last_frame():
    times = [0.0, 0.5, 1.0, 1.5]
    found = motion.fast_stretches(times, [1.0, 30.0, 30.0], 8.0, 1.0)
    assert found == [motion.Stretch(start=0.5, end=1.5, energy=30.0)]
    assert motion.fast_stretches(times, [1.0, 30.0, 30.0], 8.0, 1.5) == []
    with pytest.raises(ValueError, match="one time more"):
        motion.fast_stretches(times, [1.0], 8.0, 1.0)


def test_motion_energies_is_the_mean_absolute_difference():
    a = np.zeros((2, 2), np.uint8)
    b = np.array([[0, 255], [10, 5]], np.uint8)
    assert motion.motion_energies([a, b, a]) == [67.5, 67.5]
    assert motion.motion_energies([a]) == []


# --- The segmenter without video ------------------------------------------------------------


def _profile(max_segment_length: int = 30) -> Profile:
    return Profile(name="motion", chunk_size_ms=4000, processing_fps_milli=5000,
                   max_segment_length_ms=max_segment_length * 1000,
                   classifier=PluginSlot("FastPlaySegmenter"),
                   featurers=(FeaturerSlot("MotionEnergyPy", media="video"),))


def _segment_chunk(seq_no: int, profile: Profile, config: dict) -> ChunkInput:
    spec = plugins_of(motion)["FastPlaySegmenter"]
    chunk = Chunk(event_id=EVENT, seq_no=seq_no, uri=f"chunk-{seq_no}.ts",
                  start_ms=seq_no * 4000, duration_ms=4000)
    return ChunkInput(chunk=chunk, event=Event(event_id=EVENT, profile=profile.name,
                                               status="started"),
                      profile=profile, plugin="FastPlaySegmenter", config=spec.config(config))


def _fast(start: float, end: float, energy: float = 20.0) -> Detection:
    return Detection(event_id=EVENT, plugin="MotionEnergyPy", start_ms=round(start * 1000),
                     end_ms=round(end * 1000), attributes={"FastPlay": True, "energy": energy})


def _run_segmenter(detections: list[Detection], chunks: int, max_segment_length: int = 30,
                   **config: float) -> list[list[Segment]]:
    """The segmenter over ``chunks`` chunks of 4 s, given each time the detections since its
    look-back state that the featurer has published by the chunk's end, as the pipeline
    gives them; its segments per chunk."""
    profile = _profile(max_segment_length)
    state = LookBack()
    out = []
    for seq_no in range(chunks):
        chunk = _segment_chunk(seq_no, profile, config)
        given = Results({"MotionEnergyPy": [
            d for d in detections if d.overlaps(state.since_ms, chunk.chunk.end_ms)
            and d.end_ms <= chunk.chunk.end_ms]})
        segments = motion.fast_play_segmenter(chunk, state, given)
        state = state.after(segments)
        out.append(segments)
    return out


def _bounds(segments: list[Segment]) -> list[tuple[float, float | None]]:
    return [(s.start, s.end) for s in segments]


def test_the_segmenter_opens_at_fast_play_and_completes_after_a_gap():
    per_chunk = _run_segmenter([_fast(5.0, 7.0, 12.0), _fast(7.5, 9.0, 30.0)], chunks=4)
    assert [_bounds(s) for s in per_chunk] == [
        [], [(4.0, None)], [(4.0, 10.0)], []]
    assert per_chunk[2][0].attributes == {"FastPlay": True, "peak_energy": 30}
    assert per_chunk[1][0].attributes == {"FastPlay": True}


def test_the_segmenter_splits_at_a_gap_and_never_overlaps_the_last_segment():
    # The second play starts 2.2 s after the first ends: two segments. Its pre-roll would
    # reach back to 3.7 s, into the first segment's post-roll, so it starts where that ends.
    per_chunk = _run_segmenter([_fast(1.0, 3.0), _fast(5.2, 6.5)], chunks=3, pre_roll=1.5)
    assert [_bounds(s) for s in per_chunk] == [
        [(0.0, None)], [(0.0, 4.0), (4.0, None)], [(4.0, 7.5)]]


def test_the_segmenter_cuts_at_the_maximum_length_and_goes_on():
    plays = [_fast(1.0, 4.0), _fast(4.0, 8.0), _fast(8.0, 12.0), _fast(12.0, 13.0)]
    per_chunk = _run_segmenter(plays, chunks=5, max_segment_length=5)
    assert [_bounds(s) for s in per_chunk] == [
        [(0.0, None)], [(0.0, 5.0), (5.0, None)], [(5.0, 10.0), (10.0, None)],
        [(10.0, 14.0)], []]


def test_the_segmenter_ignores_other_detections():
    other = Detection(event_id=EVENT, plugin="MotionEnergyPy", start_ms=1000, end_ms=3000,
                      label="Plugin failed", attributes={"PluginFailed": True})
    assert _run_segmenter([other], chunks=2) == [[], []]


# --- The plugins over video -----------------------------------------------------------------


STILL = "smptebars=s=640x360:r=25"
# Grey blocks of 20x20 pixels whose levels change every frame: far more motion than the
# default threshold, at any scale.
FAST = "color=c=gray:s=32x18:r=25,noise=alls=100:allf=t+u,scale=640:360:flags=neighbor"


@pytest.fixture(scope="module")
def motion_chunks(tmp_path_factory):
    """12 s: still for 4 s, fast for 4 s, still for 4 s, under a scoreboard that shows
    ``GAMES 1-0  PTS 15-30`` for 6 s and then ``GAMES 1-0  PTS 30-30``; three 4 s chunks."""
    texts = [(0, 6, "GAMES 1-0  PTS 15-30"), (6, 12, "GAMES 1-0  PTS 30-30")]
    return _make_chunks(tmp_path_factory.mktemp("motion"), [STILL, FAST, STILL],
                        _scoreboard_filters(texts, box_until=12))


def _example_profile() -> Profile:
    return read_profile(EXAMPLES / "profile.json")


def test_the_example_profiles_are_valid_and_name_the_example_plugins():
    profile = _example_profile()
    assert profile.name == "python-example"
    assert profile.classifier.plugin == "FastPlaySegmenter"
    assert profile.labeler is not None and profile.labeler.plugin == "ScoreboardLabeler"
    assert [(f.plugin, f.media) for f in profile.featurers] == [("MotionEnergyPy", "video")]
    ours = {**plugins_of(motion), **plugins_of(scoreboard)}
    for slot in (profile.classifier, profile.labeler, *profile.featurers):
        # The profile writes down every setting, with the plugins' defaults.
        assert slot.config == dict(ours[slot.plugin].defaults)
    builtin = read_profile(EXAMPLES / "profile-builtin.json")
    assert builtin.classifier.plugin == "ExcitementSegmenter"
    assert builtin.optimizer is not None and builtin.optimizer.plugin == "CutOptimizer"
    assert builtin.optimizer.search_window_ms == 2000
    assert builtin.labeler == profile.labeler
    assert [(f.plugin, f.media) for f in builtin.featurers] == [
        ("AudioLoudness", "audio"), ("SceneCut", "video"), ("BlackFrame", "video"),
        ("Silence", "audio")]


def test_motion_and_segmenter_find_the_fast_stretch(motion_chunks):
    profile = replace(_example_profile(), labeler=None)
    pipeline = _pipeline(motion)
    try:
        pipeline.observe(profile)
        pipeline.observe(Event(event_id=EVENT, profile=profile.name, status="started"))
        per_chunk = [pipeline.run_chunk(chunk) for chunk in motion_chunks]
    finally:
        pipeline.close()
    assert pipeline.failures == 0
    detections = [[(r.start, r.end) for r in records if isinstance(r, Detection)]
                  for records in per_chunk]
    # The fast stretch is chunk 1 (frames 4.0 to 7.8 s at 5 fps); each chunk is measured on its
    # own, so the cuts at its edges are not steps.
    assert detections == [[], [(4.0, 7.8)], []]
    for records in per_chunk:
        for record in records:
            if isinstance(record, Detection):
                assert record.label == "Fast play"
                assert record.attributes["FastPlay"] is True
                assert record.attributes["energy"] > 20
    segments = [[(r.start, r.end) for r in records if isinstance(r, Segment)]
                for records in per_chunk]
    # Opened a second (pre-roll) before the fast play, completed a second (post-roll) after
    # it, once the last chunk showed two seconds (gap) without any.
    assert segments == [[], [(3.0, None)], [(3.0, 8.8)]]


def test_the_example_profile_labels_the_segment_with_the_score(motion_chunks):
    profile = _example_profile()
    pipeline = _pipeline(motion, scoreboard)
    records = []
    try:
        pipeline.observe(profile)
        pipeline.observe(Event(event_id=EVENT, profile=profile.name, status="started"))
        for chunk in motion_chunks:
            records += pipeline.run_chunk(chunk)
            records += pipeline.run_segments(EVENT)
        records += pipeline.run_segments(EVENT, final=True)
    finally:
        pipeline.close()
    assert pipeline.failures == 0
    labels = [r for r in records if isinstance(r, Label)]
    assert [(label.start_ms / 1000, label.label, label.attributes) for label in labels] == [
        (3.0, "Games 1-0, 15-30", {"games": "1-0", "points": "15-30", "GamePoint": False})]
    assert labels[0].plugin == "ScoreboardLabeler"
    assert labels[0].extra == {"segment_end": 8.8}


@pytest.fixture(scope="module")
def score_chunks(tmp_path_factory):
    """16 s of moving test pattern in four 4 s chunks; the scoreboard shows three scores for
    4 s each, then is gone (only the pattern's own clock is left in its region)."""
    texts = [(0, 4, "GAMES 0-0  PTS 0-0"), (4, 8, "GAMES 2-1  PTS 40-15"),
             (8, 12, "GAMES 3-2  PTS AD-40")]
    return _make_chunks(tmp_path_factory.mktemp("score"), ["testsrc2=s=640x360:r=25"] * 4,
                        _scoreboard_filters(texts, box_until=12))


def test_the_scoreboard_labeler_reads_the_score_at_each_segment_start(score_chunks):
    # Segments by a segmenter the module does not have: the labeler labels whoever's segments.
    profile = Profile(name="scores", chunk_size_ms=4000, processing_fps_milli=5000,
                      max_segment_length_ms=30000, classifier=PluginSlot("OtherSegmenter"),
                      labeler=PluginSlot("ScoreboardLabeler"))
    bounds = [(1.0, 3.0), (3.8, 5.0), (6.1, 7.9), (9.0, 15.0), (13.0, 15.5), (15.2, 15.4)]
    pipeline = _pipeline(scoreboard)
    try:
        pipeline.observe(profile)
        pipeline.observe(Event(event_id=EVENT, profile=profile.name, status="started"))
        for chunk in score_chunks:
            pipeline.observe(chunk, processed=True)
        for start, end in bounds:
            pipeline.observe(Segment(event_id=EVENT, plugin="OtherSegmenter",
                                     start_ms=round(start * 1000), end_ms=round(end * 1000)))
        labels = pipeline.run_segments(EVENT, final=True)
    finally:
        pipeline.close()
    assert pipeline.failures == 0
    unreadable = ("Score unreadable", {"ScoreRead": False})
    assert [(label.start_ms / 1000, label.label, label.attributes) for label in labels] == [
        (1.0, "Games 0-0, 0-0", {"games": "0-0", "points": "0-0", "GamePoint": False}),
        # Read half a second after the start: the score shown from 4 s.
        (3.8, "Games 2-1, 40-15", {"games": "2-1", "points": "40-15", "GamePoint": True}),
        (6.1, "Games 2-1, 40-15", {"games": "2-1", "points": "40-15", "GamePoint": True}),
        (9.0, "Games 3-2, AD-40", {"games": "3-2", "points": "AD-40", "GamePoint": True}),
        (13.0, *unreadable),
        # Shorter than the offset: read from its start.
        (15.2, *unreadable),
    ]
    for label in labels:
        decode(label.to_json())


def test_offline_mode_alone_turns_a_video_into_labelled_segments(motion_chunks, tmp_path):
    """``reeltime-plugins analyse`` with the example profile and ``--module examples`` over
    the video file the chunks were cut from: the profile needs nothing else."""
    video = Path(motion_chunks[0].uri).parent / "match.ts"
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(SDK), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run(
        [sys.executable, "-m", "reeltime_sdk.cli", "analyse", str(video), "--module",
         "examples", "--profile", str(EXAMPLES / "profile.json"), "--out", str(out),
         "--event-id", EVENT, "--quiet"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["start"] for r in records if r["type"] == "chunk"] == [0, 4, 8]
    segments = [(r["start"], r.get("end")) for r in records if r["type"] == "segment"]
    assert segments == [(3, None), (3, 8.8)]
    labels = [(r["start"], r["label"], r["attributes"]) for r in records if r["type"] == "label"]
    assert labels == [(3, "Games 1-0, 15-30",
                       {"games": "1-0", "points": "15-30", "GamePoint": False})]
