"""Packs VisuTility metric events per camera and sends them to the ingest queue with boto3.

The same packing as the Node MetricPublisher (lib/client/metric-publisher.ts): a camera's events
wait up to `linger_s` and go as one JSON-array message (sooner when the message is full), 10
messages per SendMessageBatch; only failed entries are retried, with full-jitter backoff. The
Lambda then writes a camera's state once per message instead of once per event.

    producer = MetricProducer(queue_url)            # boto3's default credentials and region
    producer.publish({"id": str(uuid4()), "timestamp": "2026-01-05T00:00:00Z", "camera_id": "cam-1",
                      "modality": "Rgb", "metric": "DriftScore", "value": 0.42})
    producer.close()                                # sends what is held; raises if SQS refused some
"""
from __future__ import annotations

import json
import math
import random
import threading
import time

import boto3

METRICS = ("Accuracy", "Precision", "Recall", "DriftScore", "LatencyMs")
MODALITIES = ("Rgb", "Thermal", "Depth")
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024


class UndeliveredEvents(Exception):
    """Events SQS would not take after every attempt: the caller decides their fate."""

    def __init__(self, events: list[dict], last_error: str):
        super().__init__(f"{len(events)} event(s) could not be delivered to SQS: {last_error}")
        self.events = events


def check_event(event: dict) -> None:
    """Raises ValueError naming the field, for what the Lambda would refuse outright."""
    if not isinstance(event, dict):
        raise ValueError(f"event must be a JSON object, got {type(event).__name__}")
    for field in ("id", "timestamp", "camera_id"):
        if not isinstance(event.get(field), str) or not event[field]:
            raise ValueError(f"{field}: must be a non-empty string, got {event.get(field)!r}")
    if event.get("modality") not in MODALITIES:
        raise ValueError(f"modality: must be one of {' | '.join(MODALITIES)}, got {event.get('modality')!r}")
    if event.get("metric") not in METRICS:
        raise ValueError(f"metric: must be one of {' | '.join(METRICS)}, got {event.get('metric')!r}")
    value = event.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"value: must be a finite number, got {value!r}")


class MetricProducer:
    def __init__(self, queue_url: str, sqs=None, linger_s: float = 60.0,
                 max_message_bytes: int = MAX_BATCH_BYTES // MAX_BATCH_ENTRIES, max_attempts: int = 10):
        self.queue_url = queue_url
        self.sqs = sqs or boto3.client("sqs")
        self.linger_s = linger_s
        self.max_message_bytes = max_message_bytes
        self.max_attempts = max_attempts
        self.sent = self.messages = self.requests = self.retried = 0
        self._open: dict[str, list[str]] = {}  # camera_id -> JSON texts of its held events
        self._open_ids: dict[str, set[str]] = {}  # camera_id -> ids in its open message
        self._ready: list[list[str]] = []  # full messages waiting for a batch
        self._deadline: float | None = None  # when the oldest held event reaches linger_s
        self._undelivered: list[dict] = []
        self._last_error = ""
        self._lock = threading.Condition()
        self._closed = False
        self._timer = threading.Thread(target=self._linger_loop, daemon=True)
        self._timer.start()

    def publish(self, event: dict) -> None:
        check_event(event)
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        if len(text.encode()) + 2 > self.max_message_bytes:
            raise ValueError(f"event is {len(text.encode())} bytes of JSON; at most {self.max_message_bytes - 2} fit")
        with self._lock:
            if self._closed:
                raise RuntimeError("MetricProducer is closed")
            camera = event["camera_id"]
            held = self._open.get(camera, [])
            # The Lambda refuses a second event with the same id in one message: it goes in the next.
            if held and (_body_bytes(held + [text]) > self.max_message_bytes or event["id"] in self._open_ids[camera]):
                self._ready.append(self._open.pop(camera))
                held = []
            if not held:
                self._open[camera] = held
                self._open_ids[camera] = set()
            held.append(text)
            self._open_ids[camera].add(event["id"])
            if self._deadline is None:
                self._deadline = time.monotonic() + self.linger_s
                self._lock.notify_all()
            full = self._take_full()
        for batch in full:
            self._send(batch)

    def flush(self) -> None:
        """Sends everything held now and raises UndeliveredEvents for what SQS refused."""
        with self._lock:
            batches = self._take_all()
        for batch in batches:
            self._send(batch)
        with self._lock:
            undelivered, self._undelivered = self._undelivered, []
        if undelivered:
            raise UndeliveredEvents(undelivered, self._last_error)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self.flush()

    def _linger_loop(self) -> None:
        while True:
            with self._lock:
                while not self._closed and (self._deadline is None or time.monotonic() < self._deadline):
                    self._lock.wait(None if self._deadline is None else self._deadline - time.monotonic())
                if self._closed:
                    return
                batches = self._take_all()
            for batch in batches:
                self._send(batch)

    def _take_full(self) -> list[list[list[str]]]:
        out = []
        while len(self._ready) >= MAX_BATCH_ENTRIES:
            out.append(self._next_batch())
        return out

    def _take_all(self) -> list[list[list[str]]]:
        self._ready.extend(self._open.values())
        self._open.clear()
        self._open_ids.clear()
        self._deadline = None
        out = []
        while self._ready:
            out.append(self._next_batch())
        return out

    def _next_batch(self) -> list[list[str]]:
        batch, size = [], 0
        while self._ready and len(batch) < MAX_BATCH_ENTRIES:
            body = _body_bytes(self._ready[0])
            if batch and size + body > MAX_BATCH_BYTES:
                break
            batch.append(self._ready.pop(0))
            size += body
        return batch

    def _send(self, messages: list[list[str]]) -> None:
        pending = list(messages)
        for attempt in range(self.max_attempts):
            if attempt:
                with self._lock:
                    self.retried += len(pending)
                time.sleep(random.uniform(0, min(5.0, 0.05 * 2 ** (attempt - 1))))
            entries = [{"Id": str(i), "MessageBody": f"[{','.join(m)}]"} for i, m in enumerate(pending)]
            with self._lock:
                self.requests += 1
            try:
                failed = {f["Id"]: f for f in self.sqs.send_message_batch(
                    QueueUrl=self.queue_url, Entries=entries).get("Failed", [])}
            except Exception as err:  # network or throttling: every entry is retried
                failed = {e["Id"]: {"Code": type(err).__name__, "Message": str(err), "SenderFault": False}
                          for e in entries}
            again = []
            for i, m in enumerate(pending):
                f = failed.get(str(i))
                if f is None:
                    with self._lock:
                        self.sent += len(m)
                        self.messages += 1
                    continue
                self._last_error = f"{f.get('Code')}: {f.get('Message', '')}"
                if f.get("SenderFault"):  # the entry itself is refused: a retry will not help
                    self._give_up(m)
                else:
                    again.append(m)
            pending = again
            if not pending:
                return
        for m in pending:
            self._give_up(m)

    def _give_up(self, message: list[str]) -> None:
        with self._lock:
            self._undelivered.extend(json.loads(t) for t in message)


def _body_bytes(texts: list[str]) -> int:
    return 2 + sum(len(t.encode()) for t in texts) + max(0, len(texts) - 1)


if __name__ == "__main__":
    # A small fleet for trying the producer against `npm run local` (AWS_ENDPOINT_URL from .local/stack.json):
    #   python producer.py QUEUE_URL [cameras] [rounds]
    import sys
    import uuid
    from datetime import datetime, timedelta, timezone

    queue_url, cameras, rounds = sys.argv[1], int(sys.argv[2:3] and sys.argv[2] or 5), int(sys.argv[3:4] and sys.argv[3] or 6)
    start = datetime.now(timezone.utc) - timedelta(seconds=10 * rounds)
    producer = MetricProducer(queue_url)
    for r in range(rounds):
        for c in range(cameras):
            for k, metric in enumerate(METRICS):
                value = {"LatencyMs": 40.0, "DriftScore": 0.2}.get(metric, 0.9)
                event = {"id": str(uuid.uuid4()), "camera_id": f"py-cam-{c}", "modality": MODALITIES[c % 3],
                         "metric": metric, "value": value,
                         "timestamp": (start + timedelta(seconds=10 * r + 2 * k)).isoformat().replace("+00:00", "Z")}
                if metric in ("Accuracy", "Precision", "Recall"):
                    event["sample_count"] = 200
                producer.publish(event)
    producer.close()
    print(json.dumps({"sent": producer.sent, "messages": producer.messages, "requests": producer.requests}))
