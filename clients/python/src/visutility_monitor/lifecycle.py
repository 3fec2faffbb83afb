"""Closing the loop from a training pipeline: RetrainingCompleted / ModelDeployed on the monitor bus.

The model-lifecycle function (lib/app/model-lifecycle.ts) reads these from the bus's lifecycle rule:
for a camera it resets the baselines and lifts the retrain-in-flight hold; for a cohort (no camera,
``model_version`` + ``modality``) it closes the cohort's episode. Details: docs/triggers.md, schemas
``in.RetrainingCompleted.json`` / ``in.ModelDeployed.json``.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

from .events import MAX_CAMERA_ID_LENGTH, MAX_MODEL_VERSION_LENGTH, MODALITIES, Modality, parse_rfc3339, rfc3339

LifecycleType = Literal["RetrainingCompleted", "ModelDeployed"]
#: Any source reaches the lifecycle rule (it matches on detail-type); ``aws.*`` is reserved by AWS.
DEFAULT_SOURCE = "visutility.training-pipeline"


class EventsClient(Protocol):
    """The one call LifecycleNotifier makes: boto3's EventBridge client has it."""

    def put_events(self, *, Entries: list[dict[str, str]]) -> Mapping[str, Any]: ...


class LifecycleEventError(ValueError):
    """The event was refused: by this check (before sending) or by EventBridge (after every attempt)."""


class LifecycleNotifier:
    """Puts RetrainingCompleted / ModelDeployed events on the monitor's event bus.

    ``event_bus_name`` is the stack's bus (``visutility-<stage>-bus``; ``eventBusName`` in
    ``.local/stack.json`` for ``npm run local``). The sender needs ``events:PutEvents`` on it.
    """

    def __init__(
        self,
        event_bus_name: str,
        *,
        events_client: EventsClient | None = None,
        source: str = DEFAULT_SOURCE,
        max_attempts: int = 5,
        backoff_base_s: float = 0.05,
        backoff_cap_s: float = 2.0,
    ) -> None:
        if events_client is None:
            import boto3

            events_client = boto3.client("events")
        self.event_bus_name = event_bus_name
        self.source = source
        self._events = events_client
        self._max_attempts = max(1, max_attempts)
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s

    def retraining_completed(
        self,
        *,
        camera_id: str | None = None,
        modality: Modality | None = None,
        model_version: str | None = None,
        trigger_id: str | None = None,
        at: datetime | str | None = None,
    ) -> str:
        """A retrain finished: the camera (or the cohort ``model_version`` + ``modality``) restarts its baselines.

        Returns the EventBridge event id.
        """
        return self.put(
            "RetrainingCompleted",
            camera_id=camera_id,
            modality=modality,
            model_version=model_version,
            trigger_id=trigger_id,
            at=at,
        )

    def model_deployed(
        self,
        *,
        camera_id: str | None = None,
        modality: Modality | None = None,
        model_version: str | None = None,
        trigger_id: str | None = None,
        at: datetime | str | None = None,
    ) -> str:
        """A model went live on the camera (or the cohort). Returns the EventBridge event id."""
        return self.put(
            "ModelDeployed",
            camera_id=camera_id,
            modality=modality,
            model_version=model_version,
            trigger_id=trigger_id,
            at=at,
        )

    def put(
        self,
        detail_type: LifecycleType,
        *,
        camera_id: str | None = None,
        modality: Modality | None = None,
        model_version: str | None = None,
        trigger_id: str | None = None,
        at: datetime | str | None = None,
    ) -> str:
        detail = lifecycle_detail(
            camera_id=camera_id, modality=modality, model_version=model_version, trigger_id=trigger_id, at=at
        )
        entry = {
            "EventBusName": self.event_bus_name,
            "Source": self.source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":"), ensure_ascii=False),
        }
        last = ""
        for attempt in range(self._max_attempts):
            if attempt:
                time.sleep(random.random() * min(self._backoff_cap_s, self._backoff_base_s * 2 ** (attempt - 1)))
            r = self._events.put_events(Entries=[entry])
            result = (r.get("Entries") or [{}])[0]
            if not r.get("FailedEntryCount") and result.get("EventId"):
                return str(result["EventId"])
            last = f"{result.get('ErrorCode', 'Failed')}: {result.get('ErrorMessage', '')}"
            if result.get("ErrorCode") not in _RETRYABLE:
                break
        raise LifecycleEventError(f"EventBridge refused the {detail_type} event: {last}")


_RETRYABLE = frozenset({"ThrottlingException", "InternalFailure", "InternalException", "ServiceUnavailable"})
_CONTROL_RE = re.compile("[\u0000-\u001f\u007f-\u009f]")


def lifecycle_detail(
    *,
    camera_id: str | None = None,
    modality: Modality | None = None,
    model_version: str | None = None,
    trigger_id: str | None = None,
    at: datetime | str | None = None,
) -> dict[str, str]:
    """The event detail (``schemas/in.RetrainingCompleted.json``), or LifecycleEventError naming the field.

    Refuses what the model-lifecycle function would dead-letter, in its words where it has them.
    """
    problems: list[str] = []
    detail: dict[str, str] = {}
    for key, value, limit in (
        ("cameraId", camera_id, MAX_CAMERA_ID_LENGTH),
        ("modelVersion", model_version, MAX_MODEL_VERSION_LENGTH),
    ):
        if value is None:
            continue
        if not isinstance(value, str) or not 1 <= len(value) <= limit or _CONTROL_RE.search(value):
            problems.append(f"detail.{key} must be a string of 1 to {limit} characters without control characters")
        else:
            detail[key] = value
    if modality is not None:
        if modality not in MODALITIES:
            problems.append(f"detail.modality must be one of {' | '.join(MODALITIES)}, got {modality!r}")
        else:
            detail["modality"] = modality
    if trigger_id is not None:
        if not isinstance(trigger_id, str) or not trigger_id:
            problems.append("detail.triggerId must be a non-empty string")
        else:
            detail["triggerId"] = trigger_id
    if at is not None:
        text = rfc3339(at)
        parsed = parse_rfc3339(text)
        if isinstance(parsed, str):
            problems.append(f"detail.at {text!r} {parsed}")
        else:
            detail["at"] = text
    if camera_id is None and (model_version is None or modality is None):
        problems.append("detail.cameraId is required (or modelVersion and modality for a cohort)")
    if problems:
        raise LifecycleEventError("; ".join(problems))
    return detail
