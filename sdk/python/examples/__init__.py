"""Example plugins of the reeltime SDK, all in one module for ``--module examples``.

- :mod:`examples.motion`: ``MotionEnergyPy`` (featurer: fast play from frame differences) and
  ``FastPlaySegmenter`` (segmenter around it).
- :mod:`examples.scoreboard`: ``ScoreboardLabeler`` (labeler: the score at a segment's start,
  read by Tesseract OCR).

``profile.json`` runs all three; ``profile-builtin.json`` runs the built-in plugins with the
Python labeler. Each file is also a module of its own (``--module .../scoreboard.py``); see
README.md.
"""

from .motion import fast_play_segmenter, motion_energy
from .scoreboard import scoreboard_labeler

__all__ = ["fast_play_segmenter", "motion_energy", "scoreboard_labeler"]
