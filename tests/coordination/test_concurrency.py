"""Two people act on the same row at once: one wins, the other gets a clear conflict."""

import threading

import pytest
from django.db import connection

from coordination.errors import DomainError
from coordination.models import Lot, StateChange
from coordination.services import transition_apply
from tests.factories import LotFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(target, callers: int = 2):
    barrier = threading.Barrier(callers)
    outcomes = []

    def run(k):
        barrier.wait()
        try:
            outcomes.append(("ok", target(k)))
        except DomainError as exc:
            outcomes.append((exc.code, exc.detail))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_concurrent_holds_on_one_lot_one_wins():
    lot = LotFactory()

    outcomes = _race(lambda k: transition_apply(Lot, pk=lot.pk, transition="hold", reason=f"r{k}"))

    codes = sorted(code for code, _ in outcomes)
    assert codes == ["ok", "transition_not_allowed"]
    assert Lot.objects.get(pk=lot.pk).status == Lot.Status.ON_HOLD
    assert StateChange.objects.filter(object_id=lot.pk).count() == 1


def test_concurrent_different_dispositions_one_wins():
    lot = LotFactory(status=Lot.Status.ON_HOLD)
    actions = ["release", "scrap"]

    outcomes = _race(lambda k: transition_apply(Lot, pk=lot.pk, transition=actions[k]))

    assert sorted(code for code, _ in outcomes) == ["ok", "transition_not_allowed"]
    [change] = StateChange.objects.filter(object_id=lot.pk)
    assert Lot.objects.get(pk=lot.pk).status == change.to_state
