import pytest
from django.urls import reverse

from coordination.demo import demo_seed
from coordination.models import Line

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant(db):
    demo_seed(users=False)


def test_pages_need_a_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_wrong_password_says_so(client, role_user):
    role_user("supervisor")
    response = client.post("/accounts/login/", {"username": "supervisor-user", "password": "wrong"})
    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_supervisor_sees_every_line_with_its_jobs(client, role_user, plant):
    client.force_login(role_user("supervisor"))
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    for line in Line.objects.all():
        assert line.code in body and line.name in body
    assert body.count('class="job job-running"') == 4
    assert "Plant overview" in body


def test_overview_partial_for_htmx_refresh(client, role_user, plant):
    client.force_login(role_user("maintenance"))
    response = client.get("/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="overview-live"')
    assert "<html" not in body


def test_navigation_follows_the_role(client, role_user, plant):
    client.force_login(role_user("sales"))
    body = client.get("/").content.decode()
    assert 'href="/"' in body
    assert "/admin/" not in body


def test_user_without_a_role_is_refused(client, role_user):
    client.force_login(role_user(None))
    assert client.get("/").status_code == 403


def test_empty_plant_says_what_to_do(client, role_user):
    client.force_login(role_user("supervisor"))
    assert b"No lines are configured yet" in client.get("/").content


def test_logout_needs_post_and_signs_out(client, role_user):
    client.force_login(role_user("supervisor"))
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302
