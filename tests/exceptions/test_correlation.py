"""Applied events raise, join and clear exceptions by the admin's rules."""

import pytest

from exceptions.models import ExceptionCase

pytestmark = pytest.mark.django_db


def test_ten_down_signals_for_one_line_make_one_exception(plant, signal):
    for k in range(10):
        signal("equipment.status", {"line": "L1", "status": "down", "reason": f"jam {k}"})

    [case] = ExceptionCase.objects.all()
    assert case.kind == "downtime" and case.key == "L1"
    assert case.event_count == 10
    assert case.events.filter(kind="signal").count() == 10
    assert case.line.code == "L1"


def test_two_lines_make_two_exceptions(plant, signal):
    signal("equipment.status", {"line": "L1", "status": "down"})
    signal("equipment.status", {"line": "L2", "status": "down"})
    signal("equipment.status", {"line": "L2", "status": "down"})

    counts = dict(ExceptionCase.objects.values_list("key", "event_count"))
    assert counts == {"L1": 1, "L2": 2}
