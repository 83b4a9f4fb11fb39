"""The exceptions API: list with filters, actions by id and by key, roles, bad input."""

import pytest
from rest_framework.test import APIClient

from exceptions.models import ExceptionCase, RootCause

pytestmark = pytest.mark.django_db


def test_anonymous_gets_401():
    assert APIClient().get("/api/v1/exceptions/").status_code == 401
    assert APIClient().post("/api/v1/exceptions/1/acknowledge").status_code == 401


def test_user_without_a_role_gets_403(api, plant, down):
    case = down("L1")
    assert api(None).get("/api/v1/exceptions/").status_code == 403
    assert api(None).post(f"/api/v1/exceptions/{case.pk}/acknowledge").status_code == 403


def test_list_has_the_documented_fields(api, plant, down):
    down("L1")
    [row] = api("supervisor").get("/api/v1/exceptions/").json()["results"]
    for name in (
        "id", "kind", "severity", "status", "title", "correlation_key", "event_count",
        "opened_at", "acknowledged_at", "resolved_at", "owner", "root_cause",
    ):  # fmt: skip
        assert name in row
    assert row["correlation_key"] == "L1" and row["kind"] == "downtime"


def test_roles_see_only_their_functions(api, plant, down, signal):
    down("L1")
    signal("quality.hold", {"lot": "LOT-M0001", "reason": "seal"})
    kinds = {
        role: {r["kind"] for r in api(role).get("/api/v1/exceptions/").json()["results"]}
        for role in ("supervisor", "maintenance", "quality", "sales")
    }
    assert kinds == {
        "supervisor": {"downtime", "quality_hold"},
        "maintenance": {"downtime"},
        "quality": {"quality_hold"},
        "sales": {"downtime"},  # a task on the critical line-down (issue 15, item 1)
    }


def test_filters(api, plant, down, signal):
    down("L1")
    down("L2")
    signal("quality.hold", {"lot": "LOT-M0001", "reason": "seal"})
    client = api("supervisor")

    def keys(query):
        return {
            r["correlation_key"]
            for r in client.get(f"/api/v1/exceptions/?{query}").json()["results"]
        }

    assert keys("kind=downtime") == {"L1", "L2"}
    assert keys("line=L2") == {"L2"}
    assert keys("status=open") == {"L1", "L2", "LOT-M0001"}
    assert keys("status=resolved") == set()
    assert keys("severity=high") <= {"LOT-M0001", "L1", "L2"}
    assert keys("since=2000-01-01T00:00:00Z") == {"L1", "L2", "LOT-M0001"}
    assert keys("since=2999-01-01T00:00:00Z") == set()


@pytest.mark.parametrize(
    "query", ["status=closed", "kind=weather", "severity=urgent", "since=yesterday"]
)
def test_bad_filter_is_a_400_naming_it(api, plant, query):
    response = api("supervisor").get(f"/api/v1/exceptions/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_acknowledge_then_resolve_by_id(api, plant, down, signal):
    case = down("L1")
    client = api("supervisor")
    body = client.post(f"/api/v1/exceptions/{case.pk}/acknowledge", {}, format="json").json()
    assert body["status"] == "acknowledged" and body["acknowledged_at"]
    signal("equipment.status", {"line": "L1", "status": "running"})
    cause = client.get("/api/v1/root-causes/").json()[0]
    body = client.post(
        f"/api/v1/exceptions/{case.pk}/resolve/",
        {"root_cause": cause["id"], "note": "bearing replaced"},
        format="json",
    ).json()
    assert body["status"] == "resolved"
    assert body["root_cause"]["cause"] == cause["name"]


def test_second_acknowledge_is_a_409_with_the_current_state(api, plant, down):
    case = down("L1")
    client = api("supervisor")
    client.post(f"/api/v1/exceptions/{case.pk}/acknowledge", format="json")
    response = client.post(
        f"/api/v1/exceptions/{case.pk}/acknowledge", {"expected_state": "open"}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict" and body["extra"]["current_state"] == "acknowledged"


def test_wrong_function_gets_403_and_nothing_changes(api, plant, down):
    case = down("L1")
    response = api("quality").post(f"/api/v1/exceptions/{case.pk}/acknowledge", format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert ExceptionCase.objects.get(pk=case.pk).status == "open"


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("resolve", {"note": "x", "confirm_active": True}, "root_cause"),
        ("resolve", {"root_cause": "abc", "note": "x"}, "root_cause"),
        ("resolve", {"root_cause": 999999, "note": "x", "confirm_active": True}, "root_cause"),
        ("resolve", {"root_cause": "CAUSE", "confirm_active": True}, "note"),
        ("resolve", {"root_cause": "CAUSE", "note": "x"}, "confirm_active"),
        ("dismiss", {}, "reason"),
        ("dismiss", {"reason": ""}, "reason"),
        ("assign", {}, "owner"),
        ("assign", {"user": "ghost"}, "user"),
        ("assign", {"group": "pilots"}, "group"),
        ("acknowledge", {"expected_state": "sleeping"}, "expected_state"),
    ],
)
def test_bad_action_input_is_a_400_naming_the_field(api, plant, down, action, data, field):
    case = down("L1")
    if data.get("root_cause") == "CAUSE":
        data = {**data, "root_cause": RootCause.objects.first().pk}
    response = api("supervisor").post(f"/api/v1/exceptions/{case.pk}/{action}", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    fresh = ExceptionCase.objects.get(pk=case.pk)
    assert fresh.status == "open" and fresh.owner_user is None and fresh.owner_group is None


def test_unknown_id_is_404(api, plant):
    response = api("supervisor").post("/api/v1/exceptions/999999/acknowledge", format="json")
    assert response.status_code == 404


def test_act_by_correlation_key(api, plant, down):
    case = down("L3")
    client = api("maintenance")
    response = client.post(
        "/api/v1/exceptions/by-key/acknowledge", {"kind": "downtime", "key": "L3"}, format="json"
    )
    assert response.status_code == 200 and response.json()["id"] == case.pk
    response = client.post(
        "/api/v1/exceptions/by-key/assign",
        {"kind": "downtime", "key": "L3", "group": "maintenance"},
        format="json",
    )
    assert response.json()["owner"] == {"group": "maintenance"}


@pytest.mark.parametrize(
    ("data", "status", "field"),
    [
        ({"key": "L3"}, 400, "kind"),
        ({"kind": "weather", "key": "L3"}, 400, "kind"),
        ({"kind": "downtime"}, 400, "key"),
        ({"kind": "downtime", "key": "L4"}, 404, None),
    ],
)
def test_by_key_bad_input(api, plant, down, data, status, field):
    down("L3")
    response = api("supervisor").post("/api/v1/exceptions/by-key/acknowledge", data, format="json")
    assert response.status_code == status
    if field:
        assert field in response.json()
    assert ExceptionCase.objects.get(key="L3").status == "open"


def test_by_key_respects_the_role(api, plant, down):
    down("L3")
    response = api("sales").post(
        "/api/v1/exceptions/by-key/acknowledge", {"kind": "downtime", "key": "L3"}, format="json"
    )
    assert response.status_code == 403


def test_detail_has_impact_and_reasons(api, plant, down):
    case = down("L1")
    body = api("maintenance").get(f"/api/v1/exceptions/{case.pk}/").json()
    assert body["impact"]["lines"] == ["L1"] and body["severity_reasons"]
