"""Issue 10, "must show": 2,000 events through gunicorn while Redis is killed and restarted
twice, with a real worker (and its beat) on a private redis-server.

Every event must be answered 202 (single) or 200 with ``accepted`` (batch), be applied exactly
once (``applied``, one committed processing: ``attempts == 1``), the worker must still be
alive, and nothing may be left ``received`` a minute after the last answer. Redis runs
without persistence, so a kill also loses every queued message: the inbox and its sweep must
make up for it.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count

from coordination.models import Line
from integrations.models import InboxEvent
from tests.conftest import free_port, wait_for
from tests.integrations.servers import Gunicorn, RedisServer

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
BATCH = "application/cloudevents-batch+json"
LINES = ("L1", "L2", "L3", "L4")
STATUSES = ("running", "idle", "idle")  # not down: this is about delivery, not impact
CHUNKS = 10  # of 200 events: 8 batches of 20 and 40 single events, four senders at once
# After these chunks Redis is killed; it is started again after the next "down" chunk(s).
KILL_AFTER, RESTART_AFTER = {2, 6}, {4, 7}


@pytest.fixture
def redis_server():
    server = RedisServer(free_port(18201, 18210)).start()
    yield server
    server.kill()


def make_events(count: int) -> list[dict]:
    """One plant time for all: a signal as new as the applied one still applies, so every
    event must end ``applied`` (none ``stale``), whatever order the retries bring."""
    at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [
        {
            "specversion": "1.0",
            "id": f"fault-{n}",
            "source": "mes/fault",
            "type": "equipment.status",
            "time": at,
            "data": {
                "line": LINES[n % len(LINES)],
                "status": STATUSES[n % len(STATUSES)],
                "reason": f"r{n}",
            },
        }
        for n in range(count)
    ]


def requests_of(chunk: list[dict]) -> list[list[dict] | dict]:
    batches = [chunk[k : k + 20] for k in range(0, 160, 20)]
    return [*batches, *chunk[160:]]


def test_two_thousand_events_while_redis_is_killed_twice(
    key, redis_server, worker_process, monkeypatch, tmp_path
):
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    monkeypatch.setenv("INBOX_REQUEUE_AFTER_SECONDS", "4")
    monkeypatch.setenv("INBOX_REQUEUE_EVERY_SECONDS", "2")
    worker = worker_process("--beat", f"--schedule={tmp_path / 'beat-schedule'}", "--concurrency=2")
    web = Gunicorn(free_port(18230, 18240), CELERY_BROKER_URL=redis_server.url)
    try:
        events = make_events(CHUNKS * 200)
        answers, lock = [], threading.Lock()

        def send(body):
            single = isinstance(body, dict)
            status, answer = web.post(
                key, body, "application/cloudevents+json" if single else BATCH
            )
            with lock:
                answers.append((single, status, answer))

        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            for k in range(CHUNKS):
                list(pool.map(send, requests_of(events[k * 200 : (k + 1) * 200])))
                if k in KILL_AFTER:
                    redis_server.kill()
                if k in RESTART_AFTER:
                    connected = worker.output().count("Connected to redis")
                    redis_server.start()
                    wait_for(  # the worker sees each outage end before the next begins
                        lambda n=connected: worker.output().count("Connected to redis") > n,
                        timeout=30,
                        what=f"the worker to reconnect:\n{worker.output()[-3000:]}",
                    )
        sent = time.monotonic() - started

        assert len(answers) == CHUNKS * 48
        for single, status, answer in answers:
            if single:
                assert (status, answer["status"]) == (202, "accepted"), answer
            else:
                assert (status, answer["accepted"]) == (200, 20), answer
        assert InboxEvent.objects.count() == 2000

        wait_for(
            lambda: not InboxEvent.objects.filter(status="received").exists(),
            timeout=60,
            interval=1,
            what=f"every event processed; worker log:\n{worker.output()[-3000:]}",
        )
        drained = time.monotonic() - started
        assert worker.proc.poll() is None, f"the worker died:\n{worker.output()[-3000:]}"
        outcomes = dict(InboxEvent.objects.values_list("status").annotate(n=Count("id")))
        assert outcomes == {"applied": 2000}, outcomes
        # attempts counts committed processings (it is written in the same transaction as
        # the change itself): 1 for every event is "applied exactly once".
        assert set(InboxEvent.objects.values_list("attempts", flat=True)) == {1}
        reasons = {f"r{n}" for n in range(2000)}
        for line in Line.objects.filter(code__in=LINES):
            assert line.status_reason in reasons and line.status in STATUSES
        print(
            f"\nfault test: 2,000 events sent in {sent:.1f} s with two Redis kills, all "
            f"processed {drained:.1f} s after the first send; outcomes {outcomes}; "
            f"worker log mentions 'hostname': {'hostname' in worker.output()}"
        )
    finally:
        web.stop()
