"""Reads EDLs with OpenTimelineIO's CMX 3600 reader and compares their frames with ours.

Run by tests/golden.rs in the environment scripts/test makes. Standard input is a JSON list
of checks: {"name", "path", "rate" (frames per second), "tracks" (the track names the
channel maps to: ["V"] or ["V", "A1"]), "events": [[source in, source out, record in,
record out], ...] (frames, as our own reader found them)}. Each EDL must load, hold exactly
those tracks (none for an EDL without events), each with one clip per event and no gaps or
transitions, at the same source and record frames. Prints one line per EDL; exits 1 on any
disagreement.
"""

import json
import sys

import opentimelineio as otio


def frames_of(track, rate):
    """The [source in, source out, record in, record out] frames of each item of a track."""
    events = []
    for item in track:
        if not isinstance(item, otio.schema.Clip):
            raise ValueError(f"track {track.name}: a {type(item).__name__}, not a clip")
        source = item.source_range
        record = item.range_in_parent()
        times = [
            source.start_time,
            source.end_time_exclusive(),
            record.start_time,
            record.end_time_exclusive(),
        ]
        values = [time.value_rescaled_to(rate) for time in times]
        if any(value != round(value) for value in values):
            raise ValueError(f"track {track.name}: a time between frames: {values}")
        events.append([round(value) for value in values])
    return events


def check(edl):
    timeline = otio.adapters.read_from_file(
        edl["path"], adapter_name="cmx_3600", rate=edl["rate"]
    )
    tracks = {track.name: track for track in timeline.tracks}
    wanted_tracks = edl["tracks"] if edl["events"] else []
    if sorted(tracks) != sorted(wanted_tracks):
        return f"tracks {sorted(tracks)}, want {sorted(wanted_tracks)}"
    for name in wanted_tracks:
        found = frames_of(tracks[name], edl["rate"])
        if found != edl["events"]:
            return f"track {name}: OpenTimelineIO reads {found}, we wrote {edl['events']}"
    return None


def main():
    problems = 0
    checks = json.load(sys.stdin)
    for edl in checks:
        try:
            problem = check(edl)
        except Exception as error:  # a reader error is a finding, not a crash of the check
            problem = f"{type(error).__name__}: {error}"
        if problem:
            problems += 1
            print(f"{edl['name']}: {problem}")
    print(
        f"OpenTimelineIO {otio.__version__} read {len(checks) - problems} of "
        f"{len(checks)} EDLs with our frames"
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
