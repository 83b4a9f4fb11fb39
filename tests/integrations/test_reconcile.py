"""Reconciliation over real HTTP against the reference ERP/MES process (run in this process)."""

import pytest
from django.core.management import CommandError, call_command

from coordination.models import Order
from coordination.quality import lot_hold_place
from exceptions.models import OPEN_STATES, ExceptionCase
from integrations.delivery import outbox_relay
from integrations.models import OutboxDelivery
from integrations.reconcile import reconcile_run
from tests.conftest import wait_for
from tests.factories import LotFactory, OrderFactory, UserFactory
from tests.integrations import reference_peer
from tests.integrations.reference_peer import Peer

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def reference_plant():
    """This module's own reference plant, on this worktree's port range."""
    ports, reference_peer.PORTS = reference_peer.PORTS, range(18800, 18900)
    try:
        running = Peer()
    finally:
        reference_peer.PORTS = ports
    yield running
    running.stop()


def divergences(key: str | None = None):
    cases = ExceptionCase.objects.filter(kind="sync_divergence")
    return cases.filter(key=key) if key else cases


def delivered_everywhere():
    def step():
        outbox_relay(budget=2)
        return not OutboxDelivery.objects.exclude(status="delivered").exists()

    wait_for(step, timeout=30, interval=0.02, what="every delivery delivered")


@pytest.fixture
def held(targets, peer):
    """A lot quality held here, its lot.held delivered to ERP and MES."""
    lot = LotFactory(code="LOT-R1")
    engineer = UserFactory(username="qe", role="quality")
    lot_hold_place(lot_id=lot.pk, actor=engineer, reason="seal leak", defect_code="D-12")
    delivered_everywhere()
    assert peer.get("/erp/lots/LOT-R1")["status"] == "on_hold"
    return lot


def output(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


def test_agreeing_systems_raise_nothing(held, peer):
    assert peer.port in range(18800, 18900)  # this module's own peer
    printed = output()
    assert not divergences().exists()
    assert "erp (" in printed and "0 divergent" in printed and "mes (" in printed


def test_a_clerks_put_raises_one_divergence_naming_both_sides_then_joins_then_clears(held, peer):
    status, _ = peer.call("PUT", "/erp/lots/LOT-R1", {"status": "available"})
    assert status == 200
    printed = output()
    case = divergences().get()
    assert case.key == "erp:lot:LOT-R1" and case.is_open and case.condition_active
    assert "ERP says available (since " in case.title and "we say on hold (since " in case.title
    assert case.facts["theirs"] == "available" and case.facts["ours"] == "on hold"
    assert "divergent erp:lot:LOT-R1: ERP says available" in printed
    assert not divergences("mes:lot:LOT-R1").exists()  # the MES agrees with us

    # Routed like any other exception: the default rule for lots gives quality a task.
    run = case.workflow_runs.get()
    assert run.template.name == "Lot out of sync"
    assert [t.owner_group.name for t in run.tasks.all()] == ["quality"]

    reconcile_run()  # still apart: the same exception, one more signal
    case.refresh_from_db()
    assert divergences().count() == 1 and case.event_count == 2

    peer.call("PUT", "/erp/lots/LOT-R1", {"status": "on_hold"})
    printed = output()
    case.refresh_from_db()
    assert not case.condition_active and case.cleared_at is not None
    assert "agrees again erp:lot:LOT-R1" in printed
    assert case.events.filter(kind="cleared").count() == 1


def test_a_lot_held_only_there_is_a_divergence_too(targets, peer, held):
    from tests.integrations.test_reference_plant import post

    assert post(peer, "erp", "lot.held", {"lot": "LOT-X", "quantity": "5"}, "clerk-1")[0] == 200
    LotFactory(code="LOT-X")  # available here
    reconcile_run()
    case = divergences("erp:lot:LOT-X").get()
    assert "ERP says on hold" in case.title and "we say available" in case.title


def test_a_message_still_in_the_outbox_is_not_a_divergence(targets, peer):
    peer.control(system="erp", mode="fail", status=503)
    lot = LotFactory(code="LOT-Q1")
    lot_hold_place(lot_id=lot.pk, actor=UserFactory(username="qe2", role="quality"), reason="x")
    assert OutboxDelivery.objects.filter(target=targets["erp"], status="pending").exists()
    peer.control(system="erp", mode="ok")  # up again, but the hold is still queued here
    printed = output("--system", "erp")
    assert not divergences().exists()
    assert "skipped erp:lot:LOT-Q1 (still in the outbox)" in printed

    delivered_everywhere()
    reconcile_run()
    assert not divergences().exists()  # delivered: ERP now holds it too


def test_erp_down_is_reported_unreachable_and_is_no_divergence(held, peer, targets):
    peer.call("PUT", "/erp/lots/LOT-R1", {"status": "available"})
    targets["erp"].url = "http://127.0.0.1:9/erp/messages"  # nothing listens there
    targets["erp"].save(update_fields=["url"])
    printed = output()
    assert "erp: unreachable, skipped" in printed
    assert not divergences().exists()


def test_an_order_status_divergence_routes_to_planning(targets, peer):
    order = OrderFactory(number="SO-R1", status=Order.Status.IN_PRODUCTION)
    peer.call("PUT", "/erp/orders/SO-R1", {"status": "in_production"})
    reconcile_run()
    assert not divergences().exists()

    peer.call("PUT", "/erp/orders/SO-R1", {"status": "completed"})
    reconcile_run()
    case = divergences("erp:order:SO-R1").get()
    assert "ERP says completed" in case.title and "we say in production" in case.title
    run = case.workflow_runs.get()
    assert run.template.name == "Order or sequence out of sync"
    assert [t.owner_group.name for t in run.tasks.all()] == ["planner"]

    peer.call("PUT", "/erp/orders/SO-R1", {"status": order.status})
    reconcile_run()
    case.refresh_from_db()
    assert not case.condition_active


def test_no_target_and_bad_input_of_the_command(db):
    assert "no enabled ERP or MES outbox target" in output()
    with pytest.raises(CommandError, match="--system: unknown crm"):
        call_command("reconcile", "--system", "crm")


def test_open_divergences_stay_one_per_key(held, peer):
    peer.call("PUT", "/erp/lots/LOT-R1", {"status": "scrapped"})
    for _ in range(3):
        reconcile_run()
    assert ExceptionCase.objects.filter(kind="sync_divergence", status__in=OPEN_STATES).count() == 1


def test_beat_runs_it_every_reconcile_seconds(settings, held, peer, targets):
    from integrations.tasks import reconcile_task

    entry = settings.CELERY_BEAT_SCHEDULE["reconcile"]
    assert entry["task"] == "integrations.reconcile"
    assert entry["schedule"] == settings.RECONCILE_SECONDS
    peer.call("PUT", "/erp/lots/LOT-R1", {"status": "available"})
    targets["mes"].url = "http://127.0.0.1:9/mes/messages"
    targets["mes"].save(update_fields=["url"])
    summary = reconcile_task()
    assert summary["erp"] == "1 divergent of 1" and "unreachable" not in summary["erp"]
    assert summary["mes"].startswith("GET http://127.0.0.1:9/mes/lots")
    assert divergences("erp:lot:LOT-R1").exists()


def test_the_divergence_is_on_the_board_and_its_page_for_quality_not_for_sales(
    held, peer, client, role_user
):
    peer.call("PUT", "/erp/lots/LOT-R1", {"status": "available"})
    reconcile_run()
    case = divergences().get()
    client.force_login(role_user("quality"))
    assert "ERP says available" in client.get("/board/").content.decode()
    page = client.get(f"/exceptions/{case.pk}/")
    assert page.status_code == 200 and "ERP says available" in page.content.decode()
    client.force_login(role_user("sales"))
    assert "ERP says available" not in client.get("/board/").content.decode()


def approved_sequence(line: str, jobs: list[str]):
    """What a planner's approval sends (coordination.proposals): the line's jobs in order."""
    from django.db import transaction

    from coordination.outbox import outbox_add

    rows = [
        {"job": job, "sequence": (i + 1) * 10, "planned_start": "2026-12-01T08:00:00+00:00",
         "planned_end": "2026-12-01T09:00:00+00:00"}
        for i, job in enumerate(jobs)
    ]  # fmt: skip
    with transaction.atomic():
        outbox_add(
            topic="sequence.approved",
            aggregate=f"line:{line}",
            data={"line": line, "proposal": "1", "jobs": rows, "approved_by": "pat",
                  "approved_at": "2026-12-01T07:55:00+00:00", "rationale": "least lateness"},
        )  # fmt: skip


def test_a_sequence_reordered_in_the_mes_is_a_divergence_until_it_matches_again(targets, peer):
    approved_sequence("L1", ["WO-1", "WO-2", "WO-3"])
    delivered_everywhere()
    assert [j["job"] for j in peer.get("/mes/lines/L1/sequence")["jobs"]] == [
        "WO-1",
        "WO-2",
        "WO-3",
    ]
    reconcile_run(["mes"])
    assert not divergences().exists()  # the MES runs what we approved

    status, _ = peer.call("PUT", "/mes/lines/L1/sequence", {"jobs": ["WO-2", "WO-1", "WO-3"]})
    assert status == 200  # a shift lead reorders the line in the MES
    [report] = reconcile_run(["mes"])
    case = divergences("mes:sequence:L1").get()
    assert "MES says WO-2 → WO-1 → WO-3" in case.title
    assert "we say WO-1 → WO-2 → WO-3 (since 2026-12-01 07:55:00 UTC)" in case.title
    assert case.workflow_runs.get().template.name == "Order or sequence out of sync"
    assert report.compared == 1

    peer.call("PUT", "/mes/lines/L1/sequence", {"jobs": ["WO-1", "WO-2", "WO-3"]})
    reconcile_run(["mes"])
    case.refresh_from_db()
    assert not case.condition_active  # they agree again: cleared


def test_a_newer_approval_still_queued_is_not_a_divergence(targets, peer):
    approved_sequence("L2", ["WO-7", "WO-8"])
    delivered_everywhere()
    peer.control(system="mes", mode="fail", status=503)
    approved_sequence("L2", ["WO-8", "WO-7"])  # approved again, not delivered yet
    peer.control(system="mes", mode="ok")
    [report] = reconcile_run(["mes"])
    assert report.in_flight == ["mes:sequence:L2"] and not divergences().exists()
    delivered_everywhere()
    reconcile_run(["mes"])
    assert not divergences().exists()  # the newer sequence arrived: they agree


def test_the_reference_mes_refuses_a_sequence_that_is_not_a_list_of_job_numbers(peer):
    status, body = peer.call("PUT", "/mes/lines/L1/sequence", {"jobs": "WO-1"})
    assert status == 400 and body["field"] == "jobs"
    status, body = peer.call("PUT", "/mes/lines/L1/sequence", {"jobs": [1, 2]})
    assert status == 400 and body["field"] == "jobs"
