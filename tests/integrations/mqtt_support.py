"""Helpers for the MQTT and Sparkplug B tests: payloads, a publisher, the subscriber process,
and a private Mosquitto for broker restarts.

The shared Mosquitto on 127.0.0.1:1883 is used by others at the same time: every test
publishes under its own root (``test-<uuid>/…``, Sparkplug group ``g<uuid>``) with its own
client ids, so runs never see each other's messages.
"""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from integrations.mqtt import sparkplug_b_pb2 as pb
from tests.conftest import ROOT, free_port, test_database_url

BROKER = ("127.0.0.1", 1883)
MOSQUITTO = "/usr/sbin/mosquitto"
# This suite's ports (19300-19399 are the mqtt helper's): private brokers take 19310-19329.
PRIVATE_BROKER_PORTS = (19310, 19330)
T = pb.DataType


def broker_up(host: str = BROKER[0], port: int = BROKER[1]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


needs_broker = pytest.mark.skipif(
    not broker_up(), reason="no MQTT broker on 127.0.0.1:1883 (CI runs Mosquitto there)"
)


def unique(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def spb(seq=None, metrics=(), timestamp=None) -> bytes:
    """A Sparkplug B payload: ``metrics`` of (name, datatype, value[, alias]); a name of None
    sends the metric by alias only (as DATA messages do after a birth)."""
    payload = pb.Payload(timestamp=timestamp or int(time.time() * 1000))
    if seq is not None:
        payload.seq = seq
    for name, datatype, value, *alias in metrics:
        metric = payload.metrics.add(datatype=datatype)
        if name is not None:
            metric.name = name
        if alias:
            metric.alias = alias[0]
        if datatype in (T.String, T.Text):
            metric.string_value = value
        elif datatype == T.Boolean:
            metric.boolean_value = value
        elif datatype in (T.Int64, T.UInt64, T.DateTime):
            metric.long_value = value
        elif datatype == T.Float:
            metric.float_value = value
        elif datatype == T.Double:
            metric.double_value = value
        else:
            metric.int_value = value
    return payload.SerializeToString()


class Publisher:
    """A QoS 1 publisher that waits for the broker's PUBACK of each message."""

    def __init__(self, port: int = BROKER[1]):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("pub"))
        self.client.connect(BROKER[0], port)
        self.client.loop_start()
        self.received: list[mqtt.MQTTMessage] = []
        self.client.on_message = lambda c, u, m: self.received.append(m)

    def publish(self, topic: str, payload, qos: int = 1, retain: bool = False) -> None:
        if isinstance(payload, str):
            payload = payload.encode()
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"broker did not acknowledge {topic}"

    def listen(self, topic_filter: str) -> None:
        done = self.client.subscribe(topic_filter, qos=1)
        assert done[0] == mqtt.MQTT_ERR_SUCCESS
        time.sleep(0.3)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class IngestProcess:
    """``manage.py mqtt_ingest`` as its own process, on the test database."""

    def __init__(self, port: int = BROKER[1], client_id: str | None = None, **env):
        self.client_id = client_id or unique("ingest")
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            "w+", prefix="mqtt-ingest-", suffix=".log", delete=False
        )
        self.port = port
        self.env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "PYTHONUNBUFFERED": "1",
            "MQTT_SESSION_EXPIRY": "600",  # the shared broker forgets our sessions soon
            "MQTT_RECONNECT_MAX": "2",
            **env,
        }
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "mqtt_ingest",
                "--url",
                f"mqtt://127.0.0.1:{self.port}",
                "--client-id",
                self.client_id,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_subscribed(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "MQTT connected" in self.output():
                time.sleep(0.3)  # the SUBACK follows the log line
                return
            assert self.proc.poll() is None, self.output()
            time.sleep(0.1)
        raise AssertionError("mqtt_ingest did not connect:\n" + self.output())

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def kill(self) -> None:
        """SIGKILL: no goodbye, no last acknowledgement (a crash, the OOM killer)."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class PrivateBroker:
    """Our own Mosquitto (``/usr/sbin/mosquitto -c conf``) with a persistence directory, to
    stop and start while clients keep their sessions."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="mosquitto-"))
        self.port = free_port(*PRIVATE_BROKER_PORTS)
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.dir}/\nautosave_interval 1\n"
            f"log_dest file {self.dir}/mosquitto.log\nmax_queued_messages 100000\n"
            # Started as root it would switch to the mosquitto user, who cannot write here.
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.proc = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)])
        deadline = time.monotonic() + 10
        while not broker_up(port=self.port):
            assert time.monotonic() < deadline, "private mosquitto did not start"
            assert self.proc.poll() is None, "private mosquitto exited"
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: Mosquitto saves its persistence file (sessions, queued messages) and exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


needs_mosquitto = pytest.mark.skipif(
    not Path(MOSQUITTO).exists(), reason=f"{MOSQUITTO} is not installed (apt-get install mosquitto)"
)
