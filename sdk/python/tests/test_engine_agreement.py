"""The SDK reads records as the engine does, and its record classes follow `reeltime schema`.

The same good and bad lines go through :func:`reeltime_sdk.records.decode` and through
``reeltime process`` (which dead-letters what it rejects): the verdicts must be equal, the
reasons equal where the engine's rules (not its JSON reader's wording) speak, and the
engine's segment times equal the SDK's normalised ones. The schema test compares each record
class's declared wire fields with the engine's committed JSON Schema
(``schemas/record-schema.json``, which a Rust test keeps equal to ``reeltime schema``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from helpers import SDK, reeltime

from reeltime_sdk.records import (
    TYPED,
    FeaturerSlot,
    OptimizerSlot,
    PluginSlot,
    RecordError,
    Segment,
    decode,
)

SCHEMA = SDK.parent.parent / "schemas" / "record-schema.json"

GOOD = [
    '{"type":"profile","name":"p","chunk_size":4,"processing_fps":29.97,'
    '"max_segment_length":30,"classifier":{"plugin":"S","config":{"k":1}},'
    '"optimizer":{"plugin":"O","search_window":2.5},"labeler":{"plugin":"L"},'
    '"featurers":[{"plugin":"A","media":"audio","depends_on":[]},{"plugin":"B",'
    '"depends_on":["A"],"priority_for_replay":false}],"owner":"ops"}',
    '{"type":"event","event_id":"e","profile":"p","status":"started","frame_rate":25,'
    '"audio_tracks":[1,2],"title":"Final","program":null}',
    '{"type":"chunk","event_id":"e","seq_no":0,"uri":"/m/0.ts","start":0,"duration":4,'
    '"pts_start":1.4}',
    '{"type":"chunk","event_id":"e","seq_no":1,"uri":"/m/1.ts","start":4.0,"duration":4,'
    '"error":"damaged"}',
    '{"type":"segment","event_id":"e","plugin":"S","start":2.675,"end":9.0005}',
    '{"type":"segment","event_id":"e","plugin":"S","start":0.30000000000000004,'
    '"end":1.0004999}',
    '{"type":"segment","event_id":"e","plugin":"S","start":12.3456789,"end":20,'
    '"attributes":{"Rally":12,"Score":"2-1","Long":true,"x":1.5}}',
    '{"type":"segment","event_id":"e","plugin":"S","start":30,"end":null}',
    '{"type":"segment","event_id":"e","plugin":"S","start":40,"end":40}',
    '{"type":"segment","event_id":"e","plugin":"S","start":50.0004,"end":864000}',
    '{"type":"optimization","event_id":"e","plugin":"O","start":2.675,"track":2,'
    '"opto_start":2.5,"opto_end":9.5}',
    '{"type":"label","event_id":"e","plugin":"L","start":2.675,"label":"","attributes":{}}',
    '{"type":"detection","event_id":"e","plugin":"A","start":1,"end":1,"track":1,'
    '"label":"Roar","attributes":{"Loud":true,"n":1.0},"deleted":false,"extra":1}',
    '{"type":"detection","event_id":"e","plugin":"A","start":-0.0004,"attributes":{}}',
]

# Bad lines; True where the engine's reason is word for word the SDK's.
BAD = [
    ('{"type":"segment","event_id":"e","plugin":"S","start":5,"end":4}', True),
    ('{"type":"segment","event_id":"e","plugin":"S","start":-1}', False),
    ('{"type":"segment","event_id":"e","plugin":"S","start":864000.001}', False),
    ('{"type":"segment","event_id":"e","plugin":"S","start":"5"}', False),
    ('{"type":"segment","event_id":"e","plugin":"S"}', True),
    ('{"type":"segment","event_id":"e","plugin":"S","start":null}', True),
    ('{"type":"segment","event_id":"","plugin":"S","start":1}', True),
    ('{"type":"segment","event_id":"e","plugin":"S","start":1,"attributes":{"a":[1]}}', False),
    ('{"type":"segment","event_id":"e","plugin":"S","start":1,"deleted":"yes"}', False),
    ('{"type":"optimization","event_id":"e","plugin":"O","start":1,"opto_start":3,'
     '"opto_end":2}', True),
    ('{"type":"optimization","event_id":"e","plugin":"O","start":1,"track":0,'
     '"opto_start":1,"opto_end":2}', False),
    ('{"type":"label","event_id":"e","plugin":"L","start":1}', True),
    ('{"type":"detection","event_id":"e","plugin":"A","start":1}', True),
    ('{"type":"detection","event_id":"e","plugin":"A","start":2,"end":1,"attributes":{}}',
     True),
    ('{"type":"detection","event_id":"e","plugin":"A","start":1,"attributes":{"a":null}}',
     False),
    ('{"type":"chunk","event_id":"e","seq_no":-1,"uri":"u","start":0,"duration":4}', False),
    ('{"type":"chunk","event_id":"e","seq_no":1.5,"uri":"u","start":0,"duration":4}', False),
    ('{"type":"chunk","event_id":"e","seq_no":2,"uri":"","start":0,"duration":4}', True),
    ('{"type":"chunk","event_id":"e","seq_no":2,"uri":"u","start":0,"duration":4,'
     '"error":""}', True),
    ('{"type":"event","event_id":"e","profile":"p","status":"live"}', False),
    ('{"type":"event","event_id":"e","profile":"p","status":"started","audio_tracks":[2,2]}',
     True),
    ('{"type":"event","event_id":"e","profile":"p","status":"started","frame_rate":0}', False),
    ('{"type":"event","event_id":"e","profile":"p","status":"started","audio_tracks":[1,0]}',
     True),
    ('{"type":"event","event_id":"e","profile":"p","status":"started","audio_tracks":[null]}',
     False),
    ('{"type":"profile","name":"p","chunk_size":-4}', True),
    ('{"type":"segment","plugin":"S","start":5,"end":4}', True),
    ('{"type":"profile","name":"p","chunk_size":4,"processing_fps":5,'
     '"max_segment_length":30}', True),
    ('{"type":"profile","name":"p","chunk_size":4,"processing_fps":5,"max_segment_length":30,'
     '"classifier":{"plugin":"S"},"featurers":[{"plugin":"A","media":"smell"}]}', False),
    ('{"type":"profile","name":"p","chunk_size":4,"processing_fps":5,"max_segment_length":30,'
     '"classifier":{"plugin":"S"},"featurers":[{"plugin":"A","depends_on":[""]}]}', False),
    ('{"type":"segment","event_id":"e","plugin":"S","start":1,"start":2}', False),
    ('{"type":"segment","event_id":"e","plugin":"S","start":NaN}', False),
    ('[{"type":"segment"}]', True),
    ('{"type":7}', True),
    ('{"type":"goal","event_id":"e"}', True),
    ('{"type":"segment",', False),
]


def sdk_verdict(line: str) -> str | None:
    try:
        decode(line)
    except RecordError as error:
        return str(error)
    return None


def test_the_sdk_accepts_and_rejects_what_the_engine_does(tmp_path: Path) -> None:
    lines = GOOD + [line for line, _ in BAD]
    log = tmp_path / "corpus.jsonl"
    log.write_text("".join(line + "\n" for line in lines))
    out = tmp_path / "out"
    reeltime("process", "--log", str(log), "--out", str(out))
    letters = [json.loads(x) for x in (out / "dead-letter.jsonl").read_text().splitlines()]
    engine = {letter["record"]: letter["reason"] for letter in letters}
    for line in GOOD:
        assert line not in engine, f"the engine rejected {line}: {engine.get(line)}"
        assert sdk_verdict(line) is None, f"the SDK rejected {line}: {sdk_verdict(line)}"
    for line, same_words in BAD:
        assert line in engine, f"the engine accepted {line}"
        ours = sdk_verdict(line)
        assert ours is not None, f"the SDK accepted {line}; the engine: {engine[line]}"
        if same_words:
            assert ours == engine[line], line

    # The engine's times are the SDK's normalised ones (latest record per start wins).
    views = json.loads((out / "events" / "e" / "segments.json").read_text())
    shown = {(s["start"], s.get("end")) for s in views["segments"]}
    ours: dict[int, Segment] = {}
    for line in GOOD:
        record = decode(line)
        if isinstance(record, Segment):
            ours[record.start_ms] = record
    expected = {(s.start_ms / 1000, s.end_ms / 1000 if s.end_ms is not None else None)
                for s in ours.values()}
    assert {start for start, _ in shown} == {start for start, _ in expected}
    for start, end in expected:
        if end is not None and end > start:
            assert (start, end) in shown, (start, end, shown)


def core_type(schema: dict[str, Any]) -> str:
    """What a property of the engine's schema holds, in the words of ``FIELDS``."""
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return core_type(option)
    ref = schema.get("$ref", "").rsplit("/", 1)[-1]
    named = {"Name": "name", "Seconds": "seconds", "Rate": "rate", "Track": "track",
             "PluginSlotRecord": "slot", "OptimizerSlotRecord": "optimizer_slot",
             "EventStatusRecord": "event_status"}
    if ref in named:
        return named[ref]
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds or [] if k != "null"]
    if kinds == ["array"]:
        item = core_type(schema["items"])
        return {"track": "tracks", "featurer_slot": "featurer_slots"}.get(item, item + "s")
    if kinds == ["object"] and "additionalProperties" in schema:
        return "attributes"
    if ref == "FeaturerSlotRecord":
        return "featurer_slot"
    return {"string": "string", "integer": "u64", "boolean": "bool"}.get(
        kinds[0] if kinds else "", ref or str(kinds))


def test_the_record_classes_declare_the_engines_wire_fields() -> None:
    definitions = json.loads(SCHEMA.read_text())["inputs"]["$defs"]
    for record_type, cls in TYPED.items():
        definition = definitions[f"{record_type.capitalize()}Record"]
        properties = definition["properties"]
        assert set(cls.FIELDS) == set(properties), record_type
        required = {name for name, (_, needed) in cls.FIELDS.items() if needed}
        assert required == set(definition.get("required", [])), record_type
        for name, (kind, _) in cls.FIELDS.items():
            assert core_type(properties[name]) == kind, (record_type, name)
    slots = {PluginSlot: "PluginSlotRecord", OptimizerSlot: "OptimizerSlotRecord",
             FeaturerSlot: "FeaturerSlotRecord"}
    for cls, name in slots.items():
        fields = {f.name.removesuffix("_ms") if f.name != "search_window_ms" else
                  "search_window" for f in dataclasses.fields(cls)}
        assert fields == set(definitions[name]["properties"]), name
