import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from coordination.demo import demo_seed
from coordination.models import Job, Lot

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/v1/lines/", "/api/v1/orders/", "/api/v1/jobs/", "/api/v1/lots/"]


@pytest.fixture
def plant(db):
    demo_seed(users=False)


@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_gets_401(url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("url", ENDPOINTS)
def test_user_without_a_role_gets_403(url, api):
    assert api(None).get(url).status_code == 403


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("sales", "/api/v1/lots/"),
        ("maintenance", "/api/v1/lots/"),
        ("maintenance", "/api/v1/orders/"),
    ],
)
def test_wrong_role_gets_403(role, url, api):
    assert api(role).get(url).status_code == 403


@pytest.mark.parametrize("url", ENDPOINTS)
def test_supervisor_reads_every_list(url, api, plant):
    body = api("supervisor").get(url).json()
    assert body["count"] > 0
    assert len(body["results"]) <= 50


def test_token_authentication(role_user, plant):
    token = Token.objects.create(user=role_user("planner"))
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/jobs/").status_code == 200


def test_line_addressed_by_plant_code(api, plant):
    body = api("maintenance").get("/api/v1/lines/L1/").json()
    assert body["code"] == "L1"
    assert body["site"] == "RIV"
    assert "PET-WATER" in body["families"]


def test_order_addressed_by_number(api, plant):
    body = api("sales").get("/api/v1/orders/SO-10101/").json()
    assert body["number"] == "SO-10101"
    assert body["customer_tier"] in {"strategic", "key", "standard"}


def test_unknown_code_is_404(api, plant):
    assert api("planner").get("/api/v1/lots/LOT-NOPE/").status_code == 404


def test_jobs_filter_by_line_and_status(api, plant):
    body = api("planner").get("/api/v1/jobs/?line=L2&status=running").json()
    assert body["count"] == Job.objects.filter(line__code="L2", status="running").count() == 1
    assert body["results"][0]["line"] == "L2"


def test_lots_filter_by_status(api, plant):
    body = api("quality").get("/api/v1/lots/?status=on_hold").json()
    assert body["count"] == Lot.objects.filter(status="on_hold").count() > 0
    assert {lot["status"] for lot in body["results"]} == {"on_hold"}


def test_bad_filter_value_names_the_field(api, plant):
    response = api("planner").get("/api/v1/jobs/?status=exploded")
    assert response.status_code == 400
    assert "status" in response.json()
    assert "must be one of" in response.json()["status"][0]


def test_pagination(api, plant):
    client = api("supervisor")
    first = client.get("/api/v1/lots/").json()
    second = client.get(first["next"]).json()
    assert first["count"] == 200
    assert {lot["code"] for lot in first["results"]}.isdisjoint(
        lot["code"] for lot in second["results"]
    )


def test_read_api_refuses_writes(api, plant):
    response = api("admin").post("/api/v1/lines/", {"code": "L9"}, format="json")
    assert response.status_code == 405


def test_openapi_schema_and_docs(api):
    client = api("supervisor")
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/lots/{code}/" in schema.json()["paths"]
    assert client.get("/api/v1/docs/").status_code == 200
