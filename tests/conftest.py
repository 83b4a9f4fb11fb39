import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from coordination import models as m
from coordination.demo import demo_seed
from exceptions.models import OPEN_STATES, ExceptionCase
from exceptions.services import event_observe
from kernel.roles import ROLES
from tests.factories import UserFactory, plant_event

ROOT = Path(__file__).resolve().parents[1]

# The reference ERP/MES as a real process (``peer``, ``targets``): integrations and browser tests.
pytest_plugins = ["tests.integrations.reference_peer"]


def pytest_configure(config):
    from django.conf import settings

    # Tests create many users; the production hasher's 1M iterations cost ~0.3 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` prove row locking; SQLite has none, so they need PostgreSQL.

    CI always runs them (DATABASE_URL points at PostgreSQL); on the embedded default they are
    reported as not run, with the reason, rather than passing vacuously.
    """
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    reason = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(reason)


@pytest.fixture
def role_user(db):
    """``role_user("quality")``: a user holding exactly that role (None: no role at all)."""

    def make(role: str | None, **kwargs):
        assert role is None or role in ROLES
        return UserFactory(
            username=kwargs.pop("username", f"{role or 'nobody'}-user"), role=role, **kwargs
        )

    return make


@pytest.fixture
def api(role_user):
    """``api("planner")``: an API client authenticated as a user of that role."""

    def make(role: str | None = None, user=None):
        client = APIClient()
        client.force_authenticate(user or role_user(role))
        return client

    return make


def test_database_url() -> str:
    """The URL of the database this test run uses, for processes we start (the worker)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class WorkerProcess:
    """A real Celery worker (``celery worker``) on the test database and the real broker."""

    def __init__(self, *extra: str):
        env = {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONUNBUFFERED": "1"}
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the worker
            "w+", prefix="worker-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "plantcoord",
                "worker",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def kill(self, sig=signal.SIGKILL) -> None:
        """Kill the whole worker (pool children included), as an OOM killer or a crash would."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def worker_process():
    """``worker_process()`` starts a worker; every started one is stopped after the test."""
    started = []

    def start(*extra: str) -> WorkerProcess:
        worker = WorkerProcess(*extra)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def free_port(low: int, high: int) -> int:
    """A port of ``[low, high)`` that nothing holds (each suite on this shared machine keeps
    to its own range)."""
    for port in range(low, high):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


def wait_for(condition, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    """Poll until ``condition()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def race(target, callers: int = 2) -> list[tuple[str, object]]:
    """Run ``target(k)`` in ``callers`` threads released at once (each on its own database
    connection); returns ``("ok", result)`` or ``(error code, detail)`` per caller."""
    from kernel.errors import DomainError

    barrier = threading.Barrier(callers)
    outcomes = []

    def run(k):
        barrier.wait()
        try:
            outcomes.append(("ok", target(k)))
        except DomainError as exc:
            outcomes.append((exc.code, exc.detail))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def pg_blocked_backend(dsn: str) -> int | None:
    """The pid of a backend of this test database waiting on a row lock, if any."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return row[0] if row else None


def pg_backend_alive(dsn: str, pid: int) -> bool:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone())


# --- a plant and its signals (exceptions, workflows and browser tests) ----------------------


@pytest.fixture
def signal():
    """``signal("equipment.status", {...})``: drive the observer; returns the event."""

    def send(type_: str, data: dict, **kwargs):
        event = plant_event(type_, data, **kwargs)
        event_observe(event)
        return event

    return send


@pytest.fixture
def demo_plant(db):
    """The full demo plant (about half a second): for impact on a realistic picture."""
    demo_seed(users=False)


@pytest.fixture
def plant(db):
    """A small plant with the demo's codes (RIV, L1..L4, SO-101xx, LOT-M0001, MAT-CAP-28):
    a few milliseconds instead of the whole demo."""
    now = timezone.now()
    site = m.Site.objects.create(code="RIV", name="Riverside")
    wh, qa = m.Location.objects.bulk_create(
        [
            m.Location(site=site, code="WH-RAW-01", name="Raw", kind="warehouse"),
            m.Location(site=site, code="QA-CAGE", name="QA", kind="quality"),
        ]
    )
    customers = m.Customer.objects.bulk_create(
        m.Customer(code=f"C{t}", name=f"Customer tier {t}", tier=t) for t in (1, 2, 3)
    )
    product = m.Item.objects.create(code="FG-1", description="Cola 0.5 L", rate_per_hour=1000)
    material = m.Item.objects.create(
        code="MAT-CAP-28", description="Closure 28 mm", kind="material"
    )
    m.Shift.objects.bulk_create(
        [
            m.Shift(site=site, code="A", name="Early", starts=clock(6), ends=clock(14)),
            m.Shift(site=site, code="B", name="Late", starts=clock(14), ends=clock(22)),
        ]
    )
    number = 10101
    for k in range(1, 5):
        line = m.Line.objects.create(site=site, code=f"L{k}", name=f"Line {k}", status="running")
        for position in range(3):
            order = m.Order.objects.create(
                number=f"SO-{number}",
                site=site,
                customer=customers[(number + position) % 3],
                item=product,
                quantity=2000,
                due_at=now + timedelta(hours=6 + 4 * position),
            )
            start = now + timedelta(hours=2 * position - 1)
            m.Job.objects.create(
                number=f"WO-{number + 50000}",
                order=order,
                line=line,
                item=product,
                quantity=2000,
                sequence=(position + 1) * 10,
                planned_start=start,
                planned_end=start + timedelta(hours=2),
                status="running" if position == 0 else "planned",
            )
            number += 1
    m.Stock.objects.create(item=material, location=wh, quantity=1000)
    m.Lot.objects.create(code="LOT-M0001", item=material, quantity=500, location=wh)
    m.Lot.objects.create(
        code="LOT-FG-1", item=product, quantity=100, location=qa, job=m.Job.objects.first()
    )


@pytest.fixture
def down(signal):
    """``down("L1")``: line L1 reports down; returns its open exception."""

    def send(line: str = "L1", **data):
        signal("equipment.status", {"line": line, "status": "down", **data})
        return ExceptionCase.objects.get(kind="downtime", key=line, status__in=OPEN_STATES)

    return send


@pytest.fixture
def order_change(signal):
    """An order-change exception (planner and sales tasks in parallel)."""

    def send(order="SO-10101"):
        signal("order.changed", {"order": order, "change": "quantity", "quantity": 2500})
        return ExceptionCase.objects.get(kind="order_change", key=order)

    return send
