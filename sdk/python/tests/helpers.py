"""What the end-to-end tests share: the engine binary, the broker, topics and the demo match.

The engine is ``$REELTIME_BIN`` (``scripts/test`` points it at the binary the Rust tests
built); the broker is ``$REELTIME_KAFKA_BROKERS``. A test that needs one of them fails when it
is missing and ``$REELTIME_REQUIRE_KAFKA`` is 1 (as in ``scripts/test``), and is skipped with
the reason otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

SDK = Path(__file__).resolve().parent.parent
EXAMPLES = SDK / "examples"


def _missing(what: str) -> None:
    if os.environ.get("REELTIME_REQUIRE_KAFKA") == "1":
        pytest.fail(f"{what} (required: REELTIME_REQUIRE_KAFKA=1)")
    pytest.skip(what)


def engine() -> str:
    """The reeltime binary."""
    path = os.environ.get("REELTIME_BIN")
    if not path or not Path(path).is_file():
        _missing("no reeltime binary: set REELTIME_BIN to the engine built by cargo")
    assert path is not None
    return path


def brokers() -> str:
    """The broker's address."""
    address = os.environ.get("REELTIME_KAFKA_BROKERS")
    if not address:
        _missing("no Kafka broker: set REELTIME_KAFKA_BROKERS (scripts/kafka-local start)")
    assert address is not None
    return address


def unique_prefix(test: str) -> str:
    """A topic prefix no other run uses."""
    return f"sdk-{test}-{uuid.uuid4().hex[:8]}."


def reeltime(*args: str, env: dict[str, str] | None = None,
             timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Runs the engine's command line; fails the test with its stderr if it fails."""
    done = subprocess.run([engine(), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, check=False)
    assert done.returncode == 0, f"reeltime {' '.join(args)}: {done.stderr}"
    return done


def create_topics(address: str, prefix: str, partitions: int = 2) -> None:
    """Makes the eight topics under ``prefix``."""
    reeltime("topics", "create", "--brokers", address, "--prefix", prefix, "--partitions",
             str(partitions))


def route(record: dict[str, Any]) -> tuple[str, str]:
    """The input topic (after the prefix) and key of a record, as a publisher chooses them."""
    kind = record["type"]
    if kind == "profile":
        return "control", record["name"]
    if kind in ("event", "replay", "feedback", "delete"):
        return "control", record.get("event_id") or record.get("replay_id") or record["id"]
    if kind == "chunk":
        return "chunks", record["event_id"]
    if kind in ("segment", "optimization", "label"):
        return "segments", record["event_id"]
    return "detections", record["event_id"]


def publish(address: str, prefix: str, records: list[dict[str, Any]]) -> None:
    """Publishes records in order with an idempotent producer."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": address, "enable.idempotence": True})
    for record in records:
        topic, key = route(record)
        producer.produce(prefix + topic, key=key.encode(), value=json.dumps(record).encode())
        producer.poll(0)
    assert producer.flush(60) == 0


def consume(address: str, topic: str) -> list[tuple[int, int, dict[str, Any]]]:
    """Every committed record of a topic: (partition, offset, record)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": address, "group.id": f"read-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        ends = {}
        for p in metadata.partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            if high > 0:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        out = []
        while ends:
            message = consumer.poll(5)
            if message is None:
                for tp in consumer.position([TopicPartition(topic, p) for p in list(ends)]):
                    # Past the end: what is left are transaction markers of aborted or
                    # committed transactions, which read_committed does not return.
                    if tp.offset >= ends[tp.partition]:
                        ends.pop(tp.partition)
                continue
            if message.error():
                continue
            out.append((message.partition(), message.offset(), json.loads(message.value())))
            if message.offset() + 1 >= ends.get(message.partition(), 0):
                ends.pop(message.partition(), None)
        return out
    finally:
        consumer.close()


def runner_command(address: str, prefix: str, module: Path | str, instance: str,
                   *extra: str) -> list[str]:
    """The runner's command line for a test's topics (its own group and instance)."""
    return [sys.executable, "-m", "reeltime_sdk.cli", "run", "--brokers", address,
            "--prefix", prefix, "--module", str(module), "--group", f"{prefix}plugins",
            "--instance", instance, *extra]


def engine_env(prefix: str) -> dict[str, str]:
    """The engine's settings for a test's topics: its own group, no API, no rendering."""
    ids = f"{prefix}engine"
    return {"REELTIME__SERVICE__LISTEN": "", "REELTIME__KAFKA__TOPIC_PREFIX": prefix,
            "REELTIME__KAFKA__GROUP_ID": ids, "REELTIME__KAFKA__TRANSACTIONAL_ID": ids,
            "REELTIME__KAFKA__TOPIC_WAIT_SECONDS": "5", "REELTIME__RENDER__ENABLED": "false"}


def demo_log(directory: Path) -> list[dict[str, Any]]:
    """The demo's event log as records."""
    lines = (directory / "demo-log.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]
