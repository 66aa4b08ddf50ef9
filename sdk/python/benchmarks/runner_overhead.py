"""Benchmark: the runner's cost per chunk against a bare confluent-kafka consumer.

Publishes ``--chunks`` chunk records (over ``--events`` events, with their profile and event
records) to fresh topics of the broker at ``--brokers``, then, ``--runs`` times each:

- the baseline: a bare ``confluent_kafka.Consumer`` in a new group reads every chunk record
  (JSON-decoded), from its first message to its last;
- the runner: ``Runner`` with a module whose one featurer returns nothing, in a new group,
  from its first message to the commit of the transaction that holds the last chunk's offset.

Prints the medians, the runner's overhead per chunk (its time minus the baseline's, over the
chunks; under 5 ms is the goal) and the ratio of the two times. Needs ``reeltime`` (the
engine, for ``topics create``) as ``--engine``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer

from reeltime_sdk.pipeline import RetryPolicy
from reeltime_sdk.runner import Runner, RunnerOptions

NOOP = '''
from reeltime_sdk import featurer

@featurer("Nothing")
def nothing(chunk, media, dependencies):
    return []
'''


def publish(brokers: str, prefix: str, events: int, chunks: int) -> None:
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True,
                         "linger.ms": 20})
    profile = {"type": "profile", "name": "bench", "chunk_size": 4, "processing_fps": 5,
               "max_segment_length": 30, "classifier": {"plugin": "BuiltinSegmenter"},
               "featurers": [{"plugin": "Nothing"}]}
    producer.produce(prefix + "control", key=b"bench", value=json.dumps(profile).encode())
    for e in range(events):
        event = {"type": "event", "event_id": f"e{e}", "profile": "bench", "status": "started"}
        producer.produce(prefix + "control", key=event["event_id"].encode(),
                         value=json.dumps(event).encode())
    for n in range(chunks):
        e, seq = n % events, n // events
        chunk = {"type": "chunk", "event_id": f"e{e}", "seq_no": seq,
                 "uri": f"/media/e{e}/chunk-{seq:05d}.ts", "start": seq * 4, "duration": 4}
        producer.produce(prefix + "chunks", key=chunk["event_id"].encode(),
                         value=json.dumps(chunk).encode())
        producer.poll(0)
    assert producer.flush(60) == 0


def bare(brokers: str, prefix: str, chunks: int) -> float:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bare-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "isolation.level": "read_committed"})
    consumer.subscribe([prefix + "chunks"])
    seen, first = 0, 0.0
    while seen < chunks:
        for message in consumer.consume(64, 1.0):
            if message.error():
                continue
            if not seen:
                first = time.perf_counter()
            json.loads(message.value())
            seen += 1
    elapsed = time.perf_counter() - first
    consumer.close()
    return elapsed


class TimedRunner(Runner):
    """The runner, timed from its first chunk to the commit holding its last."""

    def __init__(self, options: RunnerOptions, chunks: int) -> None:
        super().__init__(options, log=lambda _line: None)
        self.total = chunks
        self.first = 0.0
        self.elapsed = 0.0

    def _take(self, message: Any) -> None:
        if not self.first:
            self.first = time.perf_counter()
        super()._take(message)

    def _publish(self, records: list[Any]) -> None:
        super()._publish(records)
        if self.chunks_done >= self.total and not self.elapsed:
            self.elapsed = time.perf_counter() - self.first
            self.stopping = True


def runner(brokers: str, prefix: str, module: Path, chunks: int) -> float:
    options = RunnerOptions(brokers=brokers, module=str(module),
                            group=f"bench-{uuid.uuid4().hex[:8]}", prefix=prefix,
                            instance="bench", retry=RetryPolicy(attempts=1))
    timed = TimedRunner(options, chunks)
    timed.run()
    return timed.elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--engine", required=True, help="the reeltime binary")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    prefix = f"bench-runner-{uuid.uuid4().hex[:8]}."
    subprocess.run([args.engine, "topics", "create", "--brokers", args.brokers, "--prefix",
                    prefix, "--partitions", "4"], check=True, capture_output=True)
    publish(args.brokers, prefix, args.events, args.chunks)
    with tempfile.TemporaryDirectory() as directory:
        module = Path(directory) / "noop_plugins.py"
        module.write_text(NOOP)
        times: dict[str, list[float]] = {"bare": [], "runner": []}
        for _ in range(args.runs):
            times["bare"].append(bare(args.brokers, prefix, args.chunks))
            times["runner"].append(runner(args.brokers, prefix, module, args.chunks))
    medians = {name: statistics.median(values) for name, values in times.items()}
    overhead = (medians["runner"] - medians["bare"]) / args.chunks * 1000
    print(f"{args.chunks} chunks of {args.events} events, median of {args.runs}: bare consumer "
          f"{medians['bare']:.3f} s, runner {medians['runner']:.3f} s, overhead "
          f"{overhead:.3f} ms per chunk, ratio {medians['runner'] / medians['bare']:.2f}")


if __name__ == "__main__":
    main()
