"""reeltime's plugin SDK: write a detector as a function, run it over Kafka or offline.

- :mod:`reeltime_sdk.records`: the records plugins read and write, validated as the engine does.
- :mod:`reeltime_sdk.plugin`: the four kinds (``@featurer``, ``@segmenter``, ``@optimizer``,
  ``@labeler``) and what each is given.
- :mod:`reeltime_sdk.media`: frames and sound of chunks as numpy arrays, in event time.
- :mod:`reeltime_sdk.pipeline`: which plugin runs when, with state per event.
- :mod:`reeltime_sdk.runner`: ``reeltime-plugins run``, exactly once over Kafka.
- :mod:`reeltime_sdk.offline`: ``reeltime-plugins analyse``, local media into an event log.
- :mod:`reeltime_sdk.testing`: a pytest fixture with a short synthetic match.
"""

from .media import Audio, Frame, MediaError, MediaReader
from .pipeline import FAILURE_LABEL, Pipeline, RetryPolicy
from .plugin import (
    DEFER,
    ChunkInput,
    LookBack,
    PluginSpec,
    Results,
    SegmentInput,
    featurer,
    labeler,
    optimizer,
    plugins_of,
    segmenter,
)
from .records import (
    Chunk,
    Detection,
    Event,
    FeaturerSlot,
    Label,
    Optimization,
    OptimizerSlot,
    PluginSlot,
    Profile,
    RecordError,
    Segment,
    decode,
    seconds_to_ms,
)

__all__ = [
    "DEFER",
    "FAILURE_LABEL",
    "Audio",
    "Chunk",
    "ChunkInput",
    "Detection",
    "Event",
    "FeaturerSlot",
    "Frame",
    "Label",
    "LookBack",
    "MediaError",
    "MediaReader",
    "Optimization",
    "OptimizerSlot",
    "Pipeline",
    "PluginSlot",
    "PluginSpec",
    "Profile",
    "RecordError",
    "Results",
    "RetryPolicy",
    "Segment",
    "SegmentInput",
    "decode",
    "featurer",
    "labeler",
    "optimizer",
    "plugins_of",
    "seconds_to_ms",
    "segmenter",
]
