"""Set-based apply of a chunk (issue 16): the behaviours people see, one at a time.

The general equivalence with the one-at-a-time path is ``test_set_apply_property.py``;
these name the cases a plant cares about.
"""

import pytest
from django.db import transaction

from coordination.models import Job, Line, Watermark
from exceptions.hooks import case_observers
from exceptions.models import ExceptionCase
from integrations.models import InboxEvent, Integration
from integrations.services import events_accept, inbox_process_batch
from tests.integrations.conftest import cloudevent
from workflows.models import WorkflowRun

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def accept(key):
    integration = Integration.objects.get(name="mes")

    def run(*events) -> list[int]:
        results = events_accept(integration=integration, raw_events=list(events))
        assert all(r["status"] == "accepted" for r in results), results
        return [InboxEvent.objects.get(source=e["source"], event_id=e["id"]).pk for e in events]

    return run


def _flap(line="L1"):
    return [
        cloudevent(time=f"2026-11-27T08:0{k}:00Z", data={"line": line, "status": status})
        for k, status in enumerate(["down", "running", "down"])
    ]


def _timeline(case):
    return [
        (entry.kind, entry.inbox_id, entry.summary)
        for entry in case.events.order_by("pk")
        if entry.inbox_id is not None
    ]


def test_a_flap_inside_one_chunk_is_one_exception_with_three_signals(accept, monkeypatch):
    changes = []
    monkeypatch.setattr(case_observers, "_observers", [*case_observers._observers, changes.append])
    down, running, down_again = ids = accept(*_flap())

    statuses = inbox_process_batch(ids, set_based=True)

    assert [statuses[pk] for pk in ids] == ["applied"] * 3
    case = ExceptionCase.objects.get(kind="downtime", key="L1")
    assert [(kind, pk) for kind, pk, _ in _timeline(case)] == [
        ("signal", down),
        ("cleared", running),
        ("signal", down_again),
    ]
    assert case.event_count == 2  # the two "down" signals; "running" cleared it
    assert case.condition_active and case.cleared_at is None
    assert [c.change for c in changes if c.case_id == case.pk][:3] == [
        "opened",
        "cleared",
        "reactivated",
    ]
    assert WorkflowRun.objects.filter(case=case).count() == 1  # one disruption, one workflow
    assert Line.objects.get(code="L1").status == "down"


def test_a_flap_gives_the_same_timeline_as_one_at_a_time(accept):
    ids = accept(*_flap("L2"))
    timelines = {}
    for set_based in (False, True):
        sid = transaction.savepoint()
        inbox_process_batch(ids, set_based=set_based)
        case = ExceptionCase.objects.get(kind="downtime", key="L2")
        timelines[set_based] = (
            [(e.kind, e.inbox_id, e.summary) for e in case.events.order_by("pk")],
            case.event_count,
            case.severity,
            case.condition_active,
        )
        transaction.savepoint_rollback(sid)
    assert timelines[True] == timelines[False]


def test_signals_about_one_thing_apply_in_plant_time_order_whatever_the_arrival(accept):
    late_first = [
        cloudevent(time="2026-11-27T08:05:00Z", data={"line": "L3", "status": "down"}),
        cloudevent(time="2026-11-27T08:01:00Z", data={"line": "L3", "status": "idle"}),
        cloudevent(time="2026-11-27T08:09:00Z", data={"line": "L3", "status": "running"}),
    ]
    ids = accept(*late_first)
    statuses = inbox_process_batch(ids, set_based=True)
    assert [statuses[pk] for pk in ids] == ["applied"] * 3  # sorted by plant time in the chunk
    line = Line.objects.get(code="L3")
    assert line.status == "running"
    assert line.status_since.isoformat() == "2026-11-27T08:09:00+00:00"
    mark = Watermark.objects.get(key=f"line-status:{line.pk}")
    assert mark.time.isoformat() == "2026-11-27T08:09:00+00:00"

    older = accept(cloudevent(time="2026-11-27T08:07:00Z", data={"line": "L3", "status": "down"}))
    assert inbox_process_batch(older, set_based=True) == {older[0]: "stale"}
    assert Line.objects.get(code="L3").status == "running"


def test_an_unknown_reference_fails_alone_and_the_rest_of_the_chunk_applies(accept):
    job = Job.objects.filter(status__in=["planned", "released", "running"]).first()
    ids = accept(
        cloudevent(data={"line": "L1", "status": "idle"}),
        cloudevent(data={"line": "NOPE", "status": "down"}),
        cloudevent(type="production.progress", data={"job": job.number, "good": 5, "scrap": 0}),
        cloudevent(type="production.progress", data={"job": "WO-NOPE", "good": 5, "scrap": 0}),
    )
    statuses = inbox_process_batch(ids, set_based=True)
    assert [statuses[pk] for pk in ids] == ["applied", "failed", "applied", "failed"]
    failed = InboxEvent.objects.get(pk=ids[1])
    assert (failed.error_field, failed.error) == ("data.line", "unknown line 'NOPE' at site RIV")
    assert InboxEvent.objects.get(pk=ids[3]).error == "unknown job 'WO-NOPE'"
    job.refresh_from_db()
    assert (job.good_quantity, job.status) == (5, "running")  # first counts start the job
