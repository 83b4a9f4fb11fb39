"""Who reads which exception (issue 15, item 1): the kinds of their functions, and any on
which they or their group has a task; one rule for the board, the page and the API."""

import pytest

from exceptions.selectors import CaseFilters
from kernel.errors import InvalidInputError
from workflows.models import Task

pytestmark = pytest.mark.django_db


def test_a_task_on_an_exception_opens_it_for_that_function(plant, down, client, api, role_user):
    case = down("L1")
    assert Task.objects.filter(case=case, owner_group__name="sales").exists()
    sales = role_user("sales")
    client.force_login(sales)
    page = client.get(f"/exceptions/{case.pk}/")
    assert page.status_code == 200
    assert 'name="root_cause"' not in page.content.decode()  # reading, not acting
    board = client.get("/board/").content.decode()
    assert "Line L1 down" in board
    assert f'action="/exceptions/{case.pk}/acknowledge/"' not in board  # no buttons to act
    assert api(user=sales).get(f"/api/v1/exceptions/{case.pk}/").status_code == 200
    # Acting stays with the kind's functions.
    assert client.post(f"/exceptions/{case.pk}/acknowledge/").status_code == 403


def test_no_task_no_exception(plant, down, client, api, role_user):
    case = down("L1")
    procurement = role_user("procurement")
    client.force_login(procurement)
    assert client.get(f"/exceptions/{case.pk}/").status_code == 404
    assert "Line L1 down" not in client.get("/board/").content.decode()
    assert api(user=procurement).get(f"/api/v1/exceptions/{case.pk}/").status_code == 404


def test_an_unknown_owner_is_named_on_the_board_and_a_400_in_the_api(plant, api):
    board = CaseFilters.parse({"owner": "bogus"})
    assert board.owner == "" and board.errors == ["unknown owner “bogus” ignored"]
    with pytest.raises(InvalidInputError) as exc:
        CaseFilters.parse({"owner": "group:wizards"}, strict=True)
    assert exc.value.field == "owner"
    assert CaseFilters.parse({"owner": "group:planner"}).errors == []
    response = api("supervisor").get("/api/v1/exceptions/?owner=bogus")
    assert response.status_code == 400


def test_the_mes_reporting_a_line_in_maintenance_raises_downtime(plant, signal):
    """Item 12: the default "Line in maintenance (MES status)" rule was inactive."""
    from exceptions.models import ExceptionCase, RaiseRule

    assert RaiseRule.objects.get(name="Line in maintenance (MES status)").active
    signal("equipment.status", {"line": "L3", "status": "maintenance"})
    case = ExceptionCase.objects.get(kind="downtime", key="L3")
    assert case.title == "Line L3 maintenance"
