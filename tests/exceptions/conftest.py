import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

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
def plant(db):
    demo_seed(users=False)


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
