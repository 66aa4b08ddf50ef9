"""The pipeline: order, look-back state, readiness, retries, failures and checks of results."""

import threading

from reeltime_sdk import (
    DEFER,
    FAILURE_LABEL,
    Chunk,
    Detection,
    Event,
    FeaturerSlot,
    Label,
    Optimization,
    OptimizerSlot,
    Pipeline,
    PluginSlot,
    Profile,
    RetryPolicy,
    Segment,
    featurer,
    labeler,
    optimizer,
    plugins_of,
    segmenter,
)
from reeltime_sdk.plugin import spec_of

EVENT = Event(event_id="m", profile="p", status="started", audio_tracks=(1, 2))


def chunk(n: int) -> Chunk:
    return Chunk(event_id="m", seq_no=n, uri=f"/nowhere/{n}.ts", start_ms=n * 4000,
                 duration_ms=4000)


def profile(featurers=(), classifier="Seg", optimizer_slot=None, labeler_slot=None):
    return Profile(name="p", chunk_size_ms=4000, processing_fps_milli=5000,
                   max_segment_length_ms=30000, classifier=PluginSlot(classifier),
                   optimizer=optimizer_slot, labeler=labeler_slot, featurers=tuple(featurers))


def pipeline(*functions, retry=None):
    specs = {spec_of(f).name: spec_of(f) for f in functions}
    p = Pipeline(specs, retry or RetryPolicy(attempts=1, first_delay=0), threads=4,
                 log=lambda _line: None)
    return p


def start(p, prof, event=EVENT):
    p.observe(prof)
    p.observe(event)


def test_featurers_run_in_dependency_order_and_independent_ones_together():
    seen = []
    barrier = threading.Barrier(2, timeout=5)

    @featurer("A")
    def a(chunk, media, deps):
        barrier.wait()  # B runs at the same time, or this times out
        seen.append("A")
        return [chunk.detection(chunk.start + 1, attributes={"a": True})]

    @featurer("B")
    def b(chunk, media, deps):
        barrier.wait()
        seen.append("B")
        return []

    @featurer("C", depends_on=["A"])
    def c(chunk, media, deps):
        seen.append("C")
        assert [d.start for d in deps["A"]] == [chunk.start + 1]
        return [chunk.detection(deps["A"][0].start, attributes={"after_a": True})]

    p = pipeline(a, b, c)
    start(p, profile([FeaturerSlot("C"), FeaturerSlot("A"), FeaturerSlot("B")]))
    out = p.run_chunk(chunk(2))
    assert sorted(seen[:2]) == ["A", "B"] and seen[2] == "C"
    assert [(r.plugin, r.start_ms) for r in out] == [("A", 9000), ("C", 9000)]


def test_audio_featurers_run_once_per_track():
    @featurer("Loud", media="audio")
    def loud(chunk, media, deps):
        return [chunk.detection(chunk.start, attributes={"Loud": True})]

    p = pipeline(loud)
    start(p, profile([FeaturerSlot("Loud", media="audio")]))
    assert sorted(r.track for r in p.run_chunk(chunk(0))) == [1, 2]


def test_the_segmenter_gets_its_look_back_state_across_chunks():
    calls = []

    @featurer("Roar")
    def roar(chunk, media, deps):
        return [chunk.detection(chunk.start + 1, chunk.start + 3, attributes={"Loud": True})] \
            if chunk.chunk.seq_no in (1, 2) else []

    @segmenter("Seg", config={"pre_roll": 1.0})
    def seg(chunk, state, deps):
        calls.append((chunk.chunk.seq_no, state.open, state.last_complete,
                      [d.start for d in deps["Roar"]]))
        roars = deps["Roar"]
        if state.open is None and roars:
            return [chunk.segment(roars[0].start - chunk.config["pre_roll"])]
        if state.open is not None and not [d for d in roars if d.end > chunk.start]:
            return [chunk.segment(state.open.start, chunk.start)]
        return []

    p = pipeline(roar, seg)
    start(p, profile([FeaturerSlot("Roar")]))
    out = [r for n in range(5) for r in p.run_chunk(chunk(n))]
    segments = [r for r in out if isinstance(r, Segment)]
    assert [(s.start, s.end) for s in segments] == [(4.0, None), (4.0, 12.0)]
    # Chunk 2 saw the open segment and the roars since its start; chunk 3 the complete one.
    assert calls[2][1] == segments[0] and calls[2][3] == [5.0, 9.0]
    assert calls[4][1] is None and calls[4][2] == segments[1] and calls[4][3] == []


def test_the_look_back_state_is_rebuilt_from_the_segmenters_own_records():
    @segmenter("Seg")
    def seg(chunk, state, deps):
        return [] if state.open is None else [chunk.segment(state.open.start, chunk.end)]

    p = pipeline(seg)
    start(p, profile())
    p.observe(Segment(event_id="m", plugin="Seg", start_ms=2000))
    p.observe(chunk(0), processed=True)
    out = p.run_chunk(chunk(1))
    assert [(s.start, s.end) for s in out] == [(2.0, 8.0)]


def test_labels_once_per_version_of_a_segment_once_its_media_is_analysed():
    labelled = []

    @labeler("Namer")
    def namer(segment, media, deps):
        labelled.append((segment.start, segment.end))
        return segment.label(f"Play at {segment.start:g}", {"Rally": 3})

    p = pipeline(namer)
    start(p, profile(classifier="Builtin", labeler_slot=PluginSlot("Namer")))
    p.observe(Segment(event_id="m", plugin="Builtin", start_ms=1000, end_ms=6000))
    p.run_chunk(chunk(0))
    assert p.run_segments("m") == []  # media analysed to 4 s only
    p.run_chunk(chunk(1))
    out = p.run_segments("m")
    assert [(r.label, r.attributes, r.extra) for r in out] == [
        ("Play at 1", {"Rally": 3}, {"segment_end": 6.0})]
    assert p.run_segments("m") == []
    p.observe(Segment(event_id="m", plugin="Builtin", start_ms=1000, end_ms=7000))
    p.run_segments("m")
    assert labelled == [(1.0, 6.0), (1.0, 7.0)]
    # A label read back (a runner's restart) counts as done for that version.
    q = pipeline(namer)
    start(q, profile(classifier="Builtin", labeler_slot=PluginSlot("Namer")))
    q.observe(Segment(event_id="m", plugin="Builtin", start_ms=1000, end_ms=7000))
    q.observe(Label(event_id="m", plugin="Namer", start_ms=1000, label="x",
                    extra={"segment_end": 7.0}))
    q.observe(chunk(1), processed=True)
    assert q.run_segments("m") == []


def test_the_optimizer_waits_for_its_window_and_may_defer():
    answers = [DEFER]

    @optimizer("Opt")
    def opt(segment, deps):
        if answers:
            return answers.pop()
        cuts = [d.start for d in deps["Cuts"]]
        return [segment.optimization(cuts[0], cuts[-1], track=t) for t in segment.tracks]

    p = pipeline(opt)
    start(p, profile([FeaturerSlot("Cuts")], classifier="Builtin",
                     optimizer_slot=OptimizerSlot("Opt", search_window_ms=2000)))
    for at in (500, 9000, 30000):
        p.observe(Detection(event_id="m", plugin="Cuts", start_ms=at, end_ms=at))
    p.observe(Segment(event_id="m", plugin="Builtin", start_ms=1000, end_ms=8000))
    p.run_chunk(chunk(0))
    p.run_chunk(chunk(1))
    assert p.run_segments("m") == []  # 8 s analysed, the window needs 10 s
    p.run_chunk(chunk(2))
    assert p.run_segments("m") == []  # deferred
    out = p.run_segments("m")
    assert [(o.track, o.opto_start_ms, o.opto_end_ms) for o in out] == [
        (1, 500, 9000), (2, 500, 9000)]
    assert all(isinstance(o, Optimization) for o in out)


def test_a_plugin_that_raises_is_retried_then_its_failure_is_published():
    tries = []
    waits = []

    @featurer("Flaky")
    def flaky(chunk, media, deps):
        tries.append(chunk.chunk.seq_no)
        raise RuntimeError("model not loaded")

    p = pipeline(flaky, retry=RetryPolicy(attempts=3, first_delay=0.5, sleep=waits.append))
    start(p, profile([FeaturerSlot("Flaky")]))
    out = p.run_chunk(chunk(1))
    assert tries == [1, 1, 1] and waits == [0.5, 1.0]
    assert len(out) == 1 and out[0].label == FAILURE_LABEL
    assert (out[0].start_ms, out[0].end_ms) == (4000, 8000)
    assert out[0].attributes == {"PluginFailed": True, "error": "RuntimeError: model not loaded"}
    assert p.failures == 1


def test_results_that_the_engine_would_reject_are_a_failure():
    @featurer("Wrong")
    def wrong(chunk, media, deps):
        return [Segment(event_id="m", plugin="Wrong", start_ms=0)]

    @featurer("Negative")
    def negative(chunk, media, deps):
        return [Detection(event_id="m", plugin="Negative", start_ms=5, end_ms=1)]

    p = pipeline(wrong, negative)
    start(p, profile([FeaturerSlot("Wrong"), FeaturerSlot("Negative")]))
    out = p.run_chunk(chunk(0))
    errors = {r.plugin: r.attributes["error"] for r in out}
    assert errors["Wrong"] == "returned Segment, expected Detection"
    assert errors["Negative"] == ("returned an invalid record: detection record: "
                                  "field `end`: 0.001 is before `start` 0.005")


def test_chunks_wait_for_plugins_the_module_does_not_provide():
    @featurer("Py", depends_on=["SceneCut"])
    def py(chunk, media, deps):
        return []

    p = pipeline(py)
    start(p, profile([FeaturerSlot("SceneCut"), FeaturerSlot("Py")]))
    assert p.needs_lookahead("m")
    q = pipeline(py)
    start(q, profile([FeaturerSlot("Py")], classifier="Builtin"))
    q.plugins["SceneCut"] = q.plugins["Py"]
    assert not q.needs_lookahead("m")


def test_plugins_of_a_module_and_config_defaults():
    import types

    module = types.ModuleType("mine")

    @featurer("Shot", config={"threshold": 8, "window": 2})
    def shot(chunk, media, deps):
        return []

    module.shot = shot
    spec = plugins_of(module)["Shot"]
    assert spec.kind == "featurer" and spec.config({"threshold": 9}) == {"threshold": 9,
                                                                         "window": 2}
