"""Sparkplug B against the real Mosquitto: an edge node's birth → data → death, a sequence
gap, the rebirth request we publish, and the connectivity exception raised and cleared."""

import time

import pytest

from exceptions.models import ExceptionCase
from integrations.models import InboxEvent, MqttMapping
from integrations.mqtt import sparkplug
from tests.conftest import wait_for
from tests.integrations.mqtt_support import IngestProcess, Publisher, T, needs_broker, spb, unique

pytestmark = [needs_broker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def group(plant):
    """A Sparkplug group of this test alone, with the demo's metric mapping for line state."""
    name = unique("g")
    MqttMapping.objects.update(active=False)
    MqttMapping.objects.create(
        name=name,
        format="sparkplug",
        topic_filter=f"spBv1.0/{name}/+/+/+",
        event_type="equipment.status",
        fields={"line": "topic:5", "status": "metric:Line/State", "reason": "metric:Line/Reason"},
    )
    return name


@pytest.fixture
def ingest():
    process = IngestProcess()
    process.wait_subscribed()
    yield process
    process.stop()


class EdgeNode:
    def __init__(self, publisher: Publisher, group: str):
        self.publisher, self.group, self.name = publisher, group, unique("edge")
        self.seq, self.bd_seq = -1, 0

    def send(self, kind, metrics=(), device="", seq=True):
        if seq:
            self.seq = (self.seq + 1) % 256
        topic = f"spBv1.0/{self.group}/{kind}/{self.name}" + (f"/{device}" if device else "")
        self.publisher.publish(topic, spb(self.seq if seq else None, metrics))

    def birth(self, state="running"):
        self.seq = -1
        self.send("NBIRTH", [("bdSeq", T.Int64, self.bd_seq)])
        self.send("DBIRTH", [("Line/State", T.String, state, 1),
                             ("Line/Reason", T.String, "", 2)], device="L1")  # fmt: skip

    def death(self):
        # What the broker publishes as the node's will when its connection drops.
        self.send("NDEATH", [("bdSeq", T.Int64, self.bd_seq)], seq=False)
        self.bd_seq += 1

    @property
    def case(self):
        key = f"{self.group}/{self.name}"
        return ExceptionCase.objects.filter(kind="connectivity", key=key).first()


def statuses(node):
    return list(
        InboxEvent.objects.filter(
            source__startswith=f"mqtt:spBv1.0/{node.group}/", type="equipment.status"
        )
        .order_by("pk")
        .values_list("data__status", flat=True)
    )


def test_birth_data_death_and_a_sequence_gap(group, ingest):
    publisher = Publisher()
    publisher.listen(f"spBv1.0/{group}/NCMD/#")
    node = EdgeNode(publisher, group)
    try:
        node.birth()
        wait_for(lambda: statuses(node) == ["running"], what="the birth's line state")
        node.send("DDATA", [(None, T.String, "down", 1)], device="L1")  # by alias
        wait_for(lambda: statuses(node) == ["running", "down"], what="the data by alias")
        assert node.case is None

        node.death()
        case = wait_for(lambda: node.case, what="the connectivity exception")
        assert case.condition_active and "NDEATH" in case.title
        assert case.workflow_runs.get().tasks.get().owner_group.name == "maintenance"

        node.birth(state="idle")
        wait_for(lambda: not node.case.condition_active, what="cleared by the rebirth")
        wait_for(lambda: statuses(node)[-1:] == ["idle"], what="the rebirth's state")

        node.seq += 3  # three messages lost
        node.send("DDATA", [(None, T.String, "running", 1)], device="L1")
        wait_for(lambda: node.case.condition_active, what="the gap raising it again")
        assert "sequence gap" in node.case.title
        rebirth = wait_for(lambda: publisher.received, what="our rebirth request (NCMD)")
        assert rebirth[0].topic == f"spBv1.0/{group}/NCMD/{node.name}"
        request = sparkplug.payload_decode(rebirth[0].payload).metrics[0]
        assert (request.name, request.boolean_value) == ("Node Control/Rebirth", True)
        time.sleep(0.5)
        assert statuses(node)[-1] == "idle"  # the stale node's data was not mapped

        node.birth(state="running")
        wait_for(lambda: not node.case.condition_active, what="cleared again")
        wait_for(lambda: statuses(node)[-1:] == ["running"], what="current state from birth")
        assert ExceptionCase.objects.filter(kind="connectivity").count() == 1
    finally:
        publisher.close()
