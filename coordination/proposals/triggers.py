"""When a constraint hits a line, a proposal is built without anyone asking.

``case_changed`` is an ``exceptions.hooks.case_observers`` observer: a downtime (or unplanned
maintenance), a material shortage, a labour shortfall or an order change that opens, gets a
new signal or comes back enqueues a build after the exception's commit. The build itself
returns at once when the picture still has the input version of the line's open proposal,
so a line repeating "down" every few seconds costs one snapshot read per signal, no solve.
"""

from django.db import transaction

from exceptions.hooks import CaseChange, Change
from exceptions.models import ExceptionCase, Kind

TRIGGERING_KINDS = (Kind.DOWNTIME, Kind.SHORTAGE, Kind.LABOUR, Kind.ORDER_CHANGE)
TRIGGERING_CHANGES = (Change.OPENED, Change.JOINED, Change.REACTIVATED)


def case_lines(case: ExceptionCase) -> list[str]:
    """The lines a constraint hits: the one it names, else those its impact lists."""
    facts, impact = case.facts or {}, case.impact or {}
    if facts.get("line") and case.kind != Kind.ORDER_CHANGE:
        return [facts["line"]]
    return sorted({c for c in impact.get("lines") or [] if c})


def case_trigger(case: ExceptionCase) -> str:
    facts = case.facts or {}
    if case.kind == Kind.DOWNTIME:
        unplanned = facts.get("work_order") or facts.get("status") == "maintenance"
        return "maintenance" if unplanned else "downtime"
    return case.kind


def case_changed(change: CaseChange) -> None:
    """The observer: enqueue one build per hit line, after commit (ids and codes only)."""
    if change.kind not in TRIGGERING_KINDS or change.change not in TRIGGERING_CHANGES:
        return
    case = ExceptionCase.objects.filter(pk=change.case_id).first()
    if case is None:
        return
    from .tasks import proposal_build_task

    first = case.first_seen_at.isoformat()
    for code in case_lines(case):
        kwargs = {
            "lines": [code],
            "trigger": case_trigger(case),
            "case_id": case.pk,
            "first_signal_at": first,
            "detail": case.title,
        }
        transaction.on_commit(lambda kw=kwargs: proposal_build_task.delay(**kw))
