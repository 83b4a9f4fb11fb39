"""Webhook deliveries run on their own queue and worker slots, time out before they retry,
and every copy of one delivery carries the same ``webhook-id`` for the receiver to
de-duplicate by.

A real receiver on loopback that takes 9 s, real Celery workers on Redis.
"""

import http.server
import threading
import time

import pytest
from django.conf import settings
from django.utils import timezone

from coordination.demo import demo_seed
from coordination.models import Line
from integrations.models import InboxEvent
from integrations.services import events_accept, integration_key_create
from plantcoord.celery import app
from tests.conftest import wait_for
from workflows.models import WebhookDelivery, WebhookEndpoint
from workflows.notify import webhook_deliver
from workflows.tasks import webhook_deliver_task


class SlowReceiver(http.server.ThreadingHTTPServer):
    """Takes ``delay`` seconds per request (the first ``slow`` requests), records each one,
    and applies a message once per ``webhook-id``, as a de-duplicating receiver would."""

    daemon_threads = True

    def __init__(self, delay: float, slow: int = 1):
        self.delay, self.slow = delay, slow
        self.log: list[tuple[str, str, float]] = []  # (what, webhook-id, monotonic)
        self.applied: set[str] = set()
        self.lock = threading.Lock()
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), self.Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hook"

    def starts(self) -> list[str]:
        return [wid for what, wid, _ in self.log if what == "start"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            server = self.server
            self.rfile.read(int(self.headers["Content-Length"]))
            webhook_id = self.headers.get("webhook-id", "")
            with server.lock:
                server.log.append(("start", webhook_id, time.monotonic()))
                slow = len(server.starts()) <= server.slow
            if slow:
                server.release.wait(server.delay)
            with server.lock:
                server.applied.add(webhook_id)
                server.log.append(("end", webhook_id, time.monotonic()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass


def purge_webhooks_queue() -> None:
    """Deliveries other tests committed (or an earlier run left: the test database restarts
    its ids) must not reach this test's worker as copies of its own delivery."""
    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(settings.WEBHOOK_QUEUE, durable=True)
        conn.default_channel.queue_purge(settings.WEBHOOK_QUEUE)


def delivery_for(url: str) -> WebhookDelivery:
    endpoint = WebhookEndpoint.objects.create(name="erp", url=url, secret="s3cret")
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event="task.created", payload={"task": 1}, created_at=timezone.now()
    )


def test_deliveries_are_routed_to_their_own_queue():
    route = app.amqp.router.route({}, "workflows.webhook_deliver")
    assert route["queue"].name == settings.WEBHOOK_QUEUE == "webhooks"
    # Everything else stays on the default queue the inbox worker consumes.
    for name in ("integrations.inbox_process", "workflows.escalation_sweep"):
        assert app.amqp.router.route({}, name)["queue"].name == app.conf.task_default_queue


def test_the_client_gives_up_before_the_first_retry():
    assert settings.WEBHOOK_TIMEOUT < settings.WEBHOOK_RETRY_DELAY
    assert webhook_deliver_task.retry_backoff == settings.WEBHOOK_RETRY_DELAY
    assert webhook_deliver_task.retry_jitter is False  # no retry sooner than the delay


def test_bin_run_and_compose_start_a_webhooks_worker():
    from pathlib import Path

    root = Path(settings.BASE_DIR)
    run = (root / "bin" / "run").read_text()
    assert "-Q celery " in run and "-Q webhooks " in run
    compose = (root / "docker-compose.yml").read_text()
    assert '"-Q", "celery"' in compose and '"-Q", "webhooks"' in compose


@pytest.mark.django_db
def test_every_attempt_carries_the_same_webhook_id():
    receiver = SlowReceiver(delay=0, slow=0)
    delivery = delivery_for(receiver.url)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending")
    assert webhook_deliver(delivery.pk) == "delivered"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending")
    assert webhook_deliver(delivery.pk) == "delivered"
    assert receiver.starts() == [f"whd_{delivery.pk}"] * 2
    receiver.shutdown()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_9s_receiver_gets_copies_of_one_message_never_overlapping(worker_process, monkeypatch):
    """The client times out (5 s) before the receiver is done (9 s); the retry comes after
    the retry delay (here 12 s, 30 s by default), when the receiver has finished the first
    copy, and carries the same ``webhook-id``: the receiver applies the message once."""
    monkeypatch.setenv("WEBHOOK_RETRY_DELAY", "12")
    purge_webhooks_queue()
    receiver = SlowReceiver(delay=9)
    delivery = delivery_for(receiver.url)
    worker = worker_process("-Q", "webhooks", "--pool=threads", "--concurrency=2")
    webhook_deliver_task.delay(delivery.pk)
    wait_for(
        lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered",
        timeout=90,
        what=f"the delivery; worker log:\n{worker.output()}",
    )
    delivery.refresh_from_db()
    wid = f"whd_{delivery.pk}"
    assert receiver.starts() == [wid, wid]  # the timed-out copy and the retry, one id
    assert receiver.applied == {wid}
    events = [what for what, _, _ in receiver.log]
    assert events == ["start", "end", "start", "end"]  # the retry never overlapped the first
    assert delivery.attempts == 2
    assert "timed out" in worker.output() or "Read timed out" in worker.output()
    receiver.shutdown()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_inbox_processing_goes_on_while_a_delivery_hangs(worker_process):
    demo_seed(users=False)
    integration, _ = integration_key_create(name="mes")
    purge_webhooks_queue()
    receiver = SlowReceiver(delay=60)  # released by the test
    delivery = delivery_for(receiver.url)
    worker_process("-Q", "celery", "--pool=solo")
    hooks = worker_process("-Q", "webhooks", "--pool=solo")
    webhook_deliver_task.delay(delivery.pk)
    wait_for(lambda: receiver.starts(), what=f"the delivery to start:\n{hooks.output()}")

    events_accept(
        integration=integration,
        raw_events=[
            {
                "specversion": "1.0",
                "id": "evt-while-hooks-hang",
                "source": "mes/riverside",
                "type": "equipment.status",
                "time": timezone.now().isoformat(),
                "data": {"line": "L1", "status": "down", "reason": "jam"},
            }
        ],
    )
    wait_for(
        lambda: InboxEvent.objects.filter(
            event_id="evt-while-hooks-hang", status="applied"
        ).exists(),
        what="the inbox worker to process the event",
    )
    assert Line.objects.get(code="L1").status == "down"
    assert [what for what, _, _ in receiver.log] == ["start"]  # the delivery still hangs
    receiver.release.set()  # and then it ends, delivered
    wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered")
    receiver.shutdown()
