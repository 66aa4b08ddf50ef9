"""The detection index answers as a scan of every detection would."""

from __future__ import annotations

import random

from reeltime_sdk.detection_index import DetectionIndex, identity
from reeltime_sdk.records import Detection


def scan(live: dict[tuple[object, ...], Detection], plugin: str, start_ms: int,
         end_ms: int) -> list[tuple[object, ...]]:
    return sorted((identity(d) for d in live.values()
                   if d.plugin == plugin and d.overlaps(start_ms, end_ms)), key=repr)


def test_random_adds_and_removals_answer_as_a_scan_does() -> None:
    chance = random.Random(7)
    index = DetectionIndex()
    live: dict[tuple[object, ...], Detection] = {}
    made: list[Detection] = []
    for step in range(3000):
        if made and chance.random() < 0.3:
            gone = chance.choice(made)
            index.remove(gone)
            live.pop(identity(gone), None)
        else:
            start = chance.randrange(0, 60_000, 40)
            detection = Detection(
                event_id="m", plugin=chance.choice(["Cuts", "Loud"]), start_ms=start,
                end_ms=start + chance.choice([0, 40, 1000, 15_000]),
                track=chance.choice([None, 1]), label=chance.choice([None, "x"]),
                attributes={"n": step % 3})
            index.add(detection)
            live[identity(detection)] = detection
            made.append(detection)
        if step % 10 == 0:
            start = chance.randrange(0, 60_000)
            end = start + chance.choice([0, 500, 4000])
            for plugin in ("Cuts", "Loud", "Other"):
                got = [identity(d) for d in index.touching(plugin, start, end)]
                assert sorted(got, key=repr) == scan(live, plugin, start, end), (step, plugin)
                assert [g[1] for g in got] == sorted(g[1] for g in got), "not by start"
    assert len(index) == len(live)


def test_an_identical_detection_is_one_fact() -> None:
    index = DetectionIndex()
    first = Detection(event_id="m", plugin="Cuts", start_ms=1000, end_ms=1000)
    index.add(first)
    index.add(Detection(event_id="m", plugin="Cuts", start_ms=1000, end_ms=1000))
    assert len(index) == 1
    index.remove(Detection(event_id="m", plugin="Cuts", start_ms=1000, end_ms=1000,
                           deleted=True))
    assert len(index) == 0
    assert list(index.touching("Cuts", 0, 2000)) == []
