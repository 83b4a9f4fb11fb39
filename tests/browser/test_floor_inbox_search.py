"""Issue 15: the inbox updating live with keyboard use, the search box finding each kind of
object, keyboard-only triage on the board, and the board and inbox at phone width."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coordination.models import Line
from exceptions.models import ExceptionCase
from tests.browser.conftest import screenshot
from tests.browser.floor import overflow, sign_in
from workflows.models import Task

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_inbox_shows_new_tasks_live_overdue_first_and_works_by_keyboard(
    browser, live_server, plant, signal
):
    page = sign_in(browser, live_server, "pia", "planner")
    page.goto("/inbox/")
    expect(page.get_by_text("Nothing waiting for you.")).to_be_visible()

    signal("order.changed", {"order": "SO-10101", "change": "quantity", "quantity": 2600})
    cards = page.locator("article.wf-task")
    expect(cards).to_have_count(1, timeout=10_000)  # no reload: the list polls
    signal("order.changed", {"order": "SO-10102", "change": "quantity", "quantity": 2600})
    Task.objects.filter(case__key="SO-10102").update(due_at=timezone.now() - timedelta(minutes=5))
    expect(cards).to_have_count(2, timeout=10_000)
    expect(cards.first).to_contain_text("overdue")  # overdue first
    expect(cards.first).to_have_class(re.compile("wf-overdue"))
    # Compact: the decision form opens on demand.
    expect(cards.first.locator(".wf-decide")).to_be_hidden()
    screenshot(page, "inbox-live-compact")

    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(cards.nth(1)).to_have_class(re.compile("wf-selected"))
    page.keyboard.press("k")
    expect(cards.first).to_have_class(re.compile("wf-selected"))
    page.keyboard.press("Enter")
    decide = cards.first.locator(".wf-decide")
    expect(decide).to_be_visible()
    focused = page.evaluate("() => document.activeElement.closest('article').id")
    assert focused == cards.first.get_attribute("id")  # the focus is in its form
    screenshot(page, "inbox-card-open")
    page.keyboard.press("Escape")
    expect(decide).to_be_hidden()
    page.context.close()


@pytest.mark.parametrize(
    ("query", "heading"),
    [
        ("L2", "Line L2"),
        ("SO-10105", "Order SO-10105"),
        ("WO-60107", "Job WO-60107"),
        ("LOT-FG-1", "Lot LOT-FG-1"),
        ("MAT-CAP-28", "Item MAT-CAP-28"),
        ("exception", "Line L3 down"),
    ],
)
def test_the_search_box_finds_each_kind_of_object(
    browser, live_server, plant, down, query, heading
):
    case = down("L3")
    if query == "exception":
        query = f"#{case.pk}"
    page = sign_in(browser, live_server, "sue", "supervisor")
    page.goto("/")
    box = page.get_by_role("searchbox", name="Find a lot, order, job, line, item or exception")
    box.fill(query)
    box.press("Enter")
    expect(page.locator("h1")).to_contain_text(heading)
    assert "/api/" not in page.url
    screenshot(page, "search-" + ("exception" if query.startswith("#") else query.lower()))
    page.context.close()


def test_search_lists_matches_of_every_kind(browser, live_server, plant):
    page = sign_in(browser, live_server, "sue", "supervisor")
    page.goto("/")
    page.get_by_role("searchbox").fill("1")
    page.get_by_role("searchbox").press("Enter")
    for kind in ("line", "order", "job", "lot"):
        expect(page.locator(f".hit-{kind}").first).to_be_visible()
    screenshot(page, "search-results")
    page.context.close()


def test_keyboard_only_triage_from_the_board(browser, live_server, plant, down, signal):
    down("L1", reason="filler jam")
    signal("order.changed", {"order": "SO-10104", "change": "quantity", "quantity": 2500})
    page = sign_in(browser, live_server, "sue", "supervisor")
    page.goto("/board/")
    rows = page.locator("#board-rows tr.case")
    expect(rows).to_have_count(2)
    page.locator("body").focus()
    page.keyboard.press("j")  # the most severe first: L1 down
    expect(rows.first).to_have_class(re.compile("kb-selected"))
    page.keyboard.press("a")  # acknowledge
    expect(page.locator("#panel")).to_contain_text("acknowledged")
    expect(rows.first).to_contain_text("acknowledged")
    page.keyboard.press("s")  # assign, in the panel, focus on its first field
    panel = page.locator("#panel")
    expect(panel.get_by_label("Person")).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel.locator("form")).to_have_count(0)
    page.keyboard.press("r")  # resolve
    expect(panel.get_by_label("Root cause")).to_be_focused()
    page.keyboard.type("Mech")  # picks "Mechanical failure" in the focused list
    page.keyboard.press("Tab")
    page.keyboard.type("Star wheel jammed; cleared and adjusted.")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the condition is still active: resolve anyway
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(panel).to_contain_text("resolved")
    expect(rows).to_have_count(1, timeout=5_000)
    case = ExceptionCase.objects.get(kind="downtime")
    assert case.status == "resolved" and case.root_cause.name == "Mechanical failure"
    assert case.resolved_while_active
    screenshot(page, "board-keyboard-triage")
    page.context.close()


def test_board_and_inbox_at_phone_width(browser, live_server, plant, down, signal):
    down("L1", reason="filler jam")
    down("L2")
    page = sign_in(browser, live_server, "sue", "supervisor", width=390, height=844)
    page.goto("/board/")
    rows = page.locator("#board-rows tr.case")
    expect(rows).to_have_count(2)
    assert overflow(page)["x"] == 0  # no sideways scrolling
    ack = rows.first.get_by_role("button", name="Acknowledge")
    box = ack.bounding_box()
    assert box["width"] <= 390 and box["height"] >= 36  # a thumb can hit it
    ack.click()
    expect(rows.first).to_contain_text("acknowledged")
    screenshot(page, "board-390")
    page.goto("/inbox/")
    cards = page.locator("article.wf-task")
    expect(cards.first).to_be_visible()
    assert overflow(page)["x"] == 0
    cards.first.get_by_role("button", name="Decide…").click()
    expect(cards.first.locator(".wf-decide")).to_be_visible()
    assert overflow(page)["x"] == 0
    screenshot(page, "inbox-390")
    assert Line.objects.count() == 4
    page.context.close()


def test_order_job_and_lot_links_open_pages_that_respect_the_role(
    browser, live_server, plant, down
):
    """Issue 15, item 7: these links led to the API's JSON (a 403 JSON body for maintenance)."""
    case = down("L1")
    page = sign_in(browser, live_server, "mo", "maintenance")
    page.goto(f"/exceptions/{case.pk}/")
    assert page.locator("a[href^='/api/']").count() == 0
    assert page.locator("a[href^='/orders/']").count() == 0  # maintenance reads no orders
    page.locator("#main a[href='/jobs/WO-60101/']").first.click()
    expect(page.locator("h1")).to_contain_text("Job WO-60101")
    assert "SO-10101" not in page.content()
    page.context.close()

    page = sign_in(browser, live_server, "sue", "supervisor")
    page.goto(f"/exceptions/{case.pk}/")
    page.locator("#main a[href='/orders/SO-10101/']").first.click()
    expect(page.locator("h1")).to_contain_text("Order SO-10101")
    page.locator("#main a[href='/jobs/WO-60101/']").first.click()
    page.locator("#main a[href='/lots/LOT-FG-1/']").first.click()
    expect(page.locator("h1")).to_contain_text("Lot LOT-FG-1")
    expect(page.get_by_role("heading", name="Where it is")).to_be_visible()
    screenshot(page, "lot-page")
    page.context.close()


def test_overview_cards_open_the_line_and_job_pages(browser, live_server, plant, down):
    down("L2", reason="labeller fault")
    page = sign_in(browser, live_server, "sue", "supervisor")
    page.goto("/")
    page.locator("a.line-link[href='/lines/L2/']").click()
    expect(page.locator("h1")).to_contain_text("Line L2")
    expect(page.locator("#cases-h + ul")).to_contain_text("Line L2 down: labeller fault")
    expect(page.locator("#line-plan .priorities li[data-job]").first).to_be_visible()
    screenshot(page, "line-page")
    page.locator("#main a[href='/jobs/WO-60104/']").first.click()
    expect(page.locator("h1")).to_contain_text("Job WO-60104")
    page.goto("/")
    page.locator("a.kpi-link[href='/orders/?late=1']").click()
    expect(page.locator("h1")).to_have_text("Orders past due")
    page.context.close()
