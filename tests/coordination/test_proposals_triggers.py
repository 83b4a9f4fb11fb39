"""Each kind of constraint on a line builds a proposal without anyone asking.

The exception's observer enqueues the build after commit; here Celery runs it eagerly (the
worker's path with a real worker is in the browser test and ``bench/response.py``).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from coordination import models as m
from coordination.proposals.models import Proposal
from coordination.proposals.snapshot import _shift_window
from exceptions.models import ExceptionCase
from plantcoord.celery import app
from tests.coordination.proposal_plant import proposal_plant

pytestmark = pytest.mark.django_db


@pytest.fixture
def pp(db, settings):
    settings.PROPOSAL_SOLVE_SECONDS = 0.2  # feasibility and triggers, not solution quality
    return proposal_plant()


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def fire(signal, eager, django_capture_on_commit_callbacks):
    """Send a signal and run what its commit enqueues; returns the proposals of P1."""

    def send(type_, data):
        with django_capture_on_commit_callbacks(execute=True):
            signal(type_, data, site="PP")
        return list(Proposal.objects.filter(line__code="P1").order_by("pk"))

    return send


def _p1(alternative):
    return [j for j in alternative["jobs"] if j["line"] == "P1"]


def _ready(proposal, trigger, kind):
    case = ExceptionCase.objects.get(pk=proposal.case_id)
    assert proposal.trigger == trigger and case.kind == kind
    assert proposal.is_ready and proposal.status == "proposed"
    assert proposal.ready_seconds is not None and proposal.ready_seconds >= 0
    assert proposal.first_signal_at == case.first_seen_at
    return case


def test_downtime_with_an_expected_end(pp, fire):
    back = timezone.now() + timedelta(minutes=90)
    data = {"line": "P1", "status": "down", "expected_up_at": back.isoformat()}
    (proposal,) = fire("equipment.status", data)
    _ready(proposal, "downtime", "downtime")
    origin = proposal.origin
    limit = (back - origin).total_seconds() // 60
    for alt in proposal.alternatives:
        assert all(j["start_min"] >= limit for j in _p1(alt)), alt["key"]


def test_a_repeated_down_signal_builds_nothing_new(pp, fire):
    fire("equipment.status", {"line": "P1", "status": "down"})
    proposals = fire("equipment.status", {"line": "P1", "status": "down"})
    assert len(proposals) == 1


def test_unplanned_maintenance_window(pp, fire):
    start, end = timezone.now() + timedelta(hours=2), timezone.now() + timedelta(hours=3)
    m.MaintenanceWindow.objects.create(
        work_order="MW-7", line=m.Line.objects.get(code="P1"), kind="unplanned",
        status="scheduled", starts_at=start, expected_end=end,
    )  # fmt: skip
    (proposal,) = fire("maintenance.event", {
        "line": "P1", "work_order": "MW-7", "kind": "unplanned", "status": "scheduled",
        "starts_at": start.isoformat(), "expected_end": end.isoformat(),
    })  # fmt: skip
    _ready(proposal, "maintenance", "downtime")
    windows = proposal.snapshot["windows"]["P1"]
    assert any(w["reason"] == "maintenance MW-7" for w in windows)
    ws = next(w for w in windows if w["reason"] == "maintenance MW-7")
    for alt in proposal.alternatives:
        for j in _p1(alt):
            if j["job"] != "WO-1":
                assert j["end_min"] <= ws["start"] or j["start_min"] >= ws["end"], j


def test_material_shortage_delays_the_jobs_it_hits(pp, fire):
    proposals = fire("material.shortage", {"item": "FG-B", "quantity_short": 500, "line": "P1"})
    proposal = proposals[-1]
    _ready(proposal, "shortage", "shortage")
    release = {n: j["release_min"] for n, j in proposal.snapshot["jobs"].items()}
    assert any(release.values())
    for alt in proposal.alternatives:
        for j in _p1(alt):
            if not j["fixed"]:
                assert j["start_min"] >= release[j["job"]], j


def test_labour_shortfall_offers_running_short_crewed_or_moving_work(pp, fire):
    now = timezone.now()
    shift = next(s for s in m.Shift.objects.filter(site__code="PP")
                 if _shift_window(s, now)[0] <= now)  # fmt: skip
    data = {"line": "P1", "shift": shift.code, "available": 2, "required": 6}
    (proposal,) = fire("labor.availability", data)
    _ready(proposal, "labour", "labour")
    assert any(w["reason"] == "short-crewed" for w in proposal.snapshot["windows"]["P1"])
    keys = [a["key"] for a in proposal.alternatives]
    assert "move_work" in keys
    moved = proposal.alternative("move_work")
    assert moved["lines"] == ["P1", "P2"]


def test_order_change(pp, fire):
    due = timezone.now() + timedelta(hours=1)
    m.Order.objects.filter(number="SO-8").update(due_at=due)
    data = {"order": "SO-8", "change": "due_date", "due_at": due.isoformat()}
    (proposal,) = fire("order.changed", data)
    _ready(proposal, "order_change", "order_change")
    assert proposal.snapshot["jobs"]["WO-8"]["due_min"] <= 60


def test_a_newer_proposal_supersedes_the_open_one(pp, fire):
    fire("equipment.status", {"line": "P1", "status": "down"})
    m.Order.objects.filter(number="SO-6").update(priority=1)
    proposals = fire("equipment.status", {"line": "P1", "status": "down"})
    assert [p.status for p in proposals] == ["superseded", "proposed"]
    assert proposals[0].superseded_by_id == proposals[1].pk


def test_planned_maintenance_gets_a_proposal_from_the_sweep(pp):
    from coordination.proposals.services import proposals_maintenance_sweep

    start = timezone.now() + timedelta(hours=2)
    m.MaintenanceWindow.objects.create(
        work_order="PM-1", line=m.Line.objects.get(code="P1"), kind="planned",
        status="scheduled", starts_at=start, expected_end=start + timedelta(hours=1),
        updated_at=timezone.now(),
    )  # fmt: skip
    assert proposals_maintenance_sweep() == 1
    proposal = Proposal.objects.get(line__code="P1")
    assert proposal.trigger == "maintenance" and proposal.is_ready
    assert any(w["reason"] == "maintenance PM-1" for w in proposal.snapshot["windows"]["P1"])
    assert proposals_maintenance_sweep() == 0  # seen: nothing new
