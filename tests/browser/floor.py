"""Helpers for the floor pages' browser tests (issue 15): sign in at a given screen size,
fill a board with open exceptions, and check that a page fits its screen."""

from coordination.models import Order
from tests.factories import UserFactory

PASSWORD = "pw-not-demo-123"


def sign_in(browser, live_server, username: str, role: str, *, width=1600, height=1000):
    """A new browser context of that size, signed in through the real login form."""
    from django.contrib.auth import get_user_model

    if not get_user_model().objects.filter(username=username).exists():
        UserFactory(username=username, role=role)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def busy_board(signal, *, orders: int = 16) -> None:
    """Lines down, a cleared one, and order changes: more rows than any screen shows."""
    for line in ("L1", "L2", "L3"):
        signal("equipment.status", {"line": line, "status": "down", "reason": "jam"})
    signal("equipment.status", {"line": "L3", "status": "running"})  # cleared, still open
    for order in Order.objects.order_by("number")[:orders]:
        signal("order.changed", {"order": order.number, "change": "priority", "priority": 1})


def overflow(page) -> dict:
    """How far the page overflows its viewport (0, 0: no scrollbar)."""
    return page.evaluate(
        "() => ({x: document.documentElement.scrollWidth - window.innerWidth,"
        " y: document.documentElement.scrollHeight - window.innerHeight})"
    )
