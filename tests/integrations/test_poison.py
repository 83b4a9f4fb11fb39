"""Issue 10, items 1 and 2: no value a client can send poisons the inbox.

Each case was found by probing the running app: it was answered 202 and then could not be
loaded, or answered 500 and sank the good events of its batch.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from coordination.models import Line
from integrations.models import InboxEvent, Integration
from integrations.services import inbox_process_batch
from tests.integrations.conftest import cloudevent

pytestmark = pytest.mark.django_db
BATCH = "application/cloudevents-batch+json"


def stamp(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


# --- item 1: time is bounded at acceptance --------------------------------------------------


@pytest.fixture
def window(settings):
    """The default window (30 days back, 5 minutes ahead), not the fixtures' wide one."""
    settings.EVENT_TIME_PAST_DAYS = 30
    settings.EVENT_TIME_FUTURE_SECONDS = 300


@pytest.mark.parametrize(
    "time",
    [
        "9999-12-31T23:59:59-14:00",  # beyond the largest storable instant once in UTC
        "0001-01-01T00:00:00+14:00",  # before the smallest
        "9000-01-01T00:00:00Z",  # storable, but would freeze the line: every later one stale
        "2000-01-01T00:00:00Z",
    ],
)
def test_time_outside_the_window_is_rejected_naming_time(post, window, time):
    event = cloudevent(time=time)
    response = post(event)
    assert response.status_code == 400, response.content
    assert fields(response) == ["time"]
    assert "30 days" in response.json()["errors"][0]["message"]
    assert not InboxEvent.objects.exists()


def test_time_inside_the_window_is_accepted(post, window):
    now = timezone.now()
    for moment in (now - timedelta(days=29), now + timedelta(seconds=200)):
        assert post(cloudevent(time=stamp(moment))).status_code == 202


def test_the_window_is_configurable(post, settings):
    settings.EVENT_TIME_PAST_DAYS, settings.EVENT_TIME_FUTURE_SECONDS = 1, 0
    now = timezone.now()
    assert post(cloudevent(time=stamp(now - timedelta(days=2)))).status_code == 400
    assert post(cloudevent(time=stamp(now + timedelta(minutes=2)))).status_code == 400
    assert post(cloudevent(time=stamp(now - timedelta(hours=2)))).status_code == 202


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_unstorable_datetime_in_data_is_rejected(post, value):
    response = post(cloudevent(data={"line": "L1", "status": "down", "expected_up_at": value}))
    assert response.status_code == 400
    assert fields(response) == ["data.expected_up_at"]


def _insert_raw(integration, event_id: str, time_sql: str) -> int:
    """A row as an unbounded earlier version accepted it, written straight to the table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO integrations_inboxevent (integration_id, source, event_id, type, time,"
            " received_at, site, data, attributes, status, attempts, error, error_field)"
            f" VALUES (%s, 'mes/riverside', %s, 'equipment.status', {time_sql}, now(), 'RIV',"
            " %s, '{}', 'received', 0, '', '') RETURNING id",
            [integration.pk, event_id, json.dumps({"line": "L2", "status": "down"})],
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_a_row_that_cannot_be_loaded_is_parked_and_its_chunk_proceeds(key, post, api):
    integration = Integration.objects.get(name="mes")
    post_ids = []
    for n in range(3):
        event = cloudevent(data={"line": "L1", "status": "idle", "reason": f"r{n}"})
        assert post(event).status_code == 202
        post_ids.append(InboxEvent.objects.get(event_id=event["id"]).pk)
    poisoned = _insert_raw(integration, "poison-1", "'9999-12-31T23:59:59-14:00'::timestamptz")
    chunk = [*post_ids[:1], poisoned, *post_ids[1:]]

    statuses = inbox_process_batch(chunk)

    assert statuses[poisoned] == "failed"
    assert [statuses[pk] for pk in post_ids] == ["applied"] * 3
    assert Line.objects.get(code="L1").status == "idle"
    row = InboxEvent.objects.get(pk=poisoned)  # loadable again: the list and admin work
    assert (row.status, row.error_field) == ("failed", "time")
    assert "9999" in row.error or "10000" in row.error
    assert Line.objects.get(code="L2").status != "down"
    assert api("admin").get("/api/v1/events/").status_code == 200


@pytest.mark.postgres
def test_admin_list_works_with_a_parked_unloadable_row(key, admin_client):
    integration = Integration.objects.get(name="mes")
    poisoned = _insert_raw(integration, "poison-2", "'0001-01-01T00:00:00+14:00'::timestamptz")
    inbox_process_batch([poisoned])
    assert InboxEvent.objects.get(pk=poisoned).status == "failed"
    assert admin_client.get("/admin/integrations/inboxevent/").status_code == 200


@pytest.mark.parametrize("set_based", [False, True], ids=["one-at-a-time", "set-based"])
def test_a_row_whose_apply_crashes_is_parked_and_the_others_apply(
    key, post, monkeypatch, set_based
):
    """Set-based: the bug sinks the type's set apply, which then runs one event at a time,
    where it parks only the row it crashes on."""
    from coordination import apply, apply_set

    real = apply.event_apply

    def flaky(event):
        if event.data.get("reason") == "boom":
            raise ZeroDivisionError("a bug in apply")
        return real(event)

    real_set = apply_set.SET_APPLIERS["equipment.status"]

    def flaky_set(events, sites, outcomes):
        if any(event.data.get("reason") == "boom" for event in events):
            raise ZeroDivisionError("a bug in the set apply")
        return real_set(events, sites, outcomes)

    monkeypatch.setattr("integrations.services.event_apply", flaky)
    monkeypatch.setitem(apply_set.SET_APPLIERS, "equipment.status", flaky_set)
    ids = []
    for reason in ("a", "boom", "c"):
        event = cloudevent(data={"line": "L3", "status": "idle", "reason": reason})
        post(event)
        ids.append(InboxEvent.objects.get(event_id=event["id"]).pk)
    statuses = inbox_process_batch(ids, set_based=set_based)
    assert [statuses[pk] for pk in ids] == ["applied", "failed", "applied"]
    assert "ZeroDivisionError" in InboxEvent.objects.get(pk=ids[1]).error


# --- item 2: NUL, lone surrogates and numbers beyond float range ------------------------------

# JSON text as a client sends it; json.dumps would not write these.
POISON = {
    "NUL in id": ('"id": "evt\\u0000x"', "id"),
    "lone surrogate in id": ('"id": "evt\\ud800"', "id"),
    "NUL in source": ('"source": "mes\\u0000"', "source"),
    "NUL in data.reason": (
        '"data": {"line": "L1", "status": "down", "reason": "a\\u0000b"}',
        "data.reason",
    ),
    "surrogate in data.reason": (
        '"data": {"line": "L1", "status": "down", "reason": "\\udfff"}',
        "data.reason",
    ),
    "surrogate in data.line": ('"data": {"line": "L\\ud800", "status": "down"}', "data.line"),
    "NUL in an extension": ('"subject": "x\\u0000"', "subject"),
    "surrogate in an extension": ('"partitionkey": "\\ud83d"', "partitionkey"),
    "1e400 in an extension": ('"sequence": 1e400', "sequence"),
    "-1e400 in data": ('"data": {"line": "L1", "status": "down", "extra": -1e400}', "data.extra"),
    "1e400 as a count": (
        '"type": "production.progress", "data": {"job": "WO-60001", "good": 1e400, "scrap": 0}',
        "data.good",
    ),
    "NUL in a nested extension": ('"ext": {"a": ["ok", "\\u0000"]}', "ext.a[1]"),
    "site too long": (
        '"data": {"line": "L1", "status": "down", "site": "' + "S" * 21 + '"}',
        "data.site",
    ),
    "count beyond a 32-bit column": (
        '"type": "production.progress", '
        '"data": {"job": "WO-60001", "good": 99999999999999999999, "scrap": 0}',
        "data.good",
    ),
}


def raw_event(override: str, event_id: str) -> str:
    """A valid event as JSON text with some members replaced by raw JSON text."""
    event = cloudevent(id=event_id)
    body = json.dumps(event)[:-1]  # drop the closing brace; later members override earlier
    return f"{body}, {override}}}"


@pytest.mark.parametrize("case", list(POISON))
def test_poison_value_is_a_400_naming_the_field(post, case):
    override, field = POISON[case]
    response = post(raw_event(override, f"p-{case}"), raw=True)
    assert response.status_code == 400, response.content
    assert field in fields(response), response.json()
    assert not InboxEvent.objects.exists()


@pytest.mark.parametrize("case", list(POISON))
def test_poison_value_in_a_batch_does_not_sink_the_good_one(post, case):
    override, field = POISON[case]
    good = cloudevent()
    body = f"[{json.dumps(good)}, {raw_event(override, f'b-{case}')}]"
    response = post(body, content_type=BATCH, raw=True)
    assert response.status_code == 200, response.content
    good_result, bad_result = response.json()["results"]
    assert good_result["status"] == "accepted"
    assert bad_result["status"] == "rejected"
    assert field in [e["field"] for e in bad_result["errors"]]
    assert list(InboxEvent.objects.values_list("event_id", flat=True)) == [good["id"]]


def test_a_bad_field_name_is_reported_printably(post):
    response = post(
        raw_event('"data": {"line": "L1", "status": "down", "\\ud800": 1}', "k"), raw=True
    )
    assert response.status_code == 400
    assert fields(response) == ["data.\\ud800"]
