import itertools
from datetime import time, timedelta

import pytest
from django.utils import timezone

from coordination import models as m
from coordination.demo import demo_seed
from coordination.events import PlantEvent
from exceptions.models import ExceptionCase
from exceptions.services import event_observe

_inbox = itertools.count(1)


def plant_event(type_: str, data: dict, *, site: str = "RIV", stale: bool = False, time=None):
    """A validated, applied event as ingestion hands it to observers."""
    n = next(_inbox)
    now = timezone.now()
    return PlantEvent(
        inbox_id=n,
        type=type_,
        source="mes/test",
        event_id=f"evt-{n}",
        time=time or now,
        received_at=now,
        site=site,
        data=data,
        stale=stale,
    )


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
            m.Shift(site=site, code="A", name="Early", starts=time(6), ends=time(14)),
            m.Shift(site=site, code="B", name="Late", starts=time(14), ends=time(22)),
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
        return ExceptionCase.objects.get(
            kind="downtime", key=line, status__in=["open", "acknowledged"]
        )

    return send


def hours(n: float):
    return timezone.now() + timedelta(hours=n)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Users are made per test; PBKDF2 would cost a third of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
