"""Issue 15, andon from the floor: a call from the station page of line L1 reaches the board
within seconds (through the inbox and the worker, like a machine's signal); the supervisor
acknowledges it on the board, and the station shows that it was acknowledged and by whom."""

import pytest
from playwright.sync_api import expect

from exceptions.models import ExceptionCase
from integrations.models import InboxEvent
from tests.browser.conftest import screenshot
from tests.browser.floor import sign_in
from tests.conftest import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_andon_call_reaches_the_board_and_the_station_sees_who_acknowledged(
    browser, live_server, plant, worker_process
):
    worker = worker_process("--pool=solo")
    wait_for(lambda: "ready" in worker.output(), timeout=60, what="the worker to start")

    station = sign_in(browser, live_server, "olli", "maintenance", width=1280, height=800)
    station.goto("/lines/L1/andon?station=L1-1")
    expect(station.get_by_role("heading", name="Andon · line L1")).to_be_visible()
    expect(station.locator(".topbar nav")).to_be_hidden()  # a station, not a desk
    quality = station.get_by_role("button", name="Quality problem")
    assert quality.bounding_box()["height"] >= 64  # a gloved finger hits it
    station.get_by_label("Note (optional)").fill("caps loose on head 3")
    quality.click()
    call = station.locator("#calls li.andon-call").first
    expect(call).to_contain_text("Quality problem · caps loose on head 3")
    expect(call).to_contain_text("by olli at L1-1")
    expect(call.locator(".andon-label")).to_have_text("raised · sent to quality", timeout=15_000)
    screenshot(station, "andon-station-raised")
    event = InboxEvent.objects.get(type="andon.call")
    assert event.source == "andon/L1-1/olli" and event.status == InboxEvent.Status.APPLIED

    board = sign_in(browser, live_server, "sue", "supervisor")
    board.goto("/board/")
    row = board.locator("#board-rows tr.case", has_text="Line L1: quality problem at L1-1")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row).to_contain_text("caps loose on head 3")
    screenshot(board, "andon-on-board")
    row.get_by_role("button", name="Acknowledge").click()
    expect(row).to_contain_text("acknowledged")

    # The station follows without a reload (it polls every 2 s).
    expect(call.locator(".andon-label")).to_have_text(
        "acknowledged by sue · sue is coming", timeout=10_000
    )
    expect(call.locator(".andon-steps li.done")).to_have_count(3)
    screenshot(station, "andon-station-acknowledged")
    case = ExceptionCase.objects.get(kind="andon")
    assert case.status == "acknowledged" and case.owner_user.username == "sue"
    wait_for(lambda: case.tasks.exists(), timeout=5, what="the quality task")
    assert case.tasks.get().owner_group.name == "quality"
    station.context.close()
    board.context.close()
