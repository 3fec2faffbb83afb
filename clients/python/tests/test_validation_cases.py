"""Covers the validation of MetricPublisher.publish against test/fixtures/metric-event-cases.json.

The TypeScript suite reads the same file (test/unit/metric-event-cases.test.ts): both clients must
accept the same events and refuse the others with the same reason and field errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from visutility_monitor import FieldError, MetricPublisher, validate_event
from visutility_monitor.publisher import SQS_MAX_BATCH_ENTRIES, SQS_MAX_REQUEST_BYTES

from .conftest import REPO_ROOT

CASES_FILE = REPO_ROOT / "test" / "fixtures" / "metric-event-cases.json"
FILE = json.loads(CASES_FILE.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = FILE["cases"]


class NeverCalled:
    """An SQS client the validation cases must never reach (the linger is an hour and nothing flushes)."""

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> Mapping[str, Any]:
        raise AssertionError("validation cases must not send")


@pytest.fixture(scope="module")
def publisher() -> MetricPublisher:
    return MetricPublisher("unused", sqs_client=NeverCalled(), now_ms=lambda: int(FILE["nowMs"]), linger_s=3600)


def test_cases_assume_the_default_message_size(publisher: MetricPublisher) -> None:
    assert FILE["maxMessageBytes"] == SQS_MAX_REQUEST_BYTES // SQS_MAX_BATCH_ENTRIES == publisher.max_message_bytes


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_publish_agrees_with_the_typescript_client(publisher: MetricPublisher, case: dict[str, Any]) -> None:
    result = publisher.publish(case["event"])
    expected = case["expect"]
    if expected["accepted"]:
        assert (result.accepted, result.reason, result.errors) == (True, "", ())
    else:
        errors = tuple(FieldError(e["path"], e["message"]) for e in expected["errors"])
        assert (result.accepted, result.reason, result.errors) == (False, expected["reason"], errors)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_validate_event_gives_the_same_errors_without_the_size_cut(case: dict[str, Any]) -> None:
    expected = case["expect"]
    errors = validate_event(case["event"], now_ms=int(FILE["nowMs"]))
    wanted = [] if expected["accepted"] else [FieldError(e["path"], e["message"]) for e in expected["errors"]]
    if "bytes of JSON" in expected.get("reason", ""):
        wanted = []  # the message-size cut is the publisher's (it depends on max_message_bytes)
    assert errors == wanted
