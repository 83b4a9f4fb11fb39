"""Issue 15: a supervisor raises an exception by hand for anything no rule covers."""

import pytest
from django.contrib.contenttypes.models import ContentType

from coordination.models import StateChange
from exceptions.manual import case_raise
from exceptions.models import ExceptionCase
from kernel.errors import ConflictError, InvalidInputError, PermissionDeniedError
from workflows.models import Task

pytestmark = pytest.mark.django_db


def test_a_supervisor_raises_one_and_it_is_audited_and_routed(plant, role_user):
    sue = role_user("supervisor", username="sue")
    case = case_raise(
        actor=sue, title="Forklift blocking aisle", severity=3, note="near L2", line_code="L2"
    )
    assert case.kind == "manual" and case.status == "open" and case.severity == 3
    assert case.title == "Line L2: Forklift blocking aisle" and case.line.code == "L2"
    opened = case.events.get(kind="opened")
    assert opened.actor == sue and opened.summary == "raised by hand by sue: near L2"
    audit = StateChange.objects.get(
        content_type=ContentType.objects.get_for_model(ExceptionCase), object_id=case.pk
    )
    assert audit.transition == "raise" and audit.actor == sue and audit.reason == "near L2"
    task = Task.objects.get(case=case)  # the catch-all "General response"
    assert task.title == "Decide the response"
    assert "L2" in case.impact_summary


def test_the_same_one_again_is_a_conflict_naming_it(plant, role_user):
    sue = role_user("supervisor")
    first = case_raise(actor=sue, title="Compressed air low", severity=2)
    with pytest.raises(ConflictError, match=f"#{first.pk}"):
        case_raise(actor=sue, title="compressed air low", severity=2)
    assert ExceptionCase.objects.count() == 1


@pytest.mark.parametrize("role", ["quality", "planner", "maintenance", None])
def test_only_supervisors_raise_by_hand(plant, role_user, role):
    with pytest.raises(PermissionDeniedError):
        case_raise(actor=role_user(role), title="x", severity=2)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": " "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"title": "ok", "severity": 9}, "severity"),
        ({"title": "ok", "line_code": "NOPE"}, "line"),
    ],
)
def test_bad_input_names_the_field_and_raises_nothing(plant, role_user, kwargs, field):
    with pytest.raises(InvalidInputError) as caught:
        case_raise(actor=role_user("supervisor"), **{"severity": 2, **kwargs})
    assert caught.value.field == field
    assert not ExceptionCase.objects.exists()


def test_the_board_offers_it_to_supervisors_only(client, plant, role_user):
    client.force_login(role_user("supervisor"))
    assert 'id="raise-link"' in client.get("/board/").content.decode()
    client.force_login(role_user("quality"))
    assert 'id="raise-link"' not in client.get("/board/").content.decode()


def test_the_form_raises_and_bad_input_is_a_400_naming_the_field(client, plant, role_user):
    client.force_login(role_user("supervisor"))
    response = client.post("/board/raise/", {"title": "", "severity": "2"})
    assert response.status_code == 400 and "Say what happened." in response.content.decode()
    response = client.post("/board/raise/", {"title": "Spill at L1", "severity": "7"})
    assert response.status_code == 400
    response = client.post("/board/raise/", {"title": "Spill at L1", "severity": "3", "line": "L1"})
    assert response.status_code == 302 and response["Location"] == "/board/"
    body = client.get("/board/").content.decode()
    assert "Line L1: Spill at L1" in body


def test_the_form_in_the_boards_panel(client, plant, role_user):
    client.force_login(role_user("supervisor"))
    response = client.get("/board/raise/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "<html" not in response.content.decode()
    response = client.post(
        "/board/raise/", {"title": "Pallet jam", "severity": "2"}, HTTP_HX_REQUEST="true"
    )
    assert "raised: Pallet jam" in response.content.decode()
    assert "board-changed" in response["HX-Trigger"]
