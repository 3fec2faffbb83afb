"""The wire format (schemas/in.MetricEvent.json) and its validation, as the ingest Lambda applies it.

Every rule and every message is lib/core/metric-event.ts's: test/fixtures/metric-event-cases.json
holds both implementations to the same outcome and the same words.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, TypedDict, get_args

from ._display import (
    describe,
    describe_code_point,
    escape_for_display,
    is_format_character,
    js_number,
    js_string_json,
    to_js_number,
    utf16_slice,
)

Modality = Literal["Rgb", "Thermal", "Depth"]
MetricKind = Literal["Accuracy", "Precision", "Recall", "DriftScore", "LatencyMs"]
MODALITIES: tuple[Modality, ...] = get_args(Modality)
METRICS: tuple[MetricKind, ...] = get_args(MetricKind)
#: Metrics whose value is a rate in [0, 1] computed from labelled samples.
QUALITY_METRICS: tuple[MetricKind, ...] = ("Accuracy", "Precision", "Recall")

MAX_CAMERA_ID_LENGTH = 128
MAX_MODEL_VERSION_LENGTH = 128
#: Most labelled samples one event may carry.
MAX_SAMPLE_COUNT = 100_000
#: Events older than 2000-01-01 are refused (epoch ms).
EARLIEST_TIMESTAMP_MS = 946_684_800_000
#: How far ahead of the clock a timestamp may be (ms).
MAX_FUTURE_SKEW_MS = 24 * 3600 * 1000
_MAX_SAFE_INTEGER = 2**53 - 1


class _MetricEventRequired(TypedDict):
    id: str
    timestamp: str
    camera_id: str
    modality: Modality
    metric: MetricKind
    value: float


class MetricEvent(_MetricEventRequired, total=False):
    """One metric event as the serving fleet sends it (``schemas/in.MetricEvent.json``)."""

    model_version: str
    #: Labelled samples behind an Accuracy/Precision/Recall value.
    sample_count: int


@dataclass(frozen=True)
class FieldError:
    """One problem: ``path`` names the field ("" for the event as a whole)."""

    path: str
    message: str


def summarize(errors: list[FieldError]) -> str:
    """The one-line reason the Lambda writes on a dead letter, and the publisher returns."""
    return "; ".join(
        f"{e.path}: {e.message}" if e.path and not e.message.startswith(e.path) else e.message for e in errors
    )


def metric_event(
    camera_id: str,
    modality: Modality,
    metric: MetricKind,
    value: float,
    *,
    model_version: str | None = None,
    sample_count: int | None = None,
    timestamp: datetime | str | None = None,
    event_id: str | None = None,
) -> MetricEvent:
    """Builds an event: a new UUID and the current UTC time unless given (a datetime is written RFC 3339)."""
    event: MetricEvent = {
        "id": event_id if event_id is not None else str(uuid.uuid4()),
        "timestamp": rfc3339(timestamp if timestamp is not None else datetime.now(timezone.utc)),
        "camera_id": camera_id,
        "modality": modality,
        "metric": metric,
        "value": value,
    }
    if model_version is not None:
        event["model_version"] = model_version
    if sample_count is not None:
        event["sample_count"] = sample_count
    return event


def rfc3339(when: datetime | str) -> str:
    """RFC 3339 text of a datetime (milliseconds, ``Z``); a string is returned as it is.

    A naive datetime is taken as UTC.
    """
    if isinstance(when, str):
        return when
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_CONTROL_RE = re.compile("[\u0000-\u001f\u007f-\u009f]")
# JavaScript's String.prototype.trim (WhiteSpace and LineTerminator), not Python's str.strip.
_JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"  # noqa: E501
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in(year: int, month: int) -> int:
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    return 29 if month == 2 and leap else _DAYS_IN_MONTH[month - 1]


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= 1 if m <= 2 else 0
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_rfc3339(text: str) -> int | str:
    """Epoch milliseconds of an RFC 3339 time, or what is wrong with it (a phrase after the value)."""
    m = _RFC3339_RE.fullmatch(text)
    if not m:
        return "is not an RFC 3339 date-time (e.g. 2026-11-27T08:15:30.123456789Z)"
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7)
    if not 1 <= month <= 12:
        return f"has month {m.group(2)}, outside 01-12"
    days = _days_in(year, month)
    if not 1 <= day <= days:
        return f"has day {m.group(3)}, outside 01-{days} for that month"
    if hour > 23 or minute > 59 or second > 60:
        return f"has time {m.group(4)}:{m.group(5)}:{m.group(6)}, out of range"
    offset_min = 0
    if not m.group(8):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            return f"has offset {m.group(9)}{m.group(10)}:{m.group(11)}, out of range"
        offset_min = (-1 if m.group(9) == "-" else 1) * (oh * 60 + om)
    ms = 0
    if frac:
        ms = int(frac[:3]) if len(frac) >= 3 else int(frac) * (100 if len(frac) == 1 else 10)
    seconds = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + min(second, 59)
    return seconds * 1000 + ms - offset_min * 60_000


def _format_character_problem(field: str, text: str) -> str | None:
    for index, ch in enumerate(text):
        if is_format_character(ch):
            return (
                f"{field} contains {describe_code_point(ord(ch))} at index {index}: invisible format characters "
                "(Unicode category Cf, bidi controls among them) are not allowed"
            )
    return None


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _id_text_errors(field: str, text: str, *, blank_check: bool) -> list[str]:
    # zod runs every check of a string field and reports each that fails, in this order.
    out: list[str] = []
    if len(text) < 1:
        out.append(f"{field} must not be empty")
    if len(text) > MAX_CAMERA_ID_LENGTH:
        out.append(f"{field} must be at most {MAX_CAMERA_ID_LENGTH} characters")
    if _CONTROL_RE.search(text):
        out.append(f"{field} must not contain control characters")
    problem = _format_character_problem(field, text)
    if problem:
        out.append(problem)
    if blank_check and not text.strip(_JS_WHITESPACE):
        out.append(f"{field} must not be blank")
    return out


def _schema_errors(o: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []

    def add(path: str, message: str) -> None:
        errors.append(FieldError(path, message))

    if "id" not in o:
        add("id", "id is required")
    elif not isinstance(o["id"], str):
        add("id", f"id must be a string UUID, got {describe(o['id'])}")
    elif not _UUID_RE.fullmatch(o["id"]):
        add("id", "id must be a UUID (8-4-4-4-12 hex digits)")

    if "timestamp" not in o:
        add("timestamp", "timestamp is required")
    elif not isinstance(o["timestamp"], str):
        add("timestamp", f"timestamp must be an RFC 3339 string, got {describe(o['timestamp'])}")

    if "camera_id" not in o:
        add("camera_id", "camera_id is required")
    elif not isinstance(o["camera_id"], str):
        add("camera_id", f"camera_id must be a string, got {describe(o['camera_id'])}")
    else:
        for message in _id_text_errors("camera_id", o["camera_id"], blank_check=True):
            add("camera_id", message)

    for field, allowed in (("modality", MODALITIES), ("metric", METRICS)):
        if field not in o:
            add(field, f"{field} is required")
        elif not isinstance(o[field], str) or o[field] not in allowed:
            add(field, f"{field} must be one of {' | '.join(allowed)}, got {describe(o[field])}")

    if "value" not in o:
        add("value", "value is required")
    elif not _is_number(o["value"]):
        add("value", f"value must be a number, got {describe(o['value'])}")
    elif not math.isfinite(to_js_number(o["value"])):
        add("value", f"value must be a finite number, got {js_number(to_js_number(o['value']))}")

    if "model_version" in o:
        mv = o["model_version"]
        if not isinstance(mv, str):
            add("model_version", f"model_version must be a string, got {describe(mv)}")
        else:
            for message in _id_text_errors("model_version", mv, blank_check=False):
                add("model_version", message)

    if "sample_count" in o:
        sc = o["sample_count"]
        if not _is_number(sc):
            add("sample_count", f"sample_count must be an integer >= 0, got {describe(sc)}")
        else:
            n = to_js_number(sc)
            if not math.isfinite(n) or not n.is_integer():
                add("sample_count", "sample_count must be an integer")
            else:
                if abs(n) > _MAX_SAFE_INTEGER:
                    add("sample_count", "sample_count must be an integer")
                if n < 0:
                    add("sample_count", "sample_count must be >= 0")
                if n > MAX_SAMPLE_COUNT:
                    add(
                        "sample_count",
                        f"sample_count {js_number(n)} is above the maximum of {MAX_SAMPLE_COUNT} labelled samples "
                        "per event",
                    )
    return errors


def check_decoded(decoded: object, now_ms: int) -> list[FieldError]:
    """The Lambda's validation of one decoded JSON value (``validateEvent``); [] when valid."""
    if not isinstance(decoded, dict):
        return [FieldError("", f"event must be a JSON object, got {describe(decoded)}")]
    errors = _schema_errors(decoded)
    if errors:
        return errors
    timestamp: str = decoded["timestamp"]
    ts = parse_rfc3339(timestamp)
    if isinstance(ts, str):
        shown = escape_for_display(js_string_json(utf16_slice(timestamp, 40)))
        errors.append(FieldError("timestamp", f"timestamp {shown} {ts}"))
    elif ts < EARLIEST_TIMESTAMP_MS:
        errors.append(FieldError("timestamp", f"timestamp {timestamp} is before 2000-01-01"))
    elif ts > now_ms + MAX_FUTURE_SKEW_MS:
        errors.append(FieldError("timestamp", f"timestamp {timestamp} is more than 24 h in the future"))
    metric, value = decoded["metric"], to_js_number(decoded["value"])
    if metric in QUALITY_METRICS and (value < 0 or value > 1):
        errors.append(FieldError("value", f"value {js_number(value)} is outside [0, 1] for {metric}"))
    elif metric in ("DriftScore", "LatencyMs") and value < 0:
        errors.append(FieldError("value", f"value {js_number(value)} must be >= 0 for {metric}"))
    return errors


# Characters SQS refuses in a body (and U+FFFD, which the Lambda reads as broken UTF-8), and lone
# surrogates (which UTF-8 cannot hold): JSON escapes them, and the decoded value is unchanged.
_UNSAFE_IN_JSON = re.compile("[\ufffd\ufffe\uffff\ud800-\udfff]")


def _json_default(o: object) -> object:
    # NumPy and similar scalars (np.float32, np.int64) carry their Python value in .item().
    item = getattr(o, "item", None)
    if callable(item):
        value = item()
        if isinstance(value, (int, float, str, bool)) or value is None:
            return value
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def encode_event(event: object, now_ms: int) -> tuple[str, object] | list[FieldError]:
    """The JSON text SQS will carry for ``event`` and its decoded value, or why there is none."""
    try:
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default)
    except ValueError:
        # NaN or Infinity: name the field as validateEvent would for a non-JSON number.
        loose = json.loads(json.dumps(event, separators=(",", ":"), allow_nan=True, default=_json_default))
        errors = check_decoded(loose, now_ms)
        return errors or [FieldError("", "event is not serializable as JSON: NaN and Infinity are not JSON numbers")]
    except (TypeError, RecursionError) as err:
        return [FieldError("", f"event is not serializable as JSON: {err}")]
    text = _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):x}", text)
    return text, json.loads(text)


def validate_event(event: object, now_ms: int | None = None) -> list[FieldError]:
    """What the ingest Lambda would refuse in ``event`` (as JSON), each problem naming its field; [] if none.

    ``now_ms`` (epoch ms, default now) bounds how far in the future the timestamp may be.
    """
    now = _now_ms() if now_ms is None else now_ms
    encoded = encode_event(event, now)
    if isinstance(encoded, list):
        return encoded
    return check_decoded(encoded[1], now)


def _now_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)
