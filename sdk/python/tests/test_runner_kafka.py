"""The runner over the real broker, end to end, on the demo match.

- The built-in plugins' records of ``reeltime demo`` with the Python scoreboard labeler in the
  same profile: the runner labels every segment with the score on the demo's overlay, and the
  engine, fed by the topics, shows those labels and selects the game points by them.
- kill -9 of the runner at random moments: the topics then hold every plugin record exactly
  once, the same records as an uninterrupted run, and the engine's views are the same.
- Two runners in one group over four events on four partitions: each takes part, and every
  event gets the same plugin records, each once, though some change hands when the second
  runner joins.
- A runner with ``--until-ended`` beside a member that holds partitions and does nothing (a
  killed runner, until its session expires) does not stop when its own events are done: it
  waits for the other partitions, takes them once the member has left, and does their work.
"""

from __future__ import annotations

import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from helpers import (
    EXAMPLES,
    brokers,
    consume,
    create_topics,
    demo_log,
    engine_env,
    publish,
    reeltime,
    runner_command,
    unique_prefix,
)

EVENT = "synthetic-match"
RUNNER_TIMEOUT = 600


def with_profile(records: list[dict[str, Any]], profile: dict[str, Any],
                 keep_plugins: bool) -> list[dict[str, Any]]:
    """The demo's records with its profile replaced by ``profile`` (and, without
    ``keep_plugins``, without the built-in plugins' records)."""
    out = [profile]
    for record in records:
        if record["type"] == "profile":
            continue
        if record["type"] == "event":
            record = {**record, "profile": profile["name"]}
        if not keep_plugins and record["type"] in ("detection", "segment", "optimization",
                                                   "label"):
            continue
        out.append(record)
    return out


def run_to_end(command: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*command, "--until-ended"], capture_output=True, text=True,
                          timeout=RUNNER_TIMEOUT, check=False)
    assert done.returncode == 0, f"runner failed: {done.stderr}"
    return done


def truth_at(scoreboard: dict[str, Any], seconds: float) -> dict[str, Any]:
    return next(s for s in scoreboard["scores"] if s["start"] <= seconds < s["end"])


def latest_segments(records: list[dict[str, Any]]) -> dict[float, dict[str, Any]]:
    segments: dict[float, dict[str, Any]] = {}
    for record in records:
        if record["type"] == "segment":
            segments[record["start"]] = record
    return {start: s for start, s in segments.items() if s.get("end", start) > start}


def test_the_scoreboard_labeler_labels_the_builtin_segments_and_the_engine_uses_it(
        demo: Path, tmp_path: Path) -> None:
    address = brokers()
    prefix = unique_prefix("scoreboard")
    create_topics(address, prefix)
    profile = json.loads((EXAMPLES / "profile-builtin.json").read_text())
    records = with_profile(demo_log(demo), profile, keep_plugins=True)
    game_points = {"type": "replay", "replay_id": "game-points", "event_id": EVENT,
                   "mode": "features",
                   "priorities": [{"plugin": "ScoreboardLabeler", "attribute": "GamePoint"}]}
    publish(address, prefix, [*records[:2], game_points, *records[2:]])

    run_to_end(runner_command(address, prefix, EXAMPLES / "scoreboard.py", "a"))

    topic = [r for _, _, r in consume(address, f"{prefix}segments")]
    segments = latest_segments(topic)
    labels = [r for r in topic if r["type"] == "label" and r["plugin"] == "ScoreboardLabeler"]
    assert len(segments) >= 3, f"the demo should have its roars' segments: {segments}"
    # One label per version of each segment, none twice.
    versions = collections.Counter((r["start"], r["segment_end"]) for r in labels)
    assert all(n == 1 for n in versions.values()), versions
    scoreboard = json.loads((demo / "media" / "scoreboard.json").read_text())
    latest = {r["start"]: r for r in labels}
    for start, segment in segments.items():
        label = latest.get(start)
        assert label is not None, f"segment at {start} s has no label"
        assert label["segment_end"] == segment["end"]
        truth = truth_at(scoreboard, start + 0.5)
        games = "-".join(str(g) for g in truth["games"])
        points = "-".join(truth["points"])
        assert label["attributes"]["games"] == games, (start, label, truth)
        assert label["attributes"]["points"] == points, (start, label, truth)
        assert label["attributes"]["GamePoint"] is truth["game_point"], (start, label, truth)

    out = tmp_path / "engine"
    reeltime("run", "--brokers", address, "--out", str(out), "--until-idle", "3",
             env=engine_env(prefix))
    views = json.loads((out / "events" / EVENT / "segments.json").read_text())
    shown = {s["start"]: s for s in views["segments"]}
    for start, label in latest.items():
        assert shown[start]["label"] == label["label"]
        assert shown[start]["label_plugin"] == "ScoreboardLabeler"
    selection = json.loads((out / "replays" / "game-points" / "selection.json").read_text())
    expected = sorted(start for start in segments
                      if truth_at(scoreboard, start + 0.5)["game_point"])
    assert expected, "the demo's scoreboard should show a game point in some segment"
    assert sorted(c["start"] for c in selection["clips"]) == expected


def plugin_records(address: str, prefix: str) -> list[str]:
    found = []
    for topic in ("segments", "detections"):
        for _, _, record in consume(address, f"{prefix}{topic}"):
            if record.get("plugin") in ("MotionEnergyPy", "FastPlaySegmenter",
                                        "ScoreboardLabeler"):
                found.append(json.dumps(record, sort_keys=True))
    return found


def dump_log(address: str, prefix: str, path: Path) -> Path:
    """The input topics as one event log (control, chunks, then the plugins' records)."""
    with path.open("w") as log:
        for topic in ("control", "chunks", "segments", "detections"):
            for _, _, record in consume(address, f"{prefix}{topic}"):
                log.write(json.dumps(record) + "\n")
    return path


def test_a_runner_killed_at_random_moments_publishes_every_record_exactly_once(
        demo: Path, tmp_path: Path) -> None:
    address = brokers()
    module, env = examples_module(tmp_path)
    profile = json.loads((EXAMPLES / "profile.json").read_text())
    records = with_profile(demo_log(demo), profile, keep_plugins=False)

    reference = unique_prefix("whole")
    create_topics(address, reference)
    publish(address, reference, records)
    done = subprocess.run([*runner_command(address, reference, module, "whole"),
                           "--until-ended"], capture_output=True, text=True, env=env,
                          timeout=RUNNER_TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    expected = plugin_records(address, reference)
    assert any('"FastPlaySegmenter"' in r for r in expected), "the reference run found no play"

    crashed = unique_prefix("killed")
    create_topics(address, crashed)
    publish(address, crashed, records)
    seed = int(os.environ.get("REELTIME_TEST_SEED", time.time_ns() % 1_000_000))
    chance = random.Random(seed)
    command = runner_command(address, crashed, module, "killed")
    kills = 0
    for _ in range(3):
        runner = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, env=env)
        # Random moments: during start-up and rebuilding, or in the middle of the work.
        deadline = time.monotonic() + chance.uniform(1.0, 8.0)
        while time.monotonic() < deadline and runner.poll() is None:
            time.sleep(0.05)
        if runner.poll() is None:
            runner.send_signal(signal.SIGKILL)
            kills += 1
        runner.wait()
    done = subprocess.run([*command, "--until-ended"], capture_output=True, text=True, env=env,
                          timeout=RUNNER_TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    assert kills >= 1, f"seed {seed}: the runner was never killed"

    got = plugin_records(address, crashed)
    duplicates = [r for r, n in collections.Counter(got).items() if n > 1]
    assert not duplicates, f"seed {seed}: published more than once: {duplicates[:3]}"
    assert sorted(got) == sorted(expected), f"seed {seed}: records differ from a whole run"

    views = []
    for prefix in (reference, crashed):
        out = tmp_path / prefix.rstrip(".")
        reeltime("process", "--log", str(dump_log(address, prefix, tmp_path / f"{prefix}log")),
                 "--out", str(out))
        views.append(json.loads((out / "events" / EVENT / "segments.json").read_text()))
    assert views[0] == views[1], f"seed {seed}: the engine's views differ"
    print(f"seed {seed}: {kills} kills, {len(got)} plugin records", file=sys.stderr)


def events_on_partitions(partitions: int) -> list[str]:
    """One event id per partition: the producers' default partitioner puts a key on
    partition ``crc32(key) % partitions``, so these events spread over every partition."""
    chosen: dict[int, str] = {}
    number = 0
    while len(chosen) < partitions:
        name = f"match-{number}"
        chosen.setdefault(zlib.crc32(name.encode()) % partitions, name)
        number += 1
    return [chosen[p] for p in range(partitions)]


def renamed(records: list[dict[str, Any]], event_id: str) -> list[dict[str, Any]]:
    return [{**r, "event_id": event_id} if "event_id" in r else r for r in records]


def one_match_per_partition(address: str, demo: Path, test: str,
                            partitions: int) -> tuple[str, list[str]]:
    """Topics of ``partitions`` partitions under a new prefix, holding the examples' profile
    and the demo match once per partition, each as its own event; the prefix and the events."""
    prefix = unique_prefix(test)
    create_topics(address, prefix, partitions=partitions)
    profile = json.loads((EXAMPLES / "profile.json").read_text())
    match = [r for r in with_profile(demo_log(demo), profile, keep_plugins=False)
             if r["type"] != "replay"]
    events = events_on_partitions(partitions)
    publish(address, prefix, [profile])
    for event_id in events:
        publish(address, prefix, renamed(match[1:], event_id))
    return prefix, events


def examples_module(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A module of every example plugin, and the environment in which it finds them."""
    module = tmp_path / "all_examples.py"
    module.write_text("from motion import *  # noqa: F403\n"
                      "from scoreboard import *  # noqa: F403\n")
    env = {**os.environ, "PYTHONPATH": f"{EXAMPLES}{os.pathsep}"
           + os.environ.get("PYTHONPATH", "")}
    return module, env


def test_two_runners_in_one_group_share_the_events_and_publish_each_record_once(
        demo: Path, tmp_path: Path) -> None:
    address = brokers()
    prefix, events = one_match_per_partition(address, demo, "shared", 4)
    module, env = examples_module(tmp_path)
    paths = [tmp_path / f"runner-{name}.log" for name in ("a", "b")]
    runners = []
    for name, path in zip(("a", "b"), paths, strict=True):
        with path.open("w") as stderr:
            runners.append(subprocess.Popen(
                [*runner_command(address, prefix, module, name), "--until-ended",
                 "--release-after", "0"],
                stdout=subprocess.DEVNULL, stderr=stderr, env=env))
    deadline = time.monotonic() + RUNNER_TIMEOUT
    for runner in runners:
        try:
            runner.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in runners:
                other.kill()
                other.wait()
    logs = [path.read_text() for path in paths]
    assert [r.returncode for r in runners] == [0, 0], "\n\n".join(logs)
    # Both took part: the second to join takes half of the partitions from the first.
    for log in logs:
        done = re.search(r"runner stopped: (\d+) chunks", log)
        assert done and int(done.group(1)) > 0, f"a runner did no work:\n{log}"
    for event_id in events:
        assert any(f"event {event_id} ended and its work is published: its state is released"
                   in log for log in logs), f"{event_id} was never released:\n{logs}"

    assert_each_event_done_once(address, prefix, events)


def assert_each_event_done_once(address: str, prefix: str, events: list[str]) -> None:
    """Every event got the same plugin records (those of the same match), each once."""
    per_event: dict[str, list[str]] = collections.defaultdict(list)
    for topic in ("segments", "detections"):
        for _, _, record in consume(address, f"{prefix}{topic}"):
            event_id = record.pop("event_id")
            per_event[event_id].append(json.dumps(record, sort_keys=True))
    assert sorted(per_event) == sorted(events)
    first = sorted(per_event[events[0]])
    assert any('"FastPlaySegmenter"' in r for r in first), "no play was found"
    assert any('"ScoreboardLabeler"' in r for r in first), "no segment was labelled"
    for event_id in events:
        records = per_event[event_id]
        duplicates = [r for r, n in collections.Counter(records).items() if n > 1]
        assert not duplicates, f"{event_id}: published more than once: {duplicates[:3]}"
        assert sorted(records) == first, f"{event_id}: differs from {events[0]}"


class IdleMember:
    """A member of the runners' group that holds its partitions and does nothing, as a killed
    runner does until its session expires."""

    def __init__(self, address: str, group: str, topics: list[str]) -> None:
        from confluent_kafka import Consumer

        self.consumer = Consumer({"bootstrap.servers": address, "group.id": group,
                                  "enable.auto.commit": False,
                                  "partition.assignment.strategy": "range"})
        self.consumer.subscribe(topics)
        self.stop = threading.Event()
        self.holds = threading.Event()
        # Polled on its own thread: a member that does not poll cannot take part in the
        # rebalance a joining runner starts.
        self.thread = threading.Thread(target=self._poll)
        self.thread.start()

    def _poll(self) -> None:
        while not self.stop.is_set():
            self.consumer.poll(0.2)
            if self.consumer.assignment():
                self.holds.set()
        self.consumer.close()

    def leave(self) -> None:
        self.stop.set()
        self.thread.join()


def wait_for_line(path: Path, line: str, runner: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + RUNNER_TIMEOUT
    while line not in path.read_text():
        assert runner.poll() is None, f"the runner stopped before {line!r}:\n{path.read_text()}"
        assert time.monotonic() < deadline, f"no {line!r} in:\n{path.read_text()}"
        time.sleep(0.1)


def test_a_runner_until_ended_waits_for_partitions_another_member_holds(
        demo: Path, tmp_path: Path) -> None:
    address = brokers()
    prefix, events = one_match_per_partition(address, demo, "held", 2)
    module, env = examples_module(tmp_path)

    idle = IdleMember(address, f"{prefix}plugins",
                      [f"{prefix}{t}" for t in ("chunks", "segments", "detections")])
    log = tmp_path / "runner.log"
    try:
        assert idle.holds.wait(60), "the idle member was never given partitions"
        with log.open("w") as stderr:
            runner = subprocess.Popen(
                [*runner_command(address, prefix, module, "a"), "--until-ended",
                 "--release-after", "0"],
                stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        try:
            # The range assignor gives the runner one partition, so one of the two events.
            wait_for_line(log, "its state is released", runner)
            assert runner.poll() is None, ("the runner stopped while the other event's "
                                           f"partition was not done:\n{log.read_text()}")
        except BaseException:
            runner.kill()
            runner.wait()
            raise
    finally:
        idle.leave()
    # The idle member has left: the rebalance gives the runner the other partition.
    assert runner.wait(timeout=RUNNER_TIMEOUT) == 0, log.read_text()
    assert_each_event_done_once(address, prefix, events)
