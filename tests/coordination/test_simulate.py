"""``manage.py simulate``: deterministic dry runs, and a live run that uses only the public API.

The simulator runs as its own process with a database URL that points nowhere: if it touched
the database instead of the API, it would fail.
"""

import json
import os
import subprocess
import sys

import pytest

from coordination.demo import demo_seed
from coordination.models import StateChange
from exceptions.models import ExceptionCase
from integrations.cloudevents import validate
from integrations.models import InboxEvent
from integrations.services import integration_key_create
from tests.conftest import ROOT, wait_for

NO_DATABASE = "postgres://nobody@127.0.0.1:9/no_database_here"


def simulate(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": NO_DATABASE, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", "simulate", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def test_dry_run_is_byte_identical_for_a_seed_and_differs_for_another():
    first = simulate("--dry-run", "--hours", "24", "--seed", "11")
    second = simulate("--dry-run", "--hours", "24", "--seed", "11")
    other = simulate("--dry-run", "--hours", "24", "--seed", "12")
    assert first.returncode == 0, first.stderr.decode()
    assert first.stdout == second.stdout
    assert first.stdout != other.stdout
    lines = first.stdout.decode().splitlines()
    assert len(lines) > 300


def test_dry_run_events_are_valid_cloudevents_of_every_modelled_kind():
    out = simulate("--dry-run", "--hours", "48", "--seed", "5").stdout.decode().splitlines()
    events = [json.loads(line) for line in out]
    for event in events:
        valid, problems = validate(event, default_site="RIV")
        assert valid is not None, (event, problems)
    kinds = {e["type"] for e in events}
    assert kinds >= {
        "equipment.status",
        "production.progress",
        "material.shortage",
        "inventory.level",
        "labor.availability",
        "quality.hold",
        "order.changed",
    }
    assert len({(e["source"], e["id"]) for e in events}) == len(events)  # no two alike
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)


def test_bad_arguments_are_refused():
    assert simulate("--dry-run", "--hours", "-1").returncode != 0
    result = simulate("--hours", "1")  # live, without a key
    assert result.returncode != 0 and b"--key" in result.stderr


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_live_run_drives_the_app_through_its_api(live_server, worker_process):
    demo_seed(users=True)
    key = integration_key_create(name="simulator")[1]
    worker_process("--pool=solo")
    result = simulate(
        "--url", live_server.url, "--key", key, "--hours", "3", "--speed", "600",
        "--seed", "3", "--respond", "--respond-every", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    summary = json.loads(result.stdout.decode().splitlines()[-1])
    assert summary["sent"] == summary["events"] == summary["accepted"] > 0
    assert summary["rejected"] == summary["failed"] == 0
    assert InboxEvent.objects.filter(source__startswith="sim/").count() == summary["sent"]
    wait_for(lambda: not InboxEvent.objects.filter(status="received").exists(), what="the worker")
    assert not InboxEvent.objects.filter(status="failed").exists()
    assert ExceptionCase.objects.exists()
    # The people were played through the API too.
    assert summary["acknowledged"] > 0
    assert StateChange.objects.filter(transition="acknowledge", via="api").exists()
