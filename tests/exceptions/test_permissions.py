"""Pages per role: everyone with a role sees the board of their functions; acting is per kind."""

import pytest

from exceptions.models import ExceptionCase

pytestmark = pytest.mark.django_db

# Their functions' kinds, and where their group has a task (issue 15, item 1): sales confirms
# customer impact on a critical line-down at once, planning covers a held lot's quantity.
SEES = {
    "supervisor": {"L1", "LOT-M0001", "MAT-CAP-28@RIV", "SO-10105"},
    "maintenance": {"L1"},
    "quality": {"LOT-M0001"},
    "procurement": {"MAT-CAP-28@RIV"},
    "sales": {"SO-10105", "L1"},
    "planner": {"SO-10105", "LOT-M0001"},
}


@pytest.fixture
def disruptions(plant, down, signal):
    down("L1")
    signal("quality.hold", {"lot": "LOT-M0001", "reason": "seal"})
    signal("material.shortage", {"item": "MAT-CAP-28", "quantity_short": 10, "uom": "EA"})
    signal("order.changed", {"order": "SO-10105", "change": "priority", "priority": 1})
    return {c.key: c for c in ExceptionCase.objects.all()}


@pytest.mark.parametrize("role", list(SEES))
def test_each_role_sees_its_functions_on_the_board(client, role_user, disruptions, role):
    client.force_login(role_user(role))
    body = client.get("/board/").content.decode()
    for key, case in disruptions.items():
        assert (f'id="case-{case.pk}"' in body) == (key in SEES[role]), (role, key)


@pytest.mark.parametrize("role", list(SEES))
def test_each_role_opens_only_its_exceptions(client, role_user, disruptions, role):
    client.force_login(role_user(role))
    for key, case in disruptions.items():
        status = client.get(f"/exceptions/{case.pk}/").status_code
        assert status == (200 if key in SEES[role] else 404), (role, key)


def test_other_function_cannot_post_an_action(client, role_user, disruptions):
    case = disruptions["L1"]
    # Procurement has no task on it: absent. Sales has one: it reads it, acting is refused.
    for role, status in (("procurement", 404), ("sales", 403)):
        client.force_login(role_user(role))
        response = client.post(f"/exceptions/{case.pk}/acknowledge/", {"expected_state": "open"})
        assert response.status_code == status, role
    assert ExceptionCase.objects.get(pk=case.pk).status == "open"


def test_navigation_shows_the_board_to_roles(client, role_user, plant):
    client.force_login(role_user("quality"))
    assert 'href="/board/"' in client.get("/board/").content.decode()


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("dismiss", {"expected_state": "open", "reason": ""}, "Say why it is dismissed"),
        ("resolve", {"expected_state": "open", "root_cause": "x", "note": "n"}, "root cause"),
        ("resolve", {"expected_state": "open", "note": ""}, "Add a note"),
        ("assign", {"user": "", "group": ""}, "either a person or a group"),
        ("assign", {"group": "pilots"}, "Select a valid choice"),
        ("acknowledge", {"expected_state": "bogus"}, "Select a valid choice"),
    ],
)
def test_bad_form_input_rerenders_with_a_message(
    client, role_user, disruptions, action, data, message
):
    client.force_login(role_user("supervisor"))
    case = disruptions["L1"]
    response = client.post(f"/exceptions/{case.pk}/{action}/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert message in response.content.decode()
    fresh = ExceptionCase.objects.get(pk=case.pk)
    assert fresh.status == "open" and fresh.owner_group is None and fresh.owner_user is None


def test_stale_page_action_shows_a_clear_conflict(client, role_user, disruptions):
    case = disruptions["L1"]
    client.force_login(role_user("supervisor"))
    client.post(f"/exceptions/{case.pk}/acknowledge/", {"expected_state": "open"})
    response = client.post(
        f"/exceptions/{case.pk}/dismiss/",
        {"expected_state": "open", "reason": "dup"},
        HTTP_HX_REQUEST="true",
    )
    assert "is now acknowledged (you saw open)" in response.content.decode()
    assert ExceptionCase.objects.get(pk=case.pk).status == "acknowledged"


def test_board_filters_are_kept_in_the_url(client, role_user, disruptions):
    client.force_login(role_user("supervisor"))
    body = client.get("/board/?kind=downtime&line=L1&mine=1").content.decode()
    assert "kind=downtime" in body and "line=L1" in body and "mine=1" in body
    body = client.get("/board/?kind=downtime").content.decode()
    assert f'id="case-{disruptions["L1"].pk}"' in body
    assert f'id="case-{disruptions["LOT-M0001"].pk}"' not in body


def test_mine_and_owner_filters(client, role_user, disruptions):
    from exceptions.services import case_assign

    boss = role_user("supervisor")
    case_assign(case_id=disruptions["L1"].pk, actor=boss, user=boss.username)
    client.force_login(boss)
    body = client.get("/board/?mine=1").content.decode()
    assert f'id="case-{disruptions["L1"].pk}"' in body
    assert f'id="case-{disruptions["SO-10105"].pk}"' not in body
    body = client.get("/board/?owner=none").content.decode()
    assert f'id="case-{disruptions["L1"].pk}"' not in body


def test_unknown_filter_value_is_reported_not_a_crash(client, role_user, disruptions):
    client.force_login(role_user("supervisor"))
    body = client.get("/board/?kind=weather&severity=urgent").content.decode()
    assert "unknown kind" in body and "unknown severity" in body


def test_admin_pages_open_for_every_model(client, django_user_model, disruptions):
    admin = django_user_model.objects.create_superuser("root", "r@x.io", "pw-root-123")
    client.force_login(admin)
    case = disruptions["L1"]
    for url in (
        "/admin/exceptions/raiserule/",
        "/admin/exceptions/raiserule/1/change/",
        "/admin/exceptions/severitythreshold/",
        "/admin/exceptions/exceptionpolicy/",
        "/admin/exceptions/rootcausecategory/",
        "/admin/exceptions/rootcause/",
        "/admin/exceptions/exceptioncase/",
        f"/admin/exceptions/exceptioncase/{case.pk}/change/",
        "/admin/exceptions/exceptioncaseevent/",
    ):
        assert client.get(url).status_code == 200, url
