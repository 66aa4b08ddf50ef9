"""The SDK's records: rounding, strict JSON and the rules between fields."""

import json

import pytest

from reeltime_sdk.records import (
    Chunk,
    Detection,
    Event,
    OtherRecord,
    Profile,
    RecordError,
    Segment,
    decode,
    rate_to_milli,
    round_decimal_thousandths,
    seconds_to_ms,
)


def test_rounds_half_away_from_zero_on_the_written_decimal():
    assert seconds_to_ms(1.0005) == 1001
    assert seconds_to_ms(1.0004999) == 1000
    assert seconds_to_ms(0.0015) == 2
    assert seconds_to_ms(2.675) == 2675
    assert seconds_to_ms(0.1 + 0.2) == 300
    assert seconds_to_ms(12.3456789) == 12346
    assert seconds_to_ms(0.0) == 0
    assert seconds_to_ms(7) == 7000
    assert round_decimal_thousandths(1e-7) == 0


def test_rejects_negative_non_finite_and_too_large_times():
    for bad in (-0.001, -0.0005, float("nan"), float("inf"), 864000.001, -1, 864001):
        with pytest.raises(RecordError):
            seconds_to_ms(bad)
    assert seconds_to_ms(-0.0) == 0
    assert seconds_to_ms(-0.0004) == 0
    assert seconds_to_ms(864000.0) == 864_000_000
    assert seconds_to_ms(864000.0004) == 864_000_000


def test_rates_keep_three_decimals():
    assert rate_to_milli(29.97) == 29970
    assert rate_to_milli(25) == 25000
    for bad in (0, 0.0001, -1, 1000.5, True):
        with pytest.raises(RecordError):
            rate_to_milli(bad)


def test_a_detection_is_normalised_and_written_back():
    record = decode('{"type":"detection","event_id":"e","plugin":"p","start":1.0005,'
                    '"attributes":{"Ace":true,"n":2.0,"x":0.5}}')
    assert record == Detection(event_id="e", plugin="p", start_ms=1001, end_ms=1001,
                               attributes={"Ace": True, "n": 2, "x": 0.5})
    assert json.loads(record.to_json()) == {"type": "detection", "event_id": "e", "plugin": "p",
                                            "start": 1.001,
                                            "attributes": {"Ace": True, "n": 2, "x": 0.5}}


def test_unknown_fields_are_kept_except_on_detections():
    chunk = decode('{"type":"chunk","event_id":"e","seq_no":0,"uri":"/c.ts","start":0,'
                   '"duration":4,"camera":"main"}')
    assert isinstance(chunk, Chunk) and chunk.extra == {"camera": "main"}
    assert json.loads(chunk.to_json())["camera"] == "main"
    detection = decode('{"type":"detection","event_id":"e","plugin":"p","start":1,'
                       '"attributes":{},"score":3}')
    assert "score" not in json.loads(detection.to_json())


@pytest.mark.parametrize(("line", "reason"), [
    ('{"type":"segment","event_id":"e","plugin":"p","start":5,"end":4}',
     "field `end`: 4.000 is before `start` 5.000"),
    ('{"type":"segment","event_id":"","plugin":"p","start":5}', "field `event_id`: must not"),
    ('{"type":"segment","event_id":"e","plugin":"p","start":null}', "missing field `start` (null)"),
    ('{"type":"optimization","event_id":"e","plugin":"p","start":1,"opto_start":2,"opto_end":2}',
     "field `opto_end`: 2.000 is not after `opto_start` 2.000"),
    ('{"type":"detection","event_id":"e","plugin":"p","start":1,"attributes":{"a":null}}',
     "field `attributes`: attribute `a`: null is not an attribute value"),
    ('{"type":"detection","event_id":"e","plugin":"p","start":1,"track":0,"attributes":{}}',
     "track must be at least 1"),
    ('{"type":"event","event_id":"e","profile":"p","status":"started","audio_tracks":[1,1]}',
     "track 1 is listed twice"),
    ('{"type":"event","event_id":"e","profile":"p","status":"paused"}', "unknown variant"),
    ('{"type":"chunk","event_id":"e","seq_no":1.0,"uri":"u","start":0,"duration":4}',
     "field `seq_no`: invalid type"),
    ('{"type":"label","event_id":"e","plugin":"p","start":1,"label":"a","label":"b"}',
     'duplicate key "label"'),
    ('{"type":"label","event_id":"e","plugin":"p","start":NaN,"label":"a"}', "NaN"),
    ("[1]", "not a JSON object"),
    ('{"event_id":"e"}', "missing field `type`"),
    ('{"type":"goal"}', 'unknown type "goal"'),
    ('\ufeff{"type":"chunk"}', "byte-order mark"),
])
def test_bad_records_name_the_field_and_the_rule(line, reason):
    with pytest.raises(RecordError) as error:
        decode(line)
    assert reason in str(error.value)


def test_records_of_other_types_pass_by():
    record = decode('{"type":"replay","replay_id":"r","event_id":"e"}')
    assert isinstance(record, OtherRecord) and record.type == "replay"


def test_too_large_and_not_utf8_records_are_refused():
    with pytest.raises(RecordError, match="more than the limit of 10 bytes"):
        decode('{"type":"chunk"}', max_bytes=10)
    with pytest.raises(RecordError, match="invalid UTF-8 at byte 9"):
        decode(b'{"type":"\xff"}')


def test_a_profile_reads_its_slots():
    profile = decode(json.dumps({
        "type": "profile", "name": "p", "chunk_size": 4, "processing_fps": 5,
        "max_segment_length": 30, "classifier": {"plugin": "Seg", "config": {"gap": 2}},
        "optimizer": {"plugin": "Opt", "search_window": 2},
        "featurers": [{"plugin": "A", "media": "audio"},
                      {"plugin": "B", "depends_on": ["A"], "priority_for_replay": False}]}))
    assert isinstance(profile, Profile)
    assert profile.processing_fps == 5.0
    assert profile.classifier.config == {"gap": 2}
    assert profile.optimizer is not None and profile.optimizer.search_window_ms == 2000
    assert profile.featurers[1].depends_on == ("A",)
    assert profile.featurers[0].media == "audio"
    assert decode(profile.to_json()) == profile


def test_an_event_defaults_to_track_one_and_a_segment_is_open_without_end():
    event = decode('{"type":"event","event_id":"e","profile":"p","status":"started"}')
    assert isinstance(event, Event) and event.audio_tracks == (1,)
    segment = decode('{"type":"segment","event_id":"e","plugin":"p","start":3,"end":3}')
    assert isinstance(segment, Segment) and not segment.is_complete
