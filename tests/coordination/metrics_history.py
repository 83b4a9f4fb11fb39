"""A hand-built week of history with known answers, for the metrics tests (and the dashboard's
browser test). Times are UTC; the week is Monday 2 - Monday 9 November 2026.

Exceptions (opened in the week unless said otherwise):

| case | kind / key | line | first signal | opened | ack | decision | resolved | cause |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| P (previous week) | downtime L3 | L3 | Fri 30 Oct 10:00 | 10:00 | 10:30 | — | 11:00 | Seal |
| A | downtime L1 | L1 | Mon 08:00 | 08:01 | 08:06 | 08:21 | 09:01 | Bearing |
| B | downtime L2 | L2 | Mon 10:00 | 10:00 | 10:10 | — | 12:00 | Bearing |
| F (repeats P, across weeks) | downtime L3 | L3 | Mon 01:00 | 01:00 | 01:01 | — | 03:00 | Seal |
| C (still open) | shortage MAT@RIV | L2 | Tue 09:00 | 09:00 | — | — | — | |
| D (dismissed) | downtime L4 | L4 | Tue 10:00 | 10:00 | — | — | dismissed | |
| E (repeats A: key) | downtime L1 | L1 | Wed 08:00 | 08:00 | 08:02 | 08:30 | 09:00 | Bearing |
| G (repeats A: cause, line) | scrap WO-1 | L1 | Thu 08:00 | 08:00 | 09:00 | — | 09:00 | Bearing |

Tasks: T1 (A, maintenance, due 08:31, decided 08:21), T7 (A, maintenance, due 08:11, paused
08:05 and decided 08:40 while still paused), T2 (E, maintenance, due 08:20, paused 08:10-08:25
so due 08:35, decided 08:30), T3 (C, planner, due Tue 09:30, escalated twice, still open),
T4 (C, supervisor, paused and still paused), T6 (C, procurement, due in three weeks),
T5 (F, supervisor, cancelled when F was resolved).
"""

from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Group

from coordination import models as m
from exceptions.models import ExceptionCase, RootCause, RootCauseCategory
from tests.factories import ExceptionCaseFactory, UserFactory
from workflows.models import Decision, Task, TaskEvent, WorkflowRun, WorkflowTemplate

WEEK_START = datetime(2026, 11, 2, tzinfo=UTC)
WEEK_END = WEEK_START + timedelta(days=7)
S = ExceptionCase.Status


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """``at(0, 8, 1)``: Monday 08:01; negative days are the week before."""
    return WEEK_START + timedelta(days=day, hours=hh, minutes=mm)


def build_history() -> dict:
    site, _ = m.Site.objects.get_or_create(code="RIV", defaults={"name": "Riverside"})
    lines = {
        code: m.Line.objects.get_or_create(code=code, defaults={"site": site, "name": code})[0]
        for code in ("L1", "L2", "L3", "L4")
    }
    equipment = RootCauseCategory.objects.create(name="Test equipment")
    bearing = RootCause.objects.create(category=equipment, name="Bearing")
    seal = RootCause.objects.create(category=equipment, name="Seal")
    user = UserFactory(username="metrics-decider")

    def case(kind, key, line, first, opened, ack=None, resolved=None, cause=None, status=None):
        return ExceptionCaseFactory(
            kind=kind,
            key=key,
            site=site,
            line=lines[line],
            first_seen_at=first,
            last_seen_at=first,
            opened_at=opened,
            acknowledged_at=ack,
            resolved_at=resolved,
            dismissed_at=opened + timedelta(minutes=5) if status == S.DISMISSED else None,
            root_cause=cause,
            status=status or (S.RESOLVED if resolved else S.ACKNOWLEDGED if ack else S.OPEN),
        )

    cases = {
        "P": case("downtime", "L3", "L3", at(-3, 10), at(-3, 10), at(-3, 10, 30), at(-3, 11), seal),
        "A": case("downtime", "L1", "L1", at(0, 8), at(0, 8, 1), at(0, 8, 6), at(0, 9, 1), bearing),
        "B": case("downtime", "L2", "L2", at(0, 10), at(0, 10), at(0, 10, 10), at(0, 12), bearing),
        "F": case("downtime", "L3", "L3", at(0, 1), at(0, 1), at(0, 1, 1), at(0, 3), seal),
        "C": case("shortage", "MAT@RIV", "L2", at(1, 9), at(1, 9)),
        "D": case("downtime", "L4", "L4", at(1, 10), at(1, 10), status=S.DISMISSED),
        "E": case("downtime", "L1", "L1", at(2, 8), at(2, 8), at(2, 8, 2), at(2, 9), bearing),
        "G": case("scrap", "WO-1", "L1", at(3, 8), at(3, 8), at(3, 9), at(3, 9), bearing),
    }  # fmt: skip

    template = WorkflowTemplate.objects.create(name="metrics test template")
    functions = ("maintenance", "planner", "supervisor", "procurement")
    group = {name: Group.objects.get(name=name) for name in functions}
    runs = {}

    def task(name, case_name, function, step, created, due, status=Task.Status.OPEN, done=None):
        if case_name not in runs:
            runs[case_name] = WorkflowRun.objects.create(
                case=cases[case_name],
                template=template,
                plan={"template": template.name, "steps": []},
                severity=3,
                started_at=created,
            )
        run = runs[case_name]
        run.plan["steps"].append(
            {"id": step, "assignee": "group", "group_id": group[function].pk, "title": name}
        )
        WorkflowRun.objects.filter(pk=run.pk).update(plan=run.plan)
        return Task.objects.create(
            run=run,
            case=cases[case_name],
            step_id=step,
            title=name,
            owner_group=group[function],
            status=status,
            created_at=created,
            due_at=due,
            done_at=done,
        )

    def event(t, kind, when, seq=None):
        TaskEvent.objects.create(task=t, kind=kind, at=when, seq=seq, summary=kind)

    def decide(t, when):
        Decision.objects.create(
            task=t,
            case=t.case,
            decided_by=user,
            decided_at=when,
            options=[{"value": "accept", "label": "Accept"}],
            chosen="accept",
            chosen_label="Accept",
            rationale="known answer",
            context_shown={},
        )

    Done = Task.Status.DONE
    t1 = task("T1", "A", "maintenance", 1, at(0, 8, 1), at(0, 8, 31), Done, at(0, 8, 21))
    decide(t1, at(0, 8, 21))
    t7 = task("T7", "A", "maintenance", 2, at(0, 8, 1), at(0, 8, 11), Done, at(0, 8, 40))
    event(t7, TaskEvent.Kind.PAUSED, at(0, 8, 5))
    Task.objects.filter(pk=t7.pk).update(paused_at=at(0, 8, 5))
    decide(t7, at(0, 8, 40))
    # Resuming moved the due time by the 15 minutes paused (08:20 → 08:35).
    t2 = task("T2", "E", "maintenance", 1, at(2, 8), at(2, 8, 35), Done, at(2, 8, 30))
    event(t2, TaskEvent.Kind.PAUSED, at(2, 8, 10))
    event(t2, TaskEvent.Kind.RESUMED, at(2, 8, 25))
    decide(t2, at(2, 8, 30))
    t3 = task("T3", "C", "planner", 1, at(1, 9), at(1, 9, 30))
    event(t3, TaskEvent.Kind.ESCALATED, at(1, 9, 30), seq=0)
    event(t3, TaskEvent.Kind.ESCALATED, at(1, 10), seq=1)
    t4 = task("T4", "C", "supervisor", 2, at(1, 9), at(1, 9, 15))
    event(t4, TaskEvent.Kind.PAUSED, at(1, 9, 5))
    Task.objects.filter(pk=t4.pk).update(paused_at=at(1, 9, 5))
    task("T6", "C", "procurement", 3, at(1, 9), at(21, 9))
    task("T5", "F", "supervisor", 1, at(0, 1), at(0, 1, 30), Task.Status.CANCELLED, at(0, 3))
    return cases
