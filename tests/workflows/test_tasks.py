from datetime import timedelta

import pytest
from django.utils import timezone

from coordination.models import StateChange
from exceptions.services import case_dismiss
from kernel.errors import InvalidInputError, PermissionDeniedError
from workflows.models import Decision, EscalationLevel, RoutingRule, Task, WorkflowRun
from workflows.runs import case_reroute
from workflows.sla import escalation_sweep
from workflows.task_actions import task_claim, task_complete, task_pause, task_resume

pytestmark = pytest.mark.django_db


def titles(case):
    return sorted(Task.objects.filter(case=case).values_list("title", flat=True))


def test_parallel_steps_start_together(plant, order_change):
    case = order_change()
    tasks = {t.owner_group.name: t for t in Task.objects.filter(case=case)}
    assert set(tasks) == {"planner", "sales"}
    assert tasks["planner"].due_at < tasks["sales"].due_at  # 30 vs 60 min
    assert tasks["planner"].context["orders"][0]["number"] == "SO-10101"


def test_sequential_steps_start_when_predecessors_are_done(plant, down, role_user):
    RoutingRule.objects.filter(name="Critical line down").update(active=False)
    case = down("L1")
    assert titles(case) == ["Estimate repair time"]
    maint = role_user("maintenance")
    task = Task.objects.get(case=case)
    task_complete(
        task_id=task.pk,
        actor=maint,
        option="estimate",
        value="14:30",
        rationale="Bearing swap, parts on site",
    )
    assert "Propose a new sequence" in titles(case)
    # The run ends when every step's task is done.
    planner, sales = role_user("planner"), role_user("sales")
    run = WorkflowRun.objects.get(case=case)
    for step in run.plan["steps"]:
        task = Task.objects.filter(run=run, step_id=step["id"]).first()
        if task is None or task.status == "done":
            continue
        user = {"planner": planner, "sales": sales, "maintenance": maint}.get(
            task.owner_group.name, role_user("supervisor")
        )
        task_complete(
            task_id=task.pk,
            actor=user,
            option=task.options[0]["value"],
            value="x",
            rationale="done",
        )
    run.refresh_from_db()
    assert run.status == "completed"


def test_decision_records_options_choice_rationale_context_and_prediction(
    plant, order_change, role_user
):
    case = order_change()
    planner = role_user("planner")
    task = Task.objects.get(case=case, owner_group__name="planner")
    when = timezone.now() + timedelta(hours=5)
    decision = task_complete(
        task_id=task.pk,
        actor=planner,
        option="counter",
        value="+1 day",
        rationale="Line 2 is full until tomorrow",
        predicted_completion_at=when,
    )
    assert decision.options == task.options and decision.chosen == "counter"
    assert decision.context_shown["orders"][0]["number"] == "SO-10101"
    assert decision.predicted_completion_at == when
    task.refresh_from_db()
    assert task.status == "done" and task.assignee == planner
    audit = StateChange.objects.filter(object_id=task.pk, transition__in=["claim", "complete"])
    assert audit.count() == 2


@pytest.mark.parametrize(
    ("option", "value", "rationale", "field"),
    [
        ("accept", "", "   ", "rationale"),
        ("nonsense", "", "why", "option"),
        ("counter", "", "why", "value"),
    ],
)
def test_bad_decisions_are_refused_naming_the_field(
    plant, order_change, role_user, option, value, rationale, field
):
    task = Task.objects.get(case=order_change(), owner_group__name="planner")
    with pytest.raises(InvalidInputError) as exc:
        task_complete(
            task_id=task.pk,
            actor=role_user("planner"),
            option=option,
            value=value,
            rationale=rationale,
        )
    assert exc.value.field == field
    task.refresh_from_db()
    assert task.status == "open" and not Decision.objects.exists()


def test_only_the_owning_group_or_assignee_may_act(plant, order_change, role_user):
    task = Task.objects.get(case=order_change(), owner_group__name="planner")
    with pytest.raises(PermissionDeniedError):
        task_complete(task_id=task.pk, actor=role_user("sales"), option="accept", rationale="x")
    first = role_user("planner", username="planner-1")
    task_claim(task_id=task.pk, actor=first)
    with pytest.raises(PermissionDeniedError):  # same group, but someone holds it
        task_complete(
            task_id=task.pk,
            actor=role_user("planner", username="planner-2"),
            option="accept",
            rationale="x",
        )
    task_complete(task_id=task.pk, actor=first, option="accept", rationale="fits")
    assert Decision.objects.get().decided_by == first


def test_pause_stops_the_clock_and_resume_moves_deadlines(plant, order_change, role_user):
    task = Task.objects.get(case=order_change(), owner_group__name="planner")
    planner = role_user("planner")
    due = task.due_at
    with pytest.raises(InvalidInputError):
        task_pause(task_id=task.pk, actor=planner, reason=" ")
    task_pause(task_id=task.pk, actor=planner, reason="waiting on supplier confirmation")
    escalation_sweep(now=due + timedelta(hours=3))
    assert not task.events.filter(kind="escalated").exists()
    Task.objects.filter(pk=task.pk).update(paused_at=timezone.now() - timedelta(minutes=20))
    task = task_resume(task_id=task.pk, actor=planner)
    assert timedelta(minutes=19) < task.due_at - due < timedelta(minutes=21)
    kinds = list(task.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["paused", "resumed"]
    escalation_sweep(now=due + timedelta(minutes=1))
    assert not task.events.filter(kind="escalated").exists()
    escalation_sweep(now=task.due_at + timedelta(seconds=1))
    assert task.events.filter(kind="escalated").count() == 1


def test_running_escalation_keeps_the_policy_frozen_at_start(plant, order_change):
    task = Task.objects.get(case=order_change(), owner_group__name="planner")
    EscalationLevel.objects.all().update(after_minutes=500)  # an admin edits the policy
    escalation_sweep(now=task.due_at + timedelta(minutes=16))
    assert task.events.filter(kind="escalated").count() == 2


def test_severity_change_reroutes_and_closing_cancels(
    plant, down, role_user, django_capture_on_commit_callbacks
):
    case = down("L1")
    first = WorkflowRun.objects.get(case=case)
    type(case).objects.filter(pk=case.pk).update(severity=4 if case.severity < 4 else 3)
    case_reroute(case_id=case.pk, previous=case.severity)
    first.refresh_from_db()
    assert first.status == "cancelled" and "re-routed" in first.end_reason
    assert Task.objects.filter(run=first, status="cancelled").exists()
    second = WorkflowRun.objects.get(case=case, status="running")
    with django_capture_on_commit_callbacks(execute=True):
        case_dismiss(case_id=case.pk, actor=role_user("supervisor"), reason="false alarm")
    second.refresh_from_db()
    assert second.status == "cancelled"
    assert not Task.objects.filter(case=case, status__in=["open", "claimed"]).exists()


def test_owner_steps_follow_the_exception_owner(plant, down, role_user):
    from exceptions.services import case_assign

    RoutingRule.objects.exclude(name="Everything else").update(active=False)
    case = down("L1")
    task = Task.objects.get(case=case)
    assert task.owner_group.name == "supervisor"  # nobody owns it yet
    boss = role_user("supervisor")
    maint = role_user("maintenance")
    case_assign(case_id=case.pk, actor=boss, user=maint.username)
    task.refresh_from_db()
    assert task.assignee == maint
