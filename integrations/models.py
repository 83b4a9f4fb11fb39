"""The edges: who may send us signals (integrations and their keys), what they sent (inbox),
and where the outbox goes (targets) with each message's delivery to each target."""

import base64
import hashlib
import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from coordination.events import PlantEvent
from coordination.models import Site


class Integration(models.Model):
    """A system that sends events: an ERP, an MES, a line's PLC gateway, an import job."""

    name = models.CharField(max_length=80, unique=True)
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Default site for events that do not name one.",
    )
    allowed_types = models.JSONField(
        default=list, blank=True, help_text="Event types it may send; empty means all types."
    )
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def allows(self, event_type: str) -> bool:
        return not self.allowed_types or event_type in self.allowed_types


def key_digest(raw_key: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is enough (no slow KDF needed):
    nobody can brute-force the preimage, and lookups stay one indexed query."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class IntegrationKey(models.Model):
    """An API key of an integration, stored hashed; the clear key is shown once."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a key.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.integration.name} {self.prefix}… ({state})"


class InboxEvent(models.Model):
    """Every accepted CloudEvent, stored before anything else happens.

    ``(source, event_id)`` is unique: the same pair again is a duplicate, acknowledged and not
    stored twice, even when two copies race (the database decides).
    """

    class Status(models.TextChoices):
        RECEIVED = "received"  # stored, waiting for (or being) processed
        APPLIED = "applied"
        STALE = "stale"  # older than state already applied: kept, changed nothing
        FAILED = "failed"  # parked with its reason until someone reprocesses it

    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="events", null=True, blank=True
    )
    source = models.CharField(max_length=200)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=40)
    time = models.DateTimeField(help_text="When it happened at the plant.")
    received_at = models.DateTimeField(default=timezone.now)
    site = models.CharField(max_length=20)
    data = models.JSONField()
    attributes = models.JSONField(
        default=dict, blank=True, help_text="Other CloudEvents attributes (subject, extensions)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_field = models.CharField(max_length=80, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="inbox_unique_event")
        ]
        indexes = [
            # The stuck-event sweep and the failed list read only these few rows.
            models.Index(
                fields=["received_at"],
                name="inbox_received_idx",
                condition=models.Q(status="received"),
            ),
            models.Index(fields=["status", "-received_at"], name="inbox_status_idx"),
            models.Index(fields=["integration", "-received_at"], name="inbox_integration_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.source}#{self.event_id} ({self.status})"

    def as_plant_event(self, *, stale: bool = False) -> PlantEvent:
        return PlantEvent(
            inbox_id=self.pk,
            type=self.type,
            source=self.source,
            event_id=self.event_id,
            time=self.time,
            received_at=self.received_at,
            site=self.site,
            data=self.data,
            stale=stale,
        )


# --- the outbox's delivery side ---------------------------------------------------------------


def target_secret_new() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class OutboxTarget(models.Model):
    """A system outbox messages are delivered to (ERP, MES, any webhook endpoint).

    The secret signs every delivery (Standard Webhooks); it is kept to sign, but shown to a
    person only once, when it is created or rotated.
    """

    name = models.CharField(max_length=80, unique=True)
    url = models.URLField(max_length=500, help_text="Where messages are POSTed.")
    secret = models.CharField(max_length=100, default=target_secret_new, editable=False)
    topics = models.JSONField(
        default=list, blank=True, help_text="Message types it gets; empty means every type."
    )
    timeout = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(120)],
        help_text="Seconds to wait for the answer before trying again later.",
    )
    enabled = models.BooleanField(
        default=True,
        help_text="Disabled: no new deliveries are created for it; queued ones wait.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, topic: str) -> bool:
        return not self.topics or topic in self.topics


class OutboxDelivery(ConcurrentTransitionMixin, models.Model):
    """One message to one target: pending until the target answered 2xx, or dead.

    ``aggregate`` copies the message's, so the relay's "is this the oldest undelivered message
    of its aggregate at this target" check is one index probe. A claim sets ``lease_until``
    and a fresh ``lease_token``; an outcome is recorded only under the token it was claimed
    with, so a worker whose lease ran out (and whose row was claimed again) changes nothing.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        DEAD = "dead"

    message = models.ForeignKey(
        "coordination.OutboxMessage", on_delete=models.PROTECT, related_name="deliveries"
    )
    target = models.ForeignKey(OutboxTarget, on_delete=models.PROTECT, related_name="deliveries")
    aggregate = models.CharField(max_length=160)
    status = FSMField(choices=Status.choices, default=Status.PENDING, protected=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "outbox deliveries"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "target"], name="outbox_delivery_once")
        ]
        indexes = [
            # The relay's scan: due pending rows, oldest first (few rows, partial index).
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_delivery_due",
                condition=models.Q(status="pending"),
            ),
            # "Anything older of this aggregate not yet delivered here?" (the ordering rule).
            models.Index(
                fields=["target", "aggregate", "message"],
                name="outbox_delivery_chain",
                condition=~models.Q(status="delivered"),
            ),
            models.Index(fields=["status", "-id"], name="outbox_delivery_status"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.target_id} ({self.status})"

    @property
    def action_label(self) -> str:
        return f"delivery {self.pk}"

    @transition(field=status, source=Status.PENDING, target=Status.DELIVERED)
    def deliver(self) -> None:
        """The target answered 2xx. Called by the relay's outcome (bulk path) only."""
        self.delivered_at = timezone.now()
        self.lease_until = None

    @transition(field=status, source=Status.PENDING, target=Status.DEAD)
    def bury(self) -> None:
        """Out of attempts, or refused for good (a 4xx): parked until someone retries."""
        self.lease_until = None

    @transition(field=status, source=Status.DEAD, target=Status.PENDING)
    def retry(self) -> None:
        """A person sends it again: a fresh set of attempts, due now."""
        self.attempts = 0
        self.next_attempt_at = timezone.now()
        self.lease_until = None
        self.lease_token = ""


# MQTT (topic mappings, Sparkplug B edge nodes): in their own package, registered here.
from .mqtt.models import MqttMapping, SparkplugNode  # noqa: E402, F401
