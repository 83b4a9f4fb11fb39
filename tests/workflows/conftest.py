from datetime import timedelta

import pytest
from django.utils import timezone

from exceptions.models import ExceptionCase
from tests.exceptions.conftest import down, fast_passwords, plant, signal  # noqa: F401


@pytest.fixture
def make_case(db):
    """``make_case(kind="downtime", severity=3, ...)``: a bare exception (no observers)."""

    def make(kind="downtime", severity=3, key=None, **kwargs):
        now = timezone.now()
        return ExceptionCase.objects.create(
            kind=kind,
            key=key or f"K{ExceptionCase.objects.count() + 1}",
            title=kwargs.pop("title", f"{kind} test"),
            base_severity=severity,
            severity=severity,
            first_seen_at=now,
            last_seen_at=now,
            **kwargs,
        )

    return make


@pytest.fixture
def order_change(signal):  # noqa: F811
    """An order-change exception (planner and sales tasks in parallel)."""

    def send(order="SO-10101"):
        signal("order.changed", {"order": order, "change": "quantity", "quantity": 2500})
        return ExceptionCase.objects.get(kind="order_change", key=order)

    return send


def later(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)
