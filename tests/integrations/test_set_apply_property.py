"""Set-based apply leaves the database exactly as the one-at-a-time path does (issue 16).

Hypothesis draws event streams over the demo plant: every type, real and unknown references
(lines, jobs, lots, orders, items, locations, shifts), plant times out of order and tied,
repeated ids (duplicates at the door) and repeated signals; the stream is accepted as the
API does and processed in random chunks, once by the one-at-a-time path (the reference) and
once set-based, each inside a savepoint that is rolled back. Then everything the two runs
wrote is compared: the plant picture, watermarks, inbox statuses and errors, state changes,
the outbox, exceptions with their timelines and counts, workflow runs, tasks and
notifications. The clock is pinned (``timezone.now``), so the times processing computes
must agree too; only the columns stamped with the moment a row was written (``auto_now``,
``default=timezone.now``) and random keys are left out. Rows created by a run are compared by their
position, not their id (sequences do not roll back).
"""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import models, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from coordination import models as pm
from exceptions.models import BoardVersion, ExceptionCase, ExceptionCaseEvent
from integrations.models import InboxEvent, Integration
from integrations.services import events_accept, inbox_process_batch
from workflows.models import Decision, Notification, Task, TaskEvent, WorkflowRun

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TIMES = [NOW - timedelta(minutes=m) for m in (90, 60, 45, 30, 30, 10)]  # ties on purpose
_serial = itertools.count()

# Everything processing may write; BoardVersion is left out: it is a "something changed"
# counter the board polls, and the set-based observer moves it once per batch, not per event.
COMPARED = [
    pm.Line,
    pm.Job,
    pm.Order,
    pm.Lot,
    pm.Stock,
    pm.Staffing,
    pm.MaintenanceWindow,
    pm.Watermark,
    pm.StateChange,
    pm.OutboxMessage,
    InboxEvent,
    ExceptionCase,
    ExceptionCaseEvent,
    WorkflowRun,
    Task,
    TaskEvent,
    Decision,
    Notification,
]


class _Rollback(Exception):
    pass


@pytest.fixture
def refs(key):
    """The demo plant's codes, plus codes that resolve to nothing."""
    return {
        "line": [*pm.Line.objects.order_by("code").values_list("code", flat=True), "L9"],
        "job": [*pm.Job.objects.order_by("pk").values_list("number", flat=True)[:10], "WO-0"],
        "lot": [*pm.Lot.objects.order_by("pk").values_list("code", flat=True)[:4], "LOT-0"],
        "order": [*pm.Order.objects.order_by("pk").values_list("number", flat=True)[:4], "SO-0"],
        "item": [*pm.Item.objects.order_by("pk").values_list("code", flat=True)[:3], "MAT-0"],
        "location": [*pm.Location.objects.values_list("code", flat=True)[:2], "NOWHERE"],
        "shift": [*pm.Shift.objects.values_list("code", flat=True)[:2], "Z"],
        "integration": Integration.objects.get(name="mes"),
    }


def _draw_event(draw, refs) -> dict:
    pick = lambda name: draw(st.sampled_from(refs[name]))  # noqa: E731
    count = st.integers(0, 3000)
    event_type = draw(
        st.sampled_from(
            ["equipment.status"] * 4
            + ["production.progress"] * 3
            + ["inventory.level"] * 2
            + [
                "material.shortage",
                "labor.availability",
                "quality.hold",
                "quality.disposition",
                "order.changed",
                "maintenance.event",
            ]
        )
    )
    if event_type == "equipment.status":
        data = {"line": pick("line"), "status": draw(st.sampled_from(["running", "idle", "down"]))}
        if draw(st.booleans()):
            data["reason"] = draw(st.sampled_from(["jam", "no caps", "changeover"]))
        if draw(st.integers(0, 9)) == 0:
            data["asset"] = "NO-SUCH-ASSET"
    elif event_type == "production.progress":
        data = {"job": pick("job"), "good": draw(count), "scrap": draw(st.integers(0, 300))}
        if draw(st.integers(0, 4)) == 0:
            data["line"] = pick("line")
    elif event_type == "inventory.level":
        data = {"item": pick("item"), "location": pick("location"), "quantity": draw(count)}
        if draw(st.integers(0, 5)) == 0:
            data["uom"] = "kg"
    elif event_type == "material.shortage":
        data = {"item": pick("item"), "quantity_short": draw(st.integers(1, 500))}
        if draw(st.booleans()):
            data["line"] = pick("line")
    elif event_type == "labor.availability":
        data = {
            "line": pick("line"),
            "shift": pick("shift"),
            "available": draw(st.integers(0, 8)),
            "required": draw(st.integers(1, 8)),
        }
    elif event_type == "quality.hold":
        data = {"lot": pick("lot"), "reason": "seal leak"}
    elif event_type == "quality.disposition":
        data = {
            "lot": pick("lot"),
            "disposition": draw(st.sampled_from(["release", "rework", "scrap", "use_as_is"])),
            "rationale": "checked",
        }
    elif event_type == "order.changed":
        change = draw(st.sampled_from(["quantity", "priority", "cancel"]))
        data = {"order": pick("order"), "change": change}
        if change == "quantity":
            data["quantity"] = draw(st.integers(1, 9000))
        elif change == "priority":
            data["priority"] = draw(st.integers(1, 5))
    else:
        data = {
            "line": pick("line"),
            "work_order": draw(st.sampled_from(["MW-1", "MW-2"])),
            "kind": draw(st.sampled_from(["planned", "unplanned"])),
            "status": draw(st.sampled_from(["scheduled", "started", "completed"])),
        }
    return {
        "specversion": "1.0",
        "id": f"prop-{next(_serial)}",
        "source": "mes/prop",
        "type": event_type,
        "time": draw(st.sampled_from(TIMES)).isoformat(),
        "data": data,
    }


def _stream(data, refs) -> tuple[list[dict], list[int]]:
    stream = [_draw_event(data.draw, refs) for _ in range(data.draw(st.integers(1, 60)))]
    # Repeats: the same signal again under its own id (a re-sent reading) or the same id
    # again (a duplicate the inbox must recognise).
    for _ in range(data.draw(st.integers(0, 5))):
        original = data.draw(st.sampled_from(stream))
        copy = {**original, "data": dict(original["data"])}
        if data.draw(st.booleans()):
            copy["id"] = f"prop-{next(_serial)}"
        stream.insert(data.draw(st.integers(0, len(stream))), copy)
    chunks = data.draw(st.lists(st.integers(1, 50), min_size=1, max_size=8))
    return stream, chunks


def _run(stream, chunks, refs, *, set_based: bool) -> dict:
    """Accept and process ``stream`` in a savepoint, snapshot what it wrote, roll back."""
    before = {model: _max_pk(model) for model in COMPARED}
    board = _board()
    try:
        with transaction.atomic():
            events_accept(integration=refs["integration"], raw_events=stream)
            ids = list(
                InboxEvent.objects.filter(pk__gt=before[InboxEvent] or 0)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            sizes = itertools.cycle(chunks)
            while ids:
                size = next(sizes)
                inbox_process_batch(ids[:size], set_based=set_based)
                ids = ids[size:]
            snapshot = _snapshot(before)
            snapshot["board moved"] = _board() > board
            raise _Rollback
    except _Rollback:
        pass
    return snapshot


# Rows known by a natural key that nothing points at: compared by that key, not by the order
# they were created in (set-based apply creates them in key order, to lock in one order).
NATURAL_KEYS = {
    pm.Watermark: ("key",),
    pm.Stock: ("item_id", "location_id"),
    pm.Staffing: ("line_id", "shift_id", "skill"),
}


def _board() -> int:
    return BoardVersion.objects.filter(pk=1).values_list("n", flat=True).first() or 0


def _max_pk(model) -> int:
    return model.objects.aggregate(m=models.Max("pk"))["m"] or 0


_REAL_NOW = timezone.now


def _written_at(field) -> bool:
    """A column stamped when the row is written, not computed by processing."""
    stamped = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    return stamped or field.default in (_REAL_NOW, uuid.uuid4)  # uuid4: an outbox key


def _snapshot(before: dict) -> dict:
    """Every row of the compared tables, rows created in the run named by position."""
    renames: dict[type, dict[int, tuple]] = {}
    for model in COMPARED:
        new = model.objects.filter(pk__gt=before[model]).order_by("pk").values_list("pk", flat=True)
        renames[model] = {pk: ("new", model.__name__, k) for k, pk in enumerate(new)}
    by_label = {m._meta.label_lower: m for m in COMPARED}

    def name(model, pk):
        return renames.get(model, {}).get(pk, pk)

    out = {}
    for model in COMPARED:
        rows = []
        skipped = {f.attname for f in model._meta.concrete_fields if _written_at(f)}
        for row in model.objects.order_by("pk").values():
            clean = {}
            for field, value in row.items():
                if field in skipped:
                    continue
                if field == "id":
                    value = name(model, value)
                elif field == "inbox_id":
                    value = name(InboxEvent, value)
                elif field == "object_id" and model is pm.StateChange:
                    target = by_label.get(_content_label(row["content_type_id"]))
                    value = name(target, value) if target else value
                else:
                    related = _fk_target(model, field)
                    if related is not None:
                        value = name(related, value)
                clean[field] = value
            rows.append(clean)
        if model in NATURAL_KEYS:
            fields = NATURAL_KEYS[model]
            rows = sorted(
                ({k: v for k, v in r.items() if k != "id"} for r in rows),
                key=lambda r: tuple(r[f] for f in fields),
            )
        out[model.__name__] = rows
    return out


def _fk_target(model, attname):
    for field in model._meta.concrete_fields:
        if field.attname == attname and field.is_relation:
            return field.related_model
    return None


def _content_label(content_type_id: int) -> str:
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_id(content_type_id)
    return f"{ct.app_label}.{ct.model}"


@settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # an example costs ~1 s: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_set_based_apply_leaves_the_database_as_one_at_a_time(refs, monkeypatch, data):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    stream, chunks = _stream(data, refs)
    reference = _run(stream, chunks, refs, set_based=False)
    candidate = _run(stream, chunks, refs, set_based=True)
    for table in reference:  # one table at a time, the first differing row, for a readable failure
        if candidate[table] != reference[table]:
            pairs = itertools.zip_longest(candidate[table], reference[table])
            first = next((c, r) for c, r in pairs if c != r)
            pytest.fail(f"{table} differs: set-based {first[0]} != one at a time {first[1]}")
