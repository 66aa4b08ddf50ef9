"""Reads every table reeltime wrote with pyarrow and compares it with the JSON exports.

Run by engine/tests/golden.rs with the Python of the readers' environment (scripts/test
installs pyarrow there). Reads from standard input a JSON list of output directories. For each,
it opens tables/<table>.arrow (Arrow IPC file) and tables/<table>.parquet, checks the schema
documented in docs/exports.md (names, types, nullability, in order) and that the rows are those
of the events/*/export.json and replays/*/export.json files. Prints one line per directory and
exits non-zero with the differences on any mismatch.
"""

import json
import pathlib
import sys

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet

JSON = "json"  # a string column holding a JSON value, compared after parsing

SCHEMAS = {
    "segments": [
        ("event_id", pa.string(), False),
        ("start", pa.float64(), False),
        ("end", pa.float64(), True),
        ("complete", pa.bool_(), False),
        ("plugin", pa.string(), False),
        ("label", pa.string(), True),
        ("attributes", JSON, False),
        ("optimizations", JSON, False),
        ("clips", JSON, False),
        ("features", JSON, False),
        ("feedback", JSON, False),
    ],
    "detections": [
        ("event_id", pa.string(), False),
        ("plugin", pa.string(), False),
        ("start", pa.float64(), False),
        ("end", pa.float64(), False),
        ("track", pa.uint32(), True),
        ("label", pa.string(), True),
        ("attributes", JSON, False),
    ],
    "replays": [
        ("replay_id", pa.string(), False),
        ("event_id", pa.string(), False),
        ("version", pa.uint64(), False),
        ("status", pa.string(), False),
        ("mode", pa.string(), False),
        ("track", pa.uint32(), False),
        ("position", pa.uint32(), False),
        ("start", pa.float64(), False),
        ("end", pa.float64(), False),
        ("clip_start", pa.float64(), False),
        ("clip_end", pa.float64(), False),
        ("score", pa.uint64(), True),
        ("forced", pa.bool_(), False),
        ("features", JSON, False),
    ],
}


def exports(out, folder):
    paths = sorted((out / folder).glob("*/export.json"))
    return [json.loads(path.read_text()) for path in paths]


def expected_rows(out):
    """The rows of every table, as the JSON exports give them."""
    events = sorted(exports(out, "events"), key=lambda e: e["event_id"])
    replays = sorted(exports(out, "replays"), key=lambda r: r["replay_id"])
    segments = [
        {
            "event_id": event["event_id"],
            **{k: s[k] for k in ("start", "end", "complete", "plugin", "attributes",
                                  "optimizations", "clips", "features", "feedback")},
            "label": s["label"]["label"] if s["label"] is not None else None,
        }
        for event in events
        for s in event["segments"]
    ]
    detections = [
        {"event_id": event["event_id"], **d} for event in events for d in event["detections"]
    ]
    clips = [
        {
            "replay_id": r["replay_id"],
            "event_id": r["event_id"],
            "version": r["version"],
            "status": r["status"],
            "mode": r["settings"]["mode"],
            "track": r["settings"]["track"],
            "position": position,
            **{k: c[k] for k in ("start", "end", "clip_start", "clip_end", "score", "forced",
                                  "features")},
        }
        for r in replays
        for position, c in enumerate(r["clips"])
    ]
    return {"segments": segments, "detections": detections, "replays": clips}


def check_table(path, table, schema, rows, problems):
    fields = [(f.name, f.type, f.nullable) for f in table.schema]
    documented = [(name, pa.string() if kind == JSON else kind, nullable)
                  for name, kind, nullable in schema]
    if fields != documented:
        problems.append(f"{path}: schema {fields}, documented {documented}")
        return
    actual = table.to_pylist()
    for row in actual:
        for name, kind, _ in schema:
            if kind == JSON:
                row[name] = json.loads(row[name])
    if actual != rows:
        problems.append(f"{path}: {len(actual)} rows differ from the {len(rows)} of the JSON "
                        f"exports; first table row {actual[:1]}, first export row {rows[:1]}")


def main():
    problems = []
    for out in map(pathlib.Path, json.load(sys.stdin)):
        rows = expected_rows(out)
        counts = []
        for name, schema in SCHEMAS.items():
            arrow_path = out / "tables" / f"{name}.arrow"
            parquet_path = out / "tables" / f"{name}.parquet"
            with pa.memory_map(str(arrow_path)) as source:
                check_table(arrow_path, pa.ipc.open_file(source).read_all(), schema,
                            rows[name], problems)
            check_table(parquet_path, pa.parquet.read_table(parquet_path), schema,
                        rows[name], problems)
            counts.append(f"{len(rows[name])} {name}")
        print(f"{out}: {', '.join(counts)} read back with pyarrow {pa.__version__}")
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
