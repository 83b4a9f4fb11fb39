"""Sparkplug B (3.0) as a host application: decode payloads with the official protobuf
definition (``sparkplug_b.proto``, compiled to ``sparkplug_b_pb2.py``), and track each edge
node's birth certificate, metric aliases and sequence number.

Rules followed (Sparkplug 3.0, as Eclipse Tahu's host does):
- ``seq`` runs 0..255 and wraps, per edge node, across the node's NBIRTH, DBIRTH, NDATA,
  DDATA and DDEATH; anything but last + 1 is a gap: the node's data is stale, a rebirth is
  requested (NCMD ``Node Control/Rebirth``) and nothing it sends is mapped until it is born
  again (its birth carries every current value, so nothing is missed for good).
- NDEATH counts only when its ``bdSeq`` is the one of the node's current NBIRTH (a will
  delivered late, from an earlier session, changes nothing).
- DATA from a node with no birth certificate asks for a rebirth and is not mapped.
- A message whose ``seq`` and bytes are those of one already handled is the broker
  redelivering what was stored but not yet acknowledged: a duplicate, not a gap.
- A gap, an NDEATH or a DDEATH signals ``connectivity.lost`` for the edge node; its next
  complete birth (NBIRTH, and a DBIRTH for each dead device) signals ``connectivity.restored``.
"""

import base64
import hashlib
import json
import time as clock
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from . import sparkplug_b_pb2 as pb

NAMESPACE = "spBv1.0"
NODE_TYPES = ("NBIRTH", "NDEATH", "NDATA", "NCMD")
DEVICE_TYPES = ("DBIRTH", "DDEATH", "DDATA", "DCMD")
REBIRTH_METRIC = "Node Control/Rebirth"
REBIRTH_EVERY = 5.0  # seconds: at most one rebirth request per node in that time
DataType = pb.DataType


@dataclass(frozen=True)
class Topic:
    group: str
    type: str  # NBIRTH … DCMD, or STATE
    edge_node: str  # the host id for STATE
    device: str = ""

    @property
    def node_key(self) -> tuple[str, str]:
        return self.group, self.edge_node


def topic_parse(topic: str) -> Topic | str:
    """A Sparkplug topic, or why ``topic`` is not one."""
    parts = topic.split("/")
    if parts[0] != NAMESPACE:
        return "not a Sparkplug B topic"
    if len(parts) == 3 and parts[1] == "STATE":
        return Topic("", "STATE", parts[2])
    if len(parts) not in (4, 5) or not all(parts[1:]):
        return "Sparkplug topics are spBv1.0/group/TYPE/edge_node[/device]"
    _, group, kind, node, *device = parts
    if kind in NODE_TYPES and not device:
        return Topic(group, kind, node)
    if kind in DEVICE_TYPES and device:
        return Topic(group, kind, node, device[0])
    return f"unknown Sparkplug message type {kind!r} for this topic"


def payload_decode(payload: bytes) -> pb.Payload:
    message = pb.Payload()
    message.ParseFromString(payload)  # DecodeError for anything that is not a Payload
    return message


def metric_value(metric) -> object:
    """A metric's value as JSON can carry it (None when null or of an unsupported type)."""
    if metric.is_null:
        return None
    which = metric.WhichOneof("value")
    if which is None or which in ("dataset_value", "template_value", "extension_value"):
        return None
    value = getattr(metric, which)
    kind = metric.datatype
    if which == "bytes_value":
        return base64.b64encode(value).decode()
    # Signed integers travel as unsigned (two's complement) in int_value/long_value.
    if kind in (DataType.Int8, DataType.Int16, DataType.Int32) and which == "int_value":
        return value - (1 << 32) if value >= 1 << 31 else value
    if kind == DataType.Int64 and which == "long_value":
        return value - (1 << 64) if value >= 1 << 63 else value
    return value


def rebirth_payload() -> bytes:
    message = pb.Payload(timestamp=int(clock.time() * 1000))
    message.metrics.add(name=REBIRTH_METRIC, datatype=DataType.Boolean, boolean_value=True)
    return message.SerializeToString()


@dataclass
class NodeState:
    """In memory while the subscriber runs; saved to ``SparkplugNode`` with each batch."""

    group: str
    edge_node: str
    state: str = "unborn"
    bd_seq: int | None = None
    seq: int | None = None
    born_at: float | None = None
    last_message_at: float | None = None
    stale_reason: str = ""
    metrics: dict = field(default_factory=dict)  # "" / device → aliases, values, online
    recent: dict = field(default_factory=dict)  # seq → digest of the payload handled with it
    dirty: bool = False

    @property
    def healthy(self) -> bool:
        return self.state == "online" and all(
            scope.get("online", True) for scope in self.metrics.values()
        )

    @property
    def key(self) -> str:
        return f"{self.group}/{self.edge_node}"


@dataclass
class Outcome:
    """What one Sparkplug message did."""

    changed: dict[str, set[str]] = field(default_factory=dict)  # device ("" node) → metrics
    values: dict[str, dict] = field(default_factory=dict)  # device → its latest values
    timestamp: int | None = None
    lost: str = ""  # a reason: signal connectivity.lost
    restored: bool = False
    rebirth: bool = False
    duplicate: bool = False  # a redelivery of a message already handled
    failure: str = ""  # the message itself is unusable: on the failed list with this


class Tracker:
    """Edge nodes by (group, edge node); ``load`` fetches a node's saved state once."""

    def __init__(self, load=None):
        self.nodes: dict[tuple[str, str], NodeState] = {}
        self._load = load
        self._rebirth_asked: dict[tuple[str, str], float] = {}

    def node(self, group: str, edge_node: str) -> NodeState:
        key = (group, edge_node)
        if key not in self.nodes:
            loaded = self._load(group, edge_node) if self._load else None
            self.nodes[key] = loaded or NodeState(group, edge_node)
        return self.nodes[key]

    def rebirth_due(self, key: tuple[str, str]) -> bool:
        now = clock.monotonic()
        if now - self._rebirth_asked.get(key, -REBIRTH_EVERY) < REBIRTH_EVERY:
            return False
        self._rebirth_asked[key] = now
        return True

    def handle(self, topic: Topic, payload: bytes) -> Outcome:
        outcome = Outcome()
        if topic.type in ("NCMD", "DCMD"):
            return outcome  # commands to edge nodes (ours included): nothing to ingest
        try:
            message = payload_decode(payload)
        except DecodeError as exc:
            outcome.failure = f"not a Sparkplug B payload (protobuf decode failed: {exc})"
            return outcome
        node = self.node(*topic.node_key)
        seq = message.seq if message.HasField("seq") else None
        digest = hashlib.sha256(payload).hexdigest()[:16]
        if seq is not None and topic.type != "NDEATH":
            if node.recent.get(str(seq)) == digest:
                outcome.duplicate = True
                return outcome
            node.recent[str(seq)] = digest  # at most 256 entries: seq wraps at 255
        was_healthy, was_born = node.healthy, node.state != "unborn"
        node.last_message_at, node.dirty = clock.time(), True
        outcome.timestamp = message.timestamp if message.HasField("timestamp") else None
        if topic.type == "NDEATH":
            self._death(node, message, outcome)
        elif topic.type == "NBIRTH":
            self._node_birth(node, message, outcome)
        elif node.state in ("unborn", "offline"):
            outcome.rebirth = True  # no birth certificate to read this by: ask for one
            if node.state == "unborn":
                node.stale_reason = f"{topic.type} before any birth certificate"
        elif not self._seq_ok(node, message, topic, outcome):
            pass
        elif node.state == "stale":
            outcome.rebirth = True  # keeps asking; its data stays unmapped until reborn
        elif topic.type == "DBIRTH":
            self._device_birth(node, topic.device, message, outcome)
        elif topic.type == "DDEATH":
            node.metrics.setdefault(topic.device, {})["online"] = False
            outcome.lost = f"device {topic.device} died (DDEATH)"
        else:  # NDATA, DDATA
            self._data(node, topic.device, message, outcome)
        if was_healthy and not node.healthy and not outcome.lost:
            outcome.lost = node.stale_reason
        if node.healthy and not was_healthy and was_born:
            outcome.restored = True
        return outcome

    def _seq_ok(self, node: NodeState, message, topic: Topic, outcome: Outcome) -> bool:
        seq = message.seq if message.HasField("seq") else None
        expected = (node.seq + 1) % 256 if node.seq is not None else None
        if seq is None or seq > 255:
            reason = f"{topic.type} without a valid seq"
        elif expected is not None and seq != expected:
            reason = f"sequence gap: expected seq {expected}, got {seq} ({topic.type})"
        else:
            node.seq = seq
            return True
        node.seq = seq if seq is not None and seq <= 255 else node.seq
        if node.state != "stale":
            node.state, node.stale_reason = "stale", reason
            outcome.lost = reason
        outcome.rebirth = True
        return False

    def _death(self, node: NodeState, message, outcome: Outcome) -> None:
        bd_seq = next((metric_value(m) for m in message.metrics if m.name == "bdSeq"), None)
        if node.bd_seq is not None and bd_seq is not None and bd_seq != node.bd_seq:
            return  # the will of an earlier session, delivered late: this birth still holds
        if node.state != "offline":
            node.state, node.stale_reason = "offline", "edge node died (NDEATH)"
            outcome.lost = node.stale_reason

    def _node_birth(self, node: NodeState, message, outcome: Outcome) -> None:
        node.metrics = {}  # a node's birth voids its devices' births too
        scope = self._scope(node, "", message, birth=True)
        node.bd_seq = scope["values"].get("bdSeq")
        node.seq = message.seq if message.HasField("seq") and message.seq <= 255 else 0
        node.state, node.stale_reason, node.born_at = "online", "", clock.time()
        outcome.changed[""] = set(scope["values"])
        outcome.values[""] = scope["values"]

    def _device_birth(self, node: NodeState, device: str, message, outcome: Outcome) -> None:
        scope = self._scope(node, device, message, birth=True)
        scope["online"] = True
        outcome.changed[device] = set(scope["values"])
        outcome.values[device] = scope["values"]

    def _data(self, node: NodeState, device: str, message, outcome: Outcome) -> None:
        if device and not node.metrics.get(device, {}).get("online", False):
            outcome.rebirth = True  # data of a device whose birth we have not seen
            return
        scope = node.metrics.setdefault(device, {"aliases": {}, "values": {}})
        changed = set()
        for metric in message.metrics:
            name = metric.name if metric.name else scope["aliases"].get(str(metric.alias))
            if not name:
                outcome.rebirth = True
                if node.state != "stale":
                    node.state = "stale"
                    node.stale_reason = f"metric alias {metric.alias} not in the birth certificate"
                return
            scope["values"][name] = metric_value(metric)
            changed.add(name)
        outcome.changed[device] = changed
        outcome.values[device] = scope["values"]

    def _scope(self, node: NodeState, device: str, message, *, birth: bool) -> dict:
        scope = {"aliases": {}, "values": {}, "online": True}
        for metric in message.metrics:
            if not metric.name:
                continue  # a birth names every metric; an unnamed one says nothing
            if metric.HasField("alias"):
                scope["aliases"][str(metric.alias)] = metric.name
            scope["values"][metric.name] = metric_value(metric)
        node.metrics[device] = scope
        return scope


def state_parse(payload: bytes) -> dict | str:
    """A host application's STATE (3.0: JSON ``{"online", "timestamp"}``), or why not."""
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"STATE payload is not JSON: {exc}"
    if not isinstance(document, dict) or not isinstance(document.get("online"), bool):
        return 'STATE payload must be a JSON object with a boolean "online"'
    return document


def state_payload(online: bool, timestamp_ms: int) -> bytes:
    return json.dumps({"online": online, "timestamp": timestamp_ms}).encode()
