"""The relay over real HTTP against the reference ERP/MES process (relay run in this process)."""

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from coordination.models import OutboxMessage, StateChange
from coordination.services import state_history
from integrations.delivery import message_body, outbox_relay, signed_headers
from integrations.models import OutboxDelivery
from tests.conftest import wait_for
from tests.integrations.reference_peer import lot_message

pytestmark = pytest.mark.django_db

DELIVERED, PENDING, DEAD = "delivered", "pending", "dead"


@pytest.fixture(autouse=True)
def quick(settings):
    settings.OUTBOX_BACKOFF_BASE = 0.01
    settings.OUTBOX_BACKOFF_MAX = 0.05
    settings.OUTBOX_MAX_ATTEMPTS = 5


def relay_until(condition, what: str, timeout: float = 30):
    """Run the relay (as the beat sweep would) until ``condition()`` holds."""

    def step():
        outbox_relay(budget=2)
        return condition()

    return wait_for(step, timeout=timeout, interval=0.02, what=what)


def status_of(message, target) -> OutboxDelivery:
    return OutboxDelivery.objects.get(message=message, target=target)


def test_fan_out_one_delivery_per_enabled_target_that_wants_the_type(targets, peer):
    targets["mes"].topics = ["lot.released"]
    targets["mes"].save()
    held = lot_message("lot.held", "LOT-A")
    released = lot_message("lot.released", "LOT-A")
    assert [d.target.name for d in held.deliveries.all()] == ["ERP"]
    assert sorted(d.target.name for d in released.deliveries.all()) == ["ERP", "MES"]

    targets["erp"].enabled = False
    targets["erp"].save()
    later = lot_message("lot.held", "LOT-B")
    assert later.deliveries.count() == 0


def test_a_rolled_back_change_leaves_no_message_and_no_delivery(targets):
    with pytest.raises(RuntimeError), transaction.atomic():
        lot_message("lot.held", "LOT-A")
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    assert not OutboxDelivery.objects.exists()


def test_delivered_signed_in_the_standard_webhooks_shape_and_applied_by_the_peer(targets, peer):
    held = lot_message("lot.held", "LOT-A", quantity="120.000")
    relay_until(lambda: status_of(held, targets["erp"]).status == DELIVERED, "delivery")

    [got] = peer.messages("erp")["messages"]
    assert got["id"] == str(held.key)
    assert got["type"] == "lot.held"
    assert got["data"] == held.payload
    lot = peer.get("/erp/lots/LOT-A")
    assert lot == {**lot, "code": "LOT-A", "status": "on_hold", "quantity": "120.000"}
    assert lot["messages"] == [str(held.key)]
    assert [lot["code"] for lot in peer.get("/erp/lots?status=on_hold")["lots"]] == ["LOT-A"]
    delivery = status_of(held, targets["erp"])
    assert delivery.attempts == 1 and delivery.delivered_at is not None
    [audit] = state_history(delivery)
    assert (audit.from_state, audit.to_state, audit.via) == (PENDING, DELIVERED, "system")


def test_per_lot_order_is_kept_while_unrelated_lots_do_not_wait(targets, peer, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1000
    peer.control(system="erp", mode="fail", status=503)
    first = lot_message("lot.held", "LOT-A")
    second = lot_message("lot.released", "LOT-A")
    other = lot_message("lot.held", "LOT-B")
    relay_until(lambda: status_of(first, targets["erp"]).attempts >= 2, "a few failed tries")
    # Behind a failing head, the lot's next message is never even tried.
    assert status_of(second, targets["erp"]).attempts == 0
    # MES is fine: it got everything meanwhile, in order.
    relay_until(
        lambda: OutboxDelivery.objects.filter(target=targets["mes"], status=DELIVERED).count() == 3,
        "MES deliveries",
    )
    peer.control(system="erp", mode="ok")
    relay_until(
        lambda: not OutboxDelivery.objects.filter(target=targets["erp"]).exclude(status=DELIVERED),
        "ERP caught up",
    )
    assert peer.get("/erp/lots/LOT-A")["messages"] == [str(first.key), str(second.key)]
    assert peer.get("/erp/lots/LOT-A")["status"] == "released"
    assert peer.get("/erp/lots/LOT-B")["messages"] == [str(other.key)]
    assert peer.messages("erp")["duplicates"] == 0


def test_a_timeout_after_the_peer_applied_is_retried_and_deduplicated(targets, peer, settings):
    targets["erp"].timeout = 0.5
    targets["erp"].save()
    peer.control(system="erp", mode="slow", delay_ms=1500)
    held = lot_message("lot.held", "LOT-A")
    outbox_relay(budget=0.1)  # one batch: the send gives up after 0.5 s
    delivery = status_of(held, targets["erp"])
    assert delivery.status == PENDING and "no answer within 0.5 s" in delivery.last_error
    # Applied although we gave up waiting (polled: under load the peer may still be reading).
    wait_for(lambda: peer.messages("erp")["count"] == 1, timeout=10, what="the peer to apply")

    peer.control(system="erp", mode="ok")
    relay_until(lambda: status_of(held, targets["erp"]).status == DELIVERED, "the retry")
    erp = peer.messages("erp")
    assert erp["count"] == 1 and erp["duplicates"] == 1
    assert peer.get("/erp/lots/LOT-A")["messages"] == [str(held.key)]
    assert status_of(held, targets["erp"]).attempts == 2


def test_after_a_timeout_the_next_copy_waits_at_least_the_timeout_again(targets, peer):
    """Backoff here is 10 ms; the receiver still working on the copy we gave up on gets the
    target's timeout again before the next copy arrives."""
    targets["erp"].timeout = 0.5
    targets["erp"].save()
    peer.control(system="erp", mode="slow", delay_ms=800)
    held = lot_message("lot.held", "LOT-A")
    started = timezone.now()
    outbox_relay(budget=0.1)  # one batch: the send gives up after 0.5 s
    delivery = status_of(held, targets["erp"])
    assert delivery.status == PENDING and delivery.attempts == 1
    # Recorded no sooner than the timeout after the start, then due the timeout after that.
    assert delivery.next_attempt_at >= started + timedelta(seconds=1.0)
    peer.control(system="erp", mode="ok")
    relay_until(lambda: status_of(held, targets["erp"]).status == DELIVERED, "the retry")
    assert peer.messages("erp")["duplicates"] == 1  # the slow copy was applied; the retry not


def test_a_bad_signature_is_refused_by_the_peer_and_parks_the_delivery(targets, peer):
    from integrations.models import target_secret_new

    targets["erp"].secret = target_secret_new()  # not the one the ERP knows
    targets["erp"].save()
    held = lot_message("lot.held", "LOT-A")
    relay_until(lambda: status_of(held, targets["erp"]).status == DEAD, "the refusal")
    delivery = status_of(held, targets["erp"])
    assert delivery.last_status == 401 and delivery.attempts == 1  # 4xx: not retried
    assert "signature" in delivery.last_error
    assert peer.messages("erp")["count"] == 0


def test_the_peer_refuses_unsigned_tampered_and_replayed_old_requests(peer):
    body = message_body(key="m-1", topic="lot.held", created_at=_utc(), payload={"lot": "LOT-A"})
    good = signed_headers(secret=peer.secrets["erp"], key="m-1", body=body)
    assert peer.call("POST", "/erp/messages", raw=body.encode())[0] == 401
    tampered = body.replace("LOT-A", "LOT-B").encode()
    assert peer.call("POST", "/erp/messages", raw=tampered, headers=good)[0] == 401
    wrong_system = peer.call("POST", "/mes/messages", raw=body.encode(), headers=good)
    assert wrong_system[0] == 401
    old = signed_headers(secret=peer.secrets["erp"], key="m-1", body=body, at=_utc(-3600))
    assert peer.call("POST", "/erp/messages", raw=body.encode(), headers=old)[0] == 401
    garbled = {**good, "webhook-signature": "nonsense"}
    assert peer.call("POST", "/erp/messages", raw=body.encode(), headers=garbled)[0] == 401
    assert peer.call("POST", "/erp/messages", raw=body.encode(), headers=good) == (
        200,
        {"status": "applied", "id": "m-1"},
    )
    assert peer.messages("erp")["count"] == 1
    # The receiver's check is the package's own: what we sent verifies with the secret.
    Webhook(peer.secrets["erp"]).verify(body, good)


def test_dead_after_n_failures_then_a_manual_retry_delivers_in_order(targets, peer, settings, api):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    peer.control(system="erp", mode="fail", status=503)
    held = lot_message("lot.held", "LOT-A")
    released = lot_message("lot.released", "LOT-A")
    relay_until(lambda: status_of(held, targets["erp"]).status == DEAD, "dead letter")
    dead = status_of(held, targets["erp"])
    assert dead.attempts == 3 and dead.last_status == 503
    assert status_of(released, targets["erp"]).attempts == 0  # held back, never overtakes
    outbox_relay(budget=1)
    assert peer.messages("erp")["count"] == 0

    supervisor = api("supervisor")
    listed = supervisor.get("/api/v1/outbox/?status=dead").json()["results"]
    assert [row["id"] for row in listed] == [dead.pk]
    assert listed[0]["message_id"] == str(held.key) and listed[0]["target"] == "ERP"

    peer.control(system="erp", mode="ok")
    response = supervisor.post(f"/api/v1/outbox/{dead.pk}/retry")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == PENDING and response.json()["attempts"] == 0
    retry = state_history(dead).get(transition="retry")
    assert (retry.from_state, retry.to_state, retry.via) == (DEAD, PENDING, "api")
    assert retry.actor.username == "supervisor-user" and "HTTP 503" in retry.reason

    relay_until(lambda: status_of(released, targets["erp"]).status == DELIVERED, "both delivered")
    assert peer.get("/erp/lots/LOT-A")["messages"] == [str(held.key), str(released.key)]
    assert supervisor.post(f"/api/v1/outbox/{dead.pk}/retry").status_code == 409


def test_a_permanent_refusal_is_dead_at_once_and_a_429_is_retried(targets, peer, settings):
    peer.control(system="erp", mode="fail", status=422)
    refused = lot_message("lot.held", "LOT-A")
    relay_until(lambda: status_of(refused, targets["erp"]).status == DEAD, "refused")
    assert status_of(refused, targets["erp"]).attempts == 1

    settings.OUTBOX_MAX_ATTEMPTS = 1000
    peer.control(system="erp", mode="fail", status=429)
    throttled = lot_message("lot.held", "LOT-B")
    relay_until(lambda: status_of(throttled, targets["erp"]).attempts >= 2, "retries")
    assert status_of(throttled, targets["erp"]).status == PENDING


def test_a_delivery_whose_lease_ran_out_is_claimed_again_and_the_old_claim_records_nothing(
    targets, peer, settings
):
    from integrations.delivery import deliveries_claim, deliveries_record, delivery_send

    settings.OUTBOX_LEASE_SECONDS = 0.2
    held = lot_message("lot.held", "LOT-A")
    [stale] = [c for c in deliveries_claim(limit=10) if c.url.endswith("/erp/messages")]
    time.sleep(0.3)  # this relay stalls past its lease (a long GC pause, a frozen VM)
    fresh = [c for c in deliveries_claim(limit=10) if c.id == stale.id]
    assert fresh and fresh[0].token != stale.token
    assert deliveries_record([delivery_send(stale)])["delivered"] == 0  # lease expired: unsent
    settings.OUTBOX_LEASE_SECONDS = 30
    fresh[0].lease_ends = time.monotonic() + 30
    assert deliveries_record([delivery_send(fresh[0])])["delivered"] == 1
    assert status_of(held, targets["erp"]).status == DELIVERED
    assert peer.messages("erp")["count"] == 1


def _utc(offset: float = 0):
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(seconds=offset)


def test_the_body_is_the_documented_envelope():
    from datetime import UTC, datetime

    body = json.loads(
        message_body(
            key="k", topic="lot.held", created_at=datetime(2026, 12, 1, tzinfo=UTC), payload={}
        )
    )
    assert body == {"type": "lot.held", "id": "k", "timestamp": "2026-12-01T00:00:00Z", "data": {}}
    assert StateChange  # imported for the audit assertions above


def test_one_relay_nudge_per_committed_transaction_and_none_after_a_rollback(
    targets, django_capture_on_commit_callbacks
):
    from integrations.delivery import _nudge

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for k in range(3):
            lot_message("lot.held", f"LOT-{k}")
    assert [cb for cb in callbacks if cb is _nudge] == [_nudge]

    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        lot_message("lot.held", "LOT-X")
        raise RuntimeError("rolled back")
    assert callbacks == []
