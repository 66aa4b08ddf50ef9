"""The runner's decisions that need no broker."""

from __future__ import annotations

from reeltime_sdk.runner import release_due


def test_an_event_is_released_only_when_done_read_to_the_end_and_quiet() -> None:
    assert release_due(True, True, 600.0, 600.0)
    assert not release_due(False, True, 3600.0, 600.0), "work left"
    assert not release_due(True, False, 3600.0, 600.0), "records may still be on the way"
    assert not release_due(True, True, 599.0, 600.0), "a record came recently"
    assert release_due(True, True, 0.0, 0.0), "--release-after 0 releases at once"
