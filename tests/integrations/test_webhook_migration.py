"""Upgrading moves every workflow webhook endpoint onto an outbox target, and each delivery
still pending onto the outbox, so no webhook in flight is lost (integrations 0005,
workflows 0006). Run on the real database: migrated back, filled, migrated forward."""

import base64
import secrets

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from standardwebhooks import Webhook

from integrations.delivery import outbox_relay
from integrations.models import OutboxDelivery, OutboxTarget
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("integrations", "0004_outbox_roles"), ("workflows", "0004_sync_divergence")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_apps():
    """The schema as it was before the move; migrated forward again afterwards, whatever."""
    apps = migrate(BEFORE)
    yield apps
    migrate(latest())


def test_endpoints_become_targets_and_pending_deliveries_outbox_messages(
    old_apps, capsys, targets, peer
):
    Endpoint = old_apps.get_model("workflows", "WebhookEndpoint")
    Delivery = old_apps.get_model("workflows", "WebhookDelivery")
    Group = old_apps.get_model("auth", "Group")
    planner = Group.objects.get(name="planner")
    b64 = base64.b64encode(secrets.token_bytes(24)).decode()
    chat = Endpoint.objects.create(
        name="chat", url=peer.url + "/erp/messages", secret=b64, events=[]
    )
    pager = Endpoint.objects.create(
        name="ERP", url="https://pager.example/in", secret="s3cret", events=["task.escalated"]
    )
    Endpoint.objects.create(
        name="typo", url="https://x.example/", secret="s3cret", events=["task.creatd"]
    )
    Endpoint.objects.create(
        name="off", url="https://off.example/", secret="s3cret", events=[], active=False
    )
    payload = {"task": 7, "case": 3, "title": "Confirm with the customer", "status": "open",
               "due_at": "2026-12-01T10:00:00+00:00", "owner_group": planner.pk,
               "assignee": None}  # fmt: skip
    created = timezone.now()
    pending = Delivery.objects.create(
        endpoint=chat, event="task.created", payload=payload, created_at=created
    )
    Delivery.objects.create(
        endpoint=chat, event="task.created", payload=payload, status="delivered", created_at=created
    )
    Delivery.objects.create(
        endpoint=pager, event="task.escalated", payload=payload, status="failed"
    )
    assert pending.pk

    migrate(latest())

    told = capsys.readouterr().out
    assert "rotate it in admin" in told and "ERP (webhook)" in told and "chat" not in told
    by_name = {t.name: t for t in OutboxTarget.objects.all()}
    # "ERP" was taken by the reference ERP target: the endpoint keeps its own row beside it.
    assert {"chat", "ERP (webhook)", "typo", "off", "ERP", "MES"} == set(by_name)
    chat_target = by_name["chat"]
    assert chat_target.secret == "whsec_" + b64  # a base64 secret is kept: same key bytes
    assert chat_target.topics == ["task.created", "task.escalated", "decision.recorded"]
    assert chat_target.enabled
    renamed = by_name["ERP (webhook)"]
    assert renamed.topics == ["task.escalated"] and renamed.url == "https://pager.example/in"
    assert renamed.secret.startswith("whsec_") and renamed.secret != "whsec_s3cret"
    Webhook(renamed.secret)  # a valid Standard Webhooks secret
    assert not by_name["typo"].enabled  # it received nothing before, it receives nothing now
    assert not by_name["off"].enabled

    # Only the pending delivery moved, in the contract's shape (strings, the group's name).
    [moved] = OutboxDelivery.objects.filter(target=chat_target)
    assert moved.status == "pending" and not OutboxDelivery.objects.exclude(pk=moved.pk).exists()
    assert moved.message.topic == "task.created" and moved.aggregate == "case:3"
    assert moved.message.payload == {**{k: str(v) for k, v in payload.items()},
                                     "owner_group": "planner", "assignee": ""}  # fmt: skip

    # And the relay delivers it to the reference peer (given the secret the peer knows).
    chat_target.secret = peer.secrets["erp"]
    chat_target.save()

    def delivered():
        outbox_relay(budget=2)
        return OutboxDelivery.objects.get(pk=moved.pk).status == "delivered"

    wait_for(delivered, timeout=30, what="the migrated delivery")
    assert [m["id"] for m in peer.messages("erp")["messages"]] == [str(moved.message.key)]


def test_a_database_without_endpoints_migrates_to_nothing(old_apps):
    migrate(latest())
    assert not OutboxTarget.objects.exists() and not OutboxDelivery.objects.exists()
