"""Workflow webhooks move onto the outbox: every ``workflows.WebhookEndpoint`` becomes an
``OutboxTarget`` (URL, message types, enabled), and every delivery still pending becomes an
outbox message with a pending delivery to it, so an upgrade loses no webhook in flight.

Secrets: the Standard Webhooks secret is base64 (``whsec_`` + base64). An old secret that is
valid base64 is kept (as ``whsec_<it>``: the receiver verifies with the same key bytes); any
other gets a fresh secret, and the migration names those targets: rotate their secret in
admin (it is shown once) and give it to the receiver. Either way the receiver must now verify
the Standard Webhooks signature (README "The outbound contract"); the old ``X-Plantcoord-*``
headers are gone. Delivered and failed history is not carried over.
"""

import base64
import binascii
import secrets

from django.conf import settings
from django.db import migrations

# The workflow topics and their fields as they were when this migration was written
# (``coordination.outbox.TOPICS``); frozen here, as migrations must not follow live code.
WORKFLOW_TOPICS = {
    "task.created": ("task", "case", "title", "status", "due_at", "owner_group", "assignee"),
    "task.escalated": (
        "task", "case", "title", "status", "due_at", "owner_group", "assignee", "level", "action",
    ),
    "decision.recorded": (
        "task", "case", "title", "status", "due_at", "owner_group", "assignee", "decision",
        "chosen", "value", "rationale", "predicted_completion_at",
    ),
}  # fmt: skip


def _secret(old: str) -> tuple[str, bool]:
    """(the Standard Webhooks secret, kept?)"""
    raw = old.removeprefix("whsec_").strip()
    try:
        if raw and len(base64.b64decode(raw, validate=True)) >= 16:
            return "whsec_" + raw, True
    except (binascii.Error, ValueError):
        pass
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(), False


def _payload(topic: str, old: dict, groups: dict, users: dict) -> dict:
    """The old payload (ids as numbers) in the outbox contract's shape (strings, names)."""
    data = {}
    for field in WORKFLOW_TOPICS[topic]:
        value = old.get(field)
        if field == "owner_group":
            value = groups.get(value, "")
        elif field == "assignee":
            value = users.get(value, "")
        data[field] = "" if value is None else str(value)
    return data


def endpoints_to_targets(apps, schema_editor):
    WebhookEndpoint = apps.get_model("workflows", "WebhookEndpoint")
    WebhookDelivery = apps.get_model("workflows", "WebhookDelivery")
    OutboxTarget = apps.get_model("integrations", "OutboxTarget")
    OutboxDelivery = apps.get_model("integrations", "OutboxDelivery")
    OutboxMessage = apps.get_model("coordination", "OutboxMessage")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    groups = dict(Group.objects.values_list("pk", "name"))
    users = dict(User.objects.values_list("pk", "username"))
    taken = set(OutboxTarget.objects.values_list("name", flat=True))
    to_reshare = []
    for endpoint in WebhookEndpoint.objects.order_by("pk"):
        known = [e for e in endpoint.events if e in WORKFLOW_TOPICS]
        # Empty meant "every workflow event"; on a target, empty means every type (lots too).
        topics = known or list(WORKFLOW_TOPICS)
        # Listing only events that never existed, it received nothing: it still receives nothing.
        enabled = endpoint.active and not (endpoint.events and not known)
        name = endpoint.name
        if name in taken:
            name = f"{endpoint.name[:68]} (webhook)"
        taken.add(name)
        secret, kept = _secret(endpoint.secret)
        if not kept:
            to_reshare.append(name)
        target = OutboxTarget.objects.create(
            name=name, url=endpoint.url, secret=secret, topics=topics, enabled=enabled
        )
        pending = WebhookDelivery.objects.filter(endpoint=endpoint, status="pending").order_by("pk")
        for old in pending:
            if old.event not in WORKFLOW_TOPICS:
                continue
            data = _payload(old.event, old.payload or {}, groups, users)
            message = OutboxMessage.objects.create(
                topic=old.event,
                aggregate=f"case:{data['case']}",
                payload=data,
                created_at=old.created_at,
            )
            OutboxDelivery.objects.create(
                message=message,
                target=target,
                aggregate=message.aggregate,
                next_attempt_at=old.created_at,
                created_at=old.created_at,
            )
    if to_reshare:
        print(
            "\n  Webhook endpoints moved to outbox targets. These had a secret that is not a "
            "Standard Webhooks (base64) secret and got a new one: rotate it in admin "
            "(Outbox targets → Rotate the signing secret, shown once) and give it to the "
            f"receiver: {', '.join(to_reshare)}"
        )


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("coordination", "0005_outbox"),
        ("integrations", "0004_outbox_roles"),
        ("workflows", "0004_sync_divergence"),
    ]

    operations = [migrations.RunPython(endpoints_to_targets, migrations.RunPython.noop)]
