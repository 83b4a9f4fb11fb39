"""Two supervisors act on one exception at once; two workers raise on one key at once."""

from itertools import pairwise

import pytest

from exceptions.models import ExceptionCase
from exceptions.services import case_acknowledge, case_dismiss, event_observe
from tests.conftest import race
from tests.factories import plant_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _audit_count(case) -> int:
    from coordination.models import StateChange

    return StateChange.objects.filter(object_id=case.pk, transition="acknowledge").count()


def test_concurrent_acknowledge_one_wins_the_other_is_told(plant, down, role_user):
    case = down("L1")
    people = [role_user("supervisor", username=f"sup{k}") for k in range(2)]

    outcomes = race(
        lambda k: case_acknowledge(case_id=case.pk, actor=people[k], expected_state="open")
    )

    codes = sorted(code for code, _ in outcomes)
    assert codes == ["conflict", "ok"]
    message = next(detail for code, detail in outcomes if code == "conflict")
    assert "acknowledged" in message and "you saw open" in message
    case.refresh_from_db()
    assert case.status == "acknowledged" and case.owner_user in people
    assert _audit_count(case) == 1


def test_concurrent_acknowledge_and_dismiss_nothing_overwritten(plant, down, role_user):
    """Either order is legal (acknowledge then dismiss; or dismiss, and acknowledge is
    refused), and both end dismissed: what proves nothing was overwritten is the audit. Each
    success is one audited step from the state the one before it left; two successes that
    both started from "open" would be an overwrite."""
    from coordination.models import StateChange

    case = down("L1")
    boss = role_user("supervisor")
    actions = [
        lambda: case_acknowledge(case_id=case.pk, actor=boss),
        lambda: case_dismiss(case_id=case.pk, actor=boss, reason="false alarm"),
    ]

    outcomes = race(lambda k: actions[k]())

    codes = sorted(code for code, _ in outcomes)
    assert codes in (["ok", "ok"], ["ok", "transition_not_allowed"])
    case.refresh_from_db()
    assert case.status == ExceptionCase.Status.DISMISSED
    steps = list(
        StateChange.objects.filter(object_id=case.pk, content_type__model="exceptioncase")
        .order_by("pk")
        .values_list("from_state", "to_state")
    )
    assert len(steps) == codes.count("ok")
    assert steps[0][0] == "open" and steps[-1][1] == "dismissed"
    assert all(after[0] == before[1] for before, after in pairwise(steps))


def test_concurrent_signals_on_one_line_open_one_exception(plant):
    events = [plant_event("equipment.status", {"line": "L1", "status": "down"}) for _ in range(4)]

    race(lambda k: event_observe(events[k]), callers=4)

    [case] = ExceptionCase.objects.filter(key="L1")
    assert case.event_count == 4
