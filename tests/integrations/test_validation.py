"""Each canonical type's required fields and enums, and the CloudEvents attributes."""

import pytest

from integrations.cloudevents import SCHEMAS, validate
from tests.integrations.conftest import cloudevent

VALID_DATA = {
    "equipment.status": {"line": "L1", "status": "down"},
    "maintenance.event": {
        "line": "L1",
        "work_order": "MWO-1",
        "kind": "unplanned",
        "status": "started",
    },
    "production.progress": {"job": "WO-60001", "good": 10, "scrap": 0},
    "inventory.level": {"item": "MAT-CAN-330", "location": "WH-RAW-01", "quantity": 0},
    "material.shortage": {"item": "MAT-CAN-330", "quantity_short": 1.5},
    "labor.availability": {"line": "L1", "shift": "A", "available": 3, "required": 5},
    "quality.hold": {"lot": "LOT-M0001", "reason": "seal"},
    "quality.disposition": {"lot": "LOT-M0001", "disposition": "release", "rationale": "ok"},
    "order.changed": {"order": "SO-10101", "change": "priority", "priority": 1},
    "andon.call": {"line": "L1", "call": "quality", "station": "L1-1", "by": "olli"},
}
REQUIRED = [(t, f.name) for t, fields in SCHEMAS.items() for f in fields if f.required]
ENUMS = [(t, f.name, f.choices) for t, fields in SCHEMAS.items() for f in fields if f.choices]


def problems(event):
    valid, found = validate(event, default_site="RIV")
    return valid, found


@pytest.mark.parametrize("event_type", list(SCHEMAS))
def test_valid_data_of_each_type_passes(event_type):
    valid, found = problems(cloudevent(event_type, VALID_DATA[event_type]))
    assert found == []
    assert valid.site == "RIV"


@pytest.mark.parametrize(("event_type", "field"), REQUIRED)
def test_each_required_field_is_named_when_missing(event_type, field):
    data = {k: v for k, v in VALID_DATA[event_type].items() if k != field}
    if event_type == "order.changed" and field == "change":
        data.pop("priority")
    _, found = problems(cloudevent(event_type, data))
    assert {"field": f"data.{field}", "message": "is required"} in found


@pytest.mark.parametrize(("event_type", "field", "choices"), ENUMS)
def test_each_enum_names_its_choices(event_type, field, choices):
    _, found = problems(cloudevent(event_type, {**VALID_DATA[event_type], field: "bogus"}))
    assert {"field": f"data.{field}", "message": f"must be one of {', '.join(choices)}"} in found


@pytest.mark.parametrize(
    ("event_type", "field", "value", "message"),
    [
        ("production.progress", "good", -1, "must be ≥ 0"),
        ("production.progress", "scrap", 1.5, "must be an integer"),
        ("production.progress", "good", True, "must be an integer"),
        ("production.progress", "good", "10", "must be an integer"),
        ("inventory.level", "quantity", -0.1, "must be ≥ 0"),
        ("material.shortage", "quantity_short", 0, "must be > 0"),
        ("labor.availability", "available", -2, "must be ≥ 0"),
        ("order.changed", "priority", 9, "must be ≤ 5"),
        ("equipment.status", "line", "", "must be a non-empty string"),
        ("equipment.status", "line", 7, "must be a non-empty string"),
        ("equipment.status", "expected_up_at", "tomorrow", "must be an RFC 3339"),
        ("material.shortage", "needed_by", "2026-11-27 08:00", "must be an RFC 3339"),
    ],
)
def test_values_are_checked(event_type, field, value, message):
    _, found = problems(cloudevent(event_type, {**VALID_DATA[event_type], field: value}))
    assert any(p["field"] == f"data.{field}" and p["message"].startswith(message) for p in found)


@pytest.mark.parametrize(
    ("change", "needs"),
    [
        ("quantity", ["quantity"]),
        ("due_date", ["due_at"]),
        ("priority", ["priority"]),
        ("add_line", ["item", "quantity", "due_at"]),
    ],
)
def test_order_change_needs_its_new_values(change, needs):
    _, found = problems(cloudevent("order.changed", {"order": "SO-10101", "change": change}))
    assert {p["field"] for p in found} == {f"data.{n}" for n in needs}
    assert all(p["message"] == f"is required when change is {change}" for p in found)


def test_order_cancel_needs_no_value():
    assert problems(cloudevent("order.changed", {"order": "SO-1", "change": "cancel"}))[1] == []


@pytest.mark.parametrize(
    ("attrs", "field", "message"),
    [
        ({"specversion": "0.3"}, "specversion", 'is required and must be "1.0"'),
        ({"specversion": None}, "specversion", 'is required and must be "1.0"'),
        ({"id": ""}, "id", "is required (a non-empty string)"),
        ({"id": 5}, "id", "is required (a non-empty string)"),
        ({"source": None}, "source", "is required (a non-empty string)"),
        ({"id": "x" * 201}, "id", "must be at most 200 characters"),
        ({"type": None}, "type", "is required (a non-empty string)"),
        ({"time": "27/11/2026"}, "time", "must be an RFC 3339"),
        ({"time": "2026-11-27T08:00:00"}, "time", "must be an RFC 3339"),
        ({"time": "2026-13-45T08:00:00Z"}, "time", "must be an RFC 3339"),
        ({"data": None}, "data", "is required (a JSON object)"),
        ({"data": [1]}, "data", "is required (a JSON object)"),
        ({"datacontenttype": "application/xml"}, "datacontenttype", "must be application/json"),
    ],
)
def test_cloudevents_attributes(attrs, field, message):
    _, found = problems(cloudevent(**attrs))
    assert any(p["field"] == field and p["message"].startswith(message) for p in found), found


def test_unknown_type_lists_the_canonical_ones():
    _, found = problems(cloudevent("line.exploded"))
    assert found[0]["field"] == "type"
    assert "unknown event type 'line.exploded'" in found[0]["message"]
    assert "quality.hold" in found[0]["message"]


def test_every_problem_is_reported_at_once():
    _, found = problems({"specversion": "2", "type": "equipment.status", "data": {}})
    assert {p["field"] for p in found} == {
        "id",
        "source",
        "specversion",
        "data.line",
        "data.status",
    }


def test_extensions_are_kept_and_data_site_overrides():
    valid, _ = problems(
        cloudevent(
            subject="L1", traceparent="00-abc", data={"line": "L1", "status": "idle", "site": "S2"}
        )
    )
    assert valid.attributes == {"subject": "L1", "traceparent": "00-abc"}
    assert valid.site == "S2"


def test_datetimes_in_data_are_normalised():
    valid, _ = problems(
        cloudevent(data={"line": "L1", "status": "down", "expected_up_at": "2026-11-27T10:00:00Z"})
    )
    assert valid.data["expected_up_at"] == "2026-11-27T10:00:00+00:00"


@pytest.mark.parametrize("value", [[], {}, ["down"], 3])
def test_enum_given_a_non_string_is_an_error_not_a_crash(value):
    _, found = problems(cloudevent("order.changed", {"order": "SO-1", "change": value}))
    assert found[0]["field"] == "data.change"
    assert found[0]["message"].startswith("must be one of")
