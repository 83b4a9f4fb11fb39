"""The board and the exception page: roles, live refresh, actions without leaving the board."""

import pytest

from exceptions.models import ExceptionCase, RootCause
from exceptions.selectors import board_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(client, role_user):
    client.force_login(role_user("supervisor"))
    return client


def test_board_needs_a_login(client):
    response = client.get("/board/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_user_without_a_role_is_refused(client, role_user):
    client.force_login(role_user(None))
    assert client.get("/board/").status_code == 403


def test_empty_board_says_the_plant_is_calm(supervisor, plant):
    body = supervisor.get("/board/").content.decode()
    assert "All calm." in body
    assert "the plant is running to plan" in body


def test_board_lists_open_exceptions_by_severity_then_age(supervisor, plant, down, signal):
    signal("labor.availability", {"line": "L2", "shift": "A", "available": 13, "required": 14})
    down("L1")
    body = supervisor.get("/board/").content.decode()
    assert body.index("Line L1 down") < body.index("Labour short on L2")
    assert 'id="board-rows"' in body
    assert "since=" in body


def test_detail_page_shows_impact_timeline_and_forms(supervisor, plant, down):
    case = down("L1", reason="filler jam")
    body = supervisor.get(f"/exceptions/{case.pk}/").content.decode()
    assert "Impact" in body and "Timeline" in body
    assert "equipment.status" in body
    assert "Tasks, decisions and proposals" in body
    assert 'name="root_cause"' in body
    assert "Why critical" in body  # orders due within hours on a stopped line


def test_refresh_answers_204_when_nothing_changed(supervisor, plant, down):
    down("L1")
    version = board_version()
    response = supervisor.get(f"/board/?since={version}", HTTP_HX_REQUEST="true")
    assert response.status_code == 204


def test_refresh_renders_rows_partial_after_a_change(supervisor, plant, down):
    version = board_version()
    down("L1")
    response = supervisor.get(f"/board/?since={version}", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="board-rows"')
    assert "Line L1 down" in body and "<html" not in body
    assert f"since={board_version()}" in body


def test_acknowledge_from_the_board_returns_a_panel_and_refreshes(supervisor, plant, down):
    case = down("L1")
    response = supervisor.post(
        f"/exceptions/{case.pk}/acknowledge/",
        {"expected_state": "open", "next": "/board/"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "acknowledged" in response.content.decode()
    assert "board-changed" in response["HX-Trigger"]
    case.refresh_from_db()
    assert case.status == "acknowledged"
    assert case.owner_user.username == "supervisor-user"


def test_resolve_form_without_root_cause_rerenders_with_message(supervisor, plant, down):
    case = down("L1")
    response = supervisor.post(
        f"/exceptions/{case.pk}/resolve/",
        {"expected_state": "open", "note": "fixed"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Choose a root cause." in body
    case.refresh_from_db()
    assert case.status == "open"


def test_resolving_while_still_down_needs_confirmation(supervisor, plant, down):
    case = down("L1")
    cause = RootCause.objects.first()
    data = {"expected_state": "open", "root_cause": cause.pk, "note": "reset the filler"}
    body = supervisor.post(
        f"/exceptions/{case.pk}/resolve/", data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "still active" in body
    assert ExceptionCase.objects.get(pk=case.pk).status == "open"

    supervisor.post(
        f"/exceptions/{case.pk}/resolve/",
        {**data, "confirm_active": "on"},
        HTTP_HX_REQUEST="true",
    )
    case.refresh_from_db()
    assert case.status == "resolved" and case.resolved_while_active


def test_plain_post_redirects_back_with_a_message(supervisor, plant, down):
    case = down("L1")
    response = supervisor.post(
        f"/exceptions/{case.pk}/dismiss/",
        {"expected_state": "open", "reason": "false alarm: sensor test", "next": "/board/"},
    )
    assert response.status_code == 302 and response["Location"] == "/board/"
    assert ExceptionCase.objects.get(pk=case.pk).status == "dismissed"


def test_kiosk_mode_uses_large_type(supervisor, plant):
    body = supervisor.get("/board/?kiosk=1").content.decode()
    assert 'class="board-page kiosk"' in body
