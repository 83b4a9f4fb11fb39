"""A line goes down on the demo plant: within seconds a proposal is there for the planner,
with its Gantt before and after; the planner pins a job, re-optimises, approves, and the
reference MES shows the new sequence.

The whole path is real: the down event over HTTP into the events API, a Celery worker that
processes it, raises the exception and builds the proposal (PostgreSQL, Redis); the planner
in chromium; the outbox relay (run here, as in the holds test) to the reference MES process.
"""

import json
import os
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coordination.models import Job
from coordination.proposals.models import Proposal
from integrations.delivery import outbox_relay
from integrations.services import integration_key_create
from tests.browser.conftest import screenshot
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _send_down(live_server, key, line: str):
    event = {
        "specversion": "1.0",
        "id": f"evt-plan-{line}",
        "source": "mes/riverside",
        "type": "equipment.status",
        "time": timezone.now().isoformat(),
        "data": {"site": "RIV", "line": line, "status": "down", "reason": "filler jam",
                 "expected_up_at": (timezone.now() + timedelta(hours=2)).isoformat()},
    }  # fmt: skip
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/events",
        data=json.dumps(event).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/cloudevents+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202


def test_line_down_proposal_pin_reoptimise_approve_reaches_mes(
    demo_plant, login, live_server, worker_process, targets, peer, monkeypatch
):
    monkeypatch.setenv("PROPOSAL_SOLVE_SECONDS", "0.5")
    worker = worker_process()
    page = login("planner")
    _, key = integration_key_create(name="mes")
    _send_down(live_server, key, "L2")

    page.goto("/plan/")
    card = page.locator('[data-line="L2"]')
    # The planner's page refreshes every 5 s; the worker builds the proposal in seconds.
    expect(card.locator(".proposal-summary")).to_contain_text("Ready", timeout=60_000)
    first = Proposal.objects.get(line__code="L2", status="proposed")
    assert first.trigger == "downtime" and first.ready_seconds < 60, worker.output()
    screenshot(page, "plan-overview")

    card.get_by_role("link", name=f"Proposal #{first.pk}").click()
    expect(page.locator('svg[data-gantt="before"]')).to_be_visible()
    expect(page.locator('svg[data-gantt="after"]')).to_be_visible()
    expect(page.locator('svg[data-gantt="before"] rect.window')).to_have_count(1)
    expect(page.locator(".explanation li").first).to_contain_text("lateness")
    screenshot(page, "plan-proposal-before-after")

    # Pin the last job of the shown sequence to the first free place, re-optimise.
    pinned = page.locator("#pin-job option").last.get_attribute("value")
    page.locator("#pin-job").select_option(pinned)
    page.get_by_label("Position (optional)").fill("1")
    page.get_by_role("button", name="Re-optimise").click()
    expect(page.get_by_text(f"Pinned: {pinned} at position 1")).to_be_visible()
    expect(page.get_by_role("button", name="Approve and send to MES")).to_be_visible(timeout=60_000)
    second = Proposal.objects.get(line__code="L2", status="proposed")
    assert second.pk != first.pk and second.pins[0]["job"] == pinned
    first.refresh_from_db()
    assert first.status == "superseded"
    after = page.locator('svg[data-gantt="after"] g[data-job]')
    # The running job, the frozen ones, then the pinned job: it runs right after them.
    fixed = [r["job"] for r in second.alternatives[0]["jobs"] if r["fixed"]]
    assert fixed[-1] == pinned
    expect(after.first).to_be_visible()
    screenshot(page, "plan-pinned")

    page.get_by_label("Rationale").first.fill("Pinned the urgent refill order first")
    page.get_by_role("button", name="Approve and send to MES").click()
    expect(page.get_by_text("the new sequence goes to MES")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_text("approved")
    second.refresh_from_db()
    chosen = second.alternative(second.decision.chosen)
    order = [r["job"] for r in chosen["jobs"] if r["line"] == "L2"]
    assert (
        list(
            Job.objects.filter(line__code="L2", status__in=["planned", "released", "running"])
            .order_by("sequence")
            .values_list("number", flat=True)
        )
        == order
    )

    def mes_sequence():
        outbox_relay(budget=5)
        status, body = peer.call("GET", "/mes/lines/L2/sequence")
        return body if status == 200 else None

    mes = wait_for(mes_sequence, timeout=30, what="the reference MES to show L2's sequence")
    assert [j["job"] for j in mes["jobs"]] == order
    page.goto(f"{peer.url}/mes/lines/L2/sequence")
    expect(page.locator("body")).to_contain_text(pinned)
    screenshot(page, "plan-mes-sequence")
    assert os.path.exists(screenshot(page, "plan-mes-sequence"))
