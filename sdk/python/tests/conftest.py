"""Fixtures the end-to-end tests share."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import reeltime


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``reeltime demo``'s output, made once: the match's media, its scoreboard's ground truth
    (``media/scoreboard.json``) and the event log of the built-in plugins."""
    out = tmp_path_factory.mktemp("demo")
    reeltime("demo", "--out", str(out), "--quiet", timeout=1200)
    return out
