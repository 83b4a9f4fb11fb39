"""Property test over whole CloudEvents envelopes and batches (issue 10, "must show").

Envelopes carry arbitrary unicode (NUL and lone surrogates included) and arbitrary numbers
(integers of any size, and ``1e400``, which JSON parsers read as infinity), written as the
JSON text a client would send. Whatever arrives: never a 500; a batch answers one result per
event; and a good event beside bad ones is accepted, stored and then applied.
"""

import itertools
import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.models import InboxEvent
from integrations.services import inbox_process_batch

pytestmark = pytest.mark.django_db
BATCH = "application/cloudevents-batch+json"
RESERVED = {"id", "source", "type", "time", "data", "specversion", "datacontenttype"}
LINES = ("L1", "L2", "L3", "L4")
STATUSES = ("running", "idle", "down", "maintenance")
_serial = itertools.count()

# Any code point at all, and the ones a database can store (no NUL, no lone surrogate).
any_text = st.text(st.characters(exclude_categories=()), max_size=24)
clean_text = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=24
)
any_number = st.integers() | st.floats()  # floats: NaN and ±infinity included
clean_number = st.integers(-(10**30), 10**30) | st.floats(allow_nan=False, allow_infinity=False)
any_scalar = st.none() | st.booleans() | any_number | any_text
clean_scalar = st.none() | st.booleans() | clean_number | clean_text
any_value = st.recursive(
    any_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=10,
)


def to_json(value) -> str:
    """JSON text as a client may write it: non-finite numbers as ``1e400`` / ``-1e400``, lone
    surrogates as ``\\ud800`` escapes (which ``json.dumps`` alone would refuse or rewrite)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "-1e400" if (value < 0 or math.isnan(value)) else "1e400"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # ensure_ascii: every code point escaped, surrogates too
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items()) + "}"


@st.composite
def good_events(draw) -> dict:
    """Valid events whose free text and extensions are arbitrary storable unicode and
    numbers; the id ends with a serial so that no two are duplicates."""
    age = draw(st.integers(0, 29 * 86400))
    extensions = draw(
        st.dictionaries(clean_text.filter(lambda k: k not in RESERVED), clean_scalar, max_size=3)
    )
    return {
        **extensions,
        "specversion": "1.0",
        "id": draw(clean_text) + f"#{next(_serial)}",
        "source": "mes/" + draw(clean_text),
        "type": "equipment.status",
        "time": (datetime.now(UTC) - timedelta(seconds=age)).isoformat(),
        "data": {
            "line": draw(st.sampled_from(LINES)),
            "status": draw(st.sampled_from(STATUSES)),
            "reason": "r" + draw(clean_text),
        },
    }


POISONS = st.sampled_from(["\x00", "\ud800", "\udfff", "\udbff"])
POISON_PLACES = (
    "id",
    "source",
    "data.reason",
    "data.line",
    "extension",
    "extension name",
    "number",
    "time",
    "data.number",
    "count",
)


@st.composite
def bad_events(draw) -> dict:
    """A good event with one poison put in: it must be rejected, and only it."""
    event = draw(good_events())
    where = draw(st.sampled_from(POISON_PLACES))
    text = draw(any_text)
    at = draw(st.integers(0, len(text)))
    poisoned = text[:at] + draw(POISONS) + text[at:]
    if where in ("id", "source"):
        event[where] = poisoned
    elif where.startswith("data."):
        event["data"][where[5:]] = poisoned if where != "data.number" else math.inf
    elif where == "extension":
        event["ext"] = poisoned
    elif where == "extension name":
        event["x" + poisoned] = 1
    elif where == "number":
        event["sequence"] = draw(st.sampled_from([math.inf, -math.inf, math.nan]))
    elif where == "time":
        event["time"] = draw(
            st.sampled_from(
                ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9000-01-01T00:00:00Z"]
            )
        )
    else:  # a count no column can hold
        event["type"] = "production.progress"
        event["data"] = {"job": "WO-60001", "good": draw(st.integers(2**31, 10**40)), "scrap": 0}
    return event


arbitrary_events = any_value | st.fixed_dictionaries(
    {},
    optional={
        "specversion": st.just("1.0") | any_scalar,
        "id": any_text | any_scalar,
        "source": any_text | any_scalar,
        "type": st.sampled_from(["equipment.status", "quality.hold", "order.changed"]) | any_scalar,
        "time": st.just(datetime.now(UTC).isoformat()) | any_scalar,
        "data": st.dictionaries(st.sampled_from(["line", "status", "reason", "site"]), any_value)
        | any_value,
        "subject": any_value,
    },
)
kinds = (
    good_events().map(lambda e: ("good", e))
    | bad_events().map(lambda e: ("bad", e))
    | arbitrary_events.map(lambda e: ("any", e))
)
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@PROPERTY
@given(kind_event=kinds)
def test_any_single_envelope_never_500(post, kind_event):
    kind, event = kind_event
    response = post(to_json(event), raw=True)
    expected = {"good": {202}, "bad": {400}, "any": {200, 202, 400, 403}}[kind]
    assert response.status_code in expected, (kind, response.content)
    json.loads(response.content)


@PROPERTY
@given(batch=st.lists(kinds, min_size=1, max_size=8))
def test_a_good_event_is_never_lost_beside_bad_ones(post, batch):
    body = "[" + ",".join(to_json(event) for _, event in batch) + "]"
    response = post(body, content_type=BATCH, raw=True)
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert len(results) == len(batch)
    stored = []
    for (kind, event), result in zip(batch, results, strict=True):
        if kind == "good":
            assert (result["status"], result["id"]) == ("accepted", event["id"]), result
            stored.append(InboxEvent.objects.get(source=event["source"], event_id=event["id"]))
        elif kind == "bad":
            assert result["status"] == "rejected" and result["errors"], result
    statuses = inbox_process_batch([row.pk for row in stored])
    assert set(statuses.values()) <= {"applied", "stale"}, statuses
