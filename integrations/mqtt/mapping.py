"""Topic mappings: which messages become which canonical events, with which ``data``.

A mapping never validates the event itself: it only builds a CloudEvent; the inbox service
(``events_accept``) validates it exactly as for the REST API, and its field-named problems
are reported with the source each field came from (``data.status (payload:status): …``).
"""

import base64
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..cloudevents import printable

SOURCES = ("topic", "payload", "const", "metric")
MAX_PAYLOAD_SHOWN = 4000  # characters of a failed message kept on the failed list
_MISSING = object()


@dataclass(frozen=True)
class Spec:
    """One ``fields`` entry: ``line`` ← ``topic:2``."""

    target: str
    source: str
    arg: str

    @property
    def text(self) -> str:
        return f"{self.source}:{self.arg}" if self.arg or self.source == "const" else self.source


@dataclass
class Mapping:
    """An active ``MqttMapping``, parsed once per reload."""

    pk: int
    name: str
    topic_filter: str
    format: str
    event_type: str
    specs: list[Spec]

    @property
    def metrics(self) -> set[str]:
        return {s.arg for s in self.specs if s.source == "metric"}


@dataclass
class Built:
    """A message as a CloudEvent for one mapping, or the reason it cannot be one."""

    mapping: Mapping
    topic: str
    payload: bytes
    raw: dict | None = None
    error: str = ""
    error_field: str = ""
    sources: dict[str, str] = field(default_factory=dict)  # data field → spec text


def spec_parse(target: str, text: Any) -> Spec | str:
    """A Spec, or why ``text`` is not one."""
    if not isinstance(text, str) or not text:
        return f"{target}: a source must be a non-empty string such as topic:2 or payload:status"
    source, _, arg = text.partition(":")
    if source not in SOURCES:
        return f"{target}: unknown source {source!r}; one of {', '.join(SOURCES)}"
    if source == "topic" and (not arg.isdigit() or int(arg) < 1):
        return f"{target}: topic needs a level number from 1, e.g. topic:2"
    if source == "metric" and not arg:
        return f"{target}: metric needs a metric name, e.g. metric:Line/State"
    return Spec(target, source, arg)


def field_specs_problems(fields: Any, fmt: str) -> list[str]:
    if not isinstance(fields, dict) or not fields:
        return ['a JSON object of data field → source, e.g. {"line": "topic:2"}']
    problems = []
    for target, text in fields.items():
        spec = spec_parse(target, text)
        if isinstance(spec, str):
            problems.append(spec)
        elif spec.source == "metric" and fmt != "sparkplug":
            problems.append(f"{target}: metric sources are for Sparkplug B mappings")
        elif spec.source == "payload" and fmt == "sparkplug":
            problems.append(f"{target}: Sparkplug payloads are read with metric:NAME")
    if fmt == "sparkplug" and not any(
        isinstance(s, Spec) and s.source == "metric"
        for s in (spec_parse(t, v) for t, v in fields.items())
    ):
        problems.append("a Sparkplug B mapping needs at least one metric:NAME source")
    return problems


def topic_filter_problem(text: str) -> str | None:
    """Why ``text`` is not a valid MQTT topic filter (MQTT 3.1.1 §4.7), or None."""
    if not text or len(text.encode()) > 65535 or "\x00" in text:
        return "must be a non-empty MQTT topic filter"
    levels = text.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "# must be a whole level, and the last one"
        if "+" in level and level != "+":
            return "+ must be a whole level"
    return None


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT filter matching; topics starting with $ match no wildcard at the first level."""
    pattern, levels = topic_filter.split("/"), topic.split("/")
    if topic.startswith("$") and pattern[0] in ("+", "#"):
        return False
    for index, part in enumerate(pattern):
        if part == "#":
            return True
        if index >= len(levels) or (part != "+" and part != levels[index]):
            return False
    return len(pattern) == len(levels)


def mapping_from_row(row) -> Mapping:
    specs = [spec_parse(target, text) for target, text in (row.fields or {}).items()]
    return Mapping(
        row.pk,
        row.name,
        row.topic_filter,
        row.format,
        row.event_type,
        [s for s in specs if isinstance(s, Spec)],  # clean() refuses bad ones; skip stragglers
    )


def event_id(mapping: Mapping, topic: str, payload: bytes) -> str:
    """Derived from what the broker redelivers unchanged (mapping, topic, payload bytes): a
    redelivered message is the same event, a duplicate. Two readings that should count twice
    must differ in their payload (a timestamp: the ``time`` source)."""
    digest = hashlib.sha256()
    for part in (mapping.name.encode(), topic.encode(), payload):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:40]


def event_source(topic: str) -> str:
    return printable(f"mqtt:{topic}")[:200]


def payload_text(payload: bytes) -> str:
    """A payload as the failed list shows it: text if it is UTF-8, else base64."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = "base64:" + base64.b64encode(payload[:3000]).decode()
    text = printable(text)
    return text if len(text) <= MAX_PAYLOAD_SHOWN else text[:MAX_PAYLOAD_SHOWN] + "…"


def time_text(value: Any) -> Any:
    """A time source's value as RFC 3339: numbers are epoch seconds, or milliseconds (Sparkplug
    and most PLC gateways) when beyond the year 5138 as seconds; strings pass unchanged (the
    inbox validates them)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return value
    seconds = value / 1000 if abs(value) >= 1e11 else value
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return str(value)


def _dig(document: Any, path: str) -> Any:
    value = document
    for part in path.split(".") if path else ():
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def build_json(mapping: Mapping, topic: str, payload: bytes) -> Built:
    """One JSON-payload message as a CloudEvent (not yet validated) or why it cannot be."""
    built = Built(mapping, topic, payload)
    document = _MISSING
    if any(s.source == "payload" for s in mapping.specs):
        try:
            document = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            built.error = f"mapping {mapping.name!r}: payload is not JSON: {exc}"
            built.error_field = "payload"
            return built
        if any(s.source == "payload" and s.arg for s in mapping.specs) and not isinstance(
            document, dict
        ):
            kind = type(document).__name__
            built.error = f"mapping {mapping.name!r}: payload is not a JSON object (it is {kind})"
            built.error_field = "payload"
            return built

    def read(spec: Spec) -> Any:
        return _dig(document, spec.arg)

    return _assemble(built, lambda spec: read(spec) if spec.source == "payload" else _MISSING)


def build_values(mapping: Mapping, topic: str, payload: bytes, values: dict, time: Any) -> Built:
    """A Sparkplug B message as a CloudEvent, from the device's latest metric values."""
    built = Built(mapping, topic, payload)
    return _assemble(
        built,
        lambda spec: values.get(spec.arg, _MISSING) if spec.source == "metric" else _MISSING,
        default_time=time,
    )


def _assemble(built: Built, read, default_time: Any = None) -> Built:
    levels = built.topic.split("/")
    data, time = {}, default_time
    for spec in built.mapping.specs:
        if spec.source == "topic":
            index = int(spec.arg) - 1
            value = levels[index] if index < len(levels) else _MISSING
        elif spec.source == "const":
            value = spec.arg
        else:
            value = read(spec)
        if value is _MISSING or value is None or value == "":
            # Absent (an empty PLC string too): the inbox names it if it is required.
            continue
        if spec.target == "time":
            time = value
        else:
            data[spec.target] = value
            built.sources[f"data.{spec.target}"] = spec.text
    raw = {
        "specversion": "1.0",
        "id": event_id(built.mapping, built.topic, built.payload),
        "source": event_source(built.topic),
        "type": built.mapping.event_type,
        "datacontenttype": "application/json",
        "data": data,
        "mqtttopic": printable(built.topic)[:500],
        "mqttmapping": built.mapping.name,
    }
    if time is not None:
        raw["time"] = time_text(time)
        time_spec = next((s for s in built.mapping.specs if s.target == "time"), None)
        built.sources["time"] = time_spec.text if time_spec else "payload timestamp"
    built.raw = raw
    return built


def problems_text(built: Built, problems: list[dict]) -> tuple[str, str]:
    """The inbox's problems as one reason naming where each field came from, and the field."""
    parts = []
    for problem in problems:
        where = problem["field"]
        source = built.sources.get(where)
        if source is None and where.startswith("data.") and built.raw is not None:
            spec = next((s for s in built.mapping.specs if f"data.{s.target}" == where), None)
            source = f"{spec.text}: absent" if spec else "no source mapped"
        parts.append(f"{where}{f' ({source})' if source else ''} {problem['message']}")
    first = problems[0]["field"] if problems else ""
    return f"mapping {built.mapping.name!r}: " + "; ".join(parts), first
