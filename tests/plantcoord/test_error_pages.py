"""Error pages in the app's layout (issue 15, "Errors and empty states"), 403s logged as one
line, the login page's demo users (embedded only), the integrations page's who-to-ask."""

import logging

import pytest
from django.test import override_settings

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_403_page_has_the_layout_a_reason_and_ways_back(client, role_user):
    client.force_login(role_user("sales"))
    response = client.get("/integrations/", HTTP_REFERER="http://testserver/inbox/")
    body = response.content.decode()
    assert response.status_code == 403
    assert 'aria-label="Main"' in body  # navigation
    assert "You may not open this" in body and "ask your shift supervisor" in body
    assert 'href="http://testserver/inbox/"' in body  # back where they came from
    assert 'href="/"' in body and "Plant overview" in body


def test_404_page_has_the_layout(client, role_user):
    client.force_login(role_user("planner"))
    response = client.get("/exceptions/999999/")
    body = response.content.decode()
    assert response.status_code == 404
    assert 'aria-label="Main"' in body and "Not found" in body
    assert "not shown to your role" in body


def test_api_errors_stay_json(client, role_user):
    client.force_login(role_user("sales"))
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_500_page_in_the_layout(client, role_user, rf):
    from plantcoord.handlers import server_error

    request = rf.get("/board/")
    request.user = role_user("supervisor")
    response = server_error(request)
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body and 'aria-label="Main"' in body


def test_a_403_is_logged_as_one_line_without_a_traceback(client, role_user, capsys):
    # The console handler of settings.LOGGING, as a deployment's log sees it.
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    client.force_login(role_user("sales"))
    records = []
    original = handler.emit
    handler.emit = lambda record: records.append(handler.format(record))
    try:
        assert client.get("/integrations/").status_code == 403
    finally:
        handler.emit = original
    forbidden = [r for r in records if "Forbidden" in r]
    assert forbidden, records
    assert all("Traceback" not in r for r in forbidden)


def test_login_page_lists_the_demo_users_on_the_embedded_default(client):
    for role in ("supervisor", "quality", "sales"):
        UserFactory(username=role, role=role)
    body = client.get("/accounts/login/").content.decode()
    assert "Demo plant." in body and "supervisor, quality, sales" in body


@override_settings(EMBEDDED=False)
def test_login_page_lists_no_demo_users_in_production(client):
    UserFactory(username="supervisor", role="supervisor")
    body = client.get("/accounts/login/").content.decode()
    assert "Demo plant." not in body and "supervisor" not in body


def test_integrations_page_tells_a_supervisor_who_to_ask(client, role_user):
    UserFactory(username="ada", first_name="Ada", last_name="Admin", role="admin", is_staff=True)
    client.force_login(role_user("supervisor"))
    body = client.get("/integrations/").content.decode()
    assert "ask Ada Admin" in body
    assert "/admin/" not in body  # no link to a page they cannot open
