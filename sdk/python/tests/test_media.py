"""The media helpers and the test fixture, on the synthetic match (needs the ffmpeg command)."""

import itertools

import numpy as np
import pytest

from reeltime_sdk import (
    FAILURE_LABEL,
    Chunk,
    FeaturerSlot,
    MediaError,
    MediaReader,
    PluginSlot,
    Profile,
    featurer,
)
from reeltime_sdk.testing import run_plugins


def reader(match, seq_no, fps=5.0):
    chunk = match.chunks[seq_no]
    return MediaReader([chunk], fps, chunk.start_ms, chunk.end_ms)


def test_frames_are_sampled_at_the_profiles_rate_in_event_time(synthetic_match):
    frames = list(reader(synthetic_match, 1).frames())
    assert [f.time for f in frames] == [round(4 + i / 5, 3) for i in range(20)]
    assert frames[0].image.shape == (180, 320, 3) and frames[0].image.dtype == np.uint8
    grey = next(reader(synthetic_match, 1).frames(gray=True, width=160, height=90))
    assert grey.image.shape == (90, 160)
    crop = next(reader(synthetic_match, 1).frames(crop=(10, 20, 100, 50)))
    assert crop.image.shape == (50, 100, 3)
    # The still pitch is green.
    still = next(reader(synthetic_match, 0).frames()).image.mean(axis=(0, 1))
    assert still[1] > still[0] + 40 and still[1] > still[2] + 40


def test_a_range_across_chunks_and_one_frame_at_a_time(synthetic_match):
    match = synthetic_match
    across = MediaReader(list(match.chunks), 2.0, 3000, 9000)
    assert [f.time for f in across.frames()] == [3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0,
                                                 7.5, 8.0, 8.5]
    frame = across.frame_at(6.2)
    assert frame is not None and frame.time == 6.2


def test_fast_play_moves_and_still_play_does_not(synthetic_match):
    def motion(seq_no):
        frames = [f.image.astype(np.int16) for f in reader(synthetic_match, seq_no).frames(
            gray=True)]
        return float(np.mean([np.abs(b - a).mean() for a, b in itertools.pairwise(frames)]))

    assert motion(1) > 10 * max(motion(0), 0.1)


def test_sound_of_a_track_in_event_time(synthetic_match):
    quiet = reader(synthetic_match, 0).audio(sample_rate=8000)
    tone = reader(synthetic_match, 1).audio(track=1, sample_rate=8000)
    assert tone.start == 4.0 and tone.sample_rate == 8000
    assert tone.duration == pytest.approx(4.0, abs=0.05)
    rms = lambda a: float(np.sqrt(np.mean(a.samples ** 2)))  # noqa: E731
    assert rms(tone) > 10 * rms(quiet)


def test_unreadable_media_names_the_chunk(tmp_path):
    broken = tmp_path / "chunk-00007.ts"
    broken.write_bytes(b"not a transport stream")
    chunk = Chunk(event_id="m", seq_no=7, uri=str(broken), start_ms=0, duration_ms=4000)
    with pytest.raises(MediaError, match=r"chunk-00007\.ts"):
        list(MediaReader([chunk], 5, 0, 4000).frames())


def test_run_plugins_runs_a_featurer_over_the_match_and_reports_failures(synthetic_match):
    @featurer("Bright")
    def bright(chunk, media, dependencies):
        means = [float(f.image.mean()) for f in media.frames(fps=1)]
        return [chunk.detection(chunk.start, chunk.end, attributes={"mean": round(max(means))})]

    @featurer("Broken")
    def broken(chunk, media, dependencies):
        raise ValueError("no model")

    profile = Profile(name="t", chunk_size_ms=4000, processing_fps_milli=5000,
                      max_segment_length_ms=30000, classifier=PluginSlot("Elsewhere"),
                      featurers=(FeaturerSlot("Bright"), FeaturerSlot("Broken")))
    records = run_plugins([bright, broken], profile, synthetic_match)
    found = [(r.plugin, r.start, r.end) for r in records]
    assert found == [(plugin, s, s + 4.0) for s in (0.0, 4.0, 8.0)
                     for plugin in ("Bright", "Broken")]
    assert all(r.label == FAILURE_LABEL for r in records if r.plugin == "Broken")
