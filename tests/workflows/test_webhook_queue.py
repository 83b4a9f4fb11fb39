"""Workflow webhooks (``task.created``, ``task.escalated``, ``decision.recorded``) are outbox
messages: written in the change's transaction, delivered by the relay to the targets that
subscribe, signed to the Standard Webhooks spec (verified here with the ``standardwebhooks``
package, as a receiver does), the same ``webhook-id`` on every retry.

The relay runs on its own queue (``webhooks``): the on-commit nudge and beat's sweep land
there, its own worker consumes it, so a slow receiver never holds up inbox processing. Real
Redis, real Celery workers, real HTTP (a recording receiver, the reference ERP/MES).
"""

import http.server
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from celery.beat import Scheduler
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from coordination.demo import demo_seed
from coordination.models import Line, OutboxMessage
from coordination.outbox import NOTIFICATION_TOPICS, TOPICS
from integrations.delivery import outbox_relay, target_ensure
from integrations.models import InboxEvent, OutboxDelivery
from integrations.services import events_accept, integration_key_create
from plantcoord.celery import app
from tests.conftest import free_port, wait_for
from tests.integrations.reference_peer import lot_message
from workflows.models import Task
from workflows.sla import escalation_sweep
from workflows.task_actions import task_complete

# The recording receiver listens on 19150-19199: this file's part of the webhooks suite's
# port range (19100-19199) on the shared machine.
RECEIVER_PORTS = (19150, 19200)


class Receiver(http.server.ThreadingHTTPServer):
    """Records every POST (headers, raw body) and answers the next of ``statuses``, then 200."""

    daemon_threads = True

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.seen: list[tuple[dict, bytes, int]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port(*RECEIVER_PORTS)), self.Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hooks"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            server = self.server
            with server.lock:
                status = server.statuses.pop(0) if server.statuses else 200
                server.seen.append((dict(self.headers), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.shutdown()
    running.server_close()


@pytest.fixture
def hooks(db, receiver):
    """A webhook receiver (a chat bridge, say) subscribed to the workflow notifications."""
    target, _ = target_ensure(name="chat", url=receiver.url, topics=list(NOTIFICATION_TOPICS))
    return target


@pytest.fixture
def quick(settings):
    settings.OUTBOX_BACKOFF_BASE = 0.01
    settings.OUTBOX_BACKOFF_MAX = 0.05


def relay_until(condition, what: str, timeout: float = 30):
    """Run the relay in this process (as the webhooks worker would) until ``condition()``."""

    def step():
        outbox_relay(budget=2)
        return condition()

    return wait_for(step, timeout=timeout, interval=0.02, what=what)


def messages(topic=None):
    qs = OutboxMessage.objects.order_by("id")
    return list(qs.filter(topic=topic) if topic else qs)


def undelivered() -> int:
    return OutboxDelivery.objects.exclude(status="delivered").count()


# --- written with the change -------------------------------------------------------------------


@pytest.mark.django_db
def test_new_tasks_are_outbox_messages_in_the_contracts_shape(plant, order_change, hooks):
    case = order_change()
    tasks = {t.pk: t for t in Task.objects.filter(case=case)}
    created = messages("task.created")
    assert sorted(int(m.payload["task"]) for m in created) == sorted(tasks)
    for message in created:
        task = tasks[int(message.payload["task"])]
        assert message.aggregate == f"case:{case.pk}"  # a case's messages arrive in order
        assert message.payload == {
            "task": str(task.pk),
            "case": str(case.pk),
            "title": task.title,
            "status": "open",
            "due_at": task.due_at.isoformat(),
            "owner_group": task.owner_group.name,  # the function's name, not an id
            "assignee": "",
        }


@pytest.mark.django_db
def test_without_a_receiver_no_notification_is_written(plant, order_change, targets):
    """ERP and MES take the plant's messages, not the task chatter: nothing to write."""
    case = order_change()
    assert Task.objects.filter(case=case).count() == 2
    assert not OutboxMessage.objects.filter(topic__in=NOTIFICATION_TOPICS).exists()
    targets["mes"].topics = ["task.created"]  # now someone takes task.created (only)
    targets["mes"].save()
    task = Task.objects.get(case=case, owner_group__name="planner")
    escalation_sweep(now=task.due_at + timedelta(seconds=1))
    assert not messages("task.escalated")
    second = order_change("SO-10102")
    assert [m.aggregate for m in messages("task.created")] == [f"case:{second.pk}"] * 2
    assert OutboxDelivery.objects.filter(target=targets["mes"]).count() == 2
    assert not OutboxDelivery.objects.filter(target=targets["erp"]).exists()


@pytest.mark.django_db
def test_a_change_that_rolls_back_leaves_no_webhook(plant, order_change, hooks):
    with pytest.raises(RuntimeError), transaction.atomic():
        order_change()
        raise RuntimeError("the change failed after the tasks were created")
    assert not Task.objects.exists()
    assert not OutboxMessage.objects.exists() and not OutboxDelivery.objects.exists()


@pytest.mark.django_db
def test_escalations_and_decisions_are_messages_with_the_new_owner(
    plant, order_change, role_user, hooks
):
    role_user("supervisor")
    role_user("planner")
    case = order_change()
    task = Task.objects.get(case=case, owner_group__name="planner")
    escalation_sweep(now=task.due_at + timedelta(minutes=16))  # notified, then handed over
    escalated = [m.payload for m in messages("task.escalated") if m.payload["task"] == str(task.pk)]
    levels = [(p["level"], p["action"]) for p in escalated]
    assert levels[:2] == [("1", "notify_group"), ("2", "assign")]
    assert escalated[0]["owner_group"] == "planner"
    assert escalated[1]["owner_group"] == "supervisor"  # handed to the shift supervisor

    other = Task.objects.get(case=case, owner_group__name="sales")
    sales = role_user("sales")
    task_complete(task_id=other.pk, actor=sales, option=other.options[0]["value"], value="x",
                  rationale="customer agrees")  # fmt: skip
    [decided] = messages("decision.recorded")
    assert decided.aggregate == f"case:{case.pk}"
    assert set(decided.payload) == set(TOPICS["decision.recorded"][1])
    assert decided.payload["rationale"] == "customer agrees" and decided.payload["value"] == "x"
    assert decided.payload["chosen"] == other.options[0]["value"]
    assert decided.payload["assignee"] == sales.username  # claimed to decide
    assert decided.payload["predicted_completion_at"] == ""
    assert all(isinstance(v, str) for m in messages() for v in m.payload.values())


# --- delivered: the Standard Webhooks contract -------------------------------------------------


@pytest.mark.django_db
def test_signed_to_the_standard_webhooks_spec_with_one_id_across_retries(
    plant, order_change, hooks, receiver, quick
):
    receiver.statuses = [503, 503]  # the receiver is down for the first two attempts
    case = order_change()
    keys = [str(m.key) for m in messages("task.created")]
    assert len(keys) == 2
    relay_until(lambda: undelivered() == 0, "both task.created delivered")

    ids = [headers["webhook-id"] for headers, _body, _status in receiver.seen]
    assert ids == [keys[0], keys[0], keys[0], keys[1]]  # retried with the same id, then in order
    for headers, body, _status in receiver.seen:
        envelope = Webhook(hooks.secret).verify(body, headers)  # as the receiver checks it
        message = OutboxMessage.objects.get(key=headers["webhook-id"])
        assert envelope["type"] == "task.created" and envelope["id"] == str(message.key)
        assert envelope["data"] == message.payload and envelope["data"]["case"] == str(case.pk)
        assert set(envelope) == {"type", "id", "timestamp", "data"}
        tampered = body.replace(b'"open"', b'"done"')
        with pytest.raises(WebhookVerificationError):
            Webhook(hooks.secret).verify(tampered, headers)
        assert not any(name.lower().startswith("x-plantcoord") for name in headers)
    # Each retry signs again (fresh timestamp); the body, and so the receiver's view, is one.
    assert len({body for _h, body, _s in receiver.seen[:3]}) == 1
    assert json.loads(receiver.seen[-1][1])["type"] == "task.created"


@pytest.mark.django_db
def test_the_reference_peer_verifies_and_takes_a_cases_messages_in_order(
    plant, order_change, role_user, targets, peer, quick
):
    targets["erp"].topics = list(NOTIFICATION_TOPICS)
    targets["erp"].save()
    targets["mes"].enabled = False
    targets["mes"].save()
    sales = role_user("sales")
    case = order_change()
    task = Task.objects.get(case=case, owner_group__name="sales")
    task_complete(task_id=task.pk, actor=sales, option=task.options[0]["value"], value="x",
                  rationale="customer agrees")  # fmt: skip
    relay_until(lambda: undelivered() == 0, "the case's messages at the reference ERP")

    got = peer.messages("erp")
    written = messages()
    assert [m["id"] for m in got["messages"]] == [str(m.key) for m in written]
    assert [m["type"] for m in got["messages"]] == [m.topic for m in written]
    assert "decision.recorded" in [m.topic for m in written]
    assert got["duplicates"] == 0


@pytest.mark.django_db
def test_webhook_receivers_are_outbox_targets_on_the_page_and_in_admin(
    client, role_user, hooks, django_user_model
):
    client.force_login(role_user("supervisor"))
    page = client.get("/integrations/").content.decode()
    assert "<strong>chat</strong>" in page
    assert "task.created, task.escalated, decision.recorded" in page
    client.force_login(django_user_model.objects.create_superuser("root", "r@x", "pw-Secret-1"))
    assert client.get(f"/admin/integrations/outboxtarget/{hooks.pk}/change/").status_code == 200
    assert client.get("/admin/workflows/webhookendpoint/").status_code == 404  # retired
    assert "Webhook endpoints" not in client.get("/admin/").content.decode()


# --- the webhooks queue ------------------------------------------------------------------------


def queued(queue: str) -> list[str]:
    """Take every message off ``queue`` (the real Redis broker); the task names they carry."""
    names = []
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.queue_declare(queue, durable=True)
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            names.append(message.headers["task"])
    return names


def purge(*queues: str) -> None:
    """Messages other tests left (the test database restarts its ids) must not reach this
    test's workers."""
    for queue in queues:
        queued(queue)


def test_the_relay_is_routed_to_the_webhooks_queue_everything_else_is_not():
    route = app.amqp.router.route({}, "integrations.outbox_relay")
    assert route["queue"].name == settings.WEBHOOK_QUEUE == "webhooks"
    for name in (
        "integrations.inbox_process",
        "workflows.escalation_sweep",
        "workflows.notifications_email",
        "integrations.reconcile",
    ):
        assert app.amqp.router.route({}, name)["queue"].name == app.conf.task_default_queue


def test_beats_sweep_lands_on_the_webhooks_queue():
    purge("webhooks", "celery")
    scheduler = Scheduler(app, lazy=True)
    entry = scheduler.Entry(
        name="outbox-relay-sweep", app=app, **settings.CELERY_BEAT_SCHEDULE["outbox-relay-sweep"]
    )
    scheduler.apply_async(entry, advance=False)  # what beat does when the entry is due
    assert queued("webhooks") == ["integrations.outbox_relay"]
    assert queued("celery") == []


@pytest.mark.django_db
def test_the_on_commit_nudge_lands_on_the_webhooks_queue(
    plant, order_change, hooks, django_capture_on_commit_callbacks
):
    purge("webhooks", "celery")
    with django_capture_on_commit_callbacks(execute=True):
        order_change()
    assert queued("webhooks") == ["integrations.outbox_relay"]  # one nudge for the transaction
    assert "integrations.outbox_relay" not in queued("celery")


def test_bin_run_and_compose_start_a_webhooks_worker():
    root = Path(settings.BASE_DIR)
    run = (root / "bin" / "run").read_text()
    assert "-Q celery " in run and "-Q webhooks " in run
    compose = (root / "docker-compose.yml").read_text()
    assert '"-Q", "celery"' in compose and '"-Q", "webhooks"' in compose


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_inbox_processing_goes_on_while_a_delivery_hangs(worker_process, targets, peer):
    """ERP takes 20 s to answer: the webhooks worker waits on it while the default worker
    applies a line-down event. Were the relay on the default queue, the event would wait."""
    demo_seed(users=False)
    integration, _ = integration_key_create(name="mes")
    purge("webhooks", "celery")
    targets["erp"].timeout = 40
    targets["erp"].save()
    peer.control(system="erp", mode="slow", delay_ms=20_000)
    inbox = worker_process("-Q", "celery", "--pool=solo", "-n", "inbox@%h")
    hooks = worker_process("-Q", "webhooks", "--pool=solo", "-n", "hooks@%h")
    held = lot_message("lot.held", "LOT-SLOW")  # committed: the nudge goes out
    # The peer has the hold and is still "thinking": the relay waits on its answer.
    wait_for(lambda: peer.messages("erp")["count"] == 1, timeout=60, what=hooks.output())

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
        what=f"the inbox worker to process the event:\n{inbox.output()[-3000:]}",
    )
    assert Line.objects.get(code="L1").status == "down"
    erp = OutboxDelivery.objects.get(message=held, target=targets["erp"])
    assert erp.status == "pending" and erp.lease_until is not None  # still waiting on ERP
    wait_for(
        lambda: OutboxDelivery.objects.get(pk=erp.pk).status == "delivered",
        timeout=60,
        what=hooks.output()[-3000:],
    )
    received = "Task integrations.outbox_relay["  # the worker's log line for each one it runs
    assert received in hooks.output() and received not in inbox.output()
