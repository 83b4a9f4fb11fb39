"""MQTT ingestion against the real Mosquitto: ``manage.py mqtt_ingest`` as its own process on
the test database, a real publisher, and a real Celery worker where events must be applied.

Every test has its own topic root and client ids (the broker on 1883 is shared). Tests that
restart the broker start their own Mosquitto on a port of this suite's range.
"""

import json
import threading
import time

import pytest

from exceptions.models import ExceptionCase
from integrations.models import InboxEvent, MqttMapping
from tests.conftest import wait_for
from tests.integrations.mqtt_support import (
    IngestProcess,
    PrivateBroker,
    Publisher,
    needs_broker,
    needs_mosquitto,
    unique,
)

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def root():
    return unique("test")


@pytest.fixture
def mapping(plant, root):
    """``<root>/+/status`` → equipment.status, as the demo's ``riverside/+/status``."""
    MqttMapping.objects.update(active=False)  # the demo's topics are not this test's
    return MqttMapping.objects.create(
        name=root,
        topic_filter=f"{root}/+/status",
        event_type="equipment.status",
        fields={"line": "topic:2", "status": "payload:status", "reason": "payload:reason"},
    )


@pytest.fixture
def ingest_process():
    started = []

    def start(**kwargs) -> IngestProcess:
        process = IngestProcess(**kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def publisher():
    client = Publisher()
    yield client
    client.close()


def rows(root):
    return InboxEvent.objects.filter(source__startswith=f"mqtt:{root}/")


@needs_broker
def test_a_topic_mapping_end_to_end(root, mapping, ingest_process, publisher, worker_process):
    ingest_process().wait_subscribed()
    worker_process("--pool=solo")
    publisher.publish(f"{root}/L1/status", '{"status": "down", "reason": "filler jam"}')
    row = wait_for(
        lambda: rows(root).filter(status="applied").first(), timeout=60, what="event applied"
    )
    assert (row.type, row.site, row.data) == (
        "equipment.status",
        "RIV",
        {"line": "L1", "status": "down", "reason": "filler jam"},
    )
    case = wait_for(
        lambda: ExceptionCase.objects.filter(kind="downtime", key="L1").first(),
        what="the line-down exception",
    )
    assert "filler jam" in case.title


@needs_broker
def test_a_malformed_payload_is_on_the_failed_list_with_its_reason(
    root, mapping, ingest_process, publisher
):
    ingest_process().wait_subscribed()
    publisher.publish(f"{root}/L2/status", "down!")
    publisher.publish(f"{root}/L2/status", '{"status": "exploded"}')
    failed = wait_for(
        lambda: (
            (found := list(rows(root).filter(status="failed").order_by("pk")))
            and len(found) == 2
            and found
        ),
        what="two failed rows",
    )
    assert "payload is not JSON" in failed[0].error
    assert failed[0].data["payload"] == "down!"
    assert "data.status (payload:status) must be one of running, idle, down" in failed[1].error
    assert failed[1].error_field == "data.status"


@needs_broker
def test_a_redelivered_message_is_a_duplicate(root, mapping, ingest_process, publisher):
    ingest_process().wait_subscribed()
    same = '{"status": "idle", "reason": "no orders"}'
    publisher.publish(f"{root}/L3/status", same)
    publisher.publish(f"{root}/L3/status", same)  # e.g. a gateway's retry after a lost PUBACK
    publisher.publish(f"{root}/L4/status", '{"status": "running"}')  # in order: after both
    wait_for(lambda: rows(root).filter(source__endswith="/L4/status").exists(), what="marker")
    assert rows(root).filter(source__endswith="/L3/status").count() == 1


def _publish_numbered(publisher, root, numbers, pause=0.0):
    for n in numbers:
        payload = {"status": "running" if n % 2 else "idle", "reason": f"reading {n}"}
        publisher.publish(f"{root}/L{n % 4 + 1}/status", json.dumps(payload))
        if pause:
            time.sleep(pause)


@needs_broker
def test_subscriber_killed_mid_stream_loses_nothing(root, mapping, ingest_process, publisher):
    """SIGKILL while messages stream in: whatever was stored but not acknowledged comes again
    (a duplicate); whatever was not stored waits in the persistent session. All 600 land
    exactly once."""
    first = ingest_process()
    first.wait_subscribed()
    total = 600
    # A steady stream (~3 s): the kill lands in its first part, the rest arrives while the
    # subscriber is dead and waits in its session.
    streaming = threading.Thread(
        target=_publish_numbered, args=(publisher, root, range(total), 0.005)
    )
    streaming.start()
    wait_for(lambda: rows(root).count() >= 150, what="a first part stored")
    first.kill()
    streaming.join()
    assert rows(root).count() < total  # some were still in the broker's session
    second = ingest_process(client_id=first.client_id)
    wait_for(lambda: rows(root).count() >= total, timeout=90, what="all messages stored")
    assert "session resumed" in second.output()
    reasons = sorted(rows(root).values_list("data__reason", flat=True))
    assert reasons == sorted(f"reading {n}" for n in range(total))
    assert not rows(root).filter(status="failed").exists()


@needs_broker
@needs_mosquitto
def test_broker_restarted_loses_nothing(root, mapping, ingest_process):
    """Our own Mosquitto with persistence: the subscriber rides out a broker restart
    (reconnect with backoff), and messages queued in its session while it was stopped survive
    a broker restart too."""
    broker = PrivateBroker()
    try:
        ingest = ingest_process(port=broker.port)
        ingest.wait_subscribed()
        publisher = Publisher(port=broker.port)
        _publish_numbered(publisher, root, range(100))
        wait_for(lambda: rows(root).count() == 100, what="the first 100")
        publisher.close()

        broker.stop()  # the subscriber loses its connection and retries
        broker.start()
        publisher = Publisher(port=broker.port)
        _publish_numbered(publisher, root, range(100, 200))
        wait_for(lambda: rows(root).count() == 200, timeout=60, what="after the restart")
        assert ingest.output().count("MQTT connected") >= 2

        ingest.stop()  # a clean stop: the broker keeps the session and queues for it
        _publish_numbered(publisher, root, range(200, 300))
        publisher.close()
        broker.stop()
        broker.start()
        ingest.start()
        wait_for(lambda: rows(root).count() == 300, timeout=60, what="the queued 100")
        reasons = sorted(rows(root).values_list("data__reason", flat=True))
        assert reasons == sorted(f"reading {n}" for n in range(300))
    finally:
        broker.stop()
