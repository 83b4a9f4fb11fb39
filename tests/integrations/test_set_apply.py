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


# --- scale-out: several workers on one backlog --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_workers_on_one_backlog_apply_every_event_once_newest_wins(key):
    """Four workers drain a shuffled backlog about the same lines, filling their chunks from
    it: no deadlock, nothing left or done twice, and each line ends at its newest signal."""
    import random
    import threading

    integration = Integration.objects.get(name="mes")
    rng = random.Random(16)
    minutes = list(range(600))
    rng.shuffle(minutes)
    lines = ["L1", "L2", "L3", "L4"]
    stream = [
        cloudevent(
            time=f"2026-11-27T{8 + m // 60:02d}:{m % 60:02d}:00Z",
            data={"line": lines[k % 4], "status": rng.choice(["running", "idle"])},
        )
        for k, m in enumerate(minutes)
    ]
    for start in range(0, len(stream), 100):
        events_accept(integration=integration, raw_events=stream[start : start + 100])
    ids = list(InboxEvent.objects.order_by("pk").values_list("pk", flat=True))
    errors = []

    def worker(k):
        try:
            for start in range(k * 25, len(ids), 100):  # each its own tasks, filling to 60
                inbox_process_batch(ids[start : start + 25], set_based=True, fill=60)
        except Exception as exc:  # a deadlock would surface here
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    inbox_process_batch(ids)  # whatever the workers' chunks left to others' tasks
    assert not InboxEvent.objects.filter(status__in=["received", "failed"]).exists()
    assert set(InboxEvent.objects.values_list("attempts", flat=True)) == {1}
    for code in lines:
        newest = max((e for e in stream if e["data"]["line"] == code), key=lambda e: e["time"])
        line = Line.objects.get(code=code)
        assert line.status == newest["data"]["status"], code
        mark = Watermark.objects.get(key=f"line-status:{line.pk}")
        assert mark.time.isoformat().replace("+00:00", "Z") == newest["time"]
        row = InboxEvent.objects.get(event_id=newest["id"])
        assert row.status == "applied"


@pytest.mark.django_db(transaction=True)
def test_a_chunk_waits_only_for_chunks_about_the_same_thing(key):
    """A worker holding line L1's chunk open blocks another chunk about L1 (plant-time order
    per thing) but not one about L2."""
    import threading

    from django.db import connection

    from tests.conftest import pg_blocked_backend, test_database_url, wait_for

    integration = Integration.objects.get(name="mes")

    def accept(line, minute):
        event = cloudevent(
            time=f"2026-11-27T08:{minute:02d}:00Z", data={"line": line, "status": "idle"}
        )
        events_accept(integration=integration, raw_events=[event])
        return [InboxEvent.objects.get(event_id=event["id"]).pk]

    first_l1, l2, second_l1 = accept("L1", 1), accept("L2", 2), accept("L1", 3)
    holding, release = threading.Event(), threading.Event()

    def hold_l1():
        try:
            with transaction.atomic():
                inbox_process_batch(first_l1, set_based=True)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_l1)
    holder.start()
    assert holding.wait(30)
    try:
        assert inbox_process_batch(l2, set_based=True) == {l2[0]: "applied"}  # did not wait
        waiter = threading.Thread(target=lambda: (inbox_process_batch(second_l1, set_based=True),
                                                  connection.close()))  # fmt: skip
        waiter.start()
        wait_for(lambda: pg_blocked_backend(test_database_url()), 30, what="the L1 chunk to wait")
        assert InboxEvent.objects.get(pk=second_l1[0]).status == "received"
    finally:
        release.set()
        holder.join(30)
    waiter.join(30)
    assert InboxEvent.objects.get(pk=second_l1[0]).status == "applied"
    line = Line.objects.get(code="L1")
    mark = Watermark.objects.get(key=f"line-status:{line.pk}")
    assert mark.time.isoformat() == "2026-11-27T08:03:00+00:00"
