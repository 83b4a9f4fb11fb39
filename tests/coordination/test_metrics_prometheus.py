"""``/metrics`` for Prometheus: refused without the token, parsed by prometheus_client's own
parser, figures read from the database at scrape time."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from coordination.models import Heartbeat
from exceptions.models import BoardVersion
from integrations.models import InboxEvent
from tests.factories import ExceptionCaseFactory

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-scrape-token"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(token=TOKEN):
    return Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def samples(response) -> dict:
    """{(name, frozenset(labels)): value} from the text the endpoint returned."""
    text = response.content.decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_without_a_configured_token_the_endpoint_does_not_exist(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    assert scrape("anything").status_code == 404


def test_refused_without_the_right_token(token):
    assert Client().get("/metrics").status_code == 401
    assert scrape("wrong").status_code == 401
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_scrape_reads_the_plant_from_the_database(token):
    now = timezone.now()
    common = {"type": "equipment.status", "site": "RIV", "data": {}, "time": now}
    InboxEvent.objects.create(
        source="t", event_id="1", received_at=now - timedelta(seconds=90), **common
    )
    InboxEvent.objects.create(source="t", event_id="2", received_at=now, **common)
    InboxEvent.objects.create(source="t", event_id="3", status="failed", **common)
    InboxEvent.objects.create(source="t", event_id="4", status="applied", **common)
    ExceptionCaseFactory(kind="downtime", severity=4)
    ExceptionCaseFactory(kind="downtime", severity=4)
    ExceptionCaseFactory(kind="shortage", severity=2, status="acknowledged")
    ExceptionCaseFactory(kind="shortage", severity=2, status="resolved")
    BoardVersion.objects.update_or_create(pk=1, defaults={"n": 42})
    Heartbeat.objects.create(name="worker", seen_at=now - timedelta(seconds=20))

    response = scrape()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    got = samples(response)
    assert got[("plant_inbox_depth", frozenset({("status", "received")}))] == 2
    assert got[("plant_inbox_depth", frozenset({("status", "failed")}))] == 1
    assert got[("plant_inbox_events_processed_total", frozenset({("status", "applied")}))] == 1
    assert got[("plant_inbox_oldest_received_age_seconds", frozenset())] >= 90
    downtime = frozenset({("kind", "downtime"), ("severity", "critical")})
    assert got[("plant_exceptions_open", downtime)] == 2
    shortage = frozenset({("kind", "shortage"), ("severity", "medium")})
    assert got[("plant_exceptions_open", shortage)] == 1  # the resolved one is not open
    assert got[("plant_board_version_total", frozenset())] == 42
    assert 20 <= got[("plant_worker_heartbeat_age_seconds", frozenset({("name", "worker")}))] < 3600


def test_scrape_of_an_empty_plant(token):
    got = samples(scrape())
    assert got[("plant_inbox_depth", frozenset({("status", "received")}))] == 0
    assert got[("plant_inbox_oldest_received_age_seconds", frozenset())] == 0
    assert got[("plant_tasks_active", frozenset({("state", "overdue")}))] == 0


def test_scrape_shows_the_outbox_backlog_and_lag(token):
    from django.db import transaction

    from coordination.outbox import outbox_add
    from integrations.delivery import target_ensure
    from integrations.models import OutboxDelivery

    target_ensure(name="erp", url="http://127.0.0.1:9/erp/messages")
    target_ensure(name="mes", url="http://127.0.0.1:9/mes/messages")
    with transaction.atomic():
        outbox_add(
            topic="order.status_changed",
            aggregate="order:SO-1",
            data={"order": "SO-1", "status": "cancelled", "previous": "open", "changed_at": ""},
        )
    OutboxDelivery.objects.update(created_at=timezone.now() - timedelta(seconds=120))

    got = samples(scrape())
    assert got[("plant_outbox_backlog", frozenset({("status", "pending")}))] == 2  # ERP and MES
    assert got[("plant_outbox_backlog", frozenset({("status", "dead")}))] == 0
    assert got[("plant_outbox_lag_seconds", frozenset())] >= 120


def test_scrape_shows_how_long_the_last_escalation_sweep_took(token):
    from workflows.tasks import escalation_sweep_task

    escalation_sweep_task()  # what beat sends every 15 s, run here in-process

    got = samples(scrape())
    assert got[("plant_sweep_duration_seconds", frozenset({("name", "escalation-sweep")}))] >= 0
    age = got[("plant_worker_heartbeat_age_seconds", frozenset({("name", "escalation-sweep")}))]
    assert age < 60
