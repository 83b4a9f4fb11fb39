"""Topic mappings (admin-configured) and the Sparkplug B edge nodes the subscriber tracks."""

from django.core.exceptions import ValidationError
from django.db import models

from ..cloudevents import EVENT_TYPES


class MqttMapping(models.Model):
    """A topic filter → a canonical event type, and where each ``data`` field comes from.

    ``fields`` maps a data field (or ``time``) to its source: ``topic:N`` (the N-th topic level,
    from 1), ``payload:a.b`` (a JSON payload field; ``payload`` alone is the whole payload),
    ``const:VALUE``, or for Sparkplug B ``metric:NAME`` (the metric's latest value).
    """

    class Format(models.TextChoices):
        JSON = "json", "JSON payload"
        SPARKPLUG = "sparkplug", "Sparkplug B metrics"

    name = models.CharField(max_length=80, unique=True)
    topic_filter = models.CharField(
        max_length=200,
        help_text="MQTT topic filter, e.g. riverside/+/status (+ one level, # the rest).",
    )
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.JSON)
    # One of EVENT_TYPES (checked in clean(), offered as choices in admin): not model choices,
    # so a new event type needs no migration here.
    event_type = models.CharField(max_length=40)
    fields = models.JSONField(
        default=dict,
        help_text='Data field → source, e.g. {"line": "topic:2", "status": "payload:status", '
        '"site": "const:RIV", "time": "payload:ts"}; Sparkplug: "metric:Line/State".',
    )
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)  # the subscriber reloads when it moves

    class Meta:
        ordering = ["name"]
        verbose_name = "MQTT topic mapping"

    def __str__(self) -> str:
        return f"{self.name}: {self.topic_filter} → {self.event_type}"

    def clean(self) -> None:
        from .mapping import field_specs_problems, topic_filter_problem

        if self.event_type not in EVENT_TYPES:
            raise ValidationError({"event_type": f"one of {', '.join(EVENT_TYPES)}"})
        problem = topic_filter_problem(self.topic_filter or "")
        if problem:
            raise ValidationError({"topic_filter": problem})
        problems = field_specs_problems(self.fields, self.format)
        if problems:
            raise ValidationError({"fields": problems})


class SparkplugNode(models.Model):
    """A Sparkplug B edge node as last seen: its birth certificate (metric names, aliases,
    latest values, per device), sequence number and whether its data can be trusted.

    Written by the subscriber in the same transaction as the inbox rows of the same batch, so
    a restarted subscriber continues the sequence where the acknowledged messages left it.
    """

    class State(models.TextChoices):
        ONLINE = "online"
        STALE = "stale", "stale (sequence gap or device death)"
        OFFLINE = "offline", "offline (death certificate)"
        UNBORN = "unborn", "waiting for a birth certificate"

    group = models.CharField(max_length=100)
    edge_node = models.CharField(max_length=100)
    state = models.CharField(max_length=10, choices=State.choices, default=State.UNBORN)
    bd_seq = models.BigIntegerField(null=True, blank=True)
    seq = models.PositiveSmallIntegerField(null=True, blank=True)
    born_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    stale_reason = models.CharField(max_length=300, blank=True)
    # {"": node metrics, "<device>": device metrics}: {"aliases": {alias: name},
    #  "values": {name: value}, "online": bool}
    metrics = models.JSONField(default=dict, blank=True)
    # seq → digest of the payload handled with it: a redelivery is recognised, not a gap.
    recent = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["group", "edge_node"]
        constraints = [
            models.UniqueConstraint(fields=["group", "edge_node"], name="sparkplug_node_unique")
        ]

    def __str__(self) -> str:
        return f"{self.group}/{self.edge_node} ({self.state})"
