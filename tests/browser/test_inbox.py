"""A planner works an exception from the inbox: the task shows up when the exception opens,
is completed with a decision and its rationale, and the decision is on the exception page."""

import pytest
from playwright.sync_api import expect

from exceptions.models import ExceptionCase
from tests.browser.conftest import screenshot
from workflows.models import Decision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_planner_decides_from_the_inbox(login, live_server, plant, signal):
    page = login("planner")
    page.goto("/inbox/")
    expect(page.get_by_text("Nothing waiting for you.")).to_be_visible()

    signal("order.changed", {"order": "SO-10101", "change": "quantity", "quantity": 2600})
    case = ExceptionCase.objects.get(kind="order_change")
    page.goto("/inbox/")
    card = page.locator("article.wf-task")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Propose a new sequence")
    expect(card.locator("time[data-due]")).to_contain_text("due in")
    expect(page.locator(".wf-inbox-count")).to_contain_text("1 task")

    card.get_by_role("button", name="Claim").click()
    expect(card).to_contain_text("You took")
    card.get_by_label("Counter").check()
    card.get_by_label("Rationale").fill("Line 1 is full; the extra 200 fit after WO-60103.")
    card.get_by_role("button", name="Complete with decision").click()
    # A counter without its value: refused, naming the field, nothing decided.
    expect(card.get_by_role("alert").first).to_contain_text("Counter needs")
    assert not Decision.objects.exists()
    card.get_by_label("Counter").check()
    card.get_by_label("Value").fill("ship 2,400 on due date, 200 next day")
    card.get_by_role("button", name="Complete with decision").click()
    expect(card).to_contain_text("Decided “Counter”")
    expect(page.locator(".wf-inbox-count")).to_contain_text("0 tasks")  # counts refreshed
    screenshot(page, "inbox-decided")

    page.goto(f"/exceptions/{case.pk}/")
    work = page.locator("#case-work")
    expect(work).to_contain_text("Counter (ship 2,400 on due date, 200 next day)")
    expect(work).to_contain_text("Line 1 is full; the extra 200 fit after WO-60103.")
    screenshot(page, "inbox-decision-on-exception")
    assert Decision.objects.get().rationale.startswith("Line 1 is full")
