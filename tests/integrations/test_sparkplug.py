"""Sparkplug B without a broker: the compiled protobuf, the spec's example payloads, and the
host's tracking of births, aliases, sequence numbers and deaths through ``Ingestor``."""

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import pytest

from exceptions.models import ExceptionCase
from integrations.models import InboxEvent, SparkplugNode
from integrations.mqtt import sparkplug
from integrations.mqtt.ingest import Ingestor, Message
from tests.integrations.mqtt_support import T, spb, unique

PACKAGE = Path(sparkplug.__file__).parent
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "sparkplug"
SHARED = SHARED if SHARED.exists() else Path("/work/shared/data/sparkplug")


def test_regenerating_the_protobuf_module_gives_the_committed_file(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools is a dev dependency")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PACKAGE}", f"--python_out={tmp_path}",
         "sparkplug_b.proto"],
        check=True,
    )  # fmt: skip
    assert filecmp.cmp(tmp_path / "sparkplug_b_pb2.py", PACKAGE / "sparkplug_b_pb2.py", False)


@pytest.mark.skipif(not SHARED.exists(), reason="the shared Sparkplug data is not here")
def test_the_proto_is_the_official_one_unchanged():
    assert filecmp.cmp(SHARED / "sparkplug_b.proto", PACKAGE / "sparkplug_b.proto", False)


def _from_example(document: dict) -> bytes:
    """The spec's JSON rendering → wire bytes, as its README says (type names → DataType)."""
    metrics = [(m["name"], T.Value(m["dataType"]), m["value"]) for m in document.get("metrics", [])]
    return spb(document.get("seq"), metrics, document.get("timestamp"))


@pytest.mark.skipif(not SHARED.exists(), reason="the shared Sparkplug data is not here")
def test_the_specification_examples_decode_with_their_values():
    index = json.loads((SHARED / "examples" / "index.json").read_text())
    for entry in index:
        document = json.loads((SHARED / "examples" / entry["file"]).read_text())
        decoded = sparkplug.payload_decode(_from_example(document))
        assert [m.name for m in decoded.metrics] == entry["metrics"], entry["file"]
        for metric, original in zip(decoded.metrics, document.get("metrics", []), strict=True):
            value = sparkplug.metric_value(metric)
            if isinstance(original["value"], float):
                assert value == pytest.approx(original["value"], rel=1e-6)
            else:
                assert value == original["value"], (entry["file"], metric.name)


def test_signed_integers_come_back_negative():
    payload = spb(0, [("t", T.Int32, (1 << 32) - 5), ("u", T.Int64, (1 << 64) - 7)])
    values = [sparkplug.metric_value(m) for m in sparkplug.payload_decode(payload).metrics]
    assert values == [-5, -7]


def test_topics_parse_or_say_why_not():
    assert sparkplug.topic_parse("spBv1.0/g/NBIRTH/n") == sparkplug.Topic("g", "NBIRTH", "n")
    assert sparkplug.topic_parse("spBv1.0/g/DDATA/n/d").device == "d"
    assert sparkplug.topic_parse("spBv1.0/STATE/host").type == "STATE"
    assert "unknown Sparkplug message type" in sparkplug.topic_parse("spBv1.0/g/NDATA/n/d")
    assert "spBv1.0/group/TYPE" in sparkplug.topic_parse("spBv1.0/g/NDATA")


# --- a node's life through the ingestor (group "riverside": the default metric mappings) ------


class Node:
    """An edge node of the Riverside group with one device per line, speaking Sparkplug B."""

    def __init__(self, ingestor=None):
        self.group, self.name, self.seq, self.bd_seq = "riverside", unique("edge"), -1, 0
        self.ingestor = ingestor or Ingestor()

    def send(self, kind, metrics=(), device="", seq=True):
        topic = f"spBv1.0/{self.group}/{kind}/{self.name}" + (f"/{device}" if device else "")
        if seq:
            self.seq = (self.seq + 1) % 256
        return self.ingestor.ingest([Message(topic, spb(self.seq if seq else None, metrics))])

    def birth(self, line="L1", state="running"):
        self.seq = -1
        self.send(
            "NBIRTH", [("bdSeq", T.Int64, self.bd_seq), ("Node Control/Rebirth", T.Boolean, False)]
        )
        return self.send("DBIRTH", [
            ("Line/State", T.String, state, 1), ("Job", T.String, "WO-60001", 2),
            ("Count/Good", T.Int64, 100, 3), ("Count/Scrap", T.Int64, 2, 4),
        ], device=line)  # fmt: skip

    def death(self, bd_seq=None):
        result = self.send("NDEATH", [("bdSeq", T.Int64, self.bd_seq if bd_seq is None else
                                       bd_seq)], seq=False)  # fmt: skip
        self.bd_seq += 1
        return result

    @property
    def case(self):
        key = f"riverside/{self.name}"
        return ExceptionCase.objects.filter(kind="connectivity", key=key).first()

    @property
    def row(self):
        return SparkplugNode.objects.get(group=self.group, edge_node=self.name)


def _mqtt_events(node, type_):
    return InboxEvent.objects.filter(
        source__startswith="mqtt:spBv1.0/riverside/", source__contains=f"/{node.name}/", type=type_
    ).order_by("pk")


@pytest.mark.django_db
def test_birth_maps_the_current_values_to_canonical_events(plant):
    node = Node()
    result = node.birth()
    assert result.accepted == 2
    status = _mqtt_events(node, "equipment.status").get()
    assert status.data == {"line": "L1", "status": "running"}
    counts = _mqtt_events(node, "production.progress").get()
    assert counts.data == {"line": "L1", "job": "WO-60001", "good": 100, "scrap": 2}
    assert node.row.state == "online" and node.row.bd_seq == 0


@pytest.mark.django_db
def test_data_by_alias_maps_with_the_birth_certificates_names(plant):
    node = Node()
    node.birth()
    node.send("DDATA", [(None, T.String, "down", 1)], device="L1")
    latest = _mqtt_events(node, "equipment.status").last()
    assert latest.data == {"line": "L1", "status": "down"}
    node.send("DDATA", [(None, T.Int64, 150, 3)], device="L1")
    counts = _mqtt_events(node, "production.progress").last()
    assert counts.data == {"line": "L1", "job": "WO-60001", "good": 150, "scrap": 2}
    # A metric no mapping reads changes nothing: no event for it.
    before = InboxEvent.objects.count()
    node.send("DDATA", [("Temperature", T.Float, 0)], device="L1")
    assert InboxEvent.objects.count() == before


@pytest.mark.django_db
def test_birth_data_death_raises_connectivity_and_rebirth_clears_it(plant):
    node = Node()
    node.birth()
    node.send("DDATA", [(None, T.String, "down", 1)], device="L1")
    assert node.case is None
    node.death()
    case = node.case
    assert case is not None and case.condition_active
    assert "edge node died (NDEATH)" in case.title
    assert node.row.state == "offline"
    node.birth()
    case.refresh_from_db()
    assert not case.condition_active and case.cleared_at is not None
    assert node.row.state == "online"


@pytest.mark.django_db
def test_a_sequence_gap_marks_the_node_stale_asks_a_rebirth_and_raises(plant):
    node = Node()
    node.birth()
    node.seq += 2  # two messages lost on the way
    result = node.send("DDATA", [(None, T.String, "idle", 1)], device="L1")
    assert result.rebirths == [("riverside", node.name)]
    assert result.accepted == 0  # stale data is not mapped
    assert node.row.state == "stale"
    assert "sequence gap: expected seq 2, got 4" in node.row.stale_reason
    case = node.case
    assert case.condition_active and "sequence gap" in case.title
    # Still stale until reborn: more data is not mapped either.
    assert node.send("DDATA", [(None, T.String, "idle", 1)], device="L1").accepted == 0
    node.birth(state="idle")
    case.refresh_from_db()
    assert not case.condition_active
    assert _mqtt_events(node, "equipment.status").last().data["status"] == "idle"


@pytest.mark.django_db
def test_the_gap_after_a_rebirth_reactivates_the_same_exception(plant):
    node = Node()
    node.birth()
    node.death()
    node.birth()
    node.seq += 5
    node.send("NDATA", [("Supply Voltage", T.Float, 0)])
    cases = ExceptionCase.objects.filter(kind="connectivity", key=f"riverside/{node.name}")
    assert cases.count() == 1 and cases.get().condition_active


@pytest.mark.django_db
def test_a_late_death_certificate_of_an_earlier_session_changes_nothing(plant):
    node = Node()
    node.birth()
    node.bd_seq = 1  # our birth said bdSeq 0 … the broker now delivers the will of bdSeq 7
    node.death(bd_seq=7)
    assert node.row.state == "online" and node.case is None


@pytest.mark.django_db
def test_device_death_raises_for_its_node_and_device_rebirth_clears(plant):
    node = Node()
    node.birth()
    node.send("DDEATH", device="L1")
    assert "device L1 died (DDEATH)" in node.case.title
    node.send("DBIRTH", [("Line/State", T.String, "running", 1)], device="L1")
    assert not node.case.condition_active


@pytest.mark.django_db
def test_data_before_any_birth_asks_for_one_without_raising(plant):
    node = Node()
    node.seq = 40
    result = node.send("DDATA", [("Line/State", T.String, "down")], device="L1")
    assert result.rebirths == [("riverside", node.name)] and result.accepted == 0
    assert node.case is None and node.row.state == "unborn"


@pytest.mark.django_db
def test_an_alias_not_in_the_birth_certificate_makes_the_node_stale(plant):
    node = Node()
    node.birth()
    node.send("DDATA", [(None, T.String, "down", 99)], device="L1")
    assert node.row.state == "stale"
    assert "alias 99 not in the birth certificate" in node.row.stale_reason


@pytest.mark.django_db
def test_a_restarted_subscriber_continues_the_sequence_from_the_database(plant):
    node = Node()
    node.birth()
    node.ingestor = Ingestor()  # a new process: nothing in memory
    node.send("DDATA", [(None, T.String, "down", 1)], device="L1")
    assert node.row.state == "online" and node.case is None
    assert _mqtt_events(node, "equipment.status").last().data["status"] == "down"


@pytest.mark.django_db
def test_a_redelivered_sparkplug_message_is_a_duplicate(plant):
    node = Node()
    node.birth()
    topic = f"spBv1.0/riverside/DDATA/{node.name}/L1"
    message = Message(topic, spb(2, [(None, T.String, "down", 1)], timestamp=1764230400000))
    assert node.ingestor.ingest([message]).accepted == 1
    # The same bytes again, to a restarted subscriber (the broker redelivering what was stored
    # but not yet acknowledged): seq 2 was handled already, yet this is no gap.
    again = Ingestor().ingest([message])
    assert (again.accepted, again.duplicate) == (0, 1)
    assert node.row.state == "online" and node.case is None
    node.seq = 2
    node.send("DDATA", [(None, T.String, "running", 1)], device="L1")  # seq 3 follows on
    assert node.row.state == "online"


@pytest.mark.django_db
def test_a_payload_that_is_not_sparkplug_is_on_the_failed_list(plant):
    Ingestor().ingest([Message(f"spBv1.0/riverside/NDATA/{unique()}", b"\xff\x01garbage")])
    row = InboxEvent.objects.get(status="failed")
    assert "not a Sparkplug B payload" in row.error


@pytest.mark.django_db
def test_state_messages_of_host_applications_are_understood(plant):
    result = Ingestor().ingest(
        [Message("spBv1.0/STATE/scada-1", b'{"online": true, "timestamp": 1764230400000}')]
    )
    assert result.ignored == 1 and result.failed == 0
    Ingestor().ingest([Message("spBv1.0/STATE/scada-1", b"online")])
    assert "STATE payload is not JSON" in InboxEvent.objects.get(status="failed").error


@pytest.mark.django_db
def test_maintenance_sees_the_connectivity_exception_and_quality_does_not(plant, role_user, client):
    node = Node()
    node.birth()
    node.death()
    case = node.case
    client.force_login(role_user("maintenance"))
    assert f"Edge node riverside/{node.name}" in client.get("/board/").content.decode()
    page = client.get(f"/exceptions/{case.pk}/").content.decode()
    assert "stale until it is born again" in page
    assert case.workflow_runs.get().tasks.get().owner_group.name == "maintenance"
    client.force_login(role_user("quality"))
    assert client.get(f"/exceptions/{case.pk}/").status_code == 404
