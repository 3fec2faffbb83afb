"""Covers MetricPublisher and AsyncMetricPublisher on a real boto3 SQS client against moto (in-process):
per-camera packing with 10 messages per SendMessageBatch, the linger, full messages sent early,
duplicate ids split, mixed packing, retries of only the failed entries (a botocore hook on the
real client fails them), sender faults and exhausted attempts handed back as UndeliveredEventsError,
the bounded buffer's three modes, close/context manager, concurrent publishers, and values JSON
cannot carry (NaN, NumPy-like scalars, objects).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from visutility_monitor import (
    AsyncMetricPublisher,
    BufferFullError,
    MetricPublisher,
    PublisherClosedError,
    UndeliveredEventsError,
    metric_event,
)


def event(camera: str, k: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "timestamp": f"2026-01-05T00:{k // 60 % 60:02d}:{k % 60:02d}Z",
        "camera_id": camera,
        "modality": "Rgb",
        "metric": "DriftScore",
        "value": 0.5,
        **extra,
    }


class Sqs:
    """A moto queue, the real client the publisher uses, and a hook that can fail entries."""

    def __init__(self) -> None:
        self.client = boto3.client("sqs", region_name="us-east-1")
        self.plain = boto3.client("sqs", region_name="us-east-1")  # sends what the hook lets through
        self.queue_url: str = self.client.create_queue(QueueName=f"py-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        self.calls: list[list[str]] = []
        #: call number (1-based) -> entry indexes to fail, and whether as a sender fault
        self.fail: dict[int, tuple[set[int], bool]] = {}
        #: call numbers that raise a transport-level error
        self.raise_on: set[int] = set()
        self._local = threading.local()
        self._lock = threading.Lock()
        self.client.meta.events.register("before-parameter-build.sqs.SendMessageBatch", self._record)
        self.client.meta.events.register("before-call.sqs.SendMessageBatch", self._inject)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        # Sender threads call at once: each remembers its own call (before-call runs on the same thread).
        with self._lock:
            self.calls.append([e["MessageBody"] for e in params["Entries"]])
            self._local.call = len(self.calls)
        self._local.entries = params["Entries"]

    def _inject(self, **_: Any) -> Any:
        n: int = self._local.call
        entries: list[dict[str, str]] = self._local.entries
        if n in self.raise_on:
            raise ConnectionError("injected network failure")
        if n not in self.fail:
            return None
        bad, sender = self.fail[n]
        ok = [e for i, e in enumerate(entries) if i not in bad]
        sent = self.plain.send_message_batch(QueueUrl=self.queue_url, Entries=ok) if ok else {}
        failed = [
            {
                "Id": e["Id"],
                "Code": "InvalidParameterValue" if sender else "InternalError",
                "Message": "injected",
                "SenderFault": sender,
            }
            for i, e in enumerate(entries)
            if i in bad
        ]
        return SimpleNamespace(status_code=200, headers={}), {
            "Successful": sent.get("Successful", []),
            "Failed": failed,
        }

    def received(self) -> list[list[dict[str, Any]]]:
        """Every message body in the queue (deleted), each as its list of events."""
        out: list[list[dict[str, Any]]] = []
        while True:
            r = self.plain.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            if not r.get("Messages"):
                return out
            for m in r["Messages"]:
                out.append(json.loads(m["Body"]))
                self.plain.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def sqs(aws_env: None) -> Iterator[Sqs]:
    with mock_aws():
        yield Sqs()


def test_packs_per_camera_ten_messages_per_batch(sqs: Sqs) -> None:
    with MetricPublisher(sqs.queue_url, sqs_client=sqs.client) as p:
        sent = [event(f"cam-{c}", k) for k in range(5) for c in range(12)]
        for e in sent:
            assert p.publish(e)
        assert sqs.calls == []  # the linger (60 s) holds them
    messages = sqs.received()
    assert len(messages) == 12
    assert all(len({e["camera_id"] for e in m}) == 1 and len(m) == 5 for m in messages)
    assert sorted(len(c) for c in sqs.calls) == [2, 10]
    assert sorted(e["id"] for m in messages for e in m) == sorted(e["id"] for e in sent)
    c = p.counters
    assert (c.sent, c.messages, c.requests, c.retried, c.undelivered) == (60, 12, 2, 0, 0)


def test_the_linger_sends_without_a_flush(sqs: Sqs) -> None:
    p = MetricPublisher(sqs.queue_url, sqs_client=sqs.client, linger_s=0.5)
    try:
        start = time.monotonic()
        p.publish(event("cam-1"))
        p.publish(event("cam-2"))
        time.sleep(0.2)
        assert sqs.calls == []
        deadline = time.monotonic() + 5
        while p.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        assert p.pending == 0
        assert time.monotonic() - start >= 0.5
        assert len(sqs.calls) == 1 and len(sqs.calls[0]) == 2
    finally:
        p.close()


def test_full_messages_and_full_batches_go_before_the_linger(sqs: Sqs) -> None:
    p = MetricPublisher(sqs.queue_url, sqs_client=sqs.client, max_message_bytes=1000)
    try:
        for k in range(130):  # ~160 bytes each: 6 per message, 21 full messages and one open
            p.publish(event("cam-1", k))
        deadline = time.monotonic() + 5
        while p.counters.messages < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert p.counters.messages == 20  # two full batches went; the rest waits for the linger (60 s)
        assert [len(call) for call in sqs.calls] == [10, 10]
        assert all(len(body.encode()) <= 1000 for call in sqs.calls for body in call)
        assert all(len(json.loads(body)) == 6 for call in sqs.calls for body in call)
    finally:
        p.close()
    assert p.counters.sent == 130


def test_a_repeated_id_goes_in_the_next_message(sqs: Sqs) -> None:
    e = event("cam-1")
    with MetricPublisher(sqs.queue_url, sqs_client=sqs.client) as p:
        assert p.publish(e)
        assert p.publish(dict(e, id=e["id"].upper()))
    assert [len(m) for m in sqs.received()] == [1, 1]


def test_mixed_packing_shares_messages(sqs: Sqs) -> None:
    with MetricPublisher(sqs.queue_url, sqs_client=sqs.client, packing="mixed") as p:
        assert p.linger_s == 0.2
        for c in range(4):
            p.publish(event(f"cam-{c}"))
    assert [len({e["camera_id"] for e in m}) for m in sqs.received()] == [4]


def test_only_failed_entries_are_retried_with_the_same_body(sqs: Sqs) -> None:
    sqs.fail[1] = ({1, 3}, False)
    with MetricPublisher(sqs.queue_url, sqs_client=sqs.client, backoff_base_s=0.01) as p:
        for camera in range(5):
            p.publish(event(f"cam-{camera}"))
    assert len(sqs.calls) == 2
    assert sqs.calls[1] == [sqs.calls[0][1], sqs.calls[0][3]]
    assert len(sqs.received()) == 5
    c = p.counters
    assert (c.sent, c.messages, c.requests, c.retried, c.undelivered) == (5, 5, 2, 2, 0)


def test_a_sender_fault_is_handed_back_at_once(sqs: Sqs) -> None:
    sqs.fail[1] = ({0}, True)
    p = MetricPublisher(sqs.queue_url, sqs_client=sqs.client)
    first = event("cam-0")
    p.publish(first)
    p.publish(event("cam-1"))
    with pytest.raises(UndeliveredEventsError) as raised:
        p.close()
    assert raised.value.events == [first]
    assert "InvalidParameterValue: injected" in str(raised.value)
    assert len(sqs.calls) == 1
    assert (p.counters.sent, p.counters.undelivered) == (1, 1)


def test_attempts_run_out_on_network_failures(sqs: Sqs) -> None:
    sqs.raise_on.update({1, 2, 3})
    p = MetricPublisher(sqs.queue_url, sqs_client=sqs.client, max_attempts=3, backoff_base_s=0.01)
    e = event("cam-0")
    p.publish(e)
    with pytest.raises(UndeliveredEventsError) as raised:
        p.flush()
    assert raised.value.events == [e]
    assert "injected network failure" in raised.value.last_error
    assert (p.counters.requests, p.counters.retried, p.counters.undelivered) == (3, 2, 1)
    p.publish(event("cam-0"))  # still usable: the next call succeeds
    p.close()
    assert p.counters.sent == 1


class SlowClient:
    """Holds every SendMessageBatch until released, so the buffer stays full."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.release = threading.Event()

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.release.wait(10)
        return self.inner.send_message_batch(**kwargs)


def test_a_full_buffer_drops_and_counts(sqs: Sqs) -> None:
    slow = SlowClient(sqs.client)
    p = MetricPublisher(sqs.queue_url, sqs_client=slow, max_buffered_events=3, when_full="drop")
    results = [p.publish(event(f"cam-{k}")) for k in range(5)]
    assert [r.accepted for r in results] == [True, True, True, False, False]
    assert all(r.dropped for r in results[3:])
    slow.release.set()
    p.close()
    assert (p.counters.sent, p.counters.dropped) == (3, 2)


def test_a_full_buffer_raises(sqs: Sqs) -> None:
    slow = SlowClient(sqs.client)
    p = MetricPublisher(sqs.queue_url, sqs_client=slow, max_buffered_events=2, when_full="error")
    p.publish(event("cam-1"))
    p.publish(event("cam-2"))
    with pytest.raises(BufferFullError, match="2 events awaiting delivery"):
        p.publish(event("cam-3"))
    slow.release.set()
    p.close()


def test_a_full_buffer_waits_and_sends_what_it_holds(sqs: Sqs) -> None:
    slow = SlowClient(sqs.client)
    p = MetricPublisher(sqs.queue_url, sqs_client=slow, max_buffered_events=2)  # when_full="wait"
    p.publish(event("cam-1"))
    p.publish(event("cam-2"))
    done = threading.Event()

    def third() -> None:
        p.publish(event("cam-3"))
        done.set()

    threading.Thread(target=third).start()
    assert not done.wait(0.3)  # blocked: two held, the linger has not run out, yet they are being sent
    slow.release.set()
    assert done.wait(5)
    p.close()
    assert p.counters.sent == 3


def test_close_refuses_new_events(sqs: Sqs) -> None:
    p = MetricPublisher(sqs.queue_url, sqs_client=sqs.client)
    p.close()
    with pytest.raises(PublisherClosedError):
        p.publish(event("cam-1"))
    p.close()  # twice is fine


def test_threads_publish_at_once_and_every_event_arrives_once(sqs: Sqs) -> None:
    ids: list[str] = []
    lock = threading.Lock()
    with MetricPublisher(sqs.queue_url, sqs_client=sqs.client, linger_s=0.05, max_message_bytes=4000) as p:

        def serve(worker: int) -> None:
            for k in range(200):
                e = event(f"cam-{(worker * 7 + k) % 13}", k)
                assert p.publish(e)
                with lock:
                    ids.append(e["id"])

        threads = [threading.Thread(target=serve, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    messages = sqs.received()
    got = [e["id"] for m in messages for e in m]
    assert sorted(got) == sorted(ids) and len(got) == 1200
    assert all(len({e["camera_id"] for e in m}) == 1 for m in messages)


def test_asyncio_publisher(sqs: Sqs) -> None:
    async def serve() -> AsyncMetricPublisher:
        async with AsyncMetricPublisher(sqs.queue_url, sqs_client=sqs.client, max_buffered_events=5) as p:
            for k in range(20):
                assert await p.publish(event(f"cam-{k % 3}", k))
            bad = await p.publish(event("cam-1", value=-1))
            assert bad.reason == "value -1 must be >= 0 for DriftScore"
        return p

    p = asyncio.run(serve())
    assert (p.counters.sent, p.counters.rejected, p.pending) == (20, 1, 0)
    assert sum(len(m) for m in sqs.received()) == 20


class FakeNumpyScalar:
    def __init__(self, v: float) -> None:
        self.v = v

    def item(self) -> float:
        return self.v


def test_values_json_cannot_carry(sqs: Sqs) -> None:
    with MetricPublisher(sqs.queue_url, sqs_client=sqs.client) as p:
        assert p.publish(event("cam-1", value=float("nan"))).reason == "value must be a finite number, got NaN"
        assert p.publish(event("cam-1", value=float("-inf"))).reason == "value must be a finite number, got -Infinity"
        assert p.publish(event("cam-1", note=float("inf"))).reason == (
            "event is not serializable as JSON: NaN and Infinity are not JSON numbers"
        )
        assert p.publish(event("cam-1", value=object())).reason.startswith(
            "event is not serializable as JSON: Object of type object is not JSON serializable"
        )
        assert p.publish(event("cam-1", value=FakeNumpyScalar(0.25)))  # NumPy scalars: their .item()
        assert p.publish(metric_event("cam-2", "Thermal", "Accuracy", 0.9, sample_count=120, model_version="m-1"))
        assert len(p.rejections) == 4 and p.rejections[0].event["value"] != p.rejections[0].event["value"]
    bodies = sorted((e["camera_id"], e["value"]) for m in sqs.received() for e in m)
    assert bodies == [("cam-1", 0.25), ("cam-2", 0.9)]
