"""The local stack these tests run against: VMON_STACK_FILE names its connection details.

test/integration/python-client.test.ts starts moto, the stack's resources and the real ingest and
model-lifecycle handlers, then runs this suite with VMON_STACK_FILE set. By hand: start
`npm run local` and run `VMON_STACK_FILE=.local/stack.json pytest stack_tests` here.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest

T = TypeVar("T")


@dataclass(frozen=True)
class Stack:
    endpoint: str
    region: str
    ingest_queue_url: str
    dead_letter_queue_url: str
    table_name: str
    event_bus_name: str
    lifecycle_dead_letter_queue_url: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def camera_rest(self, camera_id: str) -> dict[str, Any] | None:
        """The stored camera item's JSON part (lib/core/state-codec.ts ``rest``), None while there is none."""
        item = self.client("dynamodb").get_item(TableName=self.table_name, Key={"pk": {"S": f"camera#{camera_id}"}})
        rest = item.get("Item", {}).get("s", {}).get("S")
        return None if rest is None else dict(json.loads(rest))


@pytest.fixture(scope="session")
def stack(monkeypatch_session: pytest.MonkeyPatch) -> Stack:
    path = os.environ.get("VMON_STACK_FILE")
    if not path:
        raise RuntimeError(
            "VMON_STACK_FILE is not set: these tests need a local stack. Run them through "
            "`npx vitest run test/integration/python-client.test.ts`, or start `npm run local` and set "
            "VMON_STACK_FILE=.local/stack.json"
        )
    s = json.loads(Path(path).read_text(encoding="utf-8"))
    stack = Stack(
        endpoint=s["endpoint"],
        region=s["region"],
        ingest_queue_url=s["ingestQueueUrl"],
        dead_letter_queue_url=s["deadLetterQueueUrl"],
        table_name=s["tableName"],
        event_bus_name=s["eventBusName"],
        lifecycle_dead_letter_queue_url=s["lifecycleDeadLetterQueueUrl"],
    )
    # What a producer on the fleet does: boto3's default chain, pointed at the local endpoint.
    for key, value in {
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_DEFAULT_REGION": stack.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch_session.setenv(key, value)
    return stack


@pytest.fixture(scope="session")
def monkeypatch_session() -> Any:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def wait_for(read: Callable[[], T], done: Callable[[T], bool], timeout_s: float = 20) -> T:
    """Reads until ``done`` holds or the time is up; returns the last value read (assert on it)."""
    value = read()
    deadline = time.monotonic() + timeout_s
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value
