from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ExceptionCaseFactory


@pytest.fixture
def make_case(db):
    """``make_case(kind="downtime", severity=3, ...)``: a bare exception (no observers)."""

    def make(kind="downtime", severity=3, **kwargs):
        return ExceptionCaseFactory(kind=kind, base_severity=severity, **kwargs)

    return make


def later(minutes: float):
    return timezone.now() + timedelta(minutes=minutes)
