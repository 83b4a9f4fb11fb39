"""Over real HTTP (live server), against PostgreSQL, the real broker and a real worker."""

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import psycopg
import pytest

from coordination.models import Line, Lot, StateChange
from integrations.models import InboxEvent
from integrations.services import inbox_requeue_stuck
from tests.conftest import pg_backend_alive, pg_blocked_backend, test_database_url, wait_for
from tests.integrations.conftest import cloudevent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def send(live_server, key, body, content_type="application/cloudevents+json"):
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/events",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_concurrent_duplicates_store_one_row(live_server, key):
    event = cloudevent()
    barrier = threading.Barrier(8)
    statuses = []

    def post():
        barrier.wait()
        statuses.append(send(live_server, key, event)[0])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(statuses) == [200] * 7 + [202]
    assert InboxEvent.objects.filter(event_id=event["id"]).count() == 1


def test_concurrent_overlapping_batches(live_server, key):
    events = [cloudevent(data={"line": "L2", "status": "running"}) for _ in range(200)]
    results = []
    barrier = threading.Barrier(2)

    def post(chunk):
        barrier.wait()
        results.append(send(live_server, key, chunk, "application/cloudevents-batch+json")[1])

    threads = [
        threading.Thread(target=post, args=(events[:150],)),
        threading.Thread(target=post, args=(events[50:],)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(r["accepted"] for r in results) == 200
    assert sum(r["duplicate"] for r in results) == 100
    assert InboxEvent.objects.count() == 200


@pytest.mark.worker
def test_events_are_applied_by_a_real_worker(live_server, key, worker_process):
    worker_process("--pool=solo")
    status, _ = send(live_server, key, cloudevent(data={"line": "L3", "status": "maintenance"}))
    assert status == 202
    wait_for(lambda: Line.objects.get(code="L3").status == "maintenance", what="the worker")
    assert InboxEvent.objects.get().status == "applied"


@pytest.mark.worker
def test_worker_killed_mid_processing_applies_exactly_once(live_server, key, worker_process):
    dsn = test_database_url()
    lot = Lot.objects.get(code="LOT-M0010")
    # Hold the lot's row lock elsewhere so the worker stops inside its transaction.
    locker = psycopg.connect(dsn)
    locker.execute("SELECT id FROM coordination_lot WHERE id = %s FOR UPDATE", [lot.pk])
    worker = worker_process("--pool=solo")
    send(
        live_server, key, cloudevent(type="quality.hold", data={"lot": lot.code, "reason": "seal"})
    )
    pid = wait_for(lambda: pg_blocked_backend(dsn), what=f"the worker to block:\n{worker.output()}")

    worker.kill()  # SIGKILL: no cleanup, no ack, mid-transaction
    locker.rollback()
    locker.close()
    wait_for(lambda: not pg_backend_alive(dsn, pid), what="the dead worker's transaction to end")
    row = InboxEvent.objects.get()
    assert row.status == "received" and row.attempts == 0  # nothing of it was committed

    worker_process("--pool=solo")
    inbox_requeue_stuck(older_than=timedelta(0))
    wait_for(lambda: InboxEvent.objects.get().status == "applied", what="the restarted worker")
    row.refresh_from_db()
    assert row.attempts == 1
    assert Lot.objects.get(pk=lot.pk).status == "on_hold"
    assert StateChange.objects.filter(object_id=lot.pk, transition="hold").count() == 1
