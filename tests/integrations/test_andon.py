"""Issue 15, andon from the floor: a station's call goes through the inbox like a machine's
signal, raises (or joins) an exception, routes, and the station sees its state."""

import pytest

from coordination.models import Line
from exceptions.models import OPEN_STATES, ExceptionCase, RootCause
from exceptions.services import case_acknowledge, case_assign, case_resolve
from integrations.andon import andon_call, andon_calls
from integrations.models import InboxEvent
from integrations.services import inbox_process
from workflows.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(plant, role_user):
    operator = role_user("supervisor", username="op-l1")

    def send(call_: str, line="L1", station="L1-1", **kwargs):
        row = andon_call(
            line=Line.objects.get(code=line), call=call_, actor=operator, station=station, **kwargs
        )
        inbox_process(row.pk)
        row.refresh_from_db()
        return row

    return send


def test_a_call_is_an_inbox_event_from_the_station_and_its_caller(call):
    row = call("quality", note="caps loose")
    assert row.type == "andon.call" and row.status == InboxEvent.Status.APPLIED
    assert row.source == "andon/L1-1/op-l1" and row.integration.name == "andon"
    assert row.data == {
        "line": "L1",
        "call": "quality",
        "station": "L1-1",
        "by": "op-l1",
        "site": "RIV",
        "note": "caps loose",
    }
    case = ExceptionCase.objects.get(kind="andon")
    assert case.key == "L1:quality" and case.severity >= 3
    assert case.title == "Line L1: quality problem at L1-1 (caps loose)"


def test_a_quality_call_routes_to_quality(call):
    call("quality")
    case = ExceptionCase.objects.get(kind="andon")
    task = Task.objects.get(case=case)
    assert task.owner_group.name == "quality" and task.title == "Go to the line: quality problem"


@pytest.mark.parametrize(("kind", "group"), [("material", "procurement"), ("help", "supervisor")])
def test_material_and_help_route_to_their_responders(call, kind, group):
    call(kind)
    task = Task.objects.get(case__key=f"L1:{kind}")
    assert task.owner_group.name == group


def test_a_double_tap_is_one_event(call):
    first = call("help")
    second = call("help")
    assert first.pk == second.pk
    assert InboxEvent.objects.filter(type="andon.call").count() == 1


def test_a_second_call_from_another_station_joins_the_open_exception(call):
    call("material", station="L1-1")
    call("material", station="L1-2")
    case = ExceptionCase.objects.get(kind="andon", status__in=OPEN_STATES)
    assert case.event_count == 2


def test_line_stopped_is_the_lines_downtime_and_joins_the_mes_signal(call, signal):
    signal("equipment.status", {"line": "L1", "status": "down", "reason": "filler jam"})
    call("stopped", reason="Jam")
    case = ExceptionCase.objects.get(kind="downtime", key="L1")
    assert case.event_count == 2  # one disruption, the MES's and the operator's signal
    line = Line.objects.get(code="L1")
    assert line.status == "down" and line.status_reason == "andon (L1-1): Jam"


def test_line_running_again_clears_the_downtime_and_the_line_runs(call):
    call("stopped", reason="Breakdown")
    call("running")
    case = ExceptionCase.objects.get(kind="downtime", key="L1")
    assert not case.condition_active
    assert Line.objects.get(code="L1").status == "running"


def test_the_station_sees_raised_acknowledged_coming_resolved(call, role_user):
    call("help", station="L1-1")
    line = Line.objects.get(code="L1")
    (state,) = andon_calls(line=line)
    assert state.step == "raised"
    boss = role_user("supervisor", username="sam", first_name="Sam", last_name="Boss")
    case = ExceptionCase.objects.get(kind="andon")
    case_acknowledge(case_id=case.pk, actor=boss)
    (state,) = andon_calls(line=line)
    assert state.acknowledged_by == "Sam Boss" and state.coming == "Sam Boss"
    assert state.label == "acknowledged by Sam Boss · Sam Boss is coming"
    role_user("maintenance", username="mia")
    case_assign(case_id=case.pk, actor=boss, user="mia")
    (state,) = andon_calls(line=line)
    assert state.label == "acknowledged by Sam Boss · mia is coming"
    cause = RootCause.objects.first()
    case_resolve(
        case_id=case.pk, actor=boss, root_cause=cause.pk, note="helped", confirm_active=True
    )
    (state,) = andon_calls(line=line)
    assert state.step == "resolved"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"call": "party"}, "call"),
        ({"call": "stopped"}, "reason"),
        ({"call": "stopped", "stop_reason": "Bored"}, "reason"),
        ({"call": "help", "note": "x" * 201}, "note"),
        ({"call": "help", "note": "a\x00b"}, "note"),
        ({"call": "help", "station": "<script>"}, "station"),
    ],
)
def test_bad_calls_are_refused_and_store_nothing(client, plant, role_user, data, field):
    client.force_login(role_user("supervisor"))
    response = client.post("/lines/L1/andon", data)
    assert response.status_code == 400
    assert InboxEvent.objects.count() == 0


def test_the_station_page_posts_and_redirects_back(client, plant, role_user):
    client.force_login(role_user("maintenance"))
    response = client.post("/lines/L1/andon", {"stop_reason": "Jam", "station": "L1-1"})
    assert response.status_code == 302 and response["Location"] == "/lines/L1/andon?station=L1-1"
    body = client.get(response["Location"]).content.decode()
    assert "Line stopped: Jam" in body and "sent, being raised" in body


def test_unknown_line_station_is_404(client, plant, role_user):
    client.force_login(role_user("supervisor"))
    assert client.get("/lines/NOPE/andon").status_code == 404
