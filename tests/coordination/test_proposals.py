"""Resequencing proposals: triggers by each constraint kind, feasibility of every alternative,
optimality on small lines, the input version (stale vs routine progress)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from coordination import models as m
from coordination.proposals import services
from coordination.proposals.alternatives import fmt_minutes
from coordination.proposals.snapshot import snapshot_take
from coordination.scheduling import Objective, check_schedule
from coordination.scheduling.cpsat import improve
from coordination.scheduling.general import greedy_orders
from coordination.scheduling.instance import build_instance, evaluate
from exceptions.models import ExceptionCase
from tests.coordination.proposal_plant import proposal_plant

pytestmark = pytest.mark.django_db


@pytest.fixture
def pp(db):
    return proposal_plant()


def _build(lines=("P1",), case=None, trigger="request"):
    return services.proposal_build(
        lines=list(lines),
        trigger=trigger,
        case_id=case.pk if case else None,
        first_signal_at=case.first_seen_at if case else timezone.now(),
    )


def test_down_line_gets_alternatives_that_pass_the_checker(pp, signal):
    signal("equipment.status", {"line": "P1", "status": "down"}, site="PP")
    case = ExceptionCase.objects.get(kind="downtime", key="P1")
    proposal = _build(case=case, trigger="downtime")
    assert proposal.is_ready and proposal.status == "proposed"
    keys = [a["key"] for a in proposal.alternatives]
    assert keys[0] == "least_tardiness" and len(keys) >= 2
    base = proposal.baseline["kpis"]
    best = proposal.alternatives[0]["kpis"]
    assert best["weighted_tardiness"] <= base["weighted_tardiness"]
    # The running job stays first; nothing starts inside the assumed 2 h repair.
    for alt in proposal.alternatives:
        p1 = [j for j in alt["jobs"] if j["line"] == "P1"]
        assert p1[0]["job"] == "WO-1"
        assert all(j["start_min"] >= 120 for j in p1)
        assert alt["explanation"][0].endswith(".")


def test_every_alternative_and_the_baseline_pass_check_schedule(pp, signal):
    signal("equipment.status", {"line": "P1", "status": "down"}, site="PP")
    snap = snapshot_take(["P1"])
    from coordination.proposals.alternatives import baseline_result, plans_solve

    problem, result = baseline_result(snap)
    assert check_schedule(problem, result) == []
    plans = plans_solve(snap)
    assert len(plans) == 3  # least lateness, fewest changeovers, protect the top tier
    for plan in plans:
        assert check_schedule(plan.problem, plan.result) == [], plan.key


def test_least_tardiness_equals_the_cpsat_optimum_on_a_small_line(pp, signal):
    signal("equipment.status", {"line": "P1", "status": "down"}, site="PP")
    snap = snapshot_take(["P1"])
    assert len(snap.jobs) <= 12
    proposal = _build()
    chosen = proposal.alternative("least_tardiness")
    problem = snap.problem(Objective("tardiness", changeover_weight=snap.changeover_weight))
    inst = build_instance(problem)
    start = greedy_orders(inst, key=lambda j: (inst.due[j], j))
    outcome = improve(inst, start, time.perf_counter() + 30, 0, None)
    assert outcome.optimal
    optimum = evaluate(inst, outcome.orders)[-1]
    assert chosen["objective"] == optimum


def test_fmt_minutes_reads_like_a_planner():
    assert fmt_minutes(130) == "2 h 10 m"
    assert fmt_minutes(40) == "40 min"
    assert fmt_minutes(120) == "2 h"


# --- the input version: what makes a proposal stale, what does not -------------------------


def test_routine_progress_does_not_change_the_input_version(pp):
    before = snapshot_take(["P1"]).version
    m.Job.objects.filter(number="WO-1").update(good_quantity=700, scrap_quantity=12)
    assert snapshot_take(["P1"]).version == before


@pytest.mark.parametrize(
    "change",
    [
        lambda: m.Order.objects.filter(number="SO-4").update(due_at=timezone.now()),
        lambda: m.Order.objects.filter(number="SO-4").update(priority=1),
        lambda: m.Line.objects.filter(code="P1").update(status="down"),
        lambda: m.Job.objects.filter(number="WO-8").delete(),
        lambda: m.MaintenanceWindow.objects.create(
            work_order="MW-1", line=m.Line.objects.get(code="P1"), kind="planned",
            status="scheduled", starts_at=timezone.now() + timedelta(hours=3),
            expected_end=timezone.now() + timedelta(hours=4),
        ),
    ],
    ids=["due date", "priority", "line status", "job removed", "maintenance window"],
)  # fmt: skip
def test_what_would_change_the_answer_changes_the_input_version(pp, change):
    before = snapshot_take(["P1"]).version
    change()
    assert snapshot_take(["P1"]).version != before


def test_pinning_a_job_to_another_line_and_a_position(pp, role_user, settings):
    settings.PROPOSAL_SOLVE_SECONDS = 0.3
    first = _build()
    planner = role_user("planner")
    pinned = services.proposal_request(
        line_code="P1", actor=planner, based_on=first.pk,
        pins=[{"job": "WO-5", "line": "P2", "position": None},
              {"job": "WO-8", "line": None, "position": 1}],
    )  # fmt: skip
    built = services.proposal_build_for_request(pinned.pk)
    assert built.is_ready and built.lines == ["P1", "P2"]
    first.refresh_from_db()
    assert first.status == "superseded"
    for alt in built.alternatives:
        where = {r["job"]: r for r in alt["jobs"]}
        assert where["WO-5"]["line"] == "P2"
        p1 = [r["job"] for r in alt["jobs"] if r["line"] == "P1"]
        assert p1[:2] == ["WO-1", "WO-8"]  # running, then the pinned job first
    # The baseline is today's plan: WO-5 still on P1 there.
    assert {r["job"]: r["line"] for r in built.baseline["jobs"]}["WO-5"] == "P1"


def test_a_pin_on_an_unknown_or_running_job_is_refused(pp, role_user):
    from kernel.errors import InvalidInputError

    planner = role_user("planner")
    with pytest.raises(InvalidInputError):
        snapshot_take(["P1"], pins=[{"job": "WO-1", "line": None, "position": 2}])
    with pytest.raises(InvalidInputError):
        snapshot_take(["P1"], pins=[{"job": "WO-99", "line": None, "position": 2}])
    with pytest.raises(InvalidInputError):
        services.proposal_request(line_code="P1", actor=planner, pins=[{"job": "WO-2"}])
