"""Guessing is throttled: wrong passwords (per user and per address) and wrong API
credentials (per address) lock out for a cool-off, with a message saying so.

The counters are rows in the test database (django-axes' database handler), so each test's
rollback resets them: no test locks another out.
"""

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token

from integrations.services import integration_key_create

LIMIT = settings.AXES_FAILURE_LIMIT


def login(username, password, ip="10.0.0.1"):
    client = Client(REMOTE_ADDR=ip)
    return client, client.post("/accounts/login/", {"username": username, "password": password})


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_the_limit_is_well_below_fifty():
    assert 3 <= LIMIT <= 20


def test_wrong_passwords_lock_the_user_even_with_the_right_one(role_user):
    role_user("planner", username="pat")
    for _ in range(LIMIT - 1):
        _, response = login("pat", "wrong")
        assert response.status_code == 200  # the form again, "didn't match"
    _, response = login("pat", "wrong")
    assert response.status_code == 429  # the limit-th failure locks
    client, response = login("pat", "pw-not-demo-123")
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed sign-ins" in text
    assert "minutes" in text
    assert not signed_in(client)


def test_a_user_is_locked_from_every_address(role_user):
    role_user("planner", username="pat")
    for k in range(LIMIT):
        login("pat", "wrong", ip=f"10.0.1.{k}")
    client, response = login("pat", "pw-not-demo-123", ip="10.0.2.1")
    assert response.status_code == 429
    assert not signed_in(client)


def test_an_address_is_locked_for_every_user(role_user):
    role_user("planner", username="pat")
    for k in range(LIMIT):
        login(f"guess{k}", "wrong", ip="10.0.3.1")
    client, response = login("pat", "pw-not-demo-123", ip="10.0.3.1")
    assert response.status_code == 429
    assert not signed_in(client)
    # Another address and the same user: fine.
    client, response = login("pat", "pw-not-demo-123", ip="10.0.3.2")
    assert response.status_code == 302
    assert signed_in(client)


def test_a_few_typos_then_the_right_password_works(role_user):
    role_user("planner", username="pat")
    for _ in range(LIMIT - 1):
        login("pat", "wrong")
    client, response = login("pat", "pw-not-demo-123")
    assert response.status_code == 302
    assert signed_in(client)


def test_admin_login_is_throttled_too(role_user):
    role_user("planner", username="pat", is_staff=True)
    client = Client(REMOTE_ADDR="10.0.4.1")
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "pat", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "pat", "password": "pw-not-demo-123"})
    assert response.status_code == 429


def api_get(path, authorization, ip="10.0.5.1"):
    return Client(REMOTE_ADDR=ip).get(path, HTTP_AUTHORIZATION=authorization)


def test_wrong_api_tokens_lock_the_address_out(role_user):
    token = Token.objects.create(user=role_user("planner")).key
    for k in range(LIMIT):
        assert api_get("/api/v1/lines/", f"Token wrong{k}").status_code == 401
    response = api_get("/api/v1/lines/", f"Token {token}")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "too_many_failed_authentications"
    assert "minutes" in body["detail"]
    assert int(response["Retry-After"]) > 0
    # The same token from another address still works.
    assert api_get("/api/v1/lines/", f"Token {token}", ip="10.0.5.2").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/lines/"])
def test_wrong_integration_keys_lock_the_address_out(db, path):
    _, key = integration_key_create(name="mes")
    for k in range(LIMIT):
        assert api_get(path, f"Bearer wrong-key-{k}").status_code == 401
    response = api_get(path, f"Bearer {key}")
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_failed_authentications"


def test_good_api_calls_never_count(role_user):
    token = Token.objects.create(user=role_user("planner")).key
    for _ in range(LIMIT * 2):
        assert api_get("/api/v1/lines/", f"Token {token}").status_code == 200
    # Asking without credentials is a 401 but not a guess: it does not count either.
    for _ in range(LIMIT):
        assert Client(REMOTE_ADDR="10.0.5.1").get("/api/v1/lines/").status_code == 401
    assert api_get("/api/v1/lines/", f"Token {token}").status_code == 200


def test_the_address_is_the_proxys_client_when_behind_the_proxy(role_user, settings):
    """Behind nginx every request comes from the proxy; the client is in X-Forwarded-For."""
    settings.TRUSTED_PROXY_COUNT = 1
    role_user("planner", username="pat")

    def via_proxy(username, password, client_ip):
        client = Client(REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR=f"1.2.3.4, {client_ip}")
        return client.post("/accounts/login/", {"username": username, "password": password})

    for k in range(LIMIT):
        via_proxy(f"guess{k}", "wrong", "10.0.6.1")
    assert via_proxy("pat", "pw-not-demo-123", "10.0.6.1").status_code == 429
    # A spoofed left-most entry does not help; another real client is not locked out.
    assert via_proxy("pat", "pw-not-demo-123", "10.0.6.2").status_code == 302
