"""Issue 10, item 8: a detail view or an embedded context shows no more than its list.

Each test first reproduced the leak (200 with another group's task, decision or orders),
then the fix.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from exceptions.models import ExceptionCase
from workflows.models import Decision, Task
from workflows.task_actions import task_complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales_task(plant, order_change):
    """The sales task of an order change: it lists the orders and customers hit."""
    return Task.objects.get(case=order_change("SO-10101"), owner_group__name="sales")


@pytest.fixture
def hold_decision(plant, signal, role_user):
    """Quality's disposition decision on a held lot (lot codes and where they are)."""
    signal("quality.hold", {"lot": "LOT-FG-1", "reason": "seal leak"})
    case = ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1")
    task = Task.objects.get(case=case, owner_group__name="quality")
    quality = role_user("quality")
    option = task.options[0]["value"]
    return task_complete(
        task_id=task.pk, actor=quality, option=option, rationale="Seal re-tested", value="x"
    )


@pytest.mark.parametrize("role", ["maintenance", "quality", "procurement", "planner"])
def test_another_groups_task_is_absent_in_the_api(sales_task, api, role):
    assert api(role).get(f"/api/v1/tasks/{sales_task.pk}/").status_code == 404


@pytest.mark.parametrize("role", ["sales", "supervisor", "admin"])
def test_own_groups_task_and_supervisors_read_it(sales_task, api, role):
    r = api(role).get(f"/api/v1/tasks/{sales_task.pk}/")
    assert r.status_code == 200 and r.json()["id"] == sales_task.pk


def test_another_groups_task_page_is_absent(sales_task, client, role_user):
    client.force_login(role_user("maintenance"))
    assert client.get(f"/tasks/{sales_task.pk}/").status_code == 404
    assert client.get(f"/tasks/{sales_task.pk}/claim/").status_code == 404
    refused = client.post(f"/tasks/{sales_task.pk}/claim/", {"expected_state": "open"})
    assert refused.status_code == 403
    assert "SO-10101" not in refused.content.decode()
    client.force_login(role_user("sales"))
    page = client.get(f"/tasks/{sales_task.pk}/")
    assert page.status_code == 200 and "SO-10101" in page.content.decode()


def test_a_claimed_task_stays_readable_by_its_group(sales_task, api, role_user):
    first, second = role_user("sales", username="s1"), role_user("sales", username="s2")
    assert api(user=first).post(f"/api/v1/tasks/{sales_task.pk}/claim/").status_code == 200
    assert api(user=second).get(f"/api/v1/tasks/{sales_task.pk}/").status_code == 200


@pytest.mark.parametrize("role", ["sales", "maintenance", "procurement", "planner"])
def test_a_quality_decision_is_absent_for_other_roles(hold_decision, api, role):
    client = api(role)
    assert client.get(f"/api/v1/decisions/{hold_decision.pk}/").status_code == 404
    listed = client.get("/api/v1/decisions/", {"case": hold_decision.case_id}).json()
    assert listed["count"] == 0 and "LOT-FG-1" not in str(listed)


@pytest.mark.parametrize("role", ["quality", "supervisor", "admin"])
def test_quality_and_supervisors_read_the_decision(hold_decision, api, role):
    r = api(role).get(f"/api/v1/decisions/{hold_decision.pk}/")
    assert r.status_code == 200 and r.json()["rationale"] == "Seal re-tested"


def test_exception_page_shows_only_readable_decisions(plant, order_change, client, role_user):
    case = order_change("SO-10102")
    sales = role_user("sales")
    task = Task.objects.get(case=case, owner_group__name="sales")
    task_complete(task_id=task.pk, actor=sales, option="accept", rationale="Customer agreed")
    planner = role_user("planner")
    client.force_login(planner)
    page = client.get(f"/exceptions/{case.pk}/").content.decode()
    assert "Confirm customer impact" in page  # who is on it: visible
    assert "Customer agreed" not in page  # what sales decided: theirs
    assert Decision.objects.filter(case=case).count() == 1
    client.force_login(sales)
    assert "Customer agreed" in client.get(f"/exceptions/{case.pk}/").content.decode()


def test_overview_hides_orders_customers_and_due_from_maintenance(plant, client, role_user):
    client.force_login(role_user("maintenance"))
    page = client.get("/").content.decode()
    assert "WO-60101" in page  # the jobs: theirs to know
    assert "SO-10101" not in page and "Customer tier" not in page and "due " not in page
    assert "open order" not in page
    client.force_login(role_user("supervisor"))
    page = client.get("/").content.decode()
    assert "SO-10101" in page and "Customer tier" in page


def test_jobs_api_hides_the_order_from_maintenance(plant, api):
    maintenance = api("maintenance")
    jobs = maintenance.get("/api/v1/jobs/").json()["results"]
    assert jobs and all(job["order"] is None for job in jobs)
    assert maintenance.get("/api/v1/jobs/WO-60101/").json()["order"] is None
    refused = maintenance.get("/api/v1/jobs/", {"order": "SO-10101"})
    assert refused.status_code == 403 and "order" in refused.json()["detail"]
    assert api("planner").get("/api/v1/jobs/WO-60101/").json()["order"] == "SO-10101"


def test_downtime_impact_hides_orders_and_customers_from_maintenance(
    plant, down, api, client, role_user
):
    case = down("L1", expected_up_at=(timezone.now() + timedelta(hours=30)).isoformat())
    assert "SO-" in case.impact_summary  # the assessment names them (for supervisors)
    detail = api("maintenance").get(f"/api/v1/exceptions/{case.pk}/").json()
    assert detail["impact"]["orders"] == [] and detail["impact"]["customers"] == []
    assert "SO-" not in str(detail) and "Customer tier" not in str(detail)
    assert "orders" in detail["impact"]["redacted"]
    listed = api("maintenance").get("/api/v1/exceptions/").json()["results"]
    assert listed and "SO-" not in str(listed)
    client.force_login(role_user("maintenance"))
    page = client.get(f"/exceptions/{case.pk}/").content.decode()
    assert "SO-" not in page.split("Timeline")[0] and "Customer tier" not in page
    board = client.get("/board/").content.decode()
    assert case.title in board and "SO-" not in board
    supervisor = api("supervisor").get(f"/api/v1/exceptions/{case.pk}/").json()
    assert supervisor["impact"]["orders"] and "SO-" in supervisor["impact_summary"]


def test_maintenance_task_context_has_no_orders_or_customers(plant, down, api):
    case = down("L1")
    task = Task.objects.get(case=case, owner_group__name="maintenance")
    assert task.context["orders"]  # stored for the functions that need them
    body = api("maintenance").get(f"/api/v1/tasks/{task.pk}/").json()
    assert body["context"]["orders"] == [] and body["context"]["customers"] == []
    assert "SO-" not in str(body) and "Customer tier" not in str(body)
    inbox = api("maintenance").get("/api/v1/tasks/").json()
    assert "SO-" not in str(inbox)
