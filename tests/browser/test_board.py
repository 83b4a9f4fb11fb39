"""A supervisor watches the live board: an MES event raises an exception that shows up
without reloading, is acknowledged and resolved with a root cause, all from the board."""

import json
import time
import urllib.request
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from coordination.demo import demo_seed
from exceptions.models import ExceptionCase
from integrations.services import integration_key_create
from tests.browser.conftest import screenshot
from tests.conftest import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def post_event(live_server, key: str, data: dict) -> int:
    body = {
        "specversion": "1.0",
        "id": f"board-{time.time_ns()}",
        "source": "mes/line1",
        "type": "equipment.status",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": data,
    }
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/events",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/cloudevents+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_event_to_board_acknowledge_and_resolve(login, live_server, worker_process):
    demo_seed(users=False)
    key = integration_key_create(name="mes", site_code="RIV")[1]
    worker = worker_process("--pool=solo")
    wait_for(lambda: "ready" in worker.output(), timeout=60, what="the worker to start")

    page = login("supervisor")
    page.goto("/board/")
    expect(page.get_by_text("All calm.")).to_be_visible()

    assert post_event(live_server, key, {"line": "L1", "status": "down", "reason": "filler jam"})
    row = page.locator("#board-rows tr.case")
    # Polled every 2 s: it appears with no reload (how fast is measured in bench/board.py).
    expect(row).to_have_count(1, timeout=15_000)
    expect(row).to_contain_text("Line L1 down: filler jam")
    expect(row.locator("time.age")).not_to_be_empty()
    screenshot(page, "board")

    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#panel")).to_contain_text("acknowledged")
    expect(row).to_contain_text("acknowledged")

    row.get_by_role("link", name="Resolve").click()
    panel = page.locator("#panel")
    panel.get_by_label("Root cause").select_option(label="Mechanical failure")
    panel.get_by_label("Note").fill("Filler star wheel jammed; cleared and adjusted.")
    panel.get_by_role("button", name="Resolve").click()
    # The line has not reported running: refused until confirmed.
    expect(panel.get_by_role("alert")).to_contain_text("confirm to resolve anyway")
    panel.get_by_label("The condition is still active: resolve anyway").check()
    panel.get_by_role("button", name="Resolve").click()
    expect(panel).to_contain_text("resolved")
    expect(page.get_by_text("All calm.")).to_be_visible(timeout=3_000)
    assert page.url.endswith("/board/")  # never left the board

    case = ExceptionCase.objects.get()
    assert case.status == "resolved" and case.resolved_while_active
    assert case.root_cause.name == "Mechanical failure"
    screenshot(page, "board-calm")
