"""A quality engineer holds a lot from the hold queue, finds the exception on the board and
dispositions it from the exception page; the release is in the outbox for ERP and MES.

Delivery to the reference ERP is the outbox relay's (integrations); this test stops at the
``lot.released`` row written in the disposition's transaction."""

import pytest
from playwright.sync_api import expect

from coordination.models import Lot, OutboxMessage
from exceptions.models import ExceptionCase
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hold_from_the_queue_then_disposition_from_the_exception(login, plant):
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
