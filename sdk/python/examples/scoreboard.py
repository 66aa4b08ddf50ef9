"""The score at the start of a segment, read from the broadcast's scoreboard by OCR.

``ScoreboardLabeler`` (labeler) crops the scoreboard's box (``region``, ``[x, y, width,
height]`` in pixels of the source picture; by default the box ``reeltime demo`` draws) from
the first sampled frame ``offset`` seconds (0.5) after the segment's start, enlarged ``scale``
times (3), turns it into black text on white with Otsu's threshold and reads it with Tesseract
(``pytesseract``; Debian's ``tesseract-ocr``) as one line of text. A text such as
``GAMES 2-1  PTS 40-15`` gives the label ``Games 2-1, 40-15`` with the attributes
``{"games": "2-1", "points": "40-15", "GamePoint": true}``; ``GamePoint`` is true when one
player has 40 and the other less, or one has the advantage (``AD``). If the frames of the
first ``window`` seconds (1) from there cannot be read as a score, the label is
``Score unreadable`` with ``{"ScoreRead": false}``: a missing or covered scoreboard is a fact
about the segment, not a failure of the plugin. The region must lie inside the picture:
FFmpeg's ``crop`` moves a box that sticks out back inside, which reads something else.

The parsing (:func:`parse_score`) and the game-point rule (:func:`is_game_point`) are plain
functions, testable without OCR.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytesseract

from reeltime_sdk import Label, MediaReader, Results, SegmentInput, labeler

#: The labeler's plugin name.
SCOREBOARD_LABELER = "ScoreboardLabeler"
#: The label of a segment whose score could not be read.
UNREADABLE = "Score unreadable"
#: The scoreboard box of ``reeltime demo`` (x, y, width, height), from connectors/src/synth.rs.
DEMO_REGION = (16, 16, 356, 40)
#: What a player's points in a game can be, as a scoreboard writes them.
POINTS = ("0", "15", "30", "40", "AD")

# OCR reads a zero as the letter O now and then, and a one as I or l; in the places where a
# score stands only digits (and AD) make sense, so those letters are read as the digits. The
# text is upper-cased first, so a lower-case l is an L here.
_SCORE_CHAR = r"[0-9OIL|AD]"
_SCORE = re.compile(
    rf"GAMES\s*({_SCORE_CHAR}{{1,2}})\s*-\s*({_SCORE_CHAR}{{1,2}})\s*"
    rf"PTS\s*({_SCORE_CHAR}{{1,2}})\s*-\s*({_SCORE_CHAR}{{1,2}})(?![0-9A-Z])")
_AS_DIGITS = str.maketrans({"O": "0", "I": "1", "L": "1", "|": "1"})
# Dashes OCR may put in place of the hyphen.
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-", "\u2212": "-"})


@dataclass(frozen=True)
class Score:
    """A tennis score: games of players 1 and 2 in the set, and their points in the game."""

    games: tuple[int, int]
    points: tuple[str, str]

    @property
    def games_text(self) -> str:
        """Games as written, e.g. ``2-1``."""
        return f"{self.games[0]}-{self.games[1]}"

    @property
    def points_text(self) -> str:
        """Points as written, e.g. ``40-15``."""
        return f"{self.points[0]}-{self.points[1]}"

    @property
    def game_point(self) -> bool:
        """Whether the next point can win the game."""
        return is_game_point(*self.points)

    @property
    def label(self) -> str:
        """The segment's label, e.g. ``Games 2-1, 40-15``."""
        return f"Games {self.games_text}, {self.points_text}"

    def attributes(self) -> dict[str, Any]:
        """The label's attributes."""
        return {"games": self.games_text, "points": self.points_text,
                "GamePoint": self.game_point}


def is_game_point(first: str, second: str) -> bool:
    """Whether the next point can win the game: a player has the advantage, or one has 40 and
    the other less (deuce, 40-40, is not a game point)."""
    if "AD" in (first, second):
        return True
    below_forty = ("0", "15", "30")
    return (first == "40" and second in below_forty) or (second == "40" and first in below_forty)


def parse_score(text: str) -> Score | None:
    """The score in an OCR'd scoreboard text such as ``GAMES 2-1  PTS 40-15``, or None.

    Case and spacing do not matter; points must be one of :data:`POINTS`.
    """
    match = _SCORE.search(text.translate(_DASHES).upper())
    if match is None:
        return None
    games_1, games_2, points_1, points_2 = (part.translate(_AS_DIGITS) for part in
                                            match.groups())
    if not (games_1.isdigit() and games_2.isdigit()):
        return None
    if points_1 not in POINTS or points_2 not in POINTS:
        return None
    return Score(games=(int(games_1), int(games_2)), points=(points_1, points_2))


def otsu_threshold(image: np.ndarray) -> int:
    """The grey level that best splits ``image`` (uint8) into two classes (Otsu's method)."""
    histogram = np.bincount(image.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    weight_low = np.cumsum(histogram)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(histogram * levels)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return int(np.argmax(between))


def black_on_white(image: np.ndarray, margin: int) -> np.ndarray:
    """``image`` (grey) as black text on white with a white margin, whatever its colours.

    Tesseract reads dark text on a light page best, and wants some page around the text. The
    text is taken to be the smaller of the two classes Otsu's threshold splits the pixels in.
    """
    bright = image > otsu_threshold(image)
    text = bright if bright.mean() < 0.5 else ~bright
    page = np.where(text, 0, 255).astype(np.uint8)
    return np.pad(page, margin, constant_values=255)


def read_text(image: np.ndarray, scale: int) -> str:
    """What Tesseract reads in ``image`` (grey, already enlarged ``scale`` times), as one line."""
    page = black_on_white(image, margin=4 * scale)
    # psm 7: the crop holds a single line of text.
    return str(pytesseract.image_to_string(page, config="--psm 7"))


def _region(value: Sequence[Any]) -> tuple[int, int, int, int]:
    """The configured region as four integers; ValueError names what is wrong."""
    if len(value) != 4:
        raise ValueError(f"region {value!r} is not [x, y, width, height]")
    x, y, width, height = (int(v) for v in value)
    if width <= 0 or height <= 0 or x < 0 or y < 0:
        raise ValueError(f"region {value!r}: x and y must be at least 0, width and height "
                         "above 0")
    return x, y, width, height


@labeler(SCOREBOARD_LABELER,
         config={"region": list(DEMO_REGION), "offset": 0.5, "window": 1.0, "scale": 3})
def scoreboard_labeler(segment: SegmentInput, media: MediaReader,
                       dependencies: Results) -> Label:
    """The score shown at the segment's start (see the module)."""
    config = segment.config
    x, y, width, height = _region(config["region"])
    scale = int(config["scale"])
    # A segment shorter than the offset is read from its start.
    at = segment.start + float(config["offset"])
    if at >= segment.end:
        at = segment.start
    until = min(at + float(config["window"]), segment.end)
    for frame in media.frames(start=at, end=until, crop=(x, y, width, height),
                              width=width * scale, height=height * scale, gray=True):
        score = parse_score(read_text(frame.image, scale))
        if score is not None:
            return segment.label(score.label, score.attributes())
    return segment.label(UNREADABLE, {"ScoreRead": False})
