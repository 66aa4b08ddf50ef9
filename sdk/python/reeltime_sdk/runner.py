"""``reeltime-plugins run``: a module's plugins over the Kafka topics, exactly once.

The runner is one member of a consumer group over the input topics ``chunks``, ``segments``
and ``detections`` (co-partitioned by event, so one member gets all of an event), and reads
``control`` whole for the profiles and events. Each batch it consumed is turned into plugin
records (:class:`reeltime_sdk.pipeline.Pipeline`) that are produced to the input topics, keyed
by event, in one Kafka transaction together with the consumed offsets: a runner killed at any
moment leaves either all of a batch's records and its offsets, or none.

When partitions are assigned, the state of their events is rebuilt from the topics (read
committed): the chunks before the committed offset, and every segment, optimization, label and
detection, including the runner's own, so the segmenter's look-back state and what has been
labelled or optimized are what the committed records say. A chunk whose plugins depend on
plugins the module does not provide (the engine's built-in ones) waits until the next chunk of
its event, or the event's end, has arrived: ingest publishes a chunk's records before the next
chunk, so by then they are all there. Its offset is not committed while it waits.

A runner carries many matches over its life, so an event's state is released once the event has
ended, its last work is published, its partitions have been read to their end and nothing of it
has arrived for ``release_after`` seconds; records of it that arrive later are skipped, with a
line in the log.
"""

from __future__ import annotations

import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .pipeline import Pipeline, RetryPolicy
from .plugin import load_module, plugins_of
from .records import (
    TOPIC_OF,
    AnyRecord,
    Chunk,
    Detection,
    Event,
    Label,
    Optimization,
    Record,
    RecordError,
    Segment,
    decode,
)

#: The default prefix of every topic name (the engine's).
DEFAULT_PREFIX = "reeltime."
#: Input topics the group consumes (after the prefix).
GROUP_TOPICS = ("chunks", "segments", "detections")
#: How often a runner whose own partitions are done checks, with ``until_ended``, whether the
#: rest of the group is done too (each check reads every input partition's committed end).
GROUP_CHECK_SECONDS = 2.0


@dataclass
class RunnerOptions:
    """Settings of one runner."""

    brokers: str
    module: str
    group: str = "reeltime-plugins"
    prefix: str = DEFAULT_PREFIX
    instance: str = field(default_factory=socket.gethostname)
    batch: int = 64
    threads: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    until_ended: bool = False
    release_after: float = 600.0
    extra_config: dict[str, Any] = field(default_factory=dict)

    @property
    def transactional_id(self) -> str:
        """Stable per instance, so a restarted runner fences and aborts its predecessor's
        open transaction at once instead of leaving readers waiting for it to time out."""
        return f"{self.group}.{self.instance}"


def release_due(ended_and_done: bool, read_to_end: bool, quiet_seconds: float,
                release_after: float) -> bool:
    """Whether an event's state may be released: it has ended and its last work is published,
    its partitions have been read to their end (a segment the engine published just before
    the end is not still on its way), and nothing of it has come for ``release_after``."""
    return ended_and_done and read_to_end and quiet_seconds >= release_after


@dataclass
class _Queued:
    chunk: Chunk
    partition: int
    offset: int


class Runner:
    """One plugin runner; :meth:`run` until stopped."""

    def __init__(self, options: RunnerOptions, log: Callable[[str], None] | None = None) -> None:
        try:
            import confluent_kafka
        except ImportError:
            raise SystemExit("the runner needs the Kafka client: pip install "
                             "'reeltime-sdk[kafka]' (confluent-kafka)") from None
        self.kafka = confluent_kafka
        self.options = options
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        module = load_module(options.module)
        self.plugins = plugins_of(module)
        if not self.plugins:
            raise SystemExit(f"module {options.module} defines no plugins (functions marked "
                             "with @featurer, @segmenter, @optimizer or @labeler)")
        self.pipeline = Pipeline(self.plugins, options.retry, options.threads, self.log)
        self.topic = {short: options.prefix + short for short in ("control", *GROUP_TOPICS)}
        self.short = {name: short for short, name in self.topic.items()}
        self.queues: dict[str, deque[_Queued]] = {}
        self.event_partition: dict[str, int] = {}
        self.skip_until: dict[tuple[str, int], int] = {}
        self.consumed: dict[tuple[str, int], int] = {}
        self.assigned: set[int] = set()
        # Partitions read to their end (and nothing read from them since).
        self.at_end: set[tuple[str, int]] = set()
        # Events whose work is done (ended, final work published), with when each last had a
        # record; released ones are skipped from then on.
        self.finished: set[str] = set()
        self.last_record: dict[str, float] = {}
        self.released: set[str] = set()
        self.stopping = False
        # Reads past the group's committed offsets, for ``until_ended`` (made when first used).
        self.checker: Any = None
        self.group_checked = 0.0
        self.produced = 0
        self.chunks_done = 0
        base = {"bootstrap.servers": options.brokers, **options.extra_config}
        self.control = confluent_kafka.Consumer({
            **base, "group.id": f"{options.group}.control", "enable.auto.commit": False,
            "isolation.level": "read_committed", "auto.offset.reset": "earliest"})
        self.consumer = confluent_kafka.Consumer({
            **base, "group.id": options.group, "enable.auto.commit": False,
            "enable.auto.offset.store": False, "isolation.level": "read_committed",
            "auto.offset.reset": "earliest", "partition.assignment.strategy": "range",
            "enable.partition.eof": True})
        self.producer = confluent_kafka.Producer({
            **base, "transactional.id": options.transactional_id, "linger.ms": 5,
            "enable.idempotence": True})
        self.base = base

    # --- Startup --------------------------------------------------------------------------

    def _read_to_end(self, consumer: Any, partitions: list[Any],
                     apply: Callable[[Any], None]) -> None:
        """Reads ``partitions`` (with their start offsets) up to their current end."""
        ends = {}
        for tp in partitions:
            _, high = consumer.get_watermark_offsets(tp, timeout=30, cached=False)
            if high > max(tp.offset, 0):
                ends[(tp.topic, tp.partition)] = high
        if not ends:
            return
        consumer.assign(partitions)
        while ends:
            message = consumer.poll(1.0)
            if message is None:
                for tp in consumer.position([self.kafka.TopicPartition(t, p)
                                             for t, p in list(ends)]):
                    if tp.offset >= ends[(tp.topic, tp.partition)]:
                        ends.pop((tp.topic, tp.partition), None)
                continue
            if message.error():
                if message.error().code() == self.kafka.KafkaError._PARTITION_EOF:
                    continue
                raise self.kafka.KafkaException(message.error())
            key = (message.topic(), message.partition())
            apply(message)
            if key in ends and message.offset() + 1 >= ends[key]:
                ends.pop(key)

    def _poll_control(self, timeout: float) -> None:
        while True:
            message = self.control.poll(timeout)
            timeout = 0
            if message is None:
                return
            if not message.error():
                self._observe_message(message, own_too=True)

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        numbers = sorted({tp.partition for tp in partitions})
        self.assigned = set(numbers)
        self.at_end.clear()
        self._rebuild(numbers)
        self.log(f"assigned partitions {numbers}: state of "
                 f"{sum(1 for p in self.event_partition.values() if p in self.assigned)} "
                 "events rebuilt")

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        gone = {tp.partition for tp in partitions}
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self.at_end -= revoked
        # Their next owner commits from where this runner's last transaction left them.
        for key in revoked:
            self.consumed.pop(key, None)
        for event_id in [e for e, p in self.event_partition.items() if p in gone]:
            state = self.pipeline.events.pop(event_id, None)
            if state is not None and state.event is not None:
                # Control is read once, whole: the event's record must outlive its partition,
                # or the event's chunks would wait for it forever when the partition returns.
                self.pipeline.state(event_id).event = state.event
            self.queues.pop(event_id, None)
            self.event_partition.pop(event_id, None)
            self.finished.discard(event_id)
            self.last_record.pop(event_id, None)
        self.assigned -= gone

    def _rebuild(self, numbers: list[int]) -> None:
        """Rebuilds the state of the events of these partitions from the topics."""
        TopicPartition = self.kafka.TopicPartition
        chunk_tps = [TopicPartition(self.topic["chunks"], p) for p in numbers]
        committed = {tp.partition: tp.offset
                     for tp in self.consumer.committed(chunk_tps, timeout=30)}
        reader = self.kafka.Consumer({**self.base, "group.id": f"{self.options.group}.rebuild",
                                      "enable.auto.commit": False,
                                      "isolation.level": "read_committed"})
        try:
            chunks = []
            for p in numbers:
                if committed.get(p, -1) > 0:
                    tp = TopicPartition(self.topic["chunks"], p, self.kafka.OFFSET_BEGINNING)
                    chunks.append((tp, committed[p]))

            def chunk_before_commit(message: Any) -> None:
                if message.offset() < committed[message.partition()]:
                    self._observe_message(message, own_too=True, processed=True)

            for tp, end in chunks:
                self._read_range(reader, tp, end, chunk_before_commit)
            for short in ("segments", "detections"):
                for p in numbers:
                    tp = TopicPartition(self.topic[short], p, self.kafka.OFFSET_BEGINNING)
                    _, high = reader.get_watermark_offsets(tp, timeout=30, cached=False)
                    self.skip_until[(self.topic[short], p)] = high
                    self._read_range(reader, tp, high, lambda m: self._observe_message(
                        m, own_too=True))
        finally:
            reader.close()

    def _read_range(self, reader: Any, tp: Any, end: int,
                    apply: Callable[[Any], None]) -> None:
        if end <= 0:
            return
        reader.assign([tp])
        while True:
            message = reader.poll(1.0)
            if message is None:
                position = reader.position([self.kafka.TopicPartition(tp.topic, tp.partition)])
                if position[0].offset >= end:
                    return
                continue
            if message.error():
                continue
            if message.offset() < end:
                apply(message)
            if message.offset() + 1 >= end:
                return

    # --- Records in -----------------------------------------------------------------------

    def _decode(self, message: Any) -> AnyRecord | None:
        try:
            return decode(message.value() or b"")
        except RecordError as error:
            # The engine dead-letters it with the same reason; the runner goes on.
            self.log(f"{message.topic()}[{message.partition()}]@{message.offset()}: "
                     f"skipped: {error}")
            return None

    def _is_own(self, record: AnyRecord) -> bool:
        return isinstance(record, (Detection, Segment, Label, Optimization)) and (
            record.plugin in self.plugins)

    def _skip_released(self, record: AnyRecord, message: Any) -> bool:
        event_id = getattr(record, "event_id", None)
        if isinstance(record, Event) and record.status != "ended":
            # The event starts again: its records are wanted once more.
            self.released.discard(record.event_id)
            return False
        if event_id not in self.released:
            if event_id is not None:
                self.last_record[event_id] = time.monotonic()
            return False
        self.log(f"{message.topic()}[{message.partition()}]@{message.offset()}: skipped: "
                 f"event {event_id} ended and its state was released (--release-after)")
        return True

    def _observe_message(self, message: Any, own_too: bool, processed: bool = False) -> None:
        record = self._decode(message)
        if record is None or self._skip_released(record, message):
            return
        if isinstance(record, Chunk):
            self.event_partition[record.event_id] = message.partition()
        # The runner's own records were observed when it made them; observing them again as
        # they come back would, for example, reopen a segment it has completed since.
        if own_too or not self._is_own(record):
            self.pipeline.observe(record, processed=processed)

    def _take(self, message: Any) -> None:
        key = (message.topic(), message.partition())
        self.at_end.discard(key)
        self.consumed[key] = message.offset() + 1
        if message.offset() < self.skip_until.get(key, 0):
            return
        if self.short.get(message.topic()) == "chunks":
            record = self._decode(message)
            if isinstance(record, Chunk) and not self._skip_released(record, message):
                self.event_partition[record.event_id] = message.partition()
                self.queues.setdefault(record.event_id, deque()).append(
                    _Queued(record, message.partition(), message.offset()))
            return
        self._observe_message(message, own_too=False)

    # --- Work -----------------------------------------------------------------------------

    def _ready(self, event_id: str, queue: deque[_Queued]) -> bool:
        if self.pipeline.profile_of(event_id) is None:
            return False
        if not self.pipeline.needs_lookahead(event_id):
            return True
        return len(queue) > 1 or self.pipeline.state(event_id).ended

    def _work(self) -> list[Record]:
        out: list[Record] = []
        for event_id, queue in self.queues.items():
            while queue and self._ready(event_id, queue):
                out.extend(self.pipeline.run_chunk(queue.popleft().chunk))
                self.chunks_done += 1
        for event_id, state in self.pipeline.events.items():
            if self.event_partition.get(event_id) not in self.assigned:
                continue
            final = state.ended and not self.queues.get(event_id)
            out.extend(self.pipeline.run_segments(event_id, final=final))
            if final:
                self.finished.add(event_id)
            else:
                self.finished.discard(event_id)
        return out

    def _release(self) -> None:
        """Releases the state of the events whose work is done (called once it is published)."""
        now = time.monotonic()
        for event_id in list(self.finished):
            partition = self.event_partition.get(event_id)
            read_to_end = all((self.topic[t], partition) in self.at_end for t in GROUP_TOPICS)
            if not release_due(True, read_to_end, now - self.last_record.get(event_id, now),
                               self.options.release_after):
                continue
            self.finished.discard(event_id)
            self.pipeline.events.pop(event_id, None)
            self.queues.pop(event_id, None)
            self.event_partition.pop(event_id, None)
            self.last_record.pop(event_id, None)
            self.released.add(event_id)
            self.log(f"event {event_id} ended and its work is published: its state is released")

    def _offsets(self) -> list[Any]:
        """Offsets to commit: past every consumed record, but never past a waiting chunk."""
        waiting: dict[int, int] = {}
        for queue in self.queues.values():
            for item in queue:
                waiting[item.partition] = min(waiting.get(item.partition, item.offset),
                                              item.offset)
        out = []
        for (topic, partition), offset in self.consumed.items():
            if self.short.get(topic) == "chunks" and partition in waiting:
                offset = min(offset, waiting[partition])
            out.append(self.kafka.TopicPartition(topic, partition, offset))
        return out

    def _publish(self, records: list[Record]) -> None:
        offsets = self._offsets()
        if not records and not offsets:
            return
        self.producer.begin_transaction()
        for record in records:
            topic = self.topic[TOPIC_OF[record.to_wire()["type"]]]
            event_id = getattr(record, "event_id", "")
            self.producer.produce(topic, key=event_id.encode(), value=record.to_json().encode())
        if offsets:
            self.producer.send_offsets_to_transaction(
                offsets, self.consumer.consumer_group_metadata(), 30)
        self.producer.commit_transaction(60)
        self.produced += len(records)
        self.consumed.clear()

    def _caught_up(self) -> bool:
        """Whether every partition of this runner has been read to its end, no chunk waits,
        and every event of its partitions (if it has any) has ended, its work published."""
        if not self.assigned or any(self.queues.values()):
            return False
        ends = {(self.topic[t], p) for t in GROUP_TOPICS for p in self.assigned}
        if not ends <= self.at_end:
            return False
        mine = [s for e, s in self.pipeline.events.items()
                if self.event_partition.get(e) in self.assigned]
        return all(s.ended for s in mine)

    def _group_done(self) -> bool:
        """Whether the group has committed every input partition to its end: the end of a
        batch job. This runner's own partitions say nothing of the others': a member that was
        killed keeps its partitions until its session expires, and a runner given only the
        partitions without events would otherwise stop at once, its work never done."""
        now = time.monotonic()
        if now - self.group_checked < GROUP_CHECK_SECONDS:
            return False
        self.group_checked = now
        TopicPartition = self.kafka.TopicPartition
        if self.checker is None:
            self.checker = self.kafka.Consumer({
                **self.base, "group.id": f"{self.options.group}.check",
                "enable.auto.commit": False, "isolation.level": "read_committed",
                "enable.partition.eof": True})
        partitions = []
        for short in GROUP_TOPICS:
            name = self.topic[short]
            metadata = self.consumer.list_topics(name, timeout=30).topics[name]
            partitions += [TopicPartition(name, p) for p in metadata.partitions]
        starts = [TopicPartition(tp.topic, tp.partition,
                                 tp.offset if tp.offset >= 0 else self.kafka.OFFSET_BEGINNING)
                  for tp in self.consumer.committed(partitions, timeout=30)]
        left = {(tp.topic, tp.partition) for tp in starts}
        self.checker.assign(starts)
        try:
            deadline = time.monotonic() + 30
            while left and time.monotonic() < deadline:
                message = self.checker.poll(0.5)
                if message is None:
                    continue
                if not message.error():
                    return False
                if message.error().code() != self.kafka.KafkaError._PARTITION_EOF:
                    raise self.kafka.KafkaException(message.error())
                left.discard((message.topic(), message.partition()))
        finally:
            self.checker.unassign()
        return not left

    def run(self) -> int:
        """Runs until SIGTERM/SIGINT (or, with ``until_ended``, until every event has ended,
        all its work is published and the group has committed every input partition to its
        end); returns the exit status."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: setattr(self, "stopping", True))
        self.producer.init_transactions(60)
        control = self.kafka.TopicPartition(self.topic["control"], 0,
                                            self.kafka.OFFSET_BEGINNING)
        self._read_to_end(self.control, [control], lambda m: self._observe_message(
            m, own_too=True))
        self.consumer.subscribe([self.topic[s] for s in GROUP_TOPICS],
                                on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.log(f"runner {self.options.transactional_id}: plugins "
                 f"{', '.join(sorted(self.plugins))}; group {self.options.group}")
        started = time.monotonic()
        try:
            while not self.stopping:
                messages = self.consumer.consume(self.options.batch, 0.2)
                self._poll_control(0)
                for message in messages:
                    if message.error():
                        if message.error().code() == self.kafka.KafkaError._PARTITION_EOF:
                            self.at_end.add((message.topic(), message.partition()))
                        else:
                            self.log(f"consumer: {message.error()}")
                        continue
                    self._take(message)
                self._publish(self._work())
                self._release()
                if self.options.until_ended and self._caught_up() and self._group_done():
                    break
        except self.kafka.KafkaException as error:
            self.log(f"runner stopped: Kafka: {error}; start it again to resume exactly "
                     "where the last committed batch ended")
            return 1
        finally:
            self.consumer.close()
            self.control.close()
            if self.checker is not None:
                self.checker.close()
            self.pipeline.close()
        failures = self.pipeline.failures
        self.log(f"runner stopped: {self.chunks_done} chunks, {self.produced} records "
                 f"published in {time.monotonic() - started:.1f} s"
                 + (f", {failures} plugin failures" if failures else ""))
        return 0

