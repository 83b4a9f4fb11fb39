"""The relay in real Celery workers (nudged on commit, swept by beat) against the reference
plant over real HTTP, on PostgreSQL: a burst through an ERP outage, and a worker SIGKILLed in
the middle of a delivery."""

from collections import defaultdict

import pytest

from integrations.models import OutboxDelivery
from tests.conftest import wait_for
from tests.integrations.reference_peer import lot_message

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The relay's queue (settings.CELERY_TASK_ROUTES): the nudges and the sweep of the beat in the
# first worker land there, and only a worker consuming it delivers (bin/run: the webhooks one).
WEBHOOKS = ("-Q", "webhooks", "--pool=solo")


@pytest.fixture
def relay_env(monkeypatch, tmp_path):
    """What the workers read: quick backoff, a short lease, a sweep every second."""
    for name, value in {
        "OUTBOX_BACKOFF_BASE": "0.2",
        "OUTBOX_BACKOFF_MAX": "1",
        "OUTBOX_MAX_ATTEMPTS": "1000",
        "OUTBOX_LEASE_SECONDS": "3",
        "OUTBOX_SWEEP_SECONDS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    return ["--beat", "-s", str(tmp_path / "beat-schedule")]


def undelivered(target) -> int:
    return OutboxDelivery.objects.filter(target=target).exclude(status="delivered").count()


def test_a_burst_through_an_erp_outage_arrives_once_each_in_per_lot_order(
    targets, peer, worker_process, relay_env
):
    peer.control(system="erp", mode="fail", status=503)
    workers = [worker_process(*WEBHOOKS, "-n", "outbox1@%h", *relay_env),
               worker_process(*WEBHOOKS, "-n", "outbox2@%h")]  # fmt: skip
    written = defaultdict(list)  # lot -> message keys in the order we decided them
    for _round in range(2):  # each lot: held, released, held, released
        for k in range(50):
            lot = f"LOT-B{k:03d}"
            for topic in ("lot.held", "lot.released"):
                message = lot_message(topic, lot)
                written[lot].append(str(message.key))
    assert sum(map(len, written.values())) == 200

    logs = "\n".join(w.output() for w in workers)
    wait_for(lambda: undelivered(targets["mes"]) == 0, timeout=120, what=f"MES:\n{logs}")
    wait_for(
        lambda: OutboxDelivery.objects.filter(target=targets["erp"], attempts__gte=2).count() >= 50,
        timeout=60,
        what="ERP retrying every lot's first message",
    )
    assert peer.messages("erp")["count"] == 0
    peer.control(system="erp", mode="ok")
    wait_for(
        lambda: undelivered(targets["erp"]) == 0,
        timeout=180,
        what=f"ERP to catch up:\n{workers[0].output()[-3000:]}",
    )

    for system in ("erp", "mes"):
        got = peer.messages(system)
        ids = [m["id"] for m in got["messages"]]
        assert len(ids) == len(set(ids)) == 200, system  # every message exactly once
        for lot, keys in written.items():
            assert peer.get(f"/{system}/lots/{lot}")["messages"] == keys, (system, lot)
            assert peer.get(f"/{system}/lots/{lot}")["status"] == "released"
    assert peer.get("/erp/lots?status=on_hold")["lots"] == []


def test_a_worker_killed_during_a_delivery_is_covered_by_the_lease(
    targets, peer, worker_process, relay_env
):
    targets["erp"].timeout = 30
    targets["erp"].save()
    peer.control(system="erp", mode="slow", delay_ms=20_000)
    doomed = worker_process(*WEBHOOKS, "-n", "doomed@%h")  # no beat: it only gets nudged
    held = lot_message("lot.held", "LOT-K")
    released = lot_message("lot.released", "LOT-K")
    # The peer has applied the hold and is still "thinking": the worker waits for the answer.
    wait_for(lambda: peer.messages("erp")["count"] == 1, timeout=60, what=doomed.output())
    doomed.kill()  # SIGKILL in the middle of the HTTP request: no outcome is ever recorded
    delivery = OutboxDelivery.objects.get(message=held, target=targets["erp"])
    assert delivery.status == "pending" and delivery.lease_until is not None
    assert delivery.attempts == 1

    peer.control(system="erp", mode="ok")
    survivor = worker_process(*WEBHOOKS, "-n", "survivor@%h", *relay_env)
    wait_for(lambda: undelivered(targets["erp"]) == 0, timeout=120, what=survivor.output()[-3000:])
    delivery.refresh_from_db()
    assert delivery.attempts == 2  # claimed again once the lease ran out
    erp = peer.messages("erp")
    assert erp["count"] == 2 and erp["duplicates"] == 1  # the repeat changed nothing
    assert peer.get("/erp/lots/LOT-K")["messages"] == [str(held.key), str(released.key)]
