"""The exception's state machine, its audit, assignment, root cause and repeats."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from coordination.models import StateChange
from exceptions.errors import ConditionActiveError
from exceptions.hooks import case_observers
from exceptions.models import ExceptionCase, ExceptionPolicy, RootCause
from exceptions.selectors import case_by_key, case_predecessors, repeat_rate
from exceptions.services import (
    case_acknowledge,
    case_assign,
    case_dismiss,
    case_resolve,
)
from kernel.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TransitionError,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(role_user):
    return role_user("supervisor")


@pytest.fixture
def cause(db):
    return RootCause.objects.select_related("category").first()


def _audit(case):
    return list(
        StateChange.objects.filter(
            content_type=ContentType.objects.get_for_model(ExceptionCase), object_id=case.pk
        ).values_list("transition", "from_state", "to_state")
    )


def test_acknowledge_takes_ownership_and_is_audited(plant, down, boss):
    case = case_acknowledge(case_id=down("L1").pk, actor=boss)
    assert case.status == "acknowledged" and case.acknowledged_at
    assert case.owner_user == boss
    assert _audit(case) == [("acknowledge", "open", "acknowledged")]


def test_resolve_from_acknowledged_with_root_cause_and_note(plant, down, signal, boss, cause):
    case = case_acknowledge(case_id=down("L1").pk, actor=boss)
    signal("equipment.status", {"line": "L1", "status": "running"})
    case = case_resolve(case_id=case.pk, actor=boss, root_cause=cause.pk, note="new belt")
    assert case.status == "resolved" and case.root_cause == cause
    assert case.resolution_note == "new belt" and not case.resolved_while_active
    assert _audit(case)[-1] == ("resolve", "acknowledged", "resolved")


def test_resolve_straight_from_open(plant, down, boss, cause):
    case = case_resolve(
        case_id=down("L1").pk, actor=boss, root_cause=cause.pk, note="n", confirm_active=True
    )
    assert case.status == "resolved" and case.resolved_while_active
    assert "resolved while still active" in StateChange.objects.last().reason


def test_resolve_while_active_without_confirmation_changes_nothing(plant, down, boss, cause):
    case = down("L1")
    with pytest.raises(ConditionActiveError) as err:
        case_resolve(case_id=case.pk, actor=boss, root_cause=cause.pk, note="n")
    assert err.value.field == "confirm_active"
    assert ExceptionCase.objects.get(pk=case.pk).status == "open"
    assert _audit(case) == []


@pytest.mark.parametrize("start", ["open", "acknowledged"])
def test_dismiss_needs_a_reason_from_open_or_acknowledged(plant, down, boss, start):
    case = down("L1")
    if start == "acknowledged":
        case_acknowledge(case_id=case.pk, actor=boss)
    with pytest.raises(InvalidInputError) as err:
        case_dismiss(case_id=case.pk, actor=boss, reason="  ")
    assert err.value.field == "reason"
    case = case_dismiss(case_id=case.pk, actor=boss, reason="false alarm: sensor test")
    assert case.status == "dismissed" and case.dismiss_reason.startswith("false alarm")


@pytest.mark.parametrize(
    ("end", "action"),
    [
        ("acknowledged", "acknowledge"),
        ("resolved", "acknowledge"),
        ("resolved", "resolve"),
        ("resolved", "dismiss"),
        ("dismissed", "acknowledge"),
        ("dismissed", "resolve"),
        ("dismissed", "dismiss"),
    ],
)
def test_forbidden_transitions_are_refused(plant, down, boss, cause, end, action):
    case = down("L1")
    if end == "acknowledged":
        case_acknowledge(case_id=case.pk, actor=boss)
    elif end == "resolved":
        case_resolve(
            case_id=case.pk, actor=boss, root_cause=cause.pk, note="n", confirm_active=True
        )
    else:
        case_dismiss(case_id=case.pk, actor=boss, reason="dup")
    before = len(_audit(case))
    calls = {
        "acknowledge": lambda: case_acknowledge(case_id=case.pk, actor=boss),
        "resolve": lambda: case_resolve(
            case_id=case.pk, actor=boss, root_cause=cause.pk, note="n", confirm_active=True
        ),
        "dismiss": lambda: case_dismiss(case_id=case.pk, actor=boss, reason="x"),
    }
    with pytest.raises(TransitionError) as err:
        calls[action]()
    assert f"already {end}" in err.value.detail
    assert len(_audit(case)) == before
    assert ExceptionCase.objects.get(pk=case.pk).status == end


def test_acting_on_what_you_saw_when_it_moved_is_a_conflict(plant, down, boss, role_user):
    case = down("L1")
    case_acknowledge(case_id=case.pk, actor=role_user("supervisor", username="other"))
    with pytest.raises(ConflictError) as err:
        case_dismiss(case_id=case.pk, actor=boss, reason="dup", expected_state="open")
    assert "you saw open" in err.value.detail
    assert ExceptionCase.objects.get(pk=case.pk).status == "acknowledged"


def test_resolve_bad_input_names_the_field(plant, down, boss, cause):
    case = down("L1")
    for kwargs, field in [
        ({"root_cause": None, "note": "n"}, "root_cause"),
        ({"root_cause": "abc", "note": "n"}, "root_cause"),
        ({"root_cause": 999999, "note": "n"}, "root_cause"),
        ({"root_cause": cause.pk, "note": "  "}, "note"),
    ]:
        with pytest.raises(InvalidInputError) as err:
            case_resolve(case_id=case.pk, actor=boss, confirm_active=True, **kwargs)
        assert err.value.field == field
    RootCause.objects.filter(pk=cause.pk).update(active=False)
    with pytest.raises(InvalidInputError):
        case_resolve(
            case_id=case.pk, actor=boss, root_cause=cause.pk, note="n", confirm_active=True
        )
    assert ExceptionCase.objects.get(pk=case.pk).status == "open"


def test_assign_to_a_person_then_a_group_is_on_the_timeline(plant, down, boss, role_user):
    case = down("L1")
    tech = role_user("maintenance", username="tech")
    case = case_assign(case_id=case.pk, actor=boss, user="tech")
    assert case.owner_user == tech
    case = case_assign(
        case_id=case.pk, actor=boss, group="maintenance", expected_owner=f"user:{tech.pk}"
    )
    assert case.owner_group.name == "maintenance" and case.owner_user is None
    assert case.events.filter(kind="assigned").count() == 2


def test_assign_bad_input_and_stale_owner(plant, down, boss):
    case = down("L1")
    for kwargs, field in [
        ({}, "owner"),
        ({"user": "x", "group": "quality"}, "owner"),
        ({"user": "nobody-here"}, "user"),
        ({"group": "pilots"}, "group"),
    ]:
        with pytest.raises(InvalidInputError) as err:
            case_assign(case_id=case.pk, actor=boss, **kwargs)
        assert err.value.field == field
    case_assign(case_id=case.pk, actor=boss, group="maintenance")
    with pytest.raises(ConflictError):
        case_assign(case_id=case.pk, actor=boss, group="quality", expected_owner="")
    assert ExceptionCase.objects.get(pk=case.pk).owner_group.name == "maintenance"


def test_closed_exception_cannot_be_assigned(plant, down, boss):
    case = down("L1")
    case_dismiss(case_id=case.pk, actor=boss, reason="dup")
    with pytest.raises(TransitionError):
        case_assign(case_id=case.pk, actor=boss, group="maintenance")


def test_other_functions_may_not_act(plant, down, role_user, cause):
    case = down("L1")
    for role in ("quality", "sales", "procurement", "planner", None):
        with pytest.raises(PermissionDeniedError):
            case_acknowledge(case_id=case.pk, actor=role_user(role, username=f"u-{role}"))
    case = case_acknowledge(case_id=case.pk, actor=role_user("maintenance"))
    assert case.status == "acknowledged"


def test_unknown_exception_is_not_found(db, boss):
    with pytest.raises(NotFoundError):
        case_acknowledge(case_id=424242, actor=boss)


def test_act_by_correlation_key(plant, down):
    case = down("L2")
    assert case_by_key(kind="downtime", key="L2").pk == case.pk
    with pytest.raises(NotFoundError):
        case_by_key(kind="downtime", key="L3")
    with pytest.raises(InvalidInputError):
        case_by_key(kind="weather", key="L2")


# --- repeats ------------------------------------------------------------------------------


def _resolve(case, boss, cause, note="fixed"):
    return case_resolve(
        case_id=case.pk, actor=boss, root_cause=cause.pk, note=note, confirm_active=True
    )


def test_new_exception_on_a_recently_resolved_key_is_a_repeat(plant, down, boss, cause):
    first = _resolve(down("L1"), boss, cause, note="belt replaced")
    second = down("L1")

    assert second.pk != first.pk
    assert second.repeat_of == first
    assert [p.pk for p in case_predecessors(second)] == [first.pk]
    assert second.events.filter(kind="repeat", summary__contains=str(cause)).exists()
    assert repeat_rate()["repeats"] == 1 and repeat_rate()["opened"] == 2


def test_outside_the_window_or_other_key_is_not_a_repeat(plant, down, boss, cause):
    first = _resolve(down("L1"), boss, cause)
    ExceptionCase.objects.filter(pk=first.pk).update(
        resolved_at=timezone.now()
        - timedelta(days=ExceptionPolicy.current().repeat_window_days + 1)
    )
    assert down("L1").repeat_of is None
    assert down("L2").repeat_of is None


def test_dismissed_exception_is_not_a_predecessor(plant, down, boss):
    case_dismiss(case_id=down("L1").pk, actor=boss, reason="false alarm")
    assert down("L1").repeat_of is None


def test_repeat_page_shows_predecessors_root_causes(client, plant, down, boss, cause):
    _resolve(down("L1"), boss, cause, note="belt replaced")
    second = down("L1")
    client.force_login(boss)
    body = client.get(f"/exceptions/{second.pk}/").content.decode()
    assert "Repeat of" in body and cause.name in body and "belt replaced" in body


# --- hooks --------------------------------------------------------------------------------


def test_hooks_hear_opened_severity_and_resolution(plant, down, boss, cause):
    heard = []
    fn = case_observers.register(lambda change: heard.append(change.change))
    try:
        case = down("L1")
        down("L1")
        _resolve(case, boss, cause)
    finally:
        case_observers.unregister(fn)
    assert heard[0] == "opened" and "joined" in heard and heard[-1] == "resolved"
