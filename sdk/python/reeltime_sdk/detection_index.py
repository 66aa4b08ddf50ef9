"""An event's detections by plugin and time, for the plugins' dependency queries.

A plugin asks for its dependencies' detections around a chunk or a segment many times per
chunk; scanning every detection of a long match for each question would make each chunk
slower than the last. Each plugin's detections are kept ordered by start, so a question costs
a binary search plus the detections it returns (and those, no longer than the plugin's longest,
that start before the range).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .records import Detection


def identity(detection: Detection) -> tuple[Any, ...]:
    """The fact a detection adds or removes: identical detections are one fact."""
    attributes = tuple(sorted((name, isinstance(value, bool), value)
                              for name, value in detection.attributes.items()))
    return (detection.plugin, detection.start_ms, detection.end_ms, detection.track,
            detection.label, attributes)


@dataclass
class _PluginDetections:
    """One plugin's detections; ``order`` holds (start, serial) in the order of start."""

    by_identity: dict[tuple[Any, ...], tuple[int, Detection]] = field(default_factory=dict)
    order: list[tuple[int, int]] = field(default_factory=list)
    by_serial: dict[int, Detection] = field(default_factory=dict)
    longest_ms: int = 0
    next_serial: int = 0

    def add(self, detection: Detection) -> None:
        key = identity(detection)
        if key in self.by_identity:
            serial, _ = self.by_identity[key]
        else:
            serial = self.next_serial
            self.next_serial += 1
            insort(self.order, (detection.start_ms, serial))
        self.by_identity[key] = (serial, detection)
        self.by_serial[serial] = detection
        self.longest_ms = max(self.longest_ms, detection.end_ms - detection.start_ms)

    def remove(self, detection: Detection) -> None:
        found = self.by_identity.pop(identity(detection), None)
        if found is None:
            return
        serial, _ = found
        del self.by_serial[serial]
        del self.order[bisect_left(self.order, (detection.start_ms, serial))]

    def touching(self, start_ms: int, end_ms: int) -> Iterator[Detection]:
        low = bisect_left(self.order, (start_ms - self.longest_ms, -1))
        high = bisect_right(self.order, (end_ms, self.next_serial))
        for _, serial in self.order[low:high]:
            detection = self.by_serial[serial]
            if detection.overlaps(start_ms, end_ms):
                yield detection


@dataclass
class DetectionIndex:
    """The detections of one event that are in force (added and not since removed)."""

    _plugins: dict[str, _PluginDetections] = field(default_factory=dict)

    def add(self, detection: Detection) -> None:
        """Adds a detection; an identical one already there is replaced."""
        self._plugins.setdefault(detection.plugin, _PluginDetections()).add(detection)

    def remove(self, detection: Detection) -> None:
        """Removes the detection identical to ``detection``, if there is one."""
        plugin = self._plugins.get(detection.plugin)
        if plugin is not None:
            plugin.remove(detection)

    def touching(self, plugin: str, start_ms: int, end_ms: int) -> Iterator[Detection]:
        """The plugin's detections touching ``[start_ms, end_ms]``, in the order of start."""
        found = self._plugins.get(plugin)
        if found is not None:
            yield from found.touching(start_ms, end_ms)

    def __len__(self) -> int:
        return sum(len(p.by_identity) for p in self._plugins.values())
