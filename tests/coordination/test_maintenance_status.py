"""A maintenance signal sets the line's status as the board sees it (issue 15, item 6):
"Line L4 unplanned maintenance" on the board means L4 in maintenance on the overview."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coordination.apply import maintenance_line_status
from coordination.models import Line
from exceptions.models import OPEN_STATES, ExceptionCase
from integrations.models import InboxEvent
from integrations.services import events_accept, inbox_process, integration_key_create

pytestmark = pytest.mark.django_db
T0 = timezone.now() - timedelta(minutes=30)


@pytest.fixture
def ingest(plant):
    integration, _ = integration_key_create(name="mes")
    n = iter(range(1, 100))

    def send(type_, data, at):
        event_id = f"m-{next(n)}"
        event = {"specversion": "1.0", "id": event_id, "source": "mes/riverside",
                 "type": type_, "time": at.isoformat(), "data": data}  # fmt: skip
        assert events_accept(integration=integration, raw_events=[event])[0]["status"] == "accepted"
        inbox_process(InboxEvent.objects.get(event_id=event_id).pk)

    return send


def maintenance(status, kind="unplanned"):
    return {"line": "L4", "work_order": "WO-M-1", "kind": kind, "status": status}


@pytest.mark.parametrize(
    ("kind", "status", "line"),
    [
        ("unplanned", "scheduled", "maintenance"),
        ("unplanned", "started", "maintenance"),
        ("planned", "scheduled", None),
        ("planned", "started", "maintenance"),
        ("unplanned", "completed", "idle"),
        ("planned", "cancelled", "idle"),
    ],
)
def test_the_rule(kind, status, line):
    assert maintenance_line_status(kind, status) == line


def test_unplanned_maintenance_and_the_board_agree(ingest):
    ingest("maintenance.event", maintenance("started"), T0)
    line = Line.objects.get(code="L4")
    assert line.status == "maintenance" and "WO-M-1" in line.status_reason
    case = ExceptionCase.objects.get(kind="downtime", key="L4", status__in=OPEN_STATES)
    assert case.condition_active

    ingest("maintenance.event", maintenance("completed"), T0 + timedelta(minutes=10))
    line.refresh_from_db()
    case.refresh_from_db()
    assert line.status == "idle" and not case.condition_active  # cleared on both


def test_a_newer_running_signal_wins_and_completion_leaves_it_running(ingest):
    ingest("equipment.status", {"line": "L4", "status": "running"}, T0 + timedelta(minutes=5))
    ingest("maintenance.event", maintenance("started"), T0)  # older: the line stays running
    assert Line.objects.get(code="L4").status == "running"
    ingest("maintenance.event", maintenance("completed"), T0 + timedelta(minutes=10))
    assert Line.objects.get(code="L4").status == "running"  # only maintenance becomes idle
