"""The reference ERP/MES as a real process on a port of its own, and targets pointing at it."""

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import transaction

from coordination.outbox import NOTIFICATION_TOPICS, TOPICS, outbox_add
from integrations.delivery import target_ensure
from integrations.models import target_secret_new
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18500, 18600)  # this suite's range on the shared machine


class Peer:
    """A running ``manage.py run_reference_plant`` and a small HTTP client for it."""

    def __init__(self, store: str = ""):
        self.port = free_port(PORTS.start, PORTS.stop)
        self.url = f"http://127.0.0.1:{self.port}"
        self.secrets = {"erp": target_secret_new(), "mes": target_secret_new()}
        env = {
            **os.environ,
            "REFERENCE_ERP_SECRET": self.secrets["erp"],
            "REFERENCE_MES_SECRET": self.secrets["mes"],
        }
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_reference_plant", "--port", str(self.port),
             "--store", store],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if self.call("GET", "/healthz")[0] == 200:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError(f"reference plant died: {self.proc.stderr.read().decode()}")
            time.sleep(0.1)
        raise RuntimeError("reference plant did not start")

    def call(self, method: str, path: str, body=None, headers=None, raw: bytes | None = None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def get(self, path: str):
        status, body = self.call("GET", path)
        assert status == 200, (path, status, body)
        return body

    def control(self, **body):
        status, answer = self.call("POST", "/control", body)
        assert status == 200, answer
        return answer

    def messages(self, system: str = "erp") -> dict:
        return self.get(f"/{system}/messages")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def reference_plant():
    """One reference plant process for the whole run (starting one costs a second or two)."""
    running = Peer()
    yield running
    running.stop()


@pytest.fixture
def peer(reference_plant):
    """The reference plant, emptied and behaving (``mode: reset``) for this test."""
    reference_plant.control(mode="reset")
    return reference_plant


@pytest.fixture
def targets(db, peer):
    """ERP and MES targets pointing at the peer, with its secrets (short timeouts), taking
    what ``make run`` subscribes them to: every type but the workflow notifications."""
    made = {}
    plant_topics = [t for t in TOPICS if t not in NOTIFICATION_TOPICS]
    for name in ("erp", "mes"):
        target, _ = target_ensure(
            name=name.upper(),
            url=f"{peer.url}/{name}/messages",
            secret=peer.secrets[name],
            topics=plant_topics,
        )
        target.timeout = 2.0
        target.save(update_fields=["timeout"])
        made[name] = target
    return made


def lot_message(topic: str, lot: str, **extra):
    """Write one lot message with ``outbox_add`` in its own transaction (as a service would)."""
    data = {
        "lot.held": {"lot": lot, "item": "MAT-CAP-28", "quantity": "500.000",
                     "reason": "seal leak", "defect_code": "D-12",
                     "held_at": "2026-12-01T08:00:00Z"},
        "lot.released": {"lot": lot, "item": "MAT-CAP-28", "quantity": "500.000",
                         "disposition": "release", "deviation": "", "rationale": "retested",
                         "decided_at": "2026-12-01T09:00:00Z"},
    }[topic]  # fmt: skip
    data.update(extra)
    with transaction.atomic():
        return outbox_add(topic=topic, aggregate=f"lot:{lot}", data=data)
