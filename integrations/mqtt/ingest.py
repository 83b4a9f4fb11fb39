"""One batch of MQTT messages into the inbox, in one transaction, before any is acknowledged.

Mapped messages go through ``events_accept`` (the REST API's own validation, dedup on
``source`` + ``id`` and processing queue); a message that does not map, or that the inbox
refuses, is stored ``failed`` with the reason, so it is on the failed-events list instead of
dropped. Sparkplug B node state (births, aliases, ``seq``) is saved in the same transaction,
and a node going stale or dead (or reborn) is handed to the exceptions app as a
``connectivity.lost`` / ``connectivity.restored`` plant event.
"""

import base64
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from coordination.events import PlantEvent, event_batch, event_observers

from ..models import InboxEvent, Integration
from ..services import events_accept
from . import sparkplug
from .mapping import (
    Built,
    Mapping,
    build_json,
    build_values,
    event_id,
    event_source,
    mapping_from_row,
    payload_text,
    problems_text,
    topic_matches,
)
from .models import MqttMapping, SparkplugNode

log = logging.getLogger(__name__)

INTEGRATION = "mqtt"  # the Integration every MQTT event is stored under (default site, types)
KEEP_PAYLOAD = 65536  # bytes of a failed message kept whole, so it can be mapped again


@dataclass
class Message:
    topic: str
    payload: bytes
    mid: int = 0
    qos: int = 1
    generation: int = 0  # the connection it came on: only that connection can acknowledge it


@dataclass
class BatchResult:
    accepted: int = 0
    duplicate: int = 0
    failed: int = 0
    ignored: int = 0  # Sparkplug messages that map to nothing (commands, unmapped metrics)
    rebirths: list[tuple[str, str]] = field(default_factory=list)  # (group, edge node)


def mqtt_integration() -> Integration:
    """The integration MQTT events are stored under (created on first use, one-site plants
    get their site as default, as ``create_integration_key`` does)."""
    from coordination.models import Site

    integration = Integration.objects.filter(name=INTEGRATION).select_related("site").first()
    if integration is None:
        site = Site.objects.get() if Site.objects.count() == 1 else None
        integration = Integration.objects.create(
            name=INTEGRATION, site=site, description="MQTT topics (manage.py mqtt_ingest)"
        )
    return integration


def mappings_load() -> list[Mapping]:
    return [mapping_from_row(row) for row in MqttMapping.objects.filter(active=True)]


def mappings_version() -> tuple:
    """Changes when an admin adds, edits or removes a mapping (the subscriber reloads)."""
    rows = MqttMapping.objects.values_list("pk", "updated_at", "active")
    return tuple(sorted(rows))


def subscriptions(mappings: list[Mapping]) -> list[str]:
    """Topic filters to subscribe: every JSON mapping's, and for Sparkplug the whole group
    (births, deaths and sequence numbers are needed, not just the mapped metrics)."""
    filters = set()
    for mapping in mappings:
        if mapping.format == MqttMapping.Format.SPARKPLUG:
            group = mapping.topic_filter.split("/")[1:2]
            if group and group[0] not in ("+", "#"):
                filters.add(f"{sparkplug.NAMESPACE}/{group[0]}/#")
            else:
                filters.add(f"{sparkplug.NAMESPACE}/#")
        else:
            filters.add(mapping.topic_filter)
    return sorted(filters)


class Ingestor:
    """Turns batches of messages into inbox rows; one per subscriber process."""

    def __init__(self, mappings: list[Mapping] | None = None):
        self.integration = mqtt_integration()
        self.mappings = mappings if mappings is not None else mappings_load()
        self.tracker = sparkplug.Tracker(load=_node_load)

    def ingest(self, messages: list[Message]) -> BatchResult:
        """Store ``messages`` (committed when this returns; raises if the database fails,
        and then nothing of the batch is stored, nor any node state advanced)."""
        result = BatchResult()
        try:
            with transaction.atomic(), event_batch():
                built, failures, node_events = [], [], []
                for message in messages:
                    self._one(message, built, failures, node_events, result)
                self._accept(built, failures, result)
                self._failures_store(failures)
                self._nodes_save()
                for node, lost, reason in node_events:
                    _connectivity_signal(node, lost=lost, reason=reason)
        except BaseException:
            self.tracker.nodes.clear()  # reload what was committed; memory may be ahead
            raise
        result.failed = len(failures)
        return result

    def park(self, message: Message, reason: str) -> None:
        """Store one message ``failed`` with ``reason``: the subscriber's last resort for a
        message that cannot be ingested at all (listed and acknowledged, not retried for ever)."""
        with transaction.atomic():
            self._failures_store([_unmapped(message, reason)])

    def _one(self, message: Message, built, failures, node_events, result) -> None:
        if message.topic.startswith(sparkplug.NAMESPACE + "/"):
            self._sparkplug(message, built, failures, node_events, result)
            return
        matching = [
            m
            for m in self.mappings
            if m.format == MqttMapping.Format.JSON and topic_matches(m.topic_filter, message.topic)
        ]
        if not matching:
            failures.append(_unmapped(message, "no active topic mapping matches this topic"))
        for mapping in matching:
            one = build_json(mapping, message.topic, message.payload)
            (built if one.raw is not None else failures).append(one)

    def _sparkplug(self, message: Message, built, failures, node_events, result) -> None:
        topic = sparkplug.topic_parse(message.topic)
        if isinstance(topic, str):
            failures.append(_unmapped(message, topic))
            return
        if topic.type == "STATE":
            state = sparkplug.state_parse(message.payload)
            if isinstance(state, str):
                failures.append(_unmapped(message, state))
            else:
                log.info("Sparkplug host %s is %s", topic.edge_node,
                         "online" if state["online"] else "offline")  # fmt: skip
                result.ignored += 1
            return
        outcome = self.tracker.handle(topic, message.payload)
        node = self.tracker.node(*topic.node_key) if topic.type not in ("NCMD", "DCMD") else None
        if outcome.failure:
            failures.append(_unmapped(message, outcome.failure))
            return
        if outcome.duplicate:
            result.duplicate += 1
            return
        if outcome.rebirth and self.tracker.rebirth_due(topic.node_key):
            result.rebirths.append(topic.node_key)
        if outcome.lost:
            node_events.append((node, True, outcome.lost))
        if outcome.restored:
            node_events.append((node, False, "reborn"))
        produced = False
        node_values = node.metrics.get("", {}).get("values", {})
        for device, changed in outcome.changed.items():
            # A device's metrics first, then its edge node's (e.g. a node-level Job metric).
            values = {**node_values, **outcome.values[device]} if device else node_values
            for mapping in self.mappings:
                if (
                    mapping.format == MqttMapping.Format.SPARKPLUG
                    and topic_matches(mapping.topic_filter, message.topic)
                    and mapping.metrics & changed
                ):
                    one = build_values(
                        mapping, message.topic, message.payload, values, outcome.timestamp
                    )
                    built.append(one)
                    produced = True
        if not produced:
            result.ignored += 1

    def _accept(self, built: list[Built], failures: list, result: BatchResult) -> None:
        ok = [b for b in built if b.raw is not None]
        failures.extend(b for b in built if b.raw is None)
        if not ok:
            return
        answers = events_accept(integration=self.integration, raw_events=[b.raw for b in ok])
        for one, answer in zip(ok, answers, strict=True):
            if answer["status"] == "accepted":
                result.accepted += 1
            elif answer["status"] == "duplicate":
                result.duplicate += 1
            else:
                one.error, one.error_field = problems_text(one, answer.get("errors", []))
                failures.append(one)

    def _failures_store(self, failures: list[Built]) -> None:
        if not failures:
            return
        now = timezone.now()
        site = self.integration.site.code if self.integration.site_id else ""
        InboxEvent.objects.bulk_create(
            [
                InboxEvent(
                    integration=self.integration,
                    source=event_source(one.topic),
                    event_id=event_id(one.mapping, one.topic, one.payload),
                    type=one.mapping.event_type,
                    time=now,
                    received_at=now,
                    site=site,
                    data={"mqtt_topic": one.topic[:500], "payload": payload_text(one.payload)},
                    attributes={
                        "mqttmapping": one.mapping.name,
                        "unmapped": True,
                        **(
                            {"payload_b64": base64.b64encode(one.payload).decode()}
                            if len(one.payload) <= KEEP_PAYLOAD
                            else {}
                        ),
                    },
                    status=InboxEvent.Status.FAILED,
                    error=one.error[:4000],
                    error_field=one.error_field[:80],
                    processed_at=now,
                )
                for one in failures
            ],
            ignore_conflicts=True,  # a redelivered bad message is on the list once
        )

    def _nodes_save(self) -> None:
        for node in self.tracker.nodes.values():
            if not node.dirty:
                continue
            SparkplugNode.objects.update_or_create(
                group=node.group,
                edge_node=node.edge_node,
                defaults={
                    "state": node.state,
                    "bd_seq": node.bd_seq,
                    "seq": node.seq,
                    "born_at": _moment(node.born_at),
                    "last_message_at": _moment(node.last_message_at),
                    "stale_reason": node.stale_reason[:300],
                    "metrics": node.metrics,
                    "recent": node.recent,
                },
            )
            node.dirty = False


NO_MAPPING = Mapping(0, "(none)", "#", "json", "mqtt.unmapped", [])


def _unmapped(message: Message, reason: str) -> Built:
    return Built(NO_MAPPING, message.topic, message.payload, error=reason, error_field="topic")


def failed_map_again(*, ids: list[int]) -> tuple[int, int]:
    """Map failed MQTT messages again, once their mapping (or publisher) is fixed: each row is
    replaced by what the active mappings make of its message now (accepted, or failed with
    today's reason). Returns (now mapped, still failed or not kept whole)."""
    rows = InboxEvent.objects.filter(
        pk__in=ids, status=InboxEvent.Status.FAILED, attributes__unmapped=True
    )
    ingestor, mapped, failed = Ingestor(), 0, 0
    for row in rows:
        kept = row.attributes.get("payload_b64")
        if kept is None:
            failed += 1  # larger than KEEP_PAYLOAD: only its start was kept
            continue
        message = Message(row.data.get("mqtt_topic", ""), base64.b64decode(kept))
        with transaction.atomic():
            # Its derived id is the one the new event takes: the old row makes way for it.
            InboxEvent.objects.filter(pk=row.pk, status=InboxEvent.Status.FAILED).delete()
            result = ingestor.ingest([message])
        log.info("MQTT message %s on %s mapped again: %s", row.pk, message.topic, result)
        mapped += result.accepted + result.duplicate
        failed += result.failed
    return mapped, failed


def _moment(seconds: float | None):
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _node_load(group: str, edge_node: str) -> sparkplug.NodeState | None:
    row = SparkplugNode.objects.filter(group=group, edge_node=edge_node).first()
    if row is None:
        return None
    return sparkplug.NodeState(
        group=row.group,
        edge_node=row.edge_node,
        state=row.state,
        bd_seq=row.bd_seq,
        seq=row.seq,
        born_at=row.born_at.timestamp() if row.born_at else None,
        last_message_at=row.last_message_at.timestamp() if row.last_message_at else None,
        stale_reason=row.stale_reason,
        metrics=row.metrics or {},
        recent=row.recent or {},
    )


def _connectivity_signal(node: sparkplug.NodeState, *, lost: bool, reason: str) -> None:
    """The exceptions app raises (or clears) the ``connectivity`` exception of the edge node."""
    now = timezone.now()
    event = PlantEvent(
        inbox_id=None,
        type="connectivity.lost" if lost else "connectivity.restored",
        source=f"sparkplug/{node.key}",
        event_id=uuid.uuid4().hex,
        time=now,
        received_at=now,
        site="",
        data={"node": node.key, "group": node.group, "edge_node": node.edge_node,
              "reason": reason},
    )  # fmt: skip
    with transaction.atomic():
        event_observers.notify(event)
