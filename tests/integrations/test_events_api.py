"""POST /api/v1/events through Django's full request stack: every status code."""

import json

import pytest

from integrations.models import InboxEvent, IntegrationKey
from integrations.services import integration_key_create, integration_key_revoke
from tests.integrations.conftest import cloudevent

pytestmark = pytest.mark.django_db
BATCH = "application/cloudevents-batch+json"


def test_one_event_is_accepted_and_stored(post):
    event = cloudevent(time="2026-11-27T08:00:00+01:00")
    response = post(event)
    assert response.status_code == 202
    assert response.json() == {"source": "mes/riverside", "id": event["id"], "status": "accepted"}
    row = InboxEvent.objects.get(event_id=event["id"])
    assert row.type == "equipment.status"
    assert row.time.isoformat() == "2026-11-27T07:00:00+00:00"
    assert row.received_at is not None and row.site == "RIV"
    assert row.data == {"line": "L1", "status": "down", "reason": "jam"}


def test_plain_json_content_type_is_a_single_event(post):
    assert post(cloudevent(), content_type="application/json; charset=utf-8").status_code == 202


def test_same_source_and_id_again_is_a_duplicate_not_stored_twice(post):
    event = cloudevent()
    post(event)
    response = post(event)
    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"
    assert InboxEvent.objects.filter(event_id=event["id"]).count() == 1


def test_same_id_from_another_source_is_a_different_event(post):
    event = cloudevent()
    post(event)
    assert post({**event, "source": "erp/riverside"}).status_code == 202


def test_missing_time_defaults_to_arrival(post):
    event = cloudevent()
    del event["time"]
    assert post(event).status_code == 202
    row = InboxEvent.objects.get(event_id=event["id"])
    assert row.time == row.received_at


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer nope"},
        {"HTTP_AUTHORIZATION": "Bearer"},
        {"HTTP_AUTHORIZATION": "Token abc"},
        {"HTTP_AUTHORIZATION": "Bearer a b"},
    ],
    ids=["missing", "unknown", "empty", "wrong-scheme", "spaces"],
)
def test_missing_or_unknown_key_is_401(client, plant, headers):
    response = client.post(
        "/api/v1/events", json.dumps(cloudevent()), "application/cloudevents+json", **headers
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not InboxEvent.objects.exists()


def test_revoked_key_stops_working_at_once(post, key):
    assert post(cloudevent()).status_code == 202
    integration_key_revoke(key_id=IntegrationKey.objects.get().pk)
    assert post(cloudevent()).status_code == 401


def test_inactive_integration_is_refused(post, key):
    IntegrationKey.objects.get().integration.__class__.objects.update(active=False)
    assert post(cloudevent()).status_code == 401


def test_type_not_allowed_for_the_key_is_403(post, plant):
    _, narrow = integration_key_create(name="qms", types=["quality.hold"])
    response = post(cloudevent(), key=narrow)
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {"field": "type", "message": "this key may not send equipment.status events"}
    ]
    assert not InboxEvent.objects.exists()


def test_body_over_one_mebibyte_is_413(post):
    event = cloudevent(data={"line": "L1", "status": "down", "reason": "x" * (1024 * 1024)})
    response = post(event)
    assert response.status_code == 413
    assert not InboxEvent.objects.exists()


def test_other_content_type_is_415(post):
    response = post(cloudevent(), content_type="text/plain")
    assert response.status_code == 415
    assert "content type must be" in response.json()["detail"]


@pytest.mark.parametrize("body", ["{not json", " ", '{"a": NaN}', "\xff\xfe"])
def test_malformed_json_is_400(post, body):
    response = post(body, raw=True)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_a_list_sent_as_a_single_event_is_400(post):
    response = post([cloudevent()])
    assert response.status_code == 400
    assert "cloudevents-batch+json" in response.json()["detail"]


def test_batch_mixing_good_duplicate_and_bad_events(post):
    seen = cloudevent()
    post(seen)
    good = cloudevent(data={"lot": "LOT-M0002", "reason": "seal"}, type="quality.hold")
    bad = cloudevent(data={"line": "L1", "status": "exploded"})
    forbidden_free = cloudevent(
        data={"item": "MAT-CAN-330", "quantity_short": 5}, type="material.shortage"
    )
    response = post([good, seen, bad, {"nonsense": True}, forbidden_free, good], content_type=BATCH)

    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [
        "accepted",
        "duplicate",
        "rejected",
        "rejected",
        "accepted",
        "duplicate",
    ]
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 2, 2)
    assert body["results"][2]["errors"] == [
        {"field": "data.status", "message": "must be one of running, idle, down, maintenance"}
    ]
    assert InboxEvent.objects.count() == 3


def test_batch_type_not_allowed_is_rejected_per_event(post, plant):
    _, narrow = integration_key_create(name="qms", types=["quality.hold"])
    hold = cloudevent(type="quality.hold", data={"lot": "LOT-M0002", "reason": "seal"})
    body = post([hold, cloudevent()], content_type=BATCH, key=narrow).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected"]
    assert body["results"][1]["errors"][0]["field"] == "type"


@pytest.mark.parametrize(
    ("body", "code"),
    [([], "empty_batch"), ({"not": "a list"}, "not_a_batch"), ([{}] * 1001, "batch_too_large")],
)
def test_bad_batches_are_400(post, body, code):
    response = post(body, content_type=BATCH)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_batch_of_a_thousand_is_accepted(post):
    events = [cloudevent(data={"line": "L2", "status": "running"}) for _ in range(1000)]
    body = post(events, content_type=BATCH).json()
    assert body["accepted"] == 1000
    assert InboxEvent.objects.count() == 1000


def test_event_without_site_from_integration_without_default_is_rejected(post, plant):
    from coordination.models import Site

    Site.objects.create(code="S2", name="Second plant")  # two sites: no implicit default
    _, key = integration_key_create(name="no-site")
    response = post(cloudevent(), key=key)
    assert response.status_code == 400
    assert {
        "field": "data.site",
        "message": "is required: this integration has no default site",
    } in (response.json()["errors"])


def test_key_use_is_recorded_at_most_once_a_minute(post, key):
    post(cloudevent())
    first = IntegrationKey.objects.get().last_used_at
    post(cloudevent())
    assert first is not None
    assert IntegrationKey.objects.get().last_used_at == first
