"""What a data engineer would write instead of reeltime: a Python + DuckDB job that keeps the
records of a match in tables and recomputes every catch-up replay of the event with SQL each
time a segment completes.

It is the baseline of the "Python + DuckDB" comparison of `incremental_vs_recompute.rs`, which
runs it as `python duckdb_replays.py <match.jsonl> <selections.json>`. It reads the match's JSON
lines in publication order and applies SEMANTICS.md §3-§5 the way a SQL job would:

- every record is appended to its type's table with its position; views keep the latest record
  per key (profile name, event, segment `(event, start)`, optimization `(event, start, track)`,
  label `(event, start)`, feedback `(event, start, track)`, replay id), and the detections that
  no later record of the same identity deletes;
- when a segment completes (a `segment` record with `end > start`), and when the event ends,
  one SQL query finds every catch-up replay's candidates and scores: complete segments
  (optimized on the replay's track when the profile has an optimizer), their features (the
  detections whose start lies within the segment's original bounds, on the replay's track or
  video-wide, plus the segment's and its label's attributes), and the sum of the weights of the
  matching priority entries. Python then walks each replay's ranked candidates to pick the
  selection under the duration budget (greedy, or with equal distribution), which SQL says
  badly.

The records that arrive between two recomputes are appended in one statement per table just
before the recompute rather than one statement per record: DuckDB spends 0.3-1 ms on any
INSERT statement, so batching is what a competent engineer does, and every query still sees
every record that arrived before it. DuckDB runs with one thread, like reeltime's single
worker, so that its CPU time is not spent coordinating threads over small tables. duckdb looks
pandas up on every parameter it binds; without pandas installed each look-up searches
`sys.path` and the appends cost several times more, so the bench installs pandas beside duckdb.

The job trusts its input: the bench has checked that reeltime accepts every record. It covers
what the synthetic match holds: no `delete` records and no `timestamps`-mode replays (either
stops it with an error). Times are normalised to integer milliseconds like everywhere else.

At the end it prints the CPU time (`time.process_time()`, every thread of the process) and the
wall time of handling the records (parsing the JSON lines is not timed, as on reeltime's side),
and the number of recomputes; and it writes every catch-up replay's final selection, its clips'
segment and clip starts in milliseconds sorted by segment start, as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

HOUR_MS = 3_600_000

# Every record is appended to the log table of its type with its position (`seq`, its number
# in the log), and views give what is in force: SEMANTICS' "latest" is the highest position of a
# key, which is what the views pick. Appending costs DuckDB a fraction of an upsert
# (`INSERT OR REPLACE` checks a primary-key index, about 2 ms a statement), and picking the
# latest of a few hundred rows per key costs the queries little.
SCHEMA = """
CREATE TABLE profile_log (
    seq BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    has_optimizer BOOLEAN NOT NULL
);
CREATE TABLE event_log (
    seq BIGINT NOT NULL,
    event_id VARCHAR NOT NULL,
    profile VARCHAR NOT NULL
);
CREATE TABLE segment_log (
    seq BIGINT NOT NULL,
    event_id VARCHAR NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT,  -- NULL while open
    deleted BOOLEAN NOT NULL,
    plugin VARCHAR NOT NULL,
    attribute_names VARCHAR[] NOT NULL,
    attribute_values VARCHAR[] NOT NULL  -- canonical JSON, see canonical_value
);
CREATE TABLE optimization_log (
    seq BIGINT NOT NULL,
    event_id VARCHAR NOT NULL,
    start_ms BIGINT NOT NULL,
    track INTEGER NOT NULL,
    opto_start_ms BIGINT NOT NULL,
    opto_end_ms BIGINT NOT NULL
);
CREATE TABLE label_log (
    seq BIGINT NOT NULL,
    event_id VARCHAR NOT NULL,
    start_ms BIGINT NOT NULL,
    plugin VARCHAR NOT NULL,
    attribute_names VARCHAR[] NOT NULL,
    attribute_values VARCHAR[] NOT NULL
);
CREATE TABLE feedback_log (
    seq BIGINT NOT NULL,
    event_id VARCHAR NOT NULL,
    start_ms BIGINT NOT NULL,
    track INTEGER NOT NULL,
    verdict VARCHAR NOT NULL  -- like, dislike or reset
);
CREATE TABLE detection_log (
    seq BIGINT NOT NULL,
    identity VARCHAR NOT NULL,  -- SEMANTICS §8.6, see detection_row
    deleted BOOLEAN NOT NULL,
    event_id VARCHAR NOT NULL,
    plugin VARCHAR NOT NULL,
    start_ms BIGINT NOT NULL,
    track INTEGER,  -- NULL: video, every track
    attribute_names VARCHAR[] NOT NULL,
    attribute_values VARCHAR[] NOT NULL
);
CREATE TABLE replay_log (
    seq BIGINT NOT NULL,
    replay_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    mode VARCHAR NOT NULL,
    catchup BOOLEAN NOT NULL,
    limit_ms BIGINT NOT NULL,  -- duration + tolerance
    equal_distribution BOOLEAN NOT NULL,
    track INTEGER NOT NULL,
    include_liked BOOLEAN NOT NULL,
    ignore_disliked BOOLEAN NOT NULL
);
CREATE TABLE priority_log (
    seq BIGINT NOT NULL,  -- the replay record's
    replay_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,  -- identical entries each count
    plugin VARCHAR,  -- NULL matches any plugin
    attribute VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    weight INTEGER NOT NULL,
    include BOOLEAN NOT NULL
);

-- Latest wins: each view keeps the record with the highest position of its key. (A join
-- with the highest positions costs DuckDB a third of a window's row_number() over rows that
-- carry lists.)
CREATE VIEW profiles AS
SELECT l.name, l.has_optimizer
FROM profile_log l
JOIN (SELECT name, max(seq) AS seq FROM profile_log GROUP BY name) latest
    USING (name, seq);

CREATE VIEW events AS
SELECT l.event_id, l.profile
FROM event_log l
JOIN (SELECT event_id, max(seq) AS seq FROM event_log GROUP BY event_id) latest
    USING (event_id, seq);

-- A deleted segment is one whose latest record is a delete.
CREATE VIEW segments AS
SELECT l.event_id, l.start_ms, l.end_ms, l.plugin, l.attribute_names, l.attribute_values
FROM segment_log l
JOIN (SELECT event_id, start_ms, max(seq) AS seq FROM segment_log GROUP BY ALL) latest
    USING (event_id, start_ms, seq)
WHERE NOT l.deleted;

CREATE VIEW optimizations AS
SELECT l.event_id, l.start_ms, l.track, l.opto_start_ms, l.opto_end_ms
FROM optimization_log l
JOIN (SELECT event_id, start_ms, track, max(seq) AS seq FROM optimization_log GROUP BY ALL)
    latest USING (event_id, start_ms, track, seq);

CREATE VIEW labels AS
SELECT l.event_id, l.start_ms, l.plugin, l.attribute_names, l.attribute_values
FROM label_log l
JOIN (SELECT event_id, start_ms, max(seq) AS seq FROM label_log GROUP BY ALL) latest
    USING (event_id, start_ms, seq);

CREATE VIEW feedback AS
SELECT l.event_id, l.start_ms, l.track, l.verdict
FROM feedback_log l
JOIN (SELECT event_id, start_ms, track, max(seq) AS seq FROM feedback_log GROUP BY ALL) latest
    USING (event_id, start_ms, track, seq);

-- A detection is live unless a later record of the same identity deletes it. Its duplicates
-- stay rows: features are a set, so a duplicate adds nothing to them. (A join with the few
-- deletes costs a fifth of NOT EXISTS, which DuckDB runs as a join with every record.)
CREATE VIEW detections AS
SELECT l.event_id, l.plugin, l.start_ms, l.track, l.attribute_names, l.attribute_values
FROM detection_log l
LEFT JOIN (
    SELECT identity, max(seq) AS seq FROM detection_log WHERE deleted GROUP BY identity
) deleted_at ON deleted_at.identity = l.identity
WHERE NOT l.deleted AND (deleted_at.seq IS NULL OR deleted_at.seq < l.seq);

CREATE VIEW replays AS
SELECT l.*
FROM replay_log l
JOIN (SELECT replay_id, max(seq) AS seq FROM replay_log GROUP BY replay_id) latest
    USING (replay_id, seq);

CREATE VIEW priorities AS
SELECT p.replay_id, p.position, p.plugin, p.attribute, p.value, p.weight, p.include
FROM priority_log p JOIN replays r ON r.replay_id = p.replay_id AND r.seq = p.seq;
"""

# The width of the time buckets that turn the range join of detections and segments into an
# equi-join: DuckDB's own range join (a piecewise merge join) costs ten times more here.
BUCKET_MS = 60_000

# The candidates of every catch-up replay of one event, in rank order per replay: forced first,
# then higher score, earlier clip start, earlier segment start. No rows while the event or its
# profile is unknown. A detection falls in one bucket and a segment spans one or more, so each
# (segment, detection) pair meets in exactly one bucket.
CANDIDATES = f"""
WITH
event_profile AS (
    SELECT p.has_optimizer
    FROM events e JOIN profiles p ON p.name = e.profile
    WHERE e.event_id = $event
),
replay AS (
    SELECT replay_id, mode, track, include_liked, ignore_disliked
    FROM replays
    WHERE event_id = $event AND catchup
),
segment AS (
    SELECT start_ms, end_ms, plugin, attribute_names, attribute_values
    FROM segments
    WHERE event_id = $event AND end_ms > start_ms
),
segment_bucket AS (
    SELECT start_ms, end_ms,
           unnest(generate_series(start_ms // {BUCKET_MS}, end_ms // {BUCKET_MS})) AS bucket
    FROM segment
),
detection AS (
    SELECT start_ms // {BUCKET_MS} AS bucket, start_ms, track, plugin,
           attribute_names, attribute_values
    FROM detections
    WHERE event_id = $event
),
data_point AS (
    SELECT s.start_ms AS segment_start_ms, d.track, d.plugin,
           d.attribute_names, d.attribute_values
    FROM segment_bucket s
    JOIN detection d
        ON d.bucket = s.bucket AND d.start_ms BETWEEN s.start_ms AND s.end_ms
    UNION ALL
    SELECT start_ms, NULL, plugin, attribute_names, attribute_values
    FROM segment
    UNION ALL
    SELECT l.start_ms, NULL, l.plugin, l.attribute_names, l.attribute_values
    FROM labels l JOIN segment s ON s.start_ms = l.start_ms
    WHERE l.event_id = $event
),
feature AS (
    SELECT segment_start_ms, track, plugin,
           unnest(attribute_names) AS attribute, unnest(attribute_values) AS value
    FROM data_point
),
entry AS (
    SELECT p.replay_id, p.position, p.plugin, p.attribute, p.value, p.weight, r.track
    FROM priorities p JOIN replay r ON r.replay_id = p.replay_id
    WHERE r.mode = 'duration' OR p.include
),
score AS (
    SELECT replay_id, segment_start_ms AS start_ms, sum(weight) AS score
    FROM (
        SELECT DISTINCT e.replay_id, e.position, e.weight, f.segment_start_ms
        FROM entry e
        JOIN feature f ON f.attribute = e.attribute AND f.value = e.value
        WHERE (e.plugin IS NULL OR e.plugin = f.plugin)
          AND (f.track IS NULL OR f.track = e.track)
    )
    GROUP BY replay_id, segment_start_ms
),
liked AS (
    SELECT r.replay_id, f.start_ms
    FROM replay r JOIN feedback f ON f.track = r.track
    WHERE f.event_id = $event AND r.include_liked AND f.verdict = 'like'
),
candidate_key AS (
    SELECT replay_id, start_ms FROM score
    UNION
    SELECT replay_id, start_ms FROM liked
)
SELECT r.replay_id,
       s.start_ms,
       coalesce(o.opto_start_ms, s.start_ms) AS clip_start_ms,
       coalesce(o.opto_end_ms, s.end_ms) AS clip_end_ms
FROM candidate_key k
JOIN replay r ON r.replay_id = k.replay_id
JOIN segment s ON s.start_ms = k.start_ms
CROSS JOIN event_profile ep
LEFT JOIN score sc ON sc.replay_id = k.replay_id AND sc.start_ms = k.start_ms
LEFT JOIN optimizations o
    ON o.event_id = $event AND o.start_ms = s.start_ms AND o.track = r.track
LEFT JOIN feedback fb
    ON fb.event_id = $event AND fb.start_ms = s.start_ms AND fb.track = r.track
WHERE (o.opto_start_ms IS NOT NULL OR NOT ep.has_optimizer)
  AND NOT (r.ignore_disliked AND coalesce(fb.verdict = 'dislike', false))
ORDER BY r.replay_id,
         r.include_liked AND coalesce(fb.verdict = 'like', false) DESC,
         coalesce(sc.score, 0) DESC,
         clip_start_ms,
         s.start_ms
"""


@dataclass
class Candidate:
    """A ranked candidate segment of one replay, times in milliseconds."""

    start_ms: int
    clip_start_ms: int
    clip_end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.clip_end_ms - self.clip_start_ms


@dataclass
class ReplaySettings:
    """What the selection of a replay needs beyond its candidates."""

    mode: str
    limit_ms: int
    equal_distribution: bool


def milliseconds(seconds: float) -> int:
    """Seconds as integer milliseconds, half away from zero (SEMANTICS §1)."""
    return int(math.copysign(math.floor(abs(seconds) * 1000 + 0.5), seconds))


def optional_ms(record: dict[str, Any], name: str) -> int | None:
    value = record.get(name)
    return None if value is None else milliseconds(value)


def canonical_value(value: Any) -> str:
    """An attribute or priority value as JSON text that is equal exactly when the values are
    equal as JSON values: `1` and `1.0` are the same text, `true` and `1` are not."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e30:
        return str(int(value))
    return json.dumps(value)


def attribute_lists(attributes: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    names = list(attributes or {})
    return names, [canonical_value(value) for value in (attributes or {}).values()]


def completes_segment(record: dict[str, Any]) -> bool:
    """Whether the record completes a segment: a segment record with `end > start`."""
    if record["type"] != "segment" or record.get("deleted"):
        return False
    end_ms = optional_ms(record, "end")
    return end_ms is not None and end_ms > milliseconds(record["start"])


def log_rows(seq: int, record: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """The rows a record appends, with their log tables."""
    kind = record["type"]
    if kind == "profile":
        return [("profile_log", (seq, record["name"], record.get("optimizer") is not None))]
    if kind == "event":
        return [("event_log", (seq, record["event_id"], record["profile"]))]
    if kind == "segment":
        names, values = attribute_lists(record.get("attributes"))
        row = (
            seq,
            record["event_id"],
            milliseconds(record["start"]),
            optional_ms(record, "end"),
            bool(record.get("deleted")),
            record["plugin"],
            names,
            values,
        )
        return [("segment_log", row)]
    if kind == "optimization":
        row = (
            seq,
            record["event_id"],
            milliseconds(record["start"]),
            record.get("track") or 1,
            milliseconds(record["opto_start"]),
            milliseconds(record["opto_end"]),
        )
        return [("optimization_log", row)]
    if kind == "label":
        names, values = attribute_lists(record.get("attributes"))
        start_ms = milliseconds(record["start"])
        row = (seq, record["event_id"], start_ms, record["plugin"], names, values)
        return [("label_log", row)]
    if kind == "feedback":
        start_ms = milliseconds(record["start"])
        track = record.get("track") or 1
        return [("feedback_log", (seq, record["event_id"], start_ms, track, record["verdict"]))]
    if kind == "detection":
        return [("detection_log", detection_row(seq, record))]
    if kind == "replay":
        return replay_rows(seq, record)
    if kind == "delete":
        sys.exit("duckdb_replays.py: delete records are not handled by this baseline")
    # Chunks feed rendering only.
    return []


def detection_row(seq: int, record: dict[str, Any]) -> tuple[Any, ...]:
    start_ms = milliseconds(record["start"])
    end_ms = optional_ms(record, "end")
    attributes = sorted(
        (name, canonical_value(value)) for name, value in record["attributes"].items()
    )
    track = record.get("track")
    identity = [
        record["event_id"],
        record["plugin"],
        start_ms,
        start_ms if end_ms is None else end_ms,
        track,
        record.get("label"),
        attributes,
    ]
    return (
        seq,
        json.dumps(identity, separators=(",", ":")),
        bool(record.get("deleted")),
        record["event_id"],
        record["plugin"],
        start_ms,
        track,
        [name for name, _ in attributes],
        [value for _, value in attributes],
    )


def replay_rows(seq: int, record: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    mode = record.get("mode") or "duration"
    if mode == "timestamps":
        sys.exit("duckdb_replays.py: timestamps-mode replays are not handled by this baseline")
    replay_id = record["replay_id"]
    tolerance_ms = optional_ms(record, "tolerance")
    limit_ms = (optional_ms(record, "duration") or 0) + (
        30_000 if tolerance_ms is None else tolerance_ms
    )
    replay = (
        seq,
        replay_id,
        record["event_id"],
        mode,
        bool(record.get("catchup")),
        limit_ms,
        bool(record.get("equal_distribution")),
        record.get("track") or 1,
        bool(record.get("include_liked")),
        bool(record.get("ignore_disliked")),
    )
    priorities = [
        (
            "priority_log",
            (
                seq,
                replay_id,
                position,
                entry.get("plugin"),
                entry["attribute"],
                canonical_value(True if entry.get("value") is None else entry["value"]),
                entry.get("weight") or 0,
                entry.get("include") is not False,
            ),
        )
        for position, entry in enumerate(record.get("priorities") or [])
    ]
    return [("replay_log", replay), *priorities]


def append(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Appends rows in one statement: each column goes as one list parameter and `unnest`
    turns the lists back into rows."""
    columns = [list(column) for column in zip(*rows)]
    selects = ", ".join(f"unnest(${index + 1})" for index in range(len(columns)))
    con.execute(f"INSERT INTO {table} SELECT {selects}", columns)


def select(settings: ReplaySettings, ranked: list[Candidate]) -> list[Candidate]:
    """The selection of a replay from its candidates in rank order (SEMANTICS §5, §8.9)."""
    if settings.mode == "features":
        return ranked
    if sum(candidate.duration_ms for candidate in ranked) <= settings.limit_ms:
        return ranked
    left_ms = settings.limit_ms
    selected: list[Candidate] = []

    def take_if_fits(candidate: Candidate) -> None:
        nonlocal left_ms
        if candidate.duration_ms <= left_ms:
            left_ms -= candidate.duration_ms
            selected.append(candidate)

    if not settings.equal_distribution:
        for candidate in ranked:
            take_if_fits(candidate)
        return selected
    span_ms = max(candidate.clip_end_ms for candidate in ranked)
    groups = 2 if span_ms <= HOUR_MS else math.ceil(span_ms / HOUR_MS) * 2 + 2
    members: dict[int, list[tuple[int, Candidate]]] = {}
    for position, candidate in enumerate(ranked):
        group = min(candidate.clip_start_ms * groups // span_ms, groups - 1)
        members.setdefault(group, []).append((position, candidate))
    for index in range(len(ranked)):
        picks = sorted(
            (group[index] for group in members.values() if len(group) > index),
            key=lambda pick: pick[0],
        )
        if not picks:
            break
        for _, candidate in picks:
            take_if_fits(candidate)
    return selected


def recompute(
    con: duckdb.DuckDBPyConnection, event_id: str, selections: dict[str, list[Candidate]]
) -> None:
    """Recomputes the selection of every catch-up replay of the event."""
    settings = {
        replay_id: ReplaySettings(mode, limit_ms, equal_distribution)
        for replay_id, mode, limit_ms, equal_distribution in con.execute(
            "SELECT replay_id, mode, limit_ms, equal_distribution FROM replays "
            "WHERE event_id = ? AND catchup",
            [event_id],
        ).fetchall()
    }
    ranked: dict[str, list[Candidate]] = {replay_id: [] for replay_id in settings}
    for replay_id, start_ms, clip_start_ms, clip_end_ms in con.execute(
        CANDIDATES, {"event": event_id}
    ).fetchall():
        ranked[replay_id].append(Candidate(start_ms, clip_start_ms, clip_end_ms))
    for replay_id, candidates in ranked.items():
        selections[replay_id] = select(settings[replay_id], candidates)


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory database with the tables, ready to take parameters."""
    con = duckdb.connect(":memory:", config={"threads": 1})
    con.execute(SCHEMA)
    # duckdb imports pandas the first time it binds a parameter (half a second), a start-up
    # cost like the interpreter's own, which is not timed either.
    con.execute("SELECT ?", [0]).fetchall()
    return con


def run(
    con: duckdb.DuckDBPyConnection, records: list[dict[str, Any]]
) -> tuple[dict[str, list[Candidate]], int]:
    """Handles the records in order; returns the final selections and the recompute count."""
    batch: dict[str, list[tuple[Any, ...]]] = {}
    selections: dict[str, list[Candidate]] = {}
    recomputes = 0
    for seq, record in enumerate(records, start=1):
        for table, row in log_rows(seq, record):
            batch.setdefault(table, []).append(row)
        # The event's end gives the replays their final selection over everything.
        ends = record["type"] == "event" and record["status"] == "ended"
        if completes_segment(record) or ends:
            for table, rows in batch.items():
                append(con, table, rows)
            batch.clear()
            recompute(con, record["event_id"], selections)
            recomputes += 1
    return selections, recomputes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log", type=Path, help="the match as JSON lines, in publication order")
    parser.add_argument("selections", type=Path, help="where to write the final selections")
    args = parser.parse_args()
    if importlib.util.find_spec("pandas") is None:
        print(
            "duckdb_replays.py: pandas is not installed, so duckdb's look-ups of it on every "
            "bound parameter make the writes several times slower; install it beside duckdb",
            file=sys.stderr,
        )

    with args.log.open(encoding="utf-8") as log:
        records = [json.loads(line) for line in log if line.strip()]

    con = connect()
    cpu_before = time.process_time()
    wall_before = time.perf_counter()
    selections, recomputes = run(con, records)
    cpu_s = time.process_time() - cpu_before
    wall_s = time.perf_counter() - wall_before

    print(f"records: {len(records)}")
    print(f"recomputes: {recomputes}")
    print(f"cpu time: {cpu_s:.3f} s")
    print(f"wall time: {wall_s:.3f} s")
    final = {
        replay_id: [
            {"start_ms": candidate.start_ms, "clip_start_ms": candidate.clip_start_ms}
            for candidate in sorted(selected, key=lambda candidate: candidate.start_ms)
        ]
        for replay_id, selected in sorted(selections.items())
    }
    args.selections.write_text(json.dumps(final, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
