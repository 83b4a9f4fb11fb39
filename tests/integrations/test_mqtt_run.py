"""``bin/run`` (``make run``) with ``MQTT_URL`` set: it starts ``mqtt_ingest``, starts it again
if it dies (nothing published meanwhile is lost: its session waits at the broker), and Ctrl-C
stops it with the rest."""

import os
import signal
import subprocess

import pytest

from integrations.models import InboxEvent, MqttMapping
from tests.conftest import ROOT, free_port, test_database_url, wait_for
from tests.integrations.mqtt_support import Publisher, needs_broker, unique
from tests.plantcoord.test_bin_run import children, group, healthy

pytestmark = [needs_broker, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def ingest_pid(run_pid: int) -> int | None:
    return next((p for p, args in children(run_pid).items() if "mqtt_ingest" in args), None)


def test_bin_run_starts_mqtt_ingest_and_restarts_it(tmp_path, plant):
    root = unique("test")
    MqttMapping.objects.update(active=False)
    MqttMapping.objects.create(
        name=root,
        topic_filter=f"{root}/+/status",
        event_type="equipment.status",
        fields={"line": "topic:2", "status": "payload:status"},
    )
    env = {
        **os.environ,
        # This suite's ports (19300-19399): the web 19340-19349, the reference 19360-19369.
        "PORT": str(free_port(19340, 19350)),
        "REFERENCE_PORT": str(free_port(19360, 19370)),
        "DATABASE_URL": test_database_url(),
        "VAR_DIR": str(tmp_path),
        "WORKER_RESTART_DELAY": "0.5",
        "SIMULATE": "0",
        "MQTT_URL": "mqtt://127.0.0.1:1883",
        "MQTT_CLIENT_ID": unique("run-ingest"),
        "MQTT_SESSION_EXPIRY": "600",
    }
    log = tmp_path / "run.log"
    run = subprocess.Popen(
        ["bin/run"], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    publisher = Publisher()
    rows = InboxEvent.objects.filter(source__startswith=f"mqtt:{root}/")
    try:
        wait_for(
            lambda: healthy(int(env["PORT"])) and "MQTT connected" in log.read_text(),
            timeout=90,
            what=f"bin/run with mqtt_ingest up:\n{log.read_text() if log.exists() else ''}",
        )
        assert "MQTT: subscribed at mqtt://127.0.0.1:1883" in log.read_text()
        publisher.publish(f"{root}/L1/status", '{"status": "down"}')
        wait_for(lambda: rows.count() == 1, what="the first message stored")

        first = ingest_pid(run.pid)
        os.kill(first, signal.SIGKILL)
        publisher.publish(f"{root}/L2/status", '{"status": "idle"}')  # while it is down
        wait_for(
            lambda: (pid := ingest_pid(run.pid)) not in (None, first) and pid,
            timeout=30,
            what=f"mqtt_ingest started again:\n{log.read_text()}",
        )
        wait_for(lambda: rows.count() == 2, what="the message sent while it was down")
        assert "mqtt_ingest exited" in log.read_text()

        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=60)
        wait_for(lambda: not group(run.pid), timeout=30, what="every process of bin/run to exit")
    finally:
        publisher.close()
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
