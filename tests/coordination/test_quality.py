"""Holds and dispositions: audited lot transitions, split quantities, the outbox rows each one
writes, the hold's exception and tasks, and the quality.hold event path."""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordination import quality
from coordination.apply import event_apply
from coordination.models import Job, Lot, OutboxMessage, StateChange, Stock
from coordination.services import state_history
from exceptions.models import OPEN_STATES, ExceptionCase
from kernel.errors import InvalidInputError, PermissionDeniedError, TransitionError
from tests.conftest import race
from tests.factories import plant_event
from workflows.models import Decision, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def engineer(role_user):
    return role_user("quality", username="qe1")


@pytest.fixture
def colleague(role_user):
    return role_user("quality", username="qe2")


def held(code="LOT-FG-1", who=None, reason="seal integrity below spec", defect="D12"):
    lot = Lot.objects.get(code=code)
    return quality.lot_hold_place(lot_id=lot.pk, actor=who, reason=reason, defect_code=defect)


def topics(aggregate="lot:LOT-FG-1"):
    return list(
        OutboxMessage.objects.filter(aggregate=aggregate)
        .order_by("id")
        .values_list("topic", flat=True)
    )


def dispose(actor, code="LOT-FG-1", **kwargs):
    kwargs.setdefault("disposition", "release")
    kwargs.setdefault("rationale", "re-inspected: seals within spec")
    return quality.lot_disposition(lot_id=Lot.objects.get(code=code).pk, actor=actor, **kwargs)


# --- holds ----------------------------------------------------------------------------------


def test_a_hold_is_audited_writes_lot_held_and_raises_the_exception(plant, engineer):
    lot = held(who=engineer)
    assert (lot.status, lot.defect_code, lot.held_at is not None) == ("on_hold", "D12", True)
    change = state_history(lot).get()
    assert (change.transition, change.actor, change.via) == ("hold", engineer, "web")
    message = OutboxMessage.objects.get()
    assert (message.topic, message.aggregate) == ("lot.held", "lot:LOT-FG-1")
    assert message.payload["reason"] == "seal integrity below spec"
    assert message.payload["defect_code"] == "D12"
    assert message.payload["quantity"] == "100.000"
    case = ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1")
    assert case.status == "open"
    assert Task.objects.filter(case=case, title="Decide the disposition").exists()


def test_holding_many_lots_is_all_or_none(plant, engineer):
    held("LOT-M0001", who=engineer)
    with pytest.raises(TransitionError, match="LOT-M0001 is already on hold"):
        quality.lots_hold(codes=["LOT-FG-1", "LOT-M0001"], actor=engineer, reason="suspect")
    assert Lot.objects.get(code="LOT-FG-1").status == "available"
    assert topics() == []
    lots = quality.lots_hold(codes=["LOT-FG-1"], actor=engineer, reason="suspect")
    assert [lot.code for lot in lots] == ["LOT-FG-1"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reason": " "}, "reason"),
        ({"reason": "x" * 201}, "reason"),
        ({"defect_code": "D" * 41}, "defect_code"),
    ],
)
def test_bad_hold_input_names_the_field_and_changes_nothing(plant, engineer, kwargs, field):
    lot = Lot.objects.get(code="LOT-FG-1")
    with pytest.raises(InvalidInputError) as err:
        quality.lot_hold_place(lot_id=lot.pk, actor=engineer, **{"reason": "ok", **kwargs})
    assert err.value.field == field
    assert Lot.objects.get(pk=lot.pk).status == "available"
    assert not OutboxMessage.objects.exists()


def test_bulk_hold_with_no_lot_or_an_unknown_lot_names_lots(plant, engineer):
    for codes in ([], ["NOPE"]):
        with pytest.raises(InvalidInputError) as err:
            quality.lots_hold(codes=codes, actor=engineer, reason="x")
        assert err.value.field == "lots"


# --- dispositions ---------------------------------------------------------------------------


def test_release_is_audited_writes_lot_released_completes_the_task_and_resolves(plant, engineer):
    held(who=engineer)
    lot = dispose(engineer)
    assert lot.status == "released"
    assert [c.transition for c in state_history(lot)] == ["hold", "release"]
    assert topics() == ["lot.held", "lot.released"]
    released = OutboxMessage.objects.get(topic="lot.released").payload
    assert (released["disposition"], released["deviation"]) == ("release", "")
    assert released["rationale"] == "re-inspected: seals within spec"
    case = ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1")
    assert case.status == "resolved"
    assert "re-inspected" in case.resolution_note
    decision = Decision.objects.get(case=case)
    assert (decision.chosen, decision.decided_by, decision.rationale) == (
        "release",
        engineer,
        "re-inspected: seals within spec",
    )
    assert decision.task.status == "done"


def test_scrap_takes_the_quantity_out_of_stock(plant, engineer):
    held("LOT-M0001", who=engineer)
    dispose(engineer, code="LOT-M0001", disposition="scrap", rationale="contaminated", quantity=200)
    stock = Stock.objects.get(item__code="MAT-CAP-28", location__code="WH-RAW-01")
    assert stock.quantity == Decimal("800")
    assert topics("lot:LOT-M0001") == ["lot.held", "lot.split", "lot.scrapped"]
    scrapped = OutboxMessage.objects.get(topic="lot.scrapped").payload
    assert (scrapped["lot"], scrapped["quantity"]) == ("LOT-M0001-1", "200")


def test_rework_creates_a_job_on_the_chosen_line(plant, engineer):
    held(who=engineer)
    lot = dispose(engineer, disposition="rework", rationale="re-seal", rework_line="L3")
    job = Job.objects.get(pk=lot.rework_job_id)
    assert (job.line.code, job.quantity, job.status) == ("L3", 100, "planned")
    assert job.item.code == "FG-1"
    assert (
        job.sequence
        > Job.objects.filter(line=job.line).exclude(pk=job.pk).latest("sequence").sequence
    )
    message = OutboxMessage.objects.get(topic="lot.reworked").payload
    assert (message["rework_job"], message["line"]) == (job.number, "L3")
    assert Lot.objects.get(pk=lot.pk).status == "rework"


def test_use_as_is_records_the_deviation_and_its_approver(plant, engineer, colleague):
    held(who=engineer)
    lot = dispose(
        engineer, disposition="use_as_is", deviation="DEV-2026-17", approver="qe2",
        rationale="cosmetic only; customer agreed",
    )  # fmt: skip
    assert lot.status == "used_as_is"
    assert "DEV-2026-17" in state_history(lot).last().reason
    assert "qe2" in state_history(lot).last().reason
    released = OutboxMessage.objects.get(topic="lot.released").payload
    assert (released["disposition"], released["deviation"]) == ("use_as_is", "DEV-2026-17")
    decision = Decision.objects.get()
    assert (decision.chosen, decision.value) == ("deviation", "DEV-2026-17")


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"deviation": "", "approver": "qe2"}, "deviation", "deviation number"),
        ({"deviation": "DEV-1", "approver": ""}, "approver", "approver"),
        ({"deviation": "DEV-1", "approver": "qe1"}, "approver", "other than you"),
        ({"deviation": "DEV-1", "approver": "ghost"}, "approver", "no active user"),
        ({"deviation": "DEV-1", "approver": "planner-user"}, "approver", "may not approve"),
    ],
)
def test_use_as_is_without_deviation_or_by_its_requester_is_refused(
    plant, engineer, colleague, role_user, kwargs, field, says
):
    role_user("planner")
    held(who=engineer)
    with pytest.raises(InvalidInputError) as err:
        dispose(engineer, disposition="use_as_is", **kwargs)
    assert err.value.field == field
    assert says in err.value.detail
    assert Lot.objects.get(code="LOT-FG-1").status == "on_hold"
    assert topics() == ["lot.held"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"disposition": "bury"}, "disposition"),
        ({"rationale": "  "}, "rationale"),
        ({"quantity": "many"}, "quantity"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": -5}, "quantity"),
        ({"quantity": "100.0001"}, "quantity"),
        ({"quantity": 101}, "quantity"),
        ({"disposition": "rework"}, "rework_line"),
        ({"disposition": "rework", "rework_line": "L9"}, "rework_line"),
    ],
)
def test_bad_disposition_input_names_the_field_and_changes_nothing(plant, engineer, kwargs, field):
    held(who=engineer)
    with pytest.raises(InvalidInputError) as err:
        dispose(engineer, **kwargs)
    assert err.value.field == field
    assert Lot.objects.get(code="LOT-FG-1").status == "on_hold"
    assert Lot.objects.count() == 2
    assert topics() == ["lot.held"]


def test_rework_of_a_lot_no_job_made_is_refused_naming_the_disposition(plant, engineer):
    held("LOT-M0001", who=engineer)
    with pytest.raises(InvalidInputError) as err:
        dispose(engineer, code="LOT-M0001", disposition="rework", rework_line="L1")
    assert err.value.field == "disposition"


def test_a_lot_not_on_hold_is_a_conflict_and_writes_nothing(plant, engineer):
    with pytest.raises(TransitionError) as err:
        dispose(engineer)
    assert err.value.status == 409
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("role", ["supervisor", "planner", "procurement", "sales", "maintenance"])
def test_only_quality_dispositions(plant, engineer, role_user, role):
    held(who=engineer)
    with pytest.raises(PermissionDeniedError):
        dispose(role_user(role))
    assert topics() == ["lot.held"]


def test_a_partial_disposition_splits_and_keeps_the_exception_open(plant, engineer):
    held(who=engineer)
    part = dispose(engineer, disposition="scrap", rationale="crushed", quantity="30.5")
    rest = Lot.objects.get(code="LOT-FG-1")
    assert (part.code, part.quantity, part.status) == ("LOT-FG-1-1", Decimal("30.5"), "scrapped")
    assert (rest.quantity, rest.status) == (Decimal("69.5"), "on_hold")
    assert part.split_from_id == rest.pk
    assert [c.transition for c in state_history(rest)] == ["hold", "split"]
    assert topics() == ["lot.held", "lot.split", "lot.scrapped"]
    split = OutboxMessage.objects.get(topic="lot.split").payload
    assert (split["new_lot"], split["quantity"], split["new_quantity"]) == (
        "LOT-FG-1-1",
        "69.500",
        "30.5",
    )
    case = ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1")
    assert case.status in OPEN_STATES
    dispose(engineer, rationale="rest is fine")
    case.refresh_from_db()
    assert case.status == "resolved"
    assert topics() == ["lot.held", "lot.split", "lot.scrapped", "lot.released"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(
        st.tuples(
            st.decimals(min_value="0.001", max_value="1", places=3),
            st.sampled_from(["release", "scrap", "rework", "none"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_split_sequences_always_sum_to_the_original(plant, engineer, cuts):
    with transaction.atomic():
        sid = transaction.savepoint()
        held(who=engineer)
        original = Lot.objects.get(code="LOT-FG-1").quantity
        for fraction, disposition in cuts:
            lot = Lot.objects.get(code="LOT-FG-1")
            if lot.status != "on_hold":
                break
            amount = max(Decimal("0.001"), (lot.quantity * fraction).quantize(Decimal("0.001")))
            amount = min(amount, lot.quantity)
            if disposition == "none":
                continue
            dispose(
                engineer, disposition=disposition, quantity=amount, rationale="property",
                rework_line="L2",
            )  # fmt: skip
            family = Lot.objects.filter(code__startswith="LOT-FG-1")
            assert sum(x.quantity for x in family) == original
            assert all(x.quantity > 0 for x in family)
            assert family.filter(status="on_hold").count() <= 1
        splits = OutboxMessage.objects.filter(topic="lot.split")
        assert splits.count() == Lot.objects.filter(split_from__code="LOT-FG-1").count()
        transaction.savepoint_rollback(sid)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_engineers_dispositioning_one_lot_one_wins_the_other_conflicts(plant, role_user):
    first, second = role_user("quality", username="qa-a"), role_user("quality", username="qa-b")
    held(who=first)
    lot_id = Lot.objects.get(code="LOT-FG-1").pk
    actors = [first, second]

    outcomes = race(
        lambda k: quality.lot_disposition(
            lot_id=lot_id,
            actor=actors[k],
            disposition=["release", "scrap"][k],
            rationale=f"engineer {k}",
        )
    )
    codes = sorted(code for code, _ in outcomes)
    assert codes[0] == "ok"
    assert codes[1] in ("transition_not_allowed", "conflict")
    assert OutboxMessage.objects.filter(topic__in=["lot.released", "lot.scrapped"]).count() == 1
    lot = Lot.objects.get(pk=lot_id)
    assert StateChange.objects.filter(object_id=lot_id, to_state=lot.status).count() == 1


# --- the event path -------------------------------------------------------------------------


def test_a_quality_hold_event_still_holds_and_writes_lot_held(plant):
    event = plant_event("quality.hold", {"lot": "LOT-FG-1", "reason": "seal", "defect_code": "D12"})
    assert event_apply(event) is True
    lot = Lot.objects.get(code="LOT-FG-1")
    assert (lot.status, lot.hold_reason, lot.defect_code) == ("on_hold", "seal (D12)", "D12")
    assert state_history(lot).get().via == "event"
    message = OutboxMessage.objects.get()
    assert (message.topic, message.payload["reason"], message.payload["defect_code"]) == (
        "lot.held",
        "seal",
        "D12",
    )
    # A repeat of the signal changes nothing and writes nothing more.
    event_apply(plant_event("quality.hold", {"lot": "LOT-FG-1", "reason": "seal"}))
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("disposition", "topic"),
    [("release", "lot.released"), ("use_as_is", "lot.released"), ("scrap", "lot.scrapped"),
     ("rework", "lot.reworked")],
)  # fmt: skip
def test_a_disposition_event_writes_its_message_after_the_hold(plant, disposition, topic):
    event_apply(plant_event("quality.hold", {"lot": "LOT-FG-1", "reason": "seal"}))
    event_apply(
        plant_event(
            "quality.disposition",
            {"lot": "LOT-FG-1", "disposition": disposition, "rationale": "per ERP"},
        )
    )
    assert topics() == ["lot.held", topic]
    assert OutboxMessage.objects.get(topic=topic).payload["rationale"] == "per ERP"


def test_the_admin_role_holds_every_permission_so_it_may_disposition(plant, engineer, role_user):
    # Roles follow kernel.roles: admin is granted every permission; no floor role but quality.
    held(who=engineer)
    assert dispose(role_user("admin")).status == "released"


def test_every_message_of_a_split_family_keeps_the_first_lots_order(plant, engineer):
    held(who=engineer)
    dispose(engineer, quantity=40)  # LOT-FG-1-1 released, 60 left on hold
    held("LOT-FG-1-1", who=engineer, reason="customer complaint", defect="C3")
    dispose(engineer, code="LOT-FG-1-1", disposition="scrap", rationale="bad", quantity=10)
    assert Lot.objects.get(code="LOT-FG-1-1-1").split_from.code == "LOT-FG-1-1"
    assert set(OutboxMessage.objects.values_list("aggregate", flat=True)) == {"lot:LOT-FG-1"}
    assert topics() == [
        "lot.held", "lot.split", "lot.released",  # 40 of LOT-FG-1 released as LOT-FG-1-1
        "lot.held", "lot.split", "lot.scrapped",  # LOT-FG-1-1 held again, 10 of it scrapped
    ]  # fmt: skip
    assert sum(x.quantity for x in Lot.objects.filter(code__startswith="LOT-FG-1")) == 100
