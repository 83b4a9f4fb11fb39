from datetime import timedelta

import pytest
from django.utils import timezone

from exceptions.models import ExceptionCase
from tests.factories import ExceptionCaseFactory


@pytest.fixture
def make_case(db):
    """``make_case(kind="downtime", severity=3, ...)``: a bare exception (no observers)."""

    def make(kind="downtime", severity=3, **kwargs):
        return ExceptionCaseFactory(kind=kind, base_severity=severity, **kwargs)

    return make


@pytest.fixture
def order_change(signal):
    """An order-change exception (planner and sales tasks in parallel)."""

    def send(order="SO-10101"):
        signal("order.changed", {"order": order, "change": "quantity", "quantity": 2500})
        return ExceptionCase.objects.get(kind="order_change", key=order)

    return send


def later(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)
