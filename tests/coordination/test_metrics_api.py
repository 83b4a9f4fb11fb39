"""``GET /api/v1/metrics/``, the ``/metrics/`` dashboard and its CSV exports."""

import csv
import io

import pytest
from django.test import Client

from .metrics_history import build_history

pytestmark = pytest.mark.django_db

WEEK = {"from": "2026-11-02", "to": "2026-11-08"}


@pytest.fixture
def history(db):
    return build_history()


def test_the_api_answers_the_documented_shape(api, history):
    response = api("supervisor").get("/api/v1/metrics/", WEEK)
    assert response.status_code == 200
    body = response.json()
    assert body["period"]["from"] == "2026-11-02T00:00:00Z"
    assert body["period"]["to"] == "2026-11-09T00:00:00Z"
    assert {"n", "p50_s", "p90_s"} <= set(body["constraint_to_response"])
    assert body["constraint_to_response"]["p50_s"] == 1260
    assert {"n", "p50_s", "mean_s"} <= set(body["mtta"]) and {"n", "p50_s"} <= set(body["mttr"])
    assert {k: body["repeat_rate"][k] for k in ("n", "repeats", "rate")} == {
        "n": 6,
        "repeats": 3,
        "rate": 0.5,
    }
    assert {k: body["sla"]["planner"][k] for k in ("n", "on_time", "rate", "escalations")} == {
        "n": 1,
        "on_time": 0,
        "rate": 0.0,
        "escalations": 2,
    }
    assert body["root_causes"][0]["cause"] == "Bearing"
    assert body["no_decision"]["without_decision"] == 3
    assert len(body["series"]) == 7


def test_the_api_filters(api, history):
    client = api("planner")
    assert client.get("/api/v1/metrics", {**WEEK, "line": "L1"}).json()["counts"]["opened"] == 3
    assert client.get("/api/v1/metrics/", {**WEEK, "kind": "scrap"}).json()["counts"]["opened"] == 1
    body = client.get("/api/v1/metrics/", {**WEEK, "function": "maintenance"}).json()
    assert list(body["sla"]) == ["maintenance"]
    assert client.get("/api/v1/metrics/", {**WEEK, "site": "RIV"}).json()["counts"]["opened"] == 7


@pytest.mark.parametrize(
    "params, field",
    [
        ({"line": "L99"}, "line"),
        ({"from": "2026-11-09", "to": "2026-11-02"}, "from"),
        ({"from": "27/11/2026"}, "from"),
        ({"to": "2026-11-31"}, "to"),
        ({"kind": "meteor"}, "kind"),
        ({"function": "x" * 100_000}, "function"),
        ({"from": "1900-01-01"}, "from"),
        ({"period": "year"}, "period"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(api, history, params, field):
    response = api("quality").get("/api/v1/metrics/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_nul_byte_is_refused_before_the_view_naming_the_parameter(api, history):
    # kernel.filters.RejectNulMiddleware answers for every API view, in the domain-error shape.
    response = api("quality").get("/api/v1/metrics/", {"site": "A\x00B"})
    assert response.status_code == 400
    assert response.json()["extra"]["parameter"] == "site"


@pytest.mark.parametrize("role", ["supervisor", "planner", "quality", "admin"])
def test_who_reads_the_metrics(api, history, role):
    assert api(role).get("/api/v1/metrics/", WEEK).status_code == 200


@pytest.mark.parametrize("role", ["procurement", "sales", "maintenance", None])
def test_others_are_refused(api, history, role):
    assert api(role).get("/api/v1/metrics/", WEEK).status_code == 403


def test_anonymous_gets_401(history):
    assert Client().get("/api/v1/metrics/").status_code == 401


def signed_in(role_user, role):
    client = Client()
    client.force_login(role_user(role))
    return client


def test_the_dashboard_shows_the_headline_numbers_and_keeps_filters(role_user, history):
    page = signed_in(role_user, "supervisor").get("/metrics/", {**WEEK, "line": "L1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Constraint → response (p50)" in html
    assert 'id="metrics-data"' in html and 'data-chart="pareto"' in html
    assert "line=L1" in html  # the CSV links carry the filters
    assert "<option selected>L1</option>" in html
    assert "<script>" not in html  # no inline code (CSP): data only, as application/json


def test_the_dashboard_names_a_bad_parameter(role_user, history):
    page = signed_in(role_user, "planner").get("/metrics/", {"line": "L99"})
    assert page.status_code == 400
    assert "unknown line" in page.content.decode()


def test_the_dashboard_has_an_empty_state(role_user, db):
    page = signed_in(role_user, "quality").get("/metrics/")
    assert page.status_code == 200
    assert "Nothing to measure yet" in page.content.decode()


def test_the_dashboard_is_refused_to_other_roles_and_sends_anonymous_to_sign_in(role_user, db):
    assert signed_in(role_user, "sales").get("/metrics/").status_code == 403
    response = Client().get("/metrics/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_navigation_shows_metrics_only_to_its_roles(role_user, db):
    assert 'href="/metrics/"' in signed_in(role_user, "planner").get("/").content.decode()
    assert 'href="/metrics/"' not in signed_in(role_user, "sales").get("/").content.decode()


def test_csv_export_of_each_table(role_user, history):
    client = signed_in(role_user, "supervisor")
    response = client.get("/metrics/export/sla.csv", WEEK)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "function"
    assert ["planner", "1", "0", "1", "0", "0.0", "2", "1", ""] in rows
    for table in ("trend", "distribution", "root_causes", "repeaters", "no_decision"):
        assert client.get(f"/metrics/export/{table}.csv", WEEK).status_code == 200
    assert client.get("/metrics/export/nope.csv", WEEK).status_code == 404
    assert client.get("/metrics/export/sla.csv", {"from": "bad"}).status_code == 400


def test_csv_cells_never_run_as_formulas(role_user, history):
    from exceptions.models import ExceptionCase

    ExceptionCase.objects.filter(pk=history["B"].pk).update(title='=HYPERLINK("x")')
    body = signed_in(role_user, "supervisor").get("/metrics/export/no_decision.csv", WEEK)
    assert "'=HYPERLINK" in body.content.decode()
