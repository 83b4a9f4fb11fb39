"""The subscriber: paho-mqtt 2, MQTT 5, persistent session, QoS 1, manual acknowledgement.

paho's network thread only queues what arrives; this process's main thread stores a batch
(``Ingestor.ingest``, one transaction) and only then acknowledges its messages (PUBACK). A
crash anywhere before that leaves them unacknowledged in the broker's session, which
delivers them again on reconnect; their derived event ids make them duplicates. A message
is acknowledged only on the connection it came on: after a reconnect its packet id may
already name another message, and the broker redelivers it anyway.
"""

import logging
import queue
import signal
import threading
import time
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from django.db import InterfaceError, OperationalError, close_old_connections
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from . import sparkplug
from .ingest import (
    BatchResult,
    Ingestor,
    Message,
    mappings_load,
    mappings_version,
    subscriptions,
)

log = logging.getLogger(__name__)

RECEIVE_MAXIMUM = 1000  # unacknowledged messages the broker may send us at once (MQTT 5)


class ConfigError(ValueError):
    pass


def url_parse(url: str) -> dict:
    """``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS) as connect options."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ConfigError(f"MQTT_URL must look like mqtt://host:1883, not {url!r}")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as exc:
        raise ConfigError(f"MQTT_URL has a bad port: {exc}") from None
    return {
        "host": parts.hostname,
        "port": port,
        "tls": tls,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


class Subscriber:
    def __init__(
        self,
        url: str,
        *,
        client_id: str,
        batch: int = 500,
        reconnect_max: int = 60,
        session_expiry: int = 7 * 24 * 3600,
        host_id: str = "",
        reload_every: float = 10.0,
    ):
        self.options = url_parse(url)
        self.client_id = client_id
        self.batch = batch
        self.reconnect_max = reconnect_max
        self.session_expiry = session_expiry
        self.host_id = host_id
        self.reload_every = reload_every
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.stopping = threading.Event()
        self.generation = 0
        self.connected = threading.Event()
        self.filters: list[str] = []
        self.stats = {"stored": 0, "duplicate": 0, "failed": 0, "ignored": 0}
        self._birth_ms = int(time.time() * 1000)
        self.client = self._client()

    # --- paho side (network thread) ----------------------------------------------------

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5
        )
        client.manual_ack_set(True)
        client.reconnect_delay_set(min_delay=1, max_delay=self.reconnect_max)
        if self.options["username"]:
            client.username_pw_set(self.options["username"], self.options["password"])
        if self.options["tls"]:
            client.tls_set()
        if self.host_id:  # Sparkplug 3.0 primary host: retained STATE, offline as our will
            client.will_set(
                self._state_topic, sparkplug.state_payload(False, self._birth_ms), 1, True
            )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    @property
    def _state_topic(self) -> str:
        return f"{sparkplug.NAMESPACE}/STATE/{self.host_id}"

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the connection: %s", reason_code)
            return
        self.generation += 1
        log.info(
            "MQTT connected to %s:%s (session %s), subscribing to %s",
            self.options["host"],
            self.options["port"],
            "resumed" if flags.session_present else "new",
            ", ".join(self.filters) or "nothing yet",
        )
        if self.filters:
            client.subscribe([(f, 1) for f in self.filters])
        if self.host_id:
            online = sparkplug.state_payload(True, self._birth_ms)
            client.publish(self._state_topic, online, 1, True)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self.stopping.is_set():
            log.warning("MQTT connection lost (%s); reconnecting with backoff", reason_code)

    def _on_message(self, client, userdata, message) -> None:
        self.inbox.put(
            Message(message.topic, message.payload, message.mid, message.qos, self.generation)
        )

    # --- main thread -------------------------------------------------------------------

    def run(self, *, until=None) -> None:
        """Subscribe and ingest until SIGTERM/SIGINT (or ``until()`` is true)."""
        mappings = mappings_load()
        self.ingestor = Ingestor(mappings)
        self.filters = subscriptions(mappings)
        version, reloaded = mappings_version(), time.monotonic()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.session_expiry
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(
            self.options["host"], self.options["port"], clean_start=False, properties=props
        )
        self.client.loop_start()  # paho reconnects itself, 1 s doubling to reconnect_max
        last_report = time.monotonic()
        try:
            while not self.stopping.is_set() and not (until and until()):
                messages = self._take()
                if messages:
                    self._store(messages)
                now = time.monotonic()
                if now - reloaded >= self.reload_every:
                    version = self._reload(version)
                    reloaded = now
                if now - last_report >= 30:
                    log.info("MQTT ingest: %s", self.stats)
                    last_report = now
        finally:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()
        if self.host_id and self.connected.is_set():
            self.client.publish(
                self._state_topic, sparkplug.state_payload(False, self._birth_ms), 1, True
            ).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())

    def _take(self) -> list[Message]:
        try:
            messages = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(messages) < self.batch:
            try:
                messages.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return messages

    def _store(self, messages: list[Message]) -> None:
        delay = 1.0
        while True:
            try:
                result = self.ingestor.ingest(messages)
                break
            except (OperationalError, InterfaceError) as exc:
                # The database is away: keep the batch unacknowledged and try again; if we
                # are stopped meanwhile the broker still holds every message of it.
                log.warning("database unavailable (%s); retrying the batch in %.0f s", exc, delay)
                close_old_connections()
                if self.stopping.wait(delay):
                    return
                delay = min(delay * 2, 30)
            except Exception:
                # A bug, not the database: find the message at fault so it cannot stop the
                # stream for good (it raises again alone: parked with the error, acknowledged).
                log.exception("a batch of %d failed; ingesting one by one", len(messages))
                for message in messages:
                    self._store_alone(message)
                return
        self._done(messages, result)

    def _store_alone(self, message: Message) -> None:
        try:
            result = self.ingestor.ingest([message])
        except (OperationalError, InterfaceError):
            return  # unacknowledged: the broker delivers it again
        except Exception as exc:
            log.exception("message on %s cannot be ingested: parked", message.topic)
            self.ingestor.park(message, f"internal error: {exc!r}"[:1000])
            result = BatchResult(failed=1)
        self._done([message], result)

    def _done(self, messages: list[Message], result: BatchResult) -> None:
        """Count, acknowledge (on the connection they came on) and ask for rebirths."""
        for key, value in (
            ("stored", result.accepted),
            ("duplicate", result.duplicate),
            ("failed", result.failed),
            ("ignored", result.ignored),
        ):
            self.stats[key] += value
        generation = self.generation
        for message in messages:
            if message.generation == generation and message.qos > 0:
                self.client.ack(message.mid, message.qos)
        for group, edge_node in result.rebirths:
            self.client.publish(
                f"{sparkplug.NAMESPACE}/{group}/NCMD/{edge_node}", sparkplug.rebirth_payload(), 0
            )

    def _reload(self, version: tuple) -> tuple:
        current = mappings_version()
        if current == version:
            return version
        mappings = mappings_load()
        self.ingestor.mappings = mappings
        filters = subscriptions(mappings)
        added = [f for f in filters if f not in self.filters]
        removed = [f for f in self.filters if f not in filters]
        self.filters = filters
        if added:
            self.client.subscribe([(f, 1) for f in added])
        if removed:
            self.client.unsubscribe(removed)
        log.info("MQTT mappings reloaded: +%s -%s", added, removed)
        return current
