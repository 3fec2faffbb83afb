"""Covers LifecycleNotifier on a real boto3 EventBridge client against moto (in-process): the
RetrainingCompleted / ModelDeployed events it puts on the bus reach a rule matching the stack's
lifecycle pattern (detail-type only, any source) with the detail fields of
schemas/in.RetrainingCompleted.json; camera and cohort scope; details the model-lifecycle function
would dead-letter are refused before sending, naming the field; entries EventBridge refuses raise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto import mock_aws

from visutility_monitor import LifecycleEventError, LifecycleNotifier, lifecycle_detail

from .conftest import REPO_ROOT

SCHEMA_FIELDS = set(json.loads((REPO_ROOT / "schemas/in.RetrainingCompleted.json").read_text())["properties"])


class Bus:
    def __init__(self) -> None:
        self.events = boto3.client("events", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.events.create_event_bus(Name="visutility-test-bus")
        self.queue_url: str = self.sqs.create_queue(QueueName="lifecycle")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        # The stack's LIFECYCLE_PATTERN (lib/resources.ts).
        pattern = {"detail-type": ["RetrainingCompleted", "ModelDeployed"]}
        self.events.put_rule(Name="lifecycle", EventBusName="visutility-test-bus", EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule="lifecycle", EventBusName="visutility-test-bus", Targets=[{"Id": "q", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        r = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [json.loads(m["Body"]) for m in r.get("Messages", [])]


@pytest.fixture
def bus(aws_env: None) -> Iterator[Bus]:
    with mock_aws():
        yield Bus()


def test_camera_scope_events_reach_the_lifecycle_rule(bus: Bus) -> None:
    n = LifecycleNotifier("visutility-test-bus", events_client=bus.events)
    at = datetime(2026, 1, 5, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    event_id = n.retraining_completed(camera_id="cam-17", modality="Rgb", model_version="m-4", trigger_id="t-1", at=at)
    n.model_deployed(camera_id="cam-17", modality="Rgb", model_version="m-5")
    got = bus.received()
    assert [e["detail-type"] for e in got] == ["RetrainingCompleted", "ModelDeployed"]
    assert got[0]["id"] == event_id
    assert got[0]["source"] == "visutility.training-pipeline"
    assert got[0]["detail"] == {
        "cameraId": "cam-17",
        "modality": "Rgb",
        "modelVersion": "m-4",
        "triggerId": "t-1",
        "at": "2026-01-05T10:00:00.000Z",
    }
    assert set(got[0]["detail"]) <= SCHEMA_FIELDS
    assert got[1]["detail"] == {"cameraId": "cam-17", "modality": "Rgb", "modelVersion": "m-5"}


def test_cohort_scope_names_model_version_and_modality(bus: Bus) -> None:
    LifecycleNotifier("visutility-test-bus", events_client=bus.events, source="ml.pipeline").model_deployed(
        model_version="yolo-v8", modality="Thermal"
    )
    [e] = bus.received()
    assert (e["source"], e["detail"]) == ("ml.pipeline", {"modality": "Thermal", "modelVersion": "yolo-v8"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "detail.cameraId is required (or modelVersion and modality for a cohort)"),
        ({"model_version": "m-1"}, "detail.cameraId is required (or modelVersion and modality for a cohort)"),
        ({"camera_id": ""}, "detail.cameraId must be a string of 1 to 128 characters without control characters"),
        ({"camera_id": "c" * 129}, "detail.cameraId must be a string of 1 to 128 characters"),
        ({"camera_id": "cam\n1"}, "without control characters"),
        ({"camera_id": "cam-1", "modality": "RGB"}, "detail.modality must be one of Rgb | Thermal | Depth, got 'RGB'"),
        ({"camera_id": "cam-1", "at": "yesterday"}, "detail.at 'yesterday' is not an RFC 3339 date-time"),
        ({"camera_id": "cam-1", "trigger_id": ""}, "detail.triggerId must be a non-empty string"),
    ],
)
def test_details_the_function_would_refuse_are_not_sent(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(LifecycleEventError) as raised:
        lifecycle_detail(**kwargs)
    assert message in str(raised.value)


class Refusing:
    def __init__(self, code: str) -> None:
        self.code = code
        self.calls = 0

    def put_events(self, *, Entries: list[dict[str, str]]) -> Mapping[str, Any]:
        self.calls += 1
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": self.code, "ErrorMessage": "no"}]}


def test_refused_entries_raise_after_retrying_what_can_succeed() -> None:
    throttled = Refusing("ThrottlingException")
    n = LifecycleNotifier("bus", events_client=throttled, max_attempts=3, backoff_base_s=0.001)
    with pytest.raises(LifecycleEventError, match="EventBridge refused the RetrainingCompleted event: Throttling"):
        n.retraining_completed(camera_id="cam-1")
    assert throttled.calls == 3
    denied = Refusing("AccessDeniedException")
    with pytest.raises(LifecycleEventError, match="AccessDenied"):
        LifecycleNotifier("bus", events_client=denied, max_attempts=3).model_deployed(camera_id="cam-1")
    assert denied.calls == 1
