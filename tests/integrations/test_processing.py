"""Applying stored events to the operational picture, exactly once, never older-over-newer."""

from decimal import Decimal

import pytest

from coordination import events as domain_events
from coordination.models import (
    Job,
    Line,
    Lot,
    MaintenanceWindow,
    Order,
    Staffing,
    StateChange,
    Stock,
)
from integrations.models import InboxEvent
from integrations.services import (
    events_accept,
    inbox_process,
    inbox_reprocess,
    inbox_requeue_stuck,
)
from tests.integrations.conftest import cloudevent

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(key):
    from integrations.models import Integration

    return Integration.objects.get(name="mes")


@pytest.fixture
def ingest(integration, django_capture_on_commit_callbacks):
    """Accept events as the API does, then process them as the worker does; returns rows."""

    def run(*events):
        with django_capture_on_commit_callbacks() as enqueued:
            results = events_accept(integration=integration, raw_events=list(events))
        assert all(r["status"] != "rejected" for r in results), results
        assert enqueued, "accepting must enqueue processing on commit"
        rows = []
        for event in events:
            row = InboxEvent.objects.get(source=event["source"], event_id=event["id"])
            inbox_process(row.pk)
            row.refresh_from_db()
            rows.append(row)
        return rows[0] if len(rows) == 1 else rows

    return run


def test_equipment_status_sets_the_line(ingest):
    row = ingest(cloudevent(data={"line": "L1", "status": "down", "reason": "filler jam"}))
    line = Line.objects.get(code="L1")
    assert row.status == "applied" and row.attempts == 1
    assert (line.status, line.status_reason) == ("down", "filler jam")
    assert line.status_since.isoformat() == "2026-11-27T08:00:00+00:00"


def test_processing_twice_applies_once(ingest):
    row = ingest(cloudevent(type="quality.hold", data={"lot": "LOT-M0001", "reason": "seal"}))
    assert inbox_process(row.pk) is None
    lot = Lot.objects.get(code="LOT-M0001")
    assert StateChange.objects.filter(object_id=lot.pk, transition="hold").count() == 1


def test_out_of_order_event_is_kept_as_stale_and_changes_nothing(ingest):
    newer = cloudevent(time="2026-11-27T09:00:00Z", data={"line": "L2", "status": "running"})
    older = cloudevent(time="2026-11-27T08:30:00Z", data={"line": "L2", "status": "down"})
    applied, stale = ingest(newer, older)
    assert (applied.status, stale.status) == ("applied", "stale")
    assert Line.objects.get(code="L2").status == "running"


def test_equal_time_signal_still_applies(ingest):
    ingest(
        cloudevent(data={"line": "L3", "status": "down"}),
        cloudevent(data={"line": "L3", "status": "idle"}),
    )
    assert Line.objects.get(code="L3").status == "idle"


def test_progress_counts_and_first_counts_start_the_job(ingest):
    job = Job.objects.filter(status="released").first()
    ingest(
        cloudevent(
            type="production.progress",
            data={"job": job.number, "line": job.line.code, "good": 120, "scrap": 3},
        )
    )
    job.refresh_from_db()
    assert (job.good_quantity, job.scrap_quantity, job.status) == (120, 3, "running")
    assert StateChange.objects.get(object_id=job.pk).via == "event"


def test_progress_on_the_wrong_line_is_parked(ingest):
    job = Job.objects.filter(line__code="L1", status="running").first()
    row = ingest(
        cloudevent(
            type="production.progress",
            data={"job": job.number, "line": "L2", "good": 1, "scrap": 0},
        )
    )
    assert row.status == "failed"
    assert row.error_field == "data.line"
    assert "runs on L1" in row.error


def test_inventory_level_sets_stock(ingest):
    ingest(
        cloudevent(
            type="inventory.level",
            data={"item": "MAT-CAN-330", "location": "WH-RAW-01", "quantity": 42},
        )
    )
    stock = Stock.objects.get(item__code="MAT-CAN-330", location__code="WH-RAW-01")
    assert stock.quantity == Decimal("42")


def test_inventory_in_the_wrong_unit_is_parked(ingest):
    row = ingest(
        cloudevent(
            type="inventory.level",
            data={"item": "MAT-CAN-330", "location": "WH-RAW-01", "quantity": 4, "uom": "KG"},
        )
    )
    assert (row.status, row.error_field) == ("failed", "data.uom")


def test_hold_then_disposition(ingest):
    ingest(
        cloudevent(
            type="quality.hold", data={"lot": "LOT-M0003", "reason": "seal", "defect_code": "D12"}
        ),
        cloudevent(
            type="quality.disposition",
            time="2026-11-27T09:00:00Z",
            data={
                "lot": "LOT-M0003",
                "disposition": "use_as_is",
                "rationale": "within deviation DV-7",
            },
        ),
    )
    lot = Lot.objects.get(code="LOT-M0003")
    assert lot.status == "used_as_is"
    hold, disposition = StateChange.objects.filter(object_id=lot.pk).order_by("at", "id")
    assert (hold.transition, disposition.transition) == ("hold", "use_as_is")
    assert "within deviation DV-7" in disposition.reason


def test_hold_keeps_reason_and_defect_code(ingest):
    ingest(
        cloudevent(
            type="quality.hold", data={"lot": "LOT-M0006", "reason": "seal", "defect_code": "D12"}
        )
    )
    assert Lot.objects.get(code="LOT-M0006").hold_reason == "seal (D12)"


def test_late_hold_does_not_re_hold_a_released_lot(ingest):
    ingest(
        cloudevent(
            type="quality.hold",
            time="2026-11-27T08:00:00Z",
            data={"lot": "LOT-M0004", "reason": "seal"},
        ),
        cloudevent(
            type="quality.disposition",
            time="2026-11-27T09:00:00Z",
            data={"lot": "LOT-M0004", "disposition": "release", "rationale": "ok"},
        ),
    )
    late = ingest(
        cloudevent(
            type="quality.hold",
            time="2026-11-27T08:30:00Z",
            data={"lot": "LOT-M0004", "reason": "seal again"},
        )
    )
    assert late.status == "stale"
    assert Lot.objects.get(code="LOT-M0004").status == "released"


def test_disposition_of_a_lot_not_on_hold_is_parked_then_reprocessed(ingest):
    early = ingest(
        cloudevent(
            type="quality.disposition",
            time="2026-11-27T08:00:00Z",
            data={"lot": "LOT-M0005", "disposition": "scrap", "rationale": "contaminated"},
        )
    )
    assert early.status == "failed"
    assert "not on hold" in early.error

    from coordination.services import lot_hold

    lot_hold(code="LOT-M0005", reason="quality found contamination")
    assert inbox_reprocess(ids=[early.pk]) == 1
    assert inbox_process(early.pk) == "applied"
    assert Lot.objects.get(code="LOT-M0005").status == "scrapped"


def test_order_changes(ingest):
    order = Order.objects.get(number="SO-10101")
    ingest(
        cloudevent(
            type="order.changed",
            data={"order": "SO-10101", "change": "due_date", "due_at": "2026-12-01T12:00:00Z"},
        ),
        cloudevent(
            type="order.changed", data={"order": "SO-10101", "change": "quantity", "quantity": 777}
        ),
    )
    order.refresh_from_db()
    assert order.due_at.isoformat() == "2026-12-01T12:00:00+00:00"
    assert order.quantity == 777


def test_order_cancel_is_an_audited_transition(ingest):
    ingest(cloudevent(type="order.changed", data={"order": "SO-10102", "change": "cancel"}))
    order = Order.objects.get(number="SO-10102")
    assert order.status == "cancelled"
    assert StateChange.objects.get(object_id=order.pk, to_state="cancelled").via == "event"


def test_labour_and_maintenance_are_recorded(ingest):
    ingest(
        cloudevent(
            type="labor.availability",
            data={"line": "L4", "shift": "B", "available": 3, "required": 6},
        ),
        cloudevent(
            type="maintenance.event",
            data={
                "line": "L4",
                "asset": "L4-FILLER",
                "work_order": "MWO-9",
                "kind": "planned",
                "status": "scheduled",
                "starts_at": "2026-11-28T06:00:00Z",
                "expected_end": "2026-11-28T10:00:00Z",
            },
        ),
    )
    staffing = Staffing.objects.get(line__code="L4", shift__code="B")
    assert (staffing.available, staffing.required) == (3, 6)
    window = MaintenanceWindow.objects.get(work_order="MWO-9")
    assert window.asset.code == "L4-FILLER"
    assert window.expected_end.isoformat() == "2026-11-28T10:00:00+00:00"


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        ("equipment.status", {"line": "L9", "status": "down"}, "data.line"),
        ("equipment.status", {"line": "L1", "status": "down", "asset": "L2-FILLER"}, "data.asset"),
        ("production.progress", {"job": "WO-NOPE", "good": 1, "scrap": 0}, "data.job"),
        ("inventory.level", {"item": "NOPE", "location": "WH-RAW-01", "quantity": 1}, "data.item"),
        (
            "inventory.level",
            {"item": "MAT-CAN-330", "location": "X", "quantity": 1},
            "data.location",
        ),
        ("material.shortage", {"item": "NOPE", "quantity_short": 3}, "data.item"),
        (
            "labor.availability",
            {"line": "L1", "shift": "Z", "available": 1, "required": 2},
            "data.shift",
        ),
        ("quality.hold", {"lot": "LOT-NOPE", "reason": "x"}, "data.lot"),
        ("order.changed", {"order": "SO-1", "change": "cancel"}, "data.order"),
        ("equipment.status", {"line": "L1", "status": "down", "site": "MARS"}, "data.site"),
    ],
)
def test_unknown_references_are_parked_with_the_field(ingest, event_type, data, field):
    row = ingest(cloudevent(type=event_type, data=data))
    assert row.status == "failed"
    assert row.error_field == field
    assert "unknown" in row.error


def test_refused_event_leaves_no_partial_change(ingest):
    """The watermark advanced inside the savepoint is rolled back with the refusal."""
    from coordination.models import Watermark

    ingest(
        cloudevent(
            type="order.changed", data={"order": "SO-10001", "change": "priority", "priority": 1}
        )
    )
    assert not Watermark.objects.filter(key__startswith="order:").exists()


def test_failed_event_applies_once_its_cause_is_fixed(ingest):
    row = ingest(cloudevent(data={"line": "L5", "status": "down"}))
    assert row.status == "failed"
    Line.objects.create(site=Line.objects.get(code="L1").site, code="L5", name="New line")
    assert inbox_reprocess(ids=[row.pk]) == 1
    assert inbox_process(row.pk) == "applied"
    assert Line.objects.get(code="L5").status == "down"


def test_reprocess_ignores_events_that_did_not_fail(ingest):
    row = ingest(cloudevent())
    assert inbox_reprocess(ids=[row.pk]) == 0


def test_observers_receive_the_applied_event(ingest, monkeypatch):
    seen = []
    monkeypatch.setattr(domain_events.event_observers, "_observers", [seen.append])
    newer = cloudevent(time="2026-11-27T09:00:00Z", data={"line": "L2", "status": "down"})
    older = cloudevent(time="2026-11-27T08:00:00Z", data={"line": "L2", "status": "idle"})
    rows = ingest(newer, older)
    assert [(e.inbox_id, e.type, e.site, e.stale) for e in seen] == [
        (rows[0].pk, "equipment.status", "RIV", False),
        (rows[1].pk, "equipment.status", "RIV", True),
    ]
    assert seen[0].data["line"] == "L2"


def test_an_observer_failure_parks_the_event_and_rolls_back_the_change(ingest, monkeypatch):
    def broken(event):
        raise KeyError("bug")

    monkeypatch.setattr(domain_events.event_observers, "_observers", [broken])
    row = ingest(cloudevent(data={"line": "L4", "status": "down"}))
    assert row.status == "failed"
    assert "internal error" in row.error
    assert Line.objects.get(code="L4").status == "running"


def test_stuck_events_are_enqueued_again(integration, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    events_accept(integration=integration, raw_events=[cloudevent(), cloudevent()])
    InboxEvent.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert inbox_requeue_stuck() == 2
    assert len(enqueued) == 1
    InboxEvent.objects.update(status="applied")
    assert inbox_requeue_stuck() == 0


def test_one_batch_running_down_running_opens_then_clears(integration):
    """The batch cache of 'nothing open on this key' is forgotten when a case opens."""
    from exceptions.models import ExceptionCase
    from integrations.services import inbox_process_batch

    events = [
        cloudevent(time=f"2026-11-27T08:0{k}:00Z", data={"line": "L2", "status": status})
        for k, status in enumerate(["running", "down", "running"])
    ]
    events_accept(integration=integration, raw_events=events)
    statuses = inbox_process_batch(list(InboxEvent.objects.values_list("pk", flat=True)))

    assert set(statuses.values()) == {"applied"}
    case = ExceptionCase.objects.get(kind="downtime")
    assert case.event_count == 1
    assert case.condition_active is False
