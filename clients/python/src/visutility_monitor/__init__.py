"""Python client of VisuTility Monitor: send metric events from the serving fleet, close the loop from training.

- MetricPublisher / AsyncMetricPublisher: validate and send metric events to the ingest queue, packed per camera.
- metric_event, validate_event, MetricEvent: the wire format (schemas/in.MetricEvent.json) and its rules.
- LifecycleNotifier: RetrainingCompleted / ModelDeployed on the monitor's event bus.
"""

from .aio import AsyncMetricPublisher
from .events import (
    MAX_CAMERA_ID_LENGTH,
    MAX_MODEL_VERSION_LENGTH,
    MAX_SAMPLE_COUNT,
    METRICS,
    MODALITIES,
    FieldError,
    MetricEvent,
    MetricKind,
    Modality,
    metric_event,
    parse_rfc3339,
    rfc3339,
    summarize,
    validate_event,
)
from .lifecycle import DEFAULT_SOURCE, LifecycleEventError, LifecycleNotifier, LifecycleType, lifecycle_detail
from .publisher import (
    DEFAULT_LINGER_S,
    MIXED_LINGER_S,
    SQS_MAX_BATCH_ENTRIES,
    SQS_MAX_REQUEST_BYTES,
    BufferFullError,
    MetricPublisher,
    Packing,
    PublisherClosedError,
    PublisherCounters,
    PublisherOptions,
    PublishResult,
    Rejected,
    UndeliveredEventsError,
    WhenFull,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LINGER_S",
    "DEFAULT_SOURCE",
    "MAX_CAMERA_ID_LENGTH",
    "MAX_MODEL_VERSION_LENGTH",
    "MAX_SAMPLE_COUNT",
    "METRICS",
    "MIXED_LINGER_S",
    "MODALITIES",
    "SQS_MAX_BATCH_ENTRIES",
    "SQS_MAX_REQUEST_BYTES",
    "AsyncMetricPublisher",
    "BufferFullError",
    "FieldError",
    "LifecycleEventError",
    "LifecycleNotifier",
    "LifecycleType",
    "MetricEvent",
    "MetricKind",
    "MetricPublisher",
    "Modality",
    "Packing",
    "PublishResult",
    "PublisherClosedError",
    "PublisherCounters",
    "PublisherOptions",
    "Rejected",
    "UndeliveredEventsError",
    "WhenFull",
    "__version__",
    "lifecycle_detail",
    "metric_event",
    "parse_rfc3339",
    "rfc3339",
    "summarize",
    "validate_event",
]
