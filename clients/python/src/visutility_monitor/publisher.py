"""MetricPublisher: how a Python serving process posts metric events to the ingest queue.

The same client as lib/client/metric-publisher.ts: validates with the Lambda's rules and packs per
camera. A camera's events wait up to ``linger_s`` and go as one JSON-array message (sooner when the
message is full), 10 messages per SendMessageBatch, so the Lambda writes a camera's state once per
message instead of once per event. Only failed entries are retried (full-jitter backoff). The
buffer is bounded; what happens when it is full is ``when_full``. Thread-safe: any thread may
publish; ``max_in_flight`` sender threads do the I/O.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal, Protocol, TypedDict

from .events import FieldError, _now_ms, check_decoded, encode_event, summarize

#: SQS's limit for one message and for one SendMessageBatch request (the sum of its entries).
SQS_MAX_REQUEST_BYTES = 256 * 1024
SQS_MAX_BATCH_ENTRIES = 10
#: Default linger with per-camera packing (docs/fleet-cost.md): detection waits at most 60 s more.
DEFAULT_LINGER_S = 60.0
#: The linger of the old mixed packing (every camera in the same messages).
MIXED_LINGER_S = 0.2

Packing = Literal["per-camera", "mixed"]
WhenFull = Literal["wait", "error", "drop"]


class SqsClient(Protocol):
    """The one call MetricPublisher makes: boto3's SQS client has it."""

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> Mapping[str, Any]: ...


class PublisherOptions(TypedDict, total=False):
    """MetricPublisher's keyword options (README: configuration table)."""

    sqs_client: SqsClient | None
    packing: Packing
    linger_s: float | None
    max_message_bytes: int | None
    max_batch_bytes: int
    max_buffered_events: int
    when_full: WhenFull
    max_in_flight: int
    max_attempts: int
    backoff_base_s: float
    backoff_cap_s: float
    now_ms: Callable[[], int] | None


class BufferFullError(Exception):
    """``publish`` with ``when_full="error"`` while the buffer holds ``capacity`` events."""

    def __init__(self, capacity: int) -> None:
        super().__init__(f"MetricPublisher buffer is full ({capacity} events awaiting delivery)")
        self.capacity = capacity


class PublisherClosedError(Exception):
    def __init__(self) -> None:
        super().__init__("MetricPublisher is closed")


class UndeliveredEventsError(Exception):
    """Events SQS would not take after every attempt, with the last error: the caller decides their fate."""

    def __init__(self, events: list[Any], last_error: str) -> None:
        super().__init__(f"{len(events)} event(s) could not be delivered to SQS: {last_error}")
        self.events = events
        self.last_error = last_error


@dataclass(frozen=True)
class PublishResult:
    """What ``publish`` did with one event. True when accepted."""

    accepted: bool
    #: Refused because the buffer was full (``when_full="drop"``).
    dropped: bool = False
    #: Why validation refused it (the Lambda's own words), and each problem by field.
    reason: str = ""
    errors: tuple[FieldError, ...] = ()

    def __bool__(self) -> bool:
        return self.accepted


@dataclass(frozen=True)
class Rejected:
    reason: str
    errors: tuple[FieldError, ...]
    event: Any


@dataclass
class PublisherCounters:
    #: Events SQS acknowledged.
    sent: int = 0
    #: SQS messages acknowledged.
    messages: int = 0
    #: SendMessageBatch calls made (retries included).
    requests: int = 0
    #: Message entries sent again after a failure (each holds several events).
    retried: int = 0
    #: Events dropped because the buffer was full: only with ``when_full="drop"``.
    dropped: int = 0
    #: Events refused by validation (never sent).
    rejected: int = 0
    #: Events that could not be delivered after ``max_attempts`` (see UndeliveredEventsError).
    undelivered: int = 0


@dataclass
class _Pending:
    json: str
    bytes: int
    id: str


@dataclass
class _OpenMessage:
    events: list[_Pending] = field(default_factory=list)
    event_bytes: int = 0
    ids: set[str] = field(default_factory=set)


@dataclass
class _Entry:
    body: str
    bytes: int
    events: list[_Pending]
    attempts: int = 0


def _array_bytes(count: int, event_bytes: int) -> int:
    """Bytes of a JSON array body holding these events."""
    return 2 + event_bytes + max(0, count - 1)


class MetricPublisher:
    """Validates metric events and sends them to the ingest queue, packed per camera.

    ``publish`` returns once the event is buffered; ``flush`` and ``close`` send everything held and
    wait for SQS. Use it as a context manager so that ``close`` runs.
    """

    def __init__(
        self,
        queue_url: str,
        *,
        sqs_client: SqsClient | None = None,
        packing: Packing = "per-camera",
        linger_s: float | None = None,
        max_message_bytes: int | None = None,
        max_batch_bytes: int = SQS_MAX_REQUEST_BYTES,
        max_buffered_events: int = 10_000,
        when_full: WhenFull = "wait",
        max_in_flight: int = 4,
        max_attempts: int = 10,
        backoff_base_s: float = 0.05,
        backoff_cap_s: float = 5.0,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        if packing not in ("per-camera", "mixed"):
            raise ValueError(f"packing must be 'per-camera' or 'mixed', got {packing!r}")
        if when_full not in ("wait", "error", "drop"):
            raise ValueError(f"when_full must be 'wait', 'error' or 'drop', got {when_full!r}")
        if sqs_client is None:
            import boto3  # only when the caller brings no client: validation alone needs no AWS

            sqs_client = boto3.client("sqs")
        self.queue_url = queue_url
        self.packing: Packing = packing
        default_linger = MIXED_LINGER_S if packing == "mixed" else DEFAULT_LINGER_S
        self.linger_s = max(0.0, default_linger if linger_s is None else linger_s)
        self._sqs = sqs_client
        self._capacity = max(1, max_buffered_events)
        self._when_full: WhenFull = when_full
        self._max_batch_bytes = min(SQS_MAX_REQUEST_BYTES, max_batch_bytes)
        self.max_message_bytes = min(
            self._max_batch_bytes,
            max_message_bytes if max_message_bytes is not None else self._max_batch_bytes // SQS_MAX_BATCH_ENTRIES,
        )
        # Sealed message bytes that make a full batch: sent at once, without waiting for the linger.
        self._full_batch_bytes = 0.9 * min(self._max_batch_bytes, SQS_MAX_BATCH_ENTRIES * self.max_message_bytes)
        self._max_in_flight = max(1, max_in_flight)
        self._max_attempts = max(1, max_attempts)
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._now_ms = now_ms or _now_ms

        self._cond = threading.Condition()
        self._counters = PublisherCounters()
        self._rejections: deque[Rejected] = deque(maxlen=100)
        self._open: dict[str, _OpenMessage] = {}
        self._ready: deque[_Entry] = deque()
        self._ready_bytes = 0
        self._flush_due = False
        self._deadline: float | None = None
        self._held = 0
        self._flushing = 0
        self._closed = False
        self._stopping = False
        self._undelivered: list[Any] = []
        self._last_error = ""
        self._workers: list[threading.Thread] = []

    # --- public ---

    @property
    def counters(self) -> PublisherCounters:
        """A snapshot of the counters."""
        with self._cond:
            return replace(self._counters)

    @property
    def rejections(self) -> list[Rejected]:
        """The most recent validation rejections (up to 100), newest last."""
        with self._cond:
            return list(self._rejections)

    @property
    def pending(self) -> int:
        """Events accepted and not yet acknowledged by SQS (or given up on)."""
        with self._cond:
            return self._held

    def publish(self, event: Mapping[str, Any] | Any) -> PublishResult:
        """Validates one event and buffers it. Returns once it is in the buffer, not once SQS has it.

        An invalid event is not sent: the result says why (``accepted`` False, ``reason``, ``errors``).
        With a full buffer: ``when_full="wait"`` blocks until there is room, ``"error"`` raises
        BufferFullError, ``"drop"`` returns ``dropped`` True and counts it.
        """
        result = self._publish(event, block=True)
        assert result is not None
        return result

    def flush(self) -> None:
        """Sends everything held now and waits until SQS has it.

        Raises UndeliveredEventsError (holding the events) if some could not be delivered.
        """
        with self._cond:
            self._flushing += 1
            try:
                self._send_all_now()
                while self._held > 0:
                    self._cond.wait()
            finally:
                self._flushing -= 1
            undelivered, self._undelivered = self._undelivered, []
            last_error = self._last_error
        if undelivered:
            raise UndeliveredEventsError(undelivered, last_error)

    def close(self) -> None:
        """Refuses new events, sends what is held (see ``flush``) and stops the sender threads."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        try:
            self.flush()
        finally:
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
                workers, self._workers = self._workers, []
            for w in workers:
                w.join()

    def __enter__(self) -> MetricPublisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- buffering (called with or taking self._cond) ---

    def _publish(self, event: Any, *, block: bool) -> PublishResult | None:
        """``publish``; with ``block`` False, None instead of waiting for room."""
        if self._closed:
            raise PublisherClosedError()
        now = self._now_ms()
        encoded = encode_event(event, now)
        if isinstance(encoded, list):
            return self._reject(event, encoded)
        text, decoded = encoded
        errors = check_decoded(decoded, now)
        if errors:
            return self._reject(event, errors)
        size = len(text.encode("utf-8"))
        if _array_bytes(1, size) > self.max_message_bytes:
            message = f"event is {size} bytes of JSON; at most {self.max_message_bytes - 2} fit in one message"
            return self._reject(event, [FieldError("", message)])
        assert isinstance(decoded, dict)
        key = decoded["camera_id"] if self.packing == "per-camera" else ""
        pending = _Pending(text, size, decoded["id"].lower())
        with self._cond:
            while self._held >= self._capacity:
                if self._when_full == "error":
                    raise BufferFullError(self._capacity)
                if self._when_full == "drop":
                    self._counters.dropped += 1
                    return PublishResult(accepted=False, dropped=True)
                if not block:
                    return None
                # Waiting for the linger would only stall the caller: send what is held now.
                self._send_all_now()
                self._cond.wait()
                if self._closed:
                    raise PublisherClosedError()
            if self._closed:
                raise PublisherClosedError()
            self._held += 1
            self._add(key, pending)
            self._start_workers()
        return PublishResult(accepted=True)

    def _reject(self, event: Any, errors: Sequence[FieldError]) -> PublishResult:
        reason = summarize(list(errors))
        with self._cond:
            self._counters.rejected += 1
            self._rejections.append(Rejected(reason, tuple(errors), event))
        return PublishResult(accepted=False, reason=reason, errors=tuple(errors))

    def _add(self, key: str, p: _Pending) -> None:
        m = self._open.get(key)
        # The Lambda refuses a second event with the same id in one message: it goes in the next.
        if m and (_array_bytes(len(m.events) + 1, m.event_bytes + p.bytes) > self.max_message_bytes or p.id in m.ids):
            self._seal(key, m)
            m = None
        if m is None:
            m = self._open[key] = _OpenMessage()
        m.events.append(p)
        m.event_bytes += p.bytes
        m.ids.add(p.id)
        # A flush in progress waits for every held event: this one must not wait for the linger.
        if self._flushing > 0:
            self._send_all_now()
            return
        # The deadline starts with the first event held since the last linger flush, so every held
        # event waits at most linger_s.
        if self._deadline is None:
            self._deadline = time.monotonic() + self.linger_s
            self._cond.notify_all()
        elif self._batch_full():
            self._cond.notify_all()

    def _seal(self, key: str, m: _OpenMessage) -> None:
        del self._open[key]
        body = "[" + ",".join(e.json for e in m.events) + "]"
        size = _array_bytes(len(m.events), m.event_bytes)
        self._ready.append(_Entry(body, size, m.events))
        self._ready_bytes += size

    def _seal_all(self) -> None:
        for key, m in list(self._open.items()):
            self._seal(key, m)
        self._flush_due = len(self._ready) > 0

    def _send_all_now(self) -> None:
        self._deadline = None
        self._seal_all()
        self._cond.notify_all()

    def _batch_full(self) -> bool:
        return len(self._ready) >= SQS_MAX_BATCH_ENTRIES or self._ready_bytes >= self._full_batch_bytes

    def _take_batch(self) -> list[_Entry] | None:
        """Up to 10 ready messages within max_batch_bytes: a full batch always, a partial one when due."""
        if not self._ready or not (self._batch_full() or self._flush_due):
            return None
        entries: list[_Entry] = []
        batch_bytes = 0
        while len(entries) < SQS_MAX_BATCH_ENTRIES and self._ready:
            nxt = self._ready[0]
            if entries and batch_bytes + nxt.bytes > self._max_batch_bytes:
                break
            self._ready.popleft()
            self._ready_bytes -= nxt.bytes
            batch_bytes += nxt.bytes
            entries.append(nxt)
        if not self._ready:
            self._flush_due = False
        return entries

    def _release(self, n: int) -> None:
        self._held -= n
        self._cond.notify_all()

    # --- sending (sender threads) ---

    def _start_workers(self) -> None:
        if self._workers:
            return
        for i in range(self._max_in_flight):
            t = threading.Thread(target=self._work, name=f"MetricPublisher-sender-{i}", daemon=True)
            self._workers.append(t)
            t.start()

    def _next_batch(self) -> list[_Entry] | None:
        """Waits for a batch to send; None once the publisher stops."""
        with self._cond:
            while True:
                if self._deadline is not None and time.monotonic() >= self._deadline:
                    self._deadline = None
                    self._seal_all()
                batch = self._take_batch()
                if batch:
                    return batch
                if self._stopping:
                    return None
                timeout = None if self._deadline is None else max(0.0, self._deadline - time.monotonic())
                self._cond.wait(timeout)

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._send_batch(batch)

    def _send_batch(self, entries: list[_Entry]) -> None:
        """Sends one batch, retrying only the entries that failed, with full-jitter backoff."""
        pending = entries
        attempt = 0
        while pending:
            if attempt > 0:
                with self._cond:
                    self._counters.retried += len(pending)
                time.sleep(random.random() * min(self._backoff_cap_s, self._backoff_base_s * 2 ** (attempt - 1)))
            attempt += 1
            for e in pending:
                e.attempts += 1
            with self._cond:
                self._counters.requests += 1
            failed: dict[str, tuple[str, bool]]
            try:
                r = self._sqs.send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "MessageBody": e.body} for i, e in enumerate(pending)],
                )
                failed = {
                    str(f.get("Id")): (
                        f"{f.get('Code') or 'Failed'}" + (f": {f['Message']}" if f.get("Message") else ""),
                        f.get("SenderFault") is True,
                    )
                    for f in r.get("Failed") or []
                }
            except Exception as err:  # network, throttling, credentials: every entry is tried again
                failed = {str(i): (f"{type(err).__name__}: {err}", False) for i in range(len(pending))}
            again: list[_Entry] = []
            with self._cond:
                for i, e in enumerate(pending):
                    failure = failed.get(str(i))
                    if failure is None:
                        self._counters.sent += len(e.events)
                        self._counters.messages += 1
                        self._release(len(e.events))
                        continue
                    self._last_error = failure[0]
                    # A sender fault (the entry itself is refused) will not succeed on retry.
                    if e.attempts >= self._max_attempts or failure[1]:
                        self._counters.undelivered += len(e.events)
                        self._undelivered.extend(json.loads(ev.json) for ev in e.events)
                        self._release(len(e.events))
                    else:
                        again.append(e)
            pending = again
