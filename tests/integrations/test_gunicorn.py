"""Over a real gunicorn: chunked request bodies (issue 10, item 5) and accepting while the
broker is down (item 3). Django's test client sends neither."""

import time

import pytest

from integrations.models import InboxEvent
from tests.conftest import free_port
from tests.integrations.conftest import cloudevent
from tests.integrations.servers import Gunicorn, now_stamp

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
BATCH = "application/cloudevents-batch+json"


@pytest.fixture
def gunicorn():
    started = []

    def start(**env) -> Gunicorn:
        server = Gunicorn(free_port(18210, 18230), **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def event(**attrs):
    return cloudevent(time=now_stamp(), **attrs)


def test_chunked_body_is_read(gunicorn, key):
    server = gunicorn()
    single = event()
    status, body = server.post(key, single, chunk_size=7)
    assert (status, body["status"]) == (202, "accepted"), body
    batch = [event(), event()]
    status, body = server.post(key, batch, BATCH, chunk_size=100)
    assert (status, body["accepted"]) == (200, 2), body
    assert InboxEvent.objects.count() == 3


def test_chunked_body_over_the_limit_is_413(gunicorn, key):
    server = gunicorn()
    big = event(data={"line": "L1", "status": "down", "reason": "x" * (2 * 1024 * 1024)})
    status, body = server.post(key, big, chunk_size=64 * 1024)
    assert status == 413, body
    assert body["code"] == "payload_too_large"
    assert not InboxEvent.objects.exists()


def test_broker_down_still_accepts_and_answers_quickly(gunicorn, key):
    dead = free_port(18240, 18250)  # nothing listens there: Redis is down
    server = gunicorn(CELERY_BROKER_URL=f"redis://127.0.0.1:{dead}/0")
    assert server.post(key, event())[0] == 202  # the first request also loads the app
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        status, body = server.post(key, event())
        timings.append(time.perf_counter() - started)
        assert (status, body["status"]) == (202, "accepted"), body
    status, body = server.post(key, [event() for _ in range(120)], BATCH)
    assert (status, body["accepted"]) == (200, 120), body
    assert InboxEvent.objects.filter(status="received").count() == 126
    print(f"\nPOST with the broker down: {', '.join(f'{t * 1000:.0f} ms' for t in timings)}")
    assert "not queued, the sweep will queue them" in server.output()
