"""A quality engineer holds a lot from the hold queue, finds the exception on the board and
dispositions it from the exception page; the reference ERP then shows the release.

The outbox relay runs in this process (the worker's part is proven in the integrations
tests); the ERP is the reference service, a real process, reached over HTTP."""

import pytest
from playwright.sync_api import expect

from coordination.models import Lot, OutboxMessage
from exceptions.models import ExceptionCase
from integrations.delivery import outbox_relay
from tests.browser.conftest import screenshot
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hold_from_the_queue_then_disposition_from_the_exception(login, plant, targets, peer):
    page = login("quality")
    page.goto("/quality/")
    expect(page.get_by_text("Nothing on hold.")).to_be_visible()

    # Find the lot by the order it was made for, tick it, hold it (keyboard-reachable labels).
    page.get_by_label("Lot, item, order, job or location").fill("SO-10101")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Hold LOT-FG-1").check()
    page.get_by_label("Reason").fill("Seal integrity below spec")
    page.get_by_label("Defect code").fill("D12")
    page.get_by_role("button", name="Hold selected lots").click()
    expect(page.get_by_text("On hold: LOT-FG-1.")).to_be_visible()
    # The queue refreshes itself (board-changed): the lot is listed with its reason.
    queued = page.locator("#held-LOT-FG-1")
    expect(queued).to_contain_text("Seal integrity below spec (D12)")
    screenshot(page, "holds-queue")

    page.goto("/board/")
    row = page.locator("#board-rows tr.case")
    expect(row).to_contain_text("Lot LOT-FG-1 on hold")
    case = ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1")
    page.goto(f"/exceptions/{case.pk}/")

    section = page.locator("#case-lot")
    expect(section).to_contain_text("Lot LOT-FG-1: on hold")
    section.get_by_label("Release").check()
    section.get_by_label("Rationale").fill("Re-inspected 32 samples: seals within spec")
    screenshot(page, "holds-exception-form")
    section.get_by_role("button", name="Record disposition").click()
    expect(section.get_by_text("Lot LOT-FG-1 is released.")).to_be_visible()
    page.reload()
    expect(page.locator(".case-status")).to_have_text("resolved")
    expect(page.locator("#case-work")).to_contain_text("Re-inspected 32 samples")
    screenshot(page, "holds-dispositioned")

    assert Lot.objects.get(code="LOT-FG-1").status == "released"
    assert list(
        OutboxMessage.objects.filter(aggregate="lot:LOT-FG-1")
        .order_by("id")
        .values_list("topic", flat=True)
    ) == ["lot.held", "lot.released"]

    # What the relay delivers, the ERP applies: the lot is released there too, hold first.
    def erp_lot():
        outbox_relay(budget=5)
        status, lot = peer.call("GET", "/erp/lots/LOT-FG-1")
        return lot if status == 200 and lot["status"] == "released" else None

    erp = wait_for(erp_lot, timeout=30, what="the reference ERP to show LOT-FG-1 released")
    assert len(erp["messages"]) == 2  # lot.held, then lot.released, each once
    page.goto(f"{peer.url}/erp/lots/LOT-FG-1")
    expect(page.locator("body")).to_contain_text('"released"')
    screenshot(page, "holds-erp-released")
