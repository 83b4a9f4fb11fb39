"""Issue 15: the floor screen (/board/?kiosk=1) on a TV, at 1920x1080 and 1366x768: no
navigation, buttons or forms, no scrollbar (rows sized to fit, the rest "+N more"), a clock
and the plant's name, cleared exceptions demoted, and a stale warning when refreshes stop."""

import pytest
from playwright.sync_api import expect

from coordination.demo import demo_seed
from exceptions.models import OPEN_STATES, ExceptionCase
from tests.browser.conftest import screenshot
from tests.browser.floor import busy_board, overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768)])
def test_floor_screen_fits_the_screen(browser, live_server, signal, width, height):
    demo_seed(users=False)
    busy_board(signal)
    total = ExceptionCase.objects.filter(status__in=OPEN_STATES).count()
    page = sign_in(browser, live_server, "tv", "supervisor", width=width, height=height)
    page.goto("/board/?kiosk=1")

    expect(page.locator(".kiosk-plant")).to_have_text("Riverside bottling plant")
    expect(page.locator("#kiosk-clock")).to_have_text(
        __import__("re").compile(r"\d{2}:\d{2}:\d{2}")
    )
    # A TV: nothing to click or type in, no menu.
    expect(page.locator(".topbar")).to_be_hidden()
    for what in ("button", "form", "select", "input", "nav"):
        assert page.locator(f"{what}:visible").count() == 0, what
    shown = page.locator("#board-rows tr.case:visible")
    more = page.locator("#kiosk-more")
    expect(more).to_be_visible()
    expect(more).to_contain_text(f"+{total - shown.count()} more")
    assert 3 <= shown.count() < total
    assert overflow(page) == {"x": 0, "y": 0}
    # Large type for what happened and its age.
    size = page.locator("#board-rows tr.case .case-title a").first.evaluate(
        "a => parseFloat(getComputedStyle(a).fontSize)"
    )
    assert size >= 26
    screenshot(page, f"floor-screen-{width}x{height}")
    page.context.close()


def test_floor_screen_demotes_cleared_exceptions(browser, live_server, signal):
    demo_seed(users=False)
    busy_board(signal, orders=2)
    page = sign_in(browser, live_server, "tv", "supervisor", width=1920, height=1080)
    page.goto("/board/?kiosk=1")
    rows = page.locator("#board-rows tr.case")
    expect(rows.last).to_contain_text("Line L3 down")  # cleared: last, though as severe as L1
    assert rows.last.evaluate("tr => parseFloat(getComputedStyle(tr).opacity)") < 0.6
    page.context.close()


def test_floor_screen_says_it_is_stale_when_refreshes_stop(browser, live_server, signal):
    demo_seed(users=False)
    busy_board(signal, orders=4)
    page = sign_in(browser, live_server, "tv", "supervisor", width=1366, height=768)
    page.goto("/board/?kiosk=1")
    expect(page.locator("#stale")).to_be_hidden()
    page.route("**/board/?*", lambda route: route.abort())  # the server stops answering
    stale = page.locator("#stale")
    expect(stale).to_be_visible(timeout=20_000)
    expect(stale).to_contain_text("Stale — last update")
    expect(stale).to_contain_text("s ago")
    assert overflow(page) == {"x": 0, "y": 0}
    screenshot(page, "floor-screen-stale")
    page.unroute("**/board/?*")
    expect(stale).to_be_hidden(timeout=10_000)  # answering again: the warning goes
    page.context.close()
