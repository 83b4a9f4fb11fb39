"""Issue 10, item 7: how a person or a service account gets an API token."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _issue(*args) -> str:
    out = io.StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_a_token_reads_with_the_users_roles(role_user):
    role_user("planner", username="mes-planner")
    key = _issue("mes-planner")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/orders/").status_code == 200
    assert client.get("/api/v1/events/").status_code == 403  # not a planner's


def test_rotate_stops_the_old_token_and_revoke_stops_it_all(role_user):
    role_user("sales", username="crm")
    old = _issue("crm")
    with pytest.raises(CommandError, match="already has a token"):
        _issue("crm")
    new = _issue("crm", "--rotate")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert client.get("/api/v1/orders/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert client.get("/api/v1/orders/").status_code == 200
    call_command("create_api_token", "crm", "--revoke", stdout=io.StringIO())
    assert client.get("/api/v1/orders/").status_code == 401


def test_unknown_user_is_named():
    with pytest.raises(CommandError, match="username: no user 'ghost'"):
        _issue("ghost")
