import pytest
from django.db import transaction
from django_fsm import ConcurrentTransition

from coordination.models import Job, Lot, Order, StateChange
from coordination.services import lot_hold, row_locked, state_history, transition_apply
from kernel.errors import ConflictError, NotFoundError, TransitionError
from tests.factories import JobFactory, LotFactory, OrderFactory

pytestmark = pytest.mark.django_db

S_ORDER, S_JOB, S_LOT = Order.Status, Job.Status, Lot.Status

ALLOWED = [
    (OrderFactory, S_ORDER.OPEN, "start", S_ORDER.IN_PRODUCTION),
    (OrderFactory, S_ORDER.OPEN, "complete", S_ORDER.COMPLETED),
    (OrderFactory, S_ORDER.IN_PRODUCTION, "complete", S_ORDER.COMPLETED),
    (OrderFactory, S_ORDER.OPEN, "cancel", S_ORDER.CANCELLED),
    (OrderFactory, S_ORDER.IN_PRODUCTION, "cancel", S_ORDER.CANCELLED),
    (JobFactory, S_JOB.PLANNED, "release", S_JOB.RELEASED),
    (JobFactory, S_JOB.PLANNED, "start", S_JOB.RUNNING),
    (JobFactory, S_JOB.RELEASED, "start", S_JOB.RUNNING),
    (JobFactory, S_JOB.RUNNING, "complete", S_JOB.COMPLETED),
    (JobFactory, S_JOB.PLANNED, "cancel", S_JOB.CANCELLED),
    (JobFactory, S_JOB.RELEASED, "cancel", S_JOB.CANCELLED),
    (LotFactory, S_LOT.AVAILABLE, "hold", S_LOT.ON_HOLD),
    (LotFactory, S_LOT.RELEASED, "hold", S_LOT.ON_HOLD),
    (LotFactory, S_LOT.REWORK, "hold", S_LOT.ON_HOLD),
    (LotFactory, S_LOT.ON_HOLD, "release", S_LOT.RELEASED),
    (LotFactory, S_LOT.ON_HOLD, "rework", S_LOT.REWORK),
    (LotFactory, S_LOT.ON_HOLD, "scrap", S_LOT.SCRAPPED),
    (LotFactory, S_LOT.ON_HOLD, "use_as_is", S_LOT.USED_AS_IS),
]

FORBIDDEN = [
    (OrderFactory, S_ORDER.COMPLETED, "cancel"),
    (OrderFactory, S_ORDER.CANCELLED, "start"),
    (OrderFactory, S_ORDER.IN_PRODUCTION, "start"),
    (JobFactory, S_JOB.COMPLETED, "start"),
    (JobFactory, S_JOB.RUNNING, "cancel"),
    (JobFactory, S_JOB.PLANNED, "complete"),
    (JobFactory, S_JOB.CANCELLED, "release"),
    (LotFactory, S_LOT.AVAILABLE, "release"),
    (LotFactory, S_LOT.ON_HOLD, "hold"),
    (LotFactory, S_LOT.SCRAPPED, "hold"),
    (LotFactory, S_LOT.AVAILABLE, "scrap"),
    (LotFactory, S_LOT.RELEASED, "use_as_is"),
]


@pytest.mark.parametrize(("factory", "source", "action", "target"), ALLOWED)
def test_allowed_transition_changes_state_and_is_audited(
    factory, source, action, target, role_user
):
    actor = role_user("supervisor")
    obj = factory(status=source)

    with row_locked(type(obj), obj.pk) as locked:
        transition_apply(getattr(locked, action), actor=actor, reason="shift handover", via="api")

    obj.refresh_from_db()
    assert obj.status == target
    [change] = state_history(obj)
    assert (change.transition, change.from_state, change.to_state) == (action, source, target)
    assert change.actor == actor
    assert change.reason == "shift handover"
    assert change.via == "api"


@pytest.mark.parametrize(("factory", "source", "action"), FORBIDDEN)
def test_forbidden_transition_is_refused_and_changes_nothing(factory, source, action):
    obj = factory(status=source)

    with pytest.raises(TransitionError) as err, row_locked(type(obj), obj.pk) as locked:
        transition_apply(getattr(locked, action), reason="try")

    assert source in err.value.detail
    obj.refresh_from_db()
    assert obj.status == source
    assert not StateChange.objects.exists()


def test_state_cannot_be_assigned_directly():
    lot = LotFactory()
    with pytest.raises(AttributeError):
        lot.status = Lot.Status.SCRAPPED


def test_unknown_action_is_a_transition_error():
    lot = LotFactory()
    with pytest.raises(TransitionError, match="no action 'delete'"):
        transition_apply(lot.delete)


def test_acting_on_a_stale_view_conflicts():
    lot = LotFactory(status=Lot.Status.ON_HOLD)

    with (
        pytest.raises(ConflictError, match="is now on_hold"),
        row_locked(Lot, lot.pk, expected_state=Lot.Status.AVAILABLE) as locked,
    ):
        transition_apply(locked.hold)


def test_stale_instance_save_is_refused_by_the_state_filter():
    """Even without the row lock (SQLite), a save from a stale copy cannot overwrite."""
    lot = LotFactory()
    stale = Lot.objects.get(pk=lot.pk)
    with row_locked(Lot, lot.pk) as locked:
        transition_apply(locked.hold, reason="first")
    stale.hold()
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    assert Lot.objects.get(pk=lot.pk).status == Lot.Status.ON_HOLD


def test_missing_object_is_not_found():
    with pytest.raises(NotFoundError), row_locked(Lot, 999_999) as lot:
        transition_apply(lot.hold)


def test_lot_hold_keeps_the_reason_on_the_lot():
    lot = LotFactory()
    lot_hold(code=lot.code, reason="Seal integrity below spec")
    lot.refresh_from_db()
    assert lot.status == Lot.Status.ON_HOLD
    assert lot.hold_reason == "Seal integrity below spec"


def test_lot_hold_needs_a_reason():
    lot = LotFactory()
    with pytest.raises(TransitionError, match="needs a reason"):
        lot_hold(code=lot.code, reason="  ")
    lot.refresh_from_db()
    assert lot.status == Lot.Status.AVAILABLE


def test_job_start_records_the_actual_start():
    job = JobFactory()
    with row_locked(Job, job.pk) as locked:
        transition_apply(locked.start)
    job.refresh_from_db()
    assert job.actual_start is not None
