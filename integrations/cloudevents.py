"""CloudEvents 1.0 validation (JSON structured and HTTP binary mode) and the canonical event
schemas.

Hand-written rather than a serializer: it runs for every one of thousands of events a second,
and each error must name the field and the reason (``{"field", "message"}``). The schemas
below are the single source for validation, the OpenAPI document and the README.
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
MAX_ID = 200
MAX_SITE = 20  # Site.code and the inbox's site column
MAX_INT = 2_147_483_647  # counts land in 32-bit integer columns
MAX_NUMBER = 99_999_999_999  # quantities land in numeric(14, 3) columns
MAX_DEPTH = 32  # nesting of objects and arrays anywhere in an event
MAX_PROBLEMS = 20  # per event: enough to fix it, not a megabyte of errors


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "string" | "integer" | "number" | "datetime" | "enum"
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    description: str = ""


def _s(name, required=False, description=""):
    return Field(name, "string", required, description=description)


def _i(name, required=False, minimum=0, description=""):
    return Field(name, "integer", required, minimum=minimum, description=description)


def _t(name, required=False, description=""):
    return Field(name, "datetime", required, description=description)


def _e(name, choices, required=False, description=""):
    return Field(name, "enum", required, choices=tuple(choices), description=description)


SITE = _s("site", description="site code; defaults to the integration's site")

SCHEMAS: dict[str, list[Field]] = {
    "equipment.status": [
        _s("line", True, "line code, e.g. L1"),
        _s("asset", description="asset code on the line"),
        _e("status", ["running", "idle", "down", "maintenance"], True),
        _s("reason"),
        _t("expected_up_at", description="when the line is expected back"),
    ],
    "maintenance.event": [
        _s("line", True),
        _s("asset"),
        _s("work_order", True),
        _e("kind", ["planned", "unplanned"], True),
        _e("status", ["scheduled", "started", "completed", "cancelled"], True),
        _t("starts_at"),
        _t("expected_end"),
    ],
    "production.progress": [
        _s("job", True, "job number, e.g. WO-60001"),
        _s("line"),
        _i("good", True, description="cumulative good count on the job"),
        _i("scrap", True, description="cumulative scrap count on the job"),
    ],
    "inventory.level": [
        _s("item", True),
        _s("location", True),
        Field("quantity", "number", True, minimum=0),
        _s("uom"),
    ],
    "material.shortage": [
        _s("item", True),
        Field("quantity_short", "number", True, exclusive_minimum=0),
        _s("uom"),
        _t("needed_by"),
        _s("line"),
    ],
    "labor.availability": [
        _s("line", True),
        _s("shift", True, "shift code, e.g. A"),
        _i("available", True),
        _i("required", True),
        _s("skill"),
    ],
    "quality.hold": [_s("lot", True), _s("reason", True), _s("defect_code")],
    "quality.disposition": [
        _s("lot", True),
        _e("disposition", ["release", "rework", "scrap", "use_as_is"], True),
        _s("rationale", True),
    ],
    "order.changed": [
        _s("order", True, "order number, e.g. SO-10023"),
        _e("change", ["quantity", "due_date", "priority", "cancel", "add_line"], True),
        _i("quantity", minimum=1, description="new quantity (quantity, add_line)"),
        _t("due_at", description="new due date (due_date, add_line)"),
        Field("priority", "integer", minimum=1, maximum=5, description="1 most urgent (priority)"),
        _s("item", description="item of the new line (add_line)"),
        _s("reason"),
    ],
    # A person at the line (its andon station page, or a plant's own andon system).
    "andon.call": [
        _s("line", True),
        _e(
            "call",
            ["stopped", "quality", "material", "help", "running"],
            True,
            "stopped, quality problem, material needed, need help, or running again",
        ),
        _s("reason", description="why the line stopped (from the station's short list)"),
        _s("note", description="optional free text from the caller"),
        _s("station", description="the station at the line, e.g. L1-1"),
        _s("by", description="who called (the signed-in user at the station)"),
    ],
}
EVENT_TYPES = tuple(SCHEMAS)
# order.changed: which value(s) each kind of change needs.
ORDER_CHANGE_NEEDS = {
    "quantity": ("quantity",),
    "due_date": ("due_at",),
    "priority": ("priority",),
    "cancel": (),
    "add_line": ("item", "quantity", "due_at"),
}


@dataclass
class ValidEvent:
    source: str
    id: str
    type: str
    time: datetime | None
    site: str
    data: dict
    attributes: dict


class Problems(list):
    def add(self, field: str, message: str) -> None:
        problem = {"field": field, "message": message}
        if len(self) < MAX_PROBLEMS and problem not in self:
            self.append(problem)


def printable(text: str) -> str:
    """``text`` safe to echo in a JSON answer: lone surrogates (not encodable as UTF-8) and NUL
    written as backslash escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _text_problem(text: str) -> str | None:
    """Why PostgreSQL (text and jsonb) cannot store ``text``, or None."""
    if "\x00" in text:
        return "must not contain a NUL character (\\u0000)"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate (e.g. \\ud800): not valid Unicode"
    return None


def _check_json(value: Any, path: tuple, problems: Problems, depth: int = 0) -> None:
    """Anything in the event, known or not, must be storable: no NUL, no lone surrogate, no
    number beyond float range (JSON ``1e400`` parses as infinity), not absurdly nested.
    ``path`` (keys and indexes) is spelt out only for a problem: most events have none."""
    if isinstance(value, str):
        reason = _text_problem(value)
        if reason:
            problems.add(_path_text(path), reason)
    elif isinstance(value, float):
        if not math.isfinite(value):
            problems.add(_path_text(path), "must be a finite number")
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            problems.add(_path_text(path), f"must not nest more than {MAX_DEPTH} levels deep")
            return
        if isinstance(value, list):
            for index, item in enumerate(value):
                _check_json(item, (*path, index), problems, depth + 1)
            return
        for key, item in value.items():
            reason = _text_problem(key)
            if reason:
                problems.add(_path_text((*path, key)), f"the name {reason}")
            _check_json(item, (*path, key), problems, depth + 1)


def _path_text(path: tuple) -> str:
    """``("data", "items", 2, "name")`` → ``data.items[2].name``, printable."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{printable(part)}" if text else printable(part)
    return text


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 with an explicit offset, or None."""
    if not isinstance(value, str) or not RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return None


def _storable(moment: datetime) -> bool:
    """9999-12-31T23:59:59-14:00 is after the last instant Python (and so Django) can load
    once in UTC; 0001-01-01T00:00:00+14:00 before the first."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _check_field(field: Field, value: Any, path: str, problems: Problems) -> Any:
    if field.kind == "string":
        if not isinstance(value, str) or not value.strip():
            problems.add(path, "must be a non-empty string")
        elif len(value) > MAX_ID and field.name != "reason":
            problems.add(path, f"must be at most {MAX_ID} characters")
        return value
    if field.kind == "enum":
        if not isinstance(value, str) or value not in field.choices:
            problems.add(path, f"must be one of {', '.join(field.choices)}")
        return value
    if field.kind == "datetime":
        parsed = parse_time(value)
        if parsed is None:
            problems.add(
                path, "must be an RFC 3339 date-time with offset, e.g. 2026-11-27T08:00:00Z"
            )
            return value
        if not _storable(parsed):
            problems.add(path, "is out of range (years 1 to 9999 in UTC)")
        return parsed.isoformat()
    # numbers: bool is an int in Python, never a count
    integer = field.kind == "integer"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        problems.add(path, "must be an integer" if integer else "must be a number")
        return value
    if value != value or value in (float("inf"), float("-inf")):
        problems.add(path, "must be a finite number")
    elif value > (MAX_INT if integer else MAX_NUMBER) and field.maximum is None:
        problems.add(path, f"must be ≤ {MAX_INT if integer else MAX_NUMBER}")
    elif field.minimum is not None and value < field.minimum:
        problems.add(path, f"must be ≥ {field.minimum:g}")
    elif field.exclusive_minimum is not None and value <= field.exclusive_minimum:
        problems.add(path, f"must be > {field.exclusive_minimum:g}")
    elif field.maximum is not None and value > field.maximum:
        problems.add(path, f"must be ≤ {field.maximum:g}")
    return value


def _check_data(event_type: str, data: dict, problems: Problems) -> dict:
    clean = dict(data)
    for field in (*SCHEMAS[event_type], SITE):
        path = f"data.{field.name}"
        if field.name not in data or data[field.name] is None:
            if field.required:
                problems.add(path, "is required")
            clean.pop(field.name, None)
            continue
        clean[field.name] = _check_field(field, data[field.name], path, problems)
    change = data.get("change")
    if event_type == "order.changed" and isinstance(change, str) and change in ORDER_CHANGE_NEEDS:
        for needed in ORDER_CHANGE_NEEDS[data["change"]]:
            if data.get(needed) is None:
                problems.add(f"data.{needed}", f"is required when change is {data['change']}")
    return clean


def validate(
    raw: Any,
    *,
    default_site: str | None,
    window: tuple[datetime, datetime] | None = None,
    window_text: str = "",
) -> tuple[ValidEvent | None, Problems]:
    """Check one structured-mode CloudEvent; return the normalised event or the problems.

    ``window`` (earliest, latest): the ``time`` an event may claim, around its arrival.
    """
    problems = Problems()
    if not isinstance(raw, dict):
        problems.add("", "an event must be a JSON object")
        return None, problems
    _check_json(raw, (), problems)
    for attr in ("id", "source"):
        value = raw.get(attr)
        if not isinstance(value, str) or not value:
            problems.add(attr, "is required (a non-empty string)")
        elif len(value) > MAX_ID:
            problems.add(attr, f"must be at most {MAX_ID} characters")
    if raw.get("specversion") != "1.0":
        problems.add("specversion", 'is required and must be "1.0"')
    event_type = raw.get("type")
    if not isinstance(event_type, str) or not event_type:
        problems.add("type", "is required (a non-empty string)")
    elif event_type not in SCHEMAS:
        problems.add("type", f"unknown event type {event_type!r}; one of {', '.join(EVENT_TYPES)}")
    time = None
    if raw.get("time") is not None:
        time = parse_time(raw["time"])
        if time is None:
            problems.add(
                "time", "must be an RFC 3339 date-time with offset, e.g. 2026-11-27T08:00:00Z"
            )
        elif window and not window[0] <= time <= window[1]:
            earliest, latest = (moment.isoformat(timespec="seconds") for moment in window)
            problems.add("time", f"must be {window_text} ({earliest} to {latest})")
    content_type = raw.get("datacontenttype")
    if content_type is not None and not str(content_type).startswith("application/json"):
        problems.add("datacontenttype", "must be application/json (JSON structured mode)")
    data = raw.get("data")
    clean = {}
    if not isinstance(data, dict):
        problems.add("data", "is required (a JSON object)")
    elif event_type in SCHEMAS:
        clean = _check_data(event_type, data, problems)
    site = clean.get("site") or default_site
    if not site and isinstance(data, dict):
        problems.add("data.site", "is required: this integration has no default site")
    elif isinstance(site, str) and len(site) > MAX_SITE:
        problems.add("data.site", f"must be at most {MAX_SITE} characters")
    if problems:
        return None, problems
    attributes = {
        k: v
        for k, v in raw.items()
        if k not in ("id", "source", "type", "time", "data", "specversion", "datacontenttype")
    }
    return ValidEvent(raw["source"], raw["id"], event_type, time, site, clean, attributes), problems


# --- HTTP binary content mode (CloudEvents HTTP protocol binding, section 3.1) -------------

CE_META_PREFIX = "HTTP_CE_"  # a ``ce-foo`` header as WSGI spells it
JSON_MEDIA = re.compile(r"^application/([\w.+-]+\+)?json$")


class BinaryModeError(ValueError):
    """The request is in binary mode but its body cannot be an event's data."""

    def __init__(self, status: int, code: str, detail: str, field: str):
        super().__init__(detail)
        self.status, self.code, self.detail, self.field = status, code, detail, field


def is_binary(meta: Mapping[str, Any], media_type: str) -> bool:
    """Binary mode: ``ce-`` headers and a content type that is not a CloudEvents format
    (``application/cloudevents…`` is structured mode whatever headers come with it)."""
    if media_type.startswith("application/cloudevents"):
        return False
    return any(name.startswith(CE_META_PREFIX) for name in meta)


def _header_text(name: str, value: str) -> str:
    """A header value as the binding encodes it: percent-encoded UTF-8 (3.1.3.2). WSGI hands
    headers over as ISO-8859-1 text, so raw UTF-8 bytes are recovered first."""
    try:
        raw = value.encode("latin-1").decode("utf-8")
        return unquote(raw, errors="strict")
    except UnicodeError:
        raise BinaryModeError(
            400, "invalid_header", "is not percent-encoded UTF-8", binary_field(name)
        ) from None


def binary_event(meta: Mapping[str, Any], body: bytes, media_type: str) -> dict:
    """The event a binary-mode request carries, as a structured-mode object for ``validate``:
    attributes from the ``ce-*`` headers, ``datacontenttype`` from ``Content-Type``, ``data``
    from the body. Our events' data is JSON: a request with no ``Content-Type`` (the SDK sends
    none without ``datacontenttype``) is read as JSON; another media type is refused (415)."""
    if media_type == "text/plain":
        # What a WSGI server reports when the request had no Content-Type (wsgiref fills in
        # the MIME default); a sender meaning text would not send an event's data as it.
        media_type = ""
    if media_type and not JSON_MEDIA.match(media_type):
        raise BinaryModeError(
            415,
            "unsupported_media_type",
            "binary mode: the data of every event type is JSON (application/json, or no "
            "Content-Type)",
            "Content-Type",
        )
    event: dict[str, Any] = {}
    for key, value in meta.items():
        if key.startswith(CE_META_PREFIX) and isinstance(value, str):
            name = key[len(CE_META_PREFIX) :].lower()
            if name in ("data", "data_base64"):
                raise BinaryModeError(
                    400, "invalid_header", "binary mode: the data is the body, not a header",
                    f"ce-{name}",
                )  # fmt: skip
            event[name] = _header_text(name, value)
    if media_type:
        event["datacontenttype"] = media_type
    if body.strip():
        try:
            event["data"] = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise BinaryModeError(
                400, "malformed_json", f"body is not valid JSON: {exc}", "body"
            ) from None
    return event


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def binary_field(name: str) -> str:
    """How an error names a field of a binary-mode event: the header it came in, or the body."""
    if name == "data":
        return "body"
    if name.startswith("data."):
        return name  # a field inside the body's JSON
    if name == "datacontenttype":
        return "Content-Type"
    return f"ce-{name}" if name else "body"


def openapi_components() -> dict:
    """The ``data`` schema of every event type, for the OpenAPI document."""
    kinds = {
        "string": {"type": "string"},
        "integer": {"type": "integer"},
        "number": {"type": "number"},
        "datetime": {"type": "string", "format": "date-time"},
    }
    schemas = {}
    for event_type, fields in SCHEMAS.items():
        properties = {}
        for f in (*fields, SITE):
            prop = dict(kinds.get(f.kind, {"type": "string"}))
            if f.choices:
                prop["enum"] = list(f.choices)
            for key in ("minimum", "exclusive_minimum", "maximum"):
                if getattr(f, key) is not None:
                    prop[key.replace("_m", "M")] = getattr(f, key)
            if f.description:
                prop["description"] = f.description
            properties[f.name] = prop
        schemas[event_type] = {
            "type": "object",
            "properties": properties,
            "required": [f.name for f in fields if f.required],
        }
    return schemas
