"""Covers the package against the local stack (moto + the real ingest and model-lifecycle handlers):
events MetricPublisher sends are applied to each camera's stored state; the events it refuses,
sent anyway with plain boto3, are dead-lettered by the Lambda with the very reason the package
gave; LifecycleNotifier's RetrainingCompleted / ModelDeployed are applied (baselines reset, model
version recorded), and a detail it refuses is dead-lettered by the function with the same words.
Writes the cameras and stream counts it sent to VMON_APPLIED_FILE (when set) for the TypeScript
side to read back through the state codec.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from visutility_monitor import (
    METRICS,
    LifecycleEventError,
    LifecycleNotifier,
    MetricPublisher,
    lifecycle_detail,
    metric_event,
    summarize,
    validate_event,
)

from .conftest import Stack, wait_for

REPO_ROOT = Path(__file__).resolve().parents[3]
RUN = uuid.uuid4().hex[:8]


def letters(
    stack: Stack, queue_url: str, ours: Callable[[str, str], bool], wanted: int, timeout_s: float = 20
) -> dict[str, str]:
    """Our dead letters (``ours(source message id, body)``) by source message id -> reason, until ``wanted``
    arrived. Ours are deleted; others (a user's `npm run local` may hold some) are left for later.
    """
    sqs = stack.client("sqs")
    out: dict[str, str] = {}

    def read() -> dict[str, str]:
        r = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=1,
            MessageAttributeNames=["All"],
        )
        for m in r.get("Messages", []):
            attrs = m.get("MessageAttributes", {})
            source = attrs.get("vmon-source-message-id", {}).get("StringValue", "")
            if ours(source, m["Body"]):
                out[source] = attrs.get("vmon-reason", {}).get("StringValue", "")
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        return out

    return wait_for(read, lambda v: len(v) >= wanted, timeout_s)


def test_events_sent_by_the_package_are_applied(stack: Stack) -> None:
    start = datetime.now(timezone.utc) - timedelta(minutes=10)
    cameras = [f"py-{RUN}-{c}" for c in range(3)]
    with MetricPublisher(stack.ingest_queue_url, linger_s=0.5) as publisher:
        for rnd in range(4):
            for c, camera in enumerate(cameras):
                for k, metric in enumerate(METRICS):
                    quality = metric in ("Accuracy", "Precision", "Recall")
                    result = publisher.publish(
                        metric_event(
                            camera,
                            ("Rgb", "Thermal", "Depth")[c],
                            metric,
                            0.9 if quality else 40.0 if metric == "LatencyMs" else 0.2,
                            model_version="m-1",
                            sample_count=200 if quality else None,
                            timestamp=start + timedelta(seconds=10 * rnd + k),
                        )
                    )
                    assert result, result.reason
    assert (publisher.counters.sent, publisher.counters.messages) == (60, 3)
    for c, camera in enumerate(cameras):
        modality = ("Rgb", "Thermal", "Depth")[c]
        rest = wait_for(lambda cam=camera: stack.camera_rest(cam), lambda r: r is not None)  # type: ignore[misc]
        assert rest is not None and rest["mv"] == {modality: "m-1"}
    applied_file = os.environ.get("VMON_APPLIED_FILE")
    if applied_file:
        expected = {
            camera: {f"{('Rgb', 'Thermal', 'Depth')[c]}.{m}": 4 for m in METRICS} for c, camera in enumerate(cameras)
        }
        Path(applied_file).write_text(json.dumps(expected), encoding="utf-8")


def refused_now() -> list[tuple[Any, str]]:
    """The shared fixture's events this package refuses at the current time, with its reasons."""
    cases = json.loads((REPO_ROOT / "test/fixtures/metric-event-cases.json").read_text(encoding="utf-8"))["cases"]
    out: list[tuple[Any, str]] = []
    for case in cases:
        event = case["event"]
        # An array body is several events (the Lambda reads its elements); the size cut is the client's own.
        if isinstance(event, list) or "notes" in (event if isinstance(event, dict) else {}):
            continue
        errors = validate_event(event)
        if errors:
            out.append((event, summarize(errors)))
    return out


def test_refused_events_sent_anyway_are_dead_lettered_with_the_same_reason(stack: Stack) -> None:
    sqs = stack.client("sqs")
    refused = refused_now()
    assert len(refused) > 60
    expected: dict[str, str] = {}
    for event, reason in refused:
        body = json.dumps(event, ensure_ascii=False)
        expected[sqs.send_message(QueueUrl=stack.ingest_queue_url, MessageBody=body)["MessageId"]] = reason
    got = letters(stack, stack.dead_letter_queue_url, lambda source, _: source in expected, len(expected), 40)
    mismatched = {k: (v, got.get(k)) for k, v in expected.items() if got.get(k) != v}
    assert mismatched == {}


def test_lifecycle_events_are_applied_and_refused_ones_dead_lettered(stack: Stack) -> None:
    camera = f"py-{RUN}-lifecycle"
    with MetricPublisher(stack.ingest_queue_url, linger_s=0.1) as publisher:
        for k in range(3):
            publisher.publish(
                metric_event(camera, "Rgb", "DriftScore", 0.2, model_version="m-1", timestamp=f"2026-01-05T00:00:0{k}Z")
            )
    assert wait_for(lambda: stack.camera_rest(camera), lambda r: r is not None) is not None

    notifier = LifecycleNotifier(stack.event_bus_name)
    at = datetime(2026, 1, 5, 0, 5, tzinfo=timezone.utc)
    notifier.retraining_completed(camera_id=camera, modality="Rgb", trigger_id="t-1", at=at)
    rest = wait_for(lambda: stack.camera_rest(camera), lambda r: bool(r and r.get("reset")))
    assert rest is not None and rest["reset"] == {"Rgb": int(at.timestamp() * 1000)}
    notifier.model_deployed(camera_id=camera, modality="Rgb", model_version="m-2")
    rest = wait_for(lambda: stack.camera_rest(camera), lambda r: bool(r and r["mv"].get("Rgb") == "m-2"))
    assert rest is not None and rest["mv"] == {"Rgb": "m-2"}

    # A detail without camera or cohort: the helper refuses it; put on the bus anyway, the function
    # dead-letters it with the same reason.
    with pytest.raises(LifecycleEventError) as refused:
        lifecycle_detail(model_version="m-2")
    events = stack.client("events")
    events.put_events(
        Entries=[
            {
                "EventBusName": stack.event_bus_name,
                "Source": "py.test",
                "DetailType": "RetrainingCompleted",
                "Detail": json.dumps({"modelVersion": "m-2", "triggerId": f"py-{RUN}"}),
            }
        ]
    )
    got = letters(stack, stack.lifecycle_dead_letter_queue_url, lambda _, body: f"py-{RUN}" in body, 1)
    assert list(got.values()) == [str(refused.value)]
