"""Two people act on the same row at once: one wins, the other gets a clear conflict."""

import pytest

from coordination.models import Lot, StateChange
from coordination.services import row_locked, transition_apply
from tests.conftest import race
from tests.factories import LotFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_holds_on_one_lot_one_wins():
    lot = LotFactory()

    def hold(k):
        with row_locked(Lot, lot.pk) as locked:
            return transition_apply(locked.hold, reason=f"r{k}")

    outcomes = race(hold)

    codes = sorted(code for code, _ in outcomes)
    assert codes == ["ok", "transition_not_allowed"]
    assert Lot.objects.get(pk=lot.pk).status == Lot.Status.ON_HOLD
    assert StateChange.objects.filter(object_id=lot.pk).count() == 1


def test_concurrent_different_dispositions_one_wins():
    lot = LotFactory(status=Lot.Status.ON_HOLD)

    def disposition(k):
        with row_locked(Lot, lot.pk) as locked:
            return transition_apply([locked.release, locked.scrap][k])

    outcomes = race(disposition)

    assert sorted(code for code, _ in outcomes) == ["ok", "transition_not_allowed"]
    [change] = StateChange.objects.filter(object_id=lot.pk)
    assert Lot.objects.get(pk=lot.pk).status == change.to_state
