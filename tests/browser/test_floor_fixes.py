"""Issue 15, "Found, to fix": each bug as a new user met it in the browser, now passing.

Items 7 (order, job and lot pages) is floorpages'; 10 is ``test_offline.py``; 11 is
``tests/plantcoord/test_bin_run.py``.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coordination.models import Line, Order
from exceptions.models import ExceptionCase
from exceptions.services import case_assign
from integrations.models import InboxEvent
from integrations.services import events_accept, inbox_process, integration_key_create
from kernel.plant_time import plant_time
from tests.browser.conftest import screenshot
from tests.factories import UserFactory
from workflows.models import Decision, Task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_task_holder_opens_its_exception_from_the_inbox(login, plant, down, signal):
    """Item 1: sales' link to a line-down and the planner's to a quality hold were 404."""
    case = down("L1")  # critical: sales confirms customer impact at once
    assert Task.objects.filter(case=case, owner_group__name="sales").exists()
    page = login("sales")
    page.goto("/inbox/")
    page.get_by_role("link", name=f"#{case.pk} Line L1 down").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Line L1 down")
    expect(page.locator("#case-work")).to_contain_text("Confirm customer impact")
    expect(page.locator(".case-actions")).to_have_count(0)  # reads it; acting stays with others
    screenshot(page, "fix1-sales-opens-line-down")
    page.goto("/board/")  # and the board shows where sales has a task
    expect(page.locator("#board-rows")).to_contain_text("Line L1 down")

    signal("quality.hold", {"lot": "LOT-FG-1", "reason": "seal leak"})
    hold = ExceptionCase.objects.get(kind="quality_hold")
    page = login("planner")
    page.goto("/inbox/")
    page.get_by_role("link", name=f"#{hold.pk} Lot LOT-FG-1 on hold").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lot LOT-FG-1 on hold")
    # Still 404 for a function with no task on it.
    page = login("procurement")
    response = page.goto(f"/exceptions/{hold.pk}/")
    assert response.status == 404


def test_board_owner_filter_lists_people_and_names_an_unknown_one(login, plant, down, role_user):
    """Item 2 (blank options) and item 12 (``?owner=bogus`` said "All calm")."""
    case = down("L1")
    down("L2")
    sam = UserFactory(username="sam", first_name="Sam", last_name="Okafor", role="supervisor")
    case_assign(case_id=case.pk, actor=sam, user="sam")
    page = login("supervisor")
    page.goto("/board/")
    owner = page.get_by_label("Owner")
    expect(owner.locator("option", has_text="Sam Okafor")).to_have_attribute("value", "sam")
    owner.select_option(label="Sam Okafor")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"owner=sam"))
    rows = page.locator("#board-rows")
    expect(rows).to_contain_text("Line L1 down")
    expect(rows).not_to_contain_text("Line L2 down")
    screenshot(page, "fix2-board-owner-filter")

    page.goto("/board/?owner=bogus")
    expect(page.get_by_role("alert")).to_contain_text("unknown owner “bogus” ignored")
    expect(page.get_by_text("All calm.")).to_have_count(0)
    expect(rows).to_contain_text("Line L2 down")  # the filter is ignored, not matched


def test_overview_tiles_and_worker_note_refresh_with_the_lines(login, plant):
    """Item 3: "2 lines down" sat beside three DOWN cards until a reload."""
    page = login("supervisor")
    expect(page.locator(".kpis")).to_contain_text("0 lines down")
    Line.objects.filter(code__in=["L1", "L2", "L3"]).update(status="down")
    # The page refreshes every 10 s: the tiles with the cards, never apart.
    expect(page.locator(".line-card.status-down")).to_have_count(3, timeout=15_000)
    expect(page.locator(".kpis")).to_contain_text("3 lines down")
    expect(page.locator("#overview-live")).to_contain_text("Background worker")
    screenshot(page, "fix3-overview-tiles-refresh")


def test_resolve_warning_names_the_condition_of_its_kind(login, plant, signal):
    """Item 4: a quality hold's and a shortage's forms said "line L1 has not reported running"."""
    signal("quality.hold", {"lot": "LOT-FG-1", "reason": "seal leak", "line": "L1"})
    signal("material.shortage", {"item": "MAT-CAP-28", "quantity_short": 300, "line": "L1"})
    page = login("supervisor")
    hold = ExceptionCase.objects.get(kind="quality_hold")
    page.goto(f"/exceptions/{hold.pk}/")
    warning = page.locator(".case-actions .warn")
    expect(warning).to_contain_text("lot LOT-FG-1 is still on hold")
    expect(warning).not_to_contain_text("reported running")
    screenshot(page, "fix4-hold-condition")
    shortage = ExceptionCase.objects.get(kind="shortage")
    page.goto(f"/exceptions/{shortage.pk}/")
    expect(page.locator(".case-actions .warn")).to_contain_text("MAT-CAP-28 is still short at RIV")


def test_every_time_prints_in_plant_time_in_one_format(login, plant, down, settings):
    """Item 5: due dates printed "2026-12-0206:00" (UTC ISO with the T cut out)."""
    settings.TIME_ZONE = "America/Chicago"  # far from UTC: a UTC time would show
    case = down("L1")
    order = Order.objects.get(number=case.impact["orders"][0]["number"])
    page = login("supervisor")
    page.goto(f"/exceptions/{case.pk}/")
    due = page.locator(".impact-orders tbody tr").first.locator("td").nth(3)
    local = timezone.localtime(order.due_at, timezone.get_current_timezone())
    expect(due).to_have_text(local.strftime("%a %d %b %H:%M"))
    body = page.locator("main").inner_text()
    assert not re.search(r"\d{4}-\d\d-\d{4}:\d\d", body), "an ISO date with the T cut out"
    expect(page.locator("footer.plant-time-zone")).to_contain_text("America/Chicago")
    screenshot(page, "fix5-plant-time")


def test_unplanned_maintenance_puts_the_line_in_maintenance(login, plant):
    """Item 6: "Line L4 unplanned maintenance" on the board, L4 RUNNING on the overview."""
    integration, _ = integration_key_create(name="mes")
    now = timezone.now()
    event = {
        "specversion": "1.0",
        "id": "mnt-1",
        "source": "mes/riverside",
        "type": "maintenance.event",
        "time": now.isoformat(),
        "data": {
            "line": "L4",
            "work_order": "WO-M-77",
            "kind": "unplanned",
            "status": "started",
            "expected_end": (now + timedelta(hours=2)).isoformat(),
        },
    }
    results = events_accept(integration=integration, raw_events=[event])
    assert results[0]["status"] == "accepted", results
    inbox_process(InboxEvent.objects.get(event_id="mnt-1").pk)  # as the worker does
    page = login("supervisor")
    expect(page.locator("#line-L4 ~ .badge")).to_have_text("Maintenance")
    expect(page.locator(".kpis")).to_contain_text("1 line down or in maintenance")
    screenshot(page, "fix6-overview-maintenance")
    page.goto("/board/")
    expect(page.locator("#board-rows")).to_contain_text("Line L4 unplanned maintenance")


def test_task_page_timeline_follows_claim_pause_and_decision(login, plant, order_change):
    """Item 8: the timeline stayed as loaded; a paused then decided task said "done paused"."""
    case = order_change()
    task = Task.objects.get(case=case, owner_group__name="planner")
    page = login("planner")
    page.goto(f"/tasks/{task.pk}/")
    timeline = page.locator("#task-timeline")
    card = page.locator(f"#task-{task.pk}")
    card.get_by_role("button", name="Claim").click()
    expect(timeline).to_contain_text("claimed")
    card.get_by_label("Waiting for").fill("customer confirms the new quantity")
    card.get_by_role("button", name="Pause").click()
    expect(timeline).to_contain_text("paused: customer confirms the new quantity")
    card.get_by_label("Accept").check()
    card.get_by_label("Rationale").fill("Customer confirmed; fits after WO-60103.")
    card.get_by_role("button", name="Complete with decision").click()
    expect(card).to_contain_text("Decided “Accept”")
    expect(timeline).to_contain_text("Accept: Customer confirmed")
    expect(card.locator(".wf-status")).to_have_text("done")
    expect(card).not_to_contain_text("paused:")
    screenshot(page, "fix8-task-timeline")
    page.goto(f"/exceptions/{case.pk}/")
    expect(page.locator("#case-work")).not_to_contain_text("(paused)")


def test_decision_values_are_typed_and_checked(login, plant, down):
    """Item 9: "Expected back at" was free text beside a separate datetime field."""
    Task.objects.all().delete()  # only the maintenance estimate below
    case = down("L1")
    task = Task.objects.get(case=case, owner_group__name="maintenance")
    page = login("maintenance")
    page.goto(f"/tasks/{task.pk}/")
    card = page.locator(f"#task-{task.pk}")
    back_at = card.get_by_label("Expected back at")
    expect(back_at).to_have_attribute("type", "datetime-local")
    card.get_by_label("Repair estimate").check()
    card.get_by_label("Rationale").fill("Bearing swap, parts on site")
    card.get_by_role("button", name="Complete with decision").click()
    needs = "Repair estimate needs Expected back at"
    expect(card.get_by_role("alert").first).to_contain_text(needs)
    assert not Decision.objects.exists()
    when = timezone.localtime() + timedelta(hours=3)
    card.get_by_label("Repair estimate").check()
    card.get_by_label("Expected back at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    card.get_by_label("Rationale").fill("Bearing swap, parts on site")
    card.get_by_role("button", name="Complete with decision").click()
    expect(card).to_contain_text("Decided “Repair estimate”")
    decision = Decision.objects.get()
    assert decision.value == when.replace(second=0, microsecond=0).isoformat(timespec="minutes")
    page.goto(f"/exceptions/{case.pk}/")
    shown = f"Repair estimate ({plant_time(decision.value)})"
    expect(page.locator(".wf-decisions")).to_contain_text(shown)
    # Decisions in context: the exception's timeline carries it too.
    expect(page.locator("table.timeline")).to_contain_text(f"Decision: {shown}")
    screenshot(page, "fix9-typed-decision")


def test_error_pages_are_in_the_layout_with_a_way_back(login, plant):
    """Errors and empty states: a 403 and a 404 in the app's layout, navigation and back."""
    page = login("sales")
    page.goto("/inbox/")
    page.evaluate("window.location.href = '/integrations/'")  # as a link would: with a referer
    expect(page.get_by_role("heading", level=1)).to_have_text("You may not open this")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    screenshot(page, "errors-403")
    page.get_by_role("link", name="← Back to the page you came from").click()
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    page.goto("/exceptions/999999/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    screenshot(page, "errors-404")


def test_login_page_lists_the_demo_users(page, role_user):
    for role in ("supervisor", "quality", "planner"):
        role_user(role, username=role)
    page.goto("/accounts/login/")
    expect(page.get_by_label("Demo users")).to_contain_text("supervisor, quality, planner")
    screenshot(page, "login-demo-users")
