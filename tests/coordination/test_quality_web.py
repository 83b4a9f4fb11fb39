"""The hold queue, the lot page and the API: who may hold and disposition, bad input on every
field, 409 for a lot not on hold, the exception page's disposition form."""

import pytest

from coordination import quality
from coordination.models import Lot, OutboxMessage
from exceptions.models import ExceptionCase
from kernel.roles import ROLES

pytestmark = pytest.mark.django_db

NOT_QUALITY = [r for r in ROLES if r not in ("quality", "admin")]
RELEASE = {"disposition": "release", "rationale": "re-inspected: seals within spec"}


@pytest.fixture
def engineer(role_user):
    return role_user("quality", username="qe1")


@pytest.fixture
def on_hold(plant, engineer):
    lot = Lot.objects.get(code="LOT-FG-1")
    return quality.lot_hold_place(lot_id=lot.pk, actor=engineer, reason="seal", defect_code="D12")


def signed_in(client, user):
    client.force_login(user)
    return client


# --- the hold queue -------------------------------------------------------------------------


def test_the_queue_shows_held_lots_with_what_they_touch(client, on_hold, engineer):
    body = signed_in(client, engineer).get("/quality/").content.decode()
    assert 'id="held-LOT-FG-1"' in body
    assert "seal (D12)" in body and "D12" in body
    assert "QA-CAGE" in body
    assert "(made it)" in body  # the job that made it
    assert "SO-10101" in body  # the order it was made for
    assert "Holds" in body  # the navigation entry


def test_an_empty_queue_says_so(client, plant, engineer):
    body = signed_in(client, engineer).get("/quality/").content.decode()
    assert "Nothing on hold." in body
    assert "Search by lot code" in body


@pytest.mark.parametrize(
    "query", ["LOT-M0001", "MAT-CAP", "WH-RAW", "lot-m0001", "SO-10101", "WO-60101", "QA-CAGE"]
)
def test_search_finds_lots_by_code_item_order_job_or_location(client, plant, engineer, query):
    response = signed_in(client, engineer).get(
        "/quality/", {"q": query, "part": "workspace"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # the partial only
    expected = "LOT-FG-1" if query in ("SO-10101", "WO-60101", "QA-CAGE") else "LOT-M0001"
    assert f'value="{expected}"' in body


def test_a_search_with_no_match_says_so(client, plant, engineer):
    body = signed_in(client, engineer).get("/quality/", {"q": "NOTHING"}).content.decode()
    assert "No lot matches “NOTHING”" in body


def test_holding_many_from_the_search_holds_them_and_raises_exceptions(client, plant, engineer):
    response = signed_in(client, engineer).post(
        "/quality/hold/",
        {"q": "LOT", "lots": ["LOT-FG-1", "LOT-M0001"], "reason": "recall", "defect_code": "R1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "On hold: LOT-FG-1, LOT-M0001." in response.content.decode()
    assert "board-changed" in response["HX-Trigger"]
    assert set(Lot.objects.filter(status="on_hold").values_list("code", flat=True)) == {
        "LOT-FG-1",
        "LOT-M0001",
    }
    assert ExceptionCase.objects.filter(kind="quality_hold").count() == 2
    assert OutboxMessage.objects.filter(topic="lot.held").count() == 2


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"reason": "x"}, "Tick at least one lot to hold."),
        ({"lots": ["LOT-FG-1"], "reason": ""}, "Say why the lot is held."),
        ({"lots": ["NOPE"], "reason": "x"}, "Lot NOPE cannot be held"),
        ({"lots": ["LOT-FG-1"], "reason": "x", "defect_code": "D" * 41}, "at most 40"),
    ],
)
def test_bad_bulk_hold_input_is_shown_on_its_field(client, plant, engineer, data, says):
    response = signed_in(client, engineer).post(
        "/quality/hold/", {"q": "LOT", **data}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not Lot.objects.filter(status="on_hold").exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("role", ["planner", "procurement"])
def test_roles_that_only_view_lots_cannot_hold(client, plant, role_user, role):
    user = role_user(role)
    body = signed_in(client, user).get("/quality/", {"q": "LOT"}).content.decode()
    assert "Hold selected lots" not in body
    response = client.post("/quality/hold/", {"q": "LOT", "lots": ["LOT-FG-1"], "reason": "x"})
    assert response.status_code == 403
    assert not Lot.objects.filter(status="on_hold").exists()


@pytest.mark.parametrize("role", ["sales", "maintenance", None])
def test_roles_without_lots_do_not_see_the_queue(client, plant, role_user, role):
    assert signed_in(client, role_user(role)).get("/quality/").status_code == 403


# --- dispositions on the pages ----------------------------------------------------------------


def test_the_lot_page_offers_quality_the_disposition(client, on_hold, engineer):
    body = signed_in(client, engineer).get("/lots/LOT-FG-1/").content.decode()
    assert "Record disposition" in body
    assert "Use as is (deviation)" in body
    assert "Audit trail" in body


def test_a_disposition_from_the_lot_page_releases_it(client, on_hold, engineer):
    response = signed_in(client, engineer).post(
        "/lots/LOT-FG-1/disposition/", RELEASE, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Lot LOT-FG-1 is released." in response.content.decode()
    assert Lot.objects.get(code="LOT-FG-1").status == "released"
    assert list(OutboxMessage.objects.order_by("id").values_list("topic", flat=True)) == [
        "lot.held",
        "lot.released",
    ]


@pytest.mark.parametrize("role", NOT_QUALITY)
def test_every_other_role_is_refused_the_disposition_page(client, on_hold, role_user, role):
    response = signed_in(client, role_user(role)).post("/lots/LOT-FG-1/disposition/", RELEASE)
    assert response.status_code == 403
    assert Lot.objects.get(code="LOT-FG-1").status == "on_hold"
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"disposition": ""}, "Choose a disposition."),
        ({"disposition": "bury"}, "Choose release, rework, scrap or use as is."),
        ({"rationale": ""}, "Give the rationale for the disposition."),
        ({"quantity": "lots"}, "Enter a number"),
        ({"quantity": "0"}, "more than 0"),
        ({"quantity": "101"}, "at most the 100"),
        ({"disposition": "rework"}, "choose the line that reworks it"),
        ({"disposition": "rework", "rework_line": "L9"}, "Select a valid choice"),
        ({"disposition": "use_as_is", "approver": "qe2"}, "use as is needs a deviation number"),
        ({"disposition": "use_as_is", "deviation": "DEV-1"}, "use as is needs an approver"),
        ({"disposition": "use_as_is", "deviation": "DEV-1", "approver": "qe1"}, "other than you"),
        ({"disposition": "use_as_is", "deviation": "D" * 41, "approver": "qe2"}, "at most 40"),
    ],
)
def test_bad_disposition_input_is_shown_on_its_field(
    client, on_hold, engineer, role_user, data, says
):
    role_user("quality", username="qe2")
    response = signed_in(client, engineer).post(
        "/lots/LOT-FG-1/disposition/", {**RELEASE, **data}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert says in response.content.decode()
    assert Lot.objects.get(code="LOT-FG-1").status == "on_hold"
    assert OutboxMessage.objects.count() == 1


def test_a_stale_page_conflicts_and_changes_nothing(client, on_hold, engineer):
    client = signed_in(client, engineer)
    client.post("/lots/LOT-FG-1/disposition/", RELEASE)
    response = client.post(
        "/lots/LOT-FG-1/disposition/",
        {**RELEASE, "disposition": "scrap", "expected_state": "on_hold"},
        HTTP_HX_REQUEST="true",
    )
    assert "reload and try again" in response.content.decode()
    assert Lot.objects.get(code="LOT-FG-1").status == "released"
    assert not OutboxMessage.objects.filter(topic="lot.scrapped").exists()


def test_the_hold_exception_page_carries_the_disposition_form(client, on_hold, engineer):
    case = ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1")
    body = signed_in(client, engineer).get(f"/exceptions/{case.pk}/").content.decode()
    assert 'id="case-lot"' in body
    assert "Record disposition" in body
    response = client.post(
        "/lots/LOT-FG-1/disposition/",
        {**RELEASE, "next": f"/exceptions/{case.pk}/"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/exceptions/{case.pk}/"
    case.refresh_from_db()
    assert case.status == "resolved"


def test_a_supervisor_sees_the_hold_exception_without_the_form(client, on_hold, role_user):
    case = ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1")
    body = signed_in(client, role_user("supervisor")).get(f"/exceptions/{case.pk}/")
    body = body.content.decode()
    assert 'id="case-lot"' in body
    assert "Only quality dispositions a held lot." in body


# --- the API ------------------------------------------------------------------------------


def test_api_hold_then_disposition(api, plant, engineer):
    client = api(user=engineer)
    response = client.post(
        "/api/v1/lots/LOT-FG-1/hold", {"reason": "seal", "defect_code": "D12"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "on_hold"
    response = client.post(
        "/api/v1/lots/LOT-FG-1/disposition",
        {"disposition": "scrap", "rationale": "crushed", "quantity": "40"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "lot": "LOT-FG-1-1",
        "status": "scrapped",
        "quantity": "40.000",
        "split_from": "LOT-FG-1",
        "rework_job": None,
        "still_on_hold": "60.000",
    }
    assert list(OutboxMessage.objects.order_by("id").values_list("topic", flat=True)) == [
        "lot.held",
        "lot.split",
        "lot.scrapped",
    ]
    assert ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1").status == "open"


@pytest.mark.parametrize("role", NOT_QUALITY)
def test_api_disposition_is_refused_to_every_other_role(api, on_hold, role):
    response = api(role).post("/api/v1/lots/LOT-FG-1/disposition", RELEASE, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize("role", [r for r in ROLES if r not in ("quality", "supervisor", "admin")])
def test_api_hold_is_refused_to_roles_that_do_not_hold(api, plant, role):
    response = api(role).post("/api/v1/lots/LOT-FG-1/hold", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert not OutboxMessage.objects.exists()


def test_api_disposition_of_a_lot_not_on_hold_is_409(api, plant, engineer):
    response = api(user=engineer).post("/api/v1/lots/LOT-FG-1/disposition/", RELEASE, format="json")
    assert response.status_code == 409
    assert response.json()["extra"]["current_state"] == "available"


def test_api_hold_of_a_held_lot_is_409_and_an_unknown_lot_404(api, on_hold, engineer):
    client = api(user=engineer)
    assert client.post("/api/v1/lots/LOT-FG-1/hold", {"reason": "x"}).status_code == 409
    assert client.post("/api/v1/lots/NOPE/hold", {"reason": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"disposition": None}, "disposition"),
        ({"disposition": "bury"}, "disposition"),
        ({"rationale": ""}, "rationale"),
        ({"rationale": None}, "rationale"),
        ({"quantity": "lots"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "1.0001"}, "quantity"),
        ({"quantity": "500"}, "quantity"),
        ({"disposition": "rework"}, "rework_line"),
        ({"disposition": "rework", "rework_line": "L9"}, "rework_line"),
        ({"disposition": "use_as_is", "approver": "qe2"}, "deviation"),
        ({"disposition": "use_as_is", "deviation": "DEV-1"}, "approver"),
        ({"disposition": "use_as_is", "deviation": "DEV-1", "approver": "qe1"}, "approver"),
        ({"disposition": "use_as_is", "deviation": "DEV-1", "approver": 7}, "approver"),
        ({"expected_state": "melted"}, "expected_state"),
    ],
)
def test_api_bad_disposition_input_is_400_naming_the_field(
    api, on_hold, engineer, role_user, data, field
):
    role_user("quality", username="qe2")
    body = {**RELEASE, **data}
    body = {k: v for k, v in body.items() if v is not None}
    response = api(user=engineer).post("/api/v1/lots/LOT-FG-1/disposition", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Lot.objects.get(code="LOT-FG-1").status == "on_hold"
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "  "}, "reason"),
     ({"reason": "x", "defect_code": "D" * 41}, "defect_code")],
)  # fmt: skip
def test_api_bad_hold_input_is_400_naming_the_field(api, plant, engineer, data, field):
    response = api(user=engineer).post("/api/v1/lots/LOT-FG-1/hold", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize("role", NOT_QUALITY)
def test_other_roles_get_403_for_the_disposition_form_and_a_message_over_htmx(
    client, on_hold, role_user, role
):
    user = role_user(role)
    client = signed_in(client, user)
    assert client.get("/lots/LOT-FG-1/disposition/").status_code == 403
    response = client.post("/lots/LOT-FG-1/disposition/", RELEASE, HTTP_HX_REQUEST="true")
    if user.has_perm("coordination.view_lot"):
        assert response.status_code == 200  # htmx swaps only 2xx: the refusal shows in place
        assert "your role may not disposition lots" in response.content.decode()
    else:
        assert response.status_code == 403  # sales and maintenance do not browse lots at all
    assert Lot.objects.get(code="LOT-FG-1").status == "on_hold"


def test_the_schema_documents_hold_and_disposition(api, plant):
    body = api("quality").get("/api/v1/schema/", {"format": "json"}).json()
    assert "/api/v1/lots/{code}/hold/" in body["paths"]
    disposition = body["paths"]["/api/v1/lots/{code}/disposition/"]["post"]
    assert "requestBody" in disposition


def test_a_supervisor_holds_from_the_lot_page_and_the_exception_opens(client, plant, role_user):
    client = signed_in(client, role_user("supervisor"))
    body = client.get("/lots/LOT-M0001/").content.decode()
    assert "Hold lot" in body and "Record disposition" not in body
    response = client.post("/lots/LOT-M0001/hold/", {"reason": "wrong colour", "defect_code": ""})
    assert response.status_code == 302
    assert Lot.objects.get(code="LOT-M0001").status == "on_hold"
    assert ExceptionCase.objects.filter(kind="quality_hold", key="LOT-M0001").exists()
    assert OutboxMessage.objects.get().topic == "lot.held"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_engineers_posting_dispositions_at_once_one_gets_409(plant, role_user):
    from rest_framework.test import APIClient

    from tests.conftest import race

    first, second = role_user("quality", username="qa-a"), role_user("quality", username="qa-b")
    lot = Lot.objects.get(code="LOT-FG-1")
    quality.lot_hold_place(lot_id=lot.pk, actor=first, reason="seal")
    clients = []
    for user in (first, second):
        clients.append(APIClient())
        clients[-1].force_authenticate(user)
    bodies = [RELEASE, {"disposition": "scrap", "rationale": "crushed"}]

    outcomes = race(
        lambda k: (
            clients[k]
            .post("/api/v1/lots/LOT-FG-1/disposition", bodies[k], format="json")
            .status_code
        )
    )
    assert sorted(status for _, status in outcomes) == [200, 409]
    assert OutboxMessage.objects.filter(topic__in=["lot.released", "lot.scrapped"]).count() == 1


def test_the_queue_partial_alone_for_its_refresh(client, on_hold, engineer):
    response = signed_in(client, engineer).get(
        "/quality/", {"part": "queue"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card q-queue" id="queue"')
    assert 'id="held-LOT-FG-1"' in body
    assert "Find lots" not in body
