"""Plants are often offline: every page, signed in as each role, loads nothing from a host
other than our server (issue 15, item 10 and "Must show"). Swagger UI at /api/v1/docs/ was a
blank page offline (it came from a CDN): it renders here with every outside request refused.

The pages come from the URLconf, so a new page is covered without editing this test. A
parameter is filled from the fixtures by the path's first segment (an exception, a task, a
lot, a line, an order, a job…); a parameterised URL it cannot fill is skipped and listed.
"""

import contextlib
import re
from urllib.parse import urlsplit

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from exceptions.models import ExceptionCase
from integrations.models import InboxEvent
from integrations.services import events_accept, inbox_process, integration_key_create
from kernel.roles import ROLES
from tests.browser.conftest import screenshot
from workflows.models import Task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Not pages: probes, Prometheus, downloads, sign-out (POST), the API's JSON (its HTML page,
# Swagger UI, is kept below).
NOT_PAGES = {"healthz", "readyz", "prometheus-metrics", "logout", "metrics-export", "schema"}
PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def url_patterns(patterns=None, prefix: str = ""):
    """(route, name) of every ``path()`` in the URLconf, nested includes flattened."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from url_patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name


def page_urls(fill: dict[str, dict[str, str]]) -> tuple[list[str], list[str]]:
    """The URLs to load and the routes skipped (a parameter no fixture fills)."""
    urls, skipped = [], []
    for route, name in url_patterns():
        if name in NOT_PAGES:
            continue
        if route.startswith("admin/"):
            # Django admin: its index and every changelist (signed in as admin, below).
            if name == "index" or (name or "").endswith("_changelist"):
                urls.append("/" + route)
            continue
        if route.startswith("api/") and name != "api-docs":
            continue
        if "^" in route or "(?P" in route:  # a regex route outside the API: cannot fill
            skipped.append(route)
            continue
        values = fill.get(route.split("/", 1)[0], {})
        missing = [m["name"] for m in PARAM.finditer(route) if m["name"] not in values]
        if missing:
            skipped.append(route)
            continue
        urls.append("/" + PARAM.sub(lambda m, values=values: values[m["name"]], route))
    return urls, skipped


@pytest.fixture
def everything(plant, down, signal):
    """An exception with tasks, a held lot, a failed event: the pages' parameters."""
    case = down("L1")
    signal("quality.hold", {"lot": "LOT-FG-1", "reason": "seal leak"})
    integration, _ = integration_key_create(name="mes")
    bad = {
        "specversion": "1.0",
        "id": "bad-1",
        "source": "mes/riverside",
        "type": "equipment.status",
        "data": {"line": "L9", "status": "down"},
    }
    events_accept(integration=integration, raw_events=[bad])
    event = InboxEvent.objects.get(event_id="bad-1")
    inbox_process(event.pk)  # unknown line: parked failed, for the reprocess route
    task = Task.objects.filter(case=case).first()
    lot = "LOT-FG-1"
    return {
        "exceptions": {"pk": str(case.pk), "action": "acknowledge"},
        "tasks": {"pk": str(task.pk), "action": "claim"},
        "lots": {"code": lot, "action": "disposition"},
        "lines": {"code": "L1"},  # floorpages' line and andon pages
        "orders": {"number": "SO-10101"},
        "jobs": {"number": "WO-60101"},
        "integrations": {"pk": str(event.pk)},
        "search": {},
    }


def test_no_page_loads_anything_from_another_host(browser, live_server, role_user, everything):
    urls, skipped = page_urls(everything)
    assert "/api/v1/docs/" in urls and "/board/" in urls and "/" in urls and "/admin/" in urls
    assert any(u.startswith("/exceptions/") for u in urls) and any("/tasks/" in u for u in urls)
    print(f"{len(urls)} pages per role; skipped (no value to fill): {skipped}")
    server = urlsplit(live_server.url).netloc
    outside, errors = [], []

    def guard(route):
        # Offline as a plant is: anything for another host is refused and recorded.
        if urlsplit(route.request.url).netloc != server:
            outside.append(f"{role}: {route.request.url} (from {page.url})")
            route.abort()
        else:
            route.continue_()

    for role in ROLES:
        context = browser.new_context(base_url=live_server.url)
        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(10_000)
        role_user(role, username=role, is_staff=role == "admin")
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(role)
        page.get_by_label("Password").fill("pw-not-demo-123")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        for url in urls:
            if url.startswith("/admin/") and role != "admin":
                continue  # the rest are sent to admin's login: one look is enough
            if context.request.get(url, max_redirects=0).status == 405:
                # A POST-only action: its empty 405 is no page, and chromium's error page
                # for it can land in the middle of the next navigation.
                continue
            try:
                response = page.goto(url, wait_until="load")
            except PlaywrightError as exc:
                if "ERR_HTTP_RESPONSE_CODE_FAILURE" not in exc.message:
                    raise
                # An empty error body (405 on a POST-only action): no page to load.
                status = context.request.get(url, max_redirects=0).status
                if status >= 500:
                    errors.append(f"{role}: {url} answered {status}")
                continue
            if response is not None and response.status >= 500:
                errors.append(f"{role}: {url} answered {response.status}")
            # Scripts may fetch after load (Swagger UI, the live board): wait for quiet.
            with contextlib.suppress(PlaywrightError):
                page.wait_for_load_state("networkidle", timeout=1_500)
        if role == "supervisor":
            page.goto("/api/v1/docs/")
            # Served by us (drf-spectacular-sidecar): the operations render with no CDN.
            expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
            screenshot(page, "offline-api-docs")
        context.close()
    assert outside == []
    assert errors == []


def test_the_url_enumeration_fills_the_common_parameters(everything):
    """The list above is the URLconf's, so it grows with it; what it skips is only what no
    fixture can fill (none of the exception, task, lot pages)."""
    urls, skipped = page_urls(everything)
    case = ExceptionCase.objects.get(kind="downtime")
    assert f"/exceptions/{case.pk}/" in urls
    assert f"/exceptions/{case.pk}/acknowledge/" in urls
    assert "/lots/LOT-FG-1/" in urls
    assert not [s for s in skipped if s.startswith(("exceptions/", "tasks/", "lots/"))]
