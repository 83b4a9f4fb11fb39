"""The official CloudEvents Python SDK (``cloudevents`` on PyPI) as the client, over real HTTP:
structured mode, binary mode and a batch, with and without ``datacontenttype``.

Without ``datacontenttype`` the SDK's binary mode sends no ``Content-Type`` at all; the
receiver reads the body as JSON (every event type's data is JSON). ``requests`` sends the
SDK's headers and body exactly as given (no ``Content-Type`` added for a bytes body).
"""

from datetime import UTC, datetime

import pytest
import requests
from cloudevents.core.bindings import http
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from integrations.models import InboxEvent

pytestmark = pytest.mark.django_db(transaction=True)

WHEN = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def sdk_event(event_id: str, *, content_type: str | None = None, data=None, **attributes):
    attributes = {
        "type": "equipment.status",
        "source": "mes/riverside",
        "id": event_id,
        "time": WHEN,
        **attributes,
    }
    if content_type:
        attributes["datacontenttype"] = content_type
    return CloudEvent(
        attributes=attributes,
        data={"line": "L2", "status": "down", "reason": "jam"} if data is None else data,
    )


def send(live_server, key, message) -> requests.Response:
    headers = {**message.headers, "Authorization": f"Bearer {key}"}
    return requests.post(
        f"{live_server.url}/api/v1/events", data=message.body, headers=headers, timeout=30
    )


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_structured_event_from_the_sdk_is_accepted(live_server, key, content_type):
    message = http.to_structured_event(sdk_event("sdk-s-1", content_type=content_type))
    response = send(live_server, key, message)
    assert response.status_code == 202, response.json()
    assert response.json() == {"source": "mes/riverside", "id": "sdk-s-1", "status": "accepted"}
    row = InboxEvent.objects.get(source="mes/riverside", event_id="sdk-s-1")
    assert row.type == "equipment.status" and row.time == WHEN
    assert row.data == {"line": "L2", "status": "down", "reason": "jam"}


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_binary_event_from_the_sdk_is_accepted(live_server, key, content_type):
    message = http.to_binary_event(sdk_event("sdk-b-1", content_type=content_type))
    assert message.headers["ce-type"] == "equipment.status"
    assert ("content-type" in message.headers) == (content_type is not None)
    response = send(live_server, key, message)
    assert response.status_code == 202, response.json()
    assert response.json() == {"source": "mes/riverside", "id": "sdk-b-1", "status": "accepted"}
    row = InboxEvent.objects.get(source="mes/riverside", event_id="sdk-b-1")
    assert row.type == "equipment.status" and row.time == WHEN and row.site == "RIV"
    assert row.data == {"line": "L2", "status": "down", "reason": "jam"}


def test_batch_of_sdk_events_with_and_without_datacontenttype(live_server, key):
    events = [
        sdk_event("sdk-batch-1", content_type="application/json"),
        sdk_event("sdk-batch-2"),
        sdk_event("sdk-batch-3", data={"line": "L2", "status": "exploded"}),
    ]
    body = b"[" + b",".join(JSONFormat().write(event) for event in events) + b"]"
    response = requests.post(
        f"{live_server.url}/api/v1/events",
        data=body,
        headers={
            "Content-Type": "application/cloudevents-batch+json",
            "Authorization": f"Bearer {key}",
        },
        timeout=30,
    )
    assert response.status_code == 200
    answer = response.json()
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (2, 0, 1)
    assert [r["status"] for r in answer["results"]] == ["accepted", "accepted", "rejected"]
    assert answer["results"][2]["errors"][0]["field"] == "data.status"
    assert set(InboxEvent.objects.values_list("event_id", flat=True)) == {
        "sdk-batch-1",
        "sdk-batch-2",
    }


def test_binary_event_sent_twice_is_a_duplicate(live_server, key):
    message = http.to_binary_event(sdk_event("sdk-dup-1"))
    assert send(live_server, key, message).status_code == 202
    again = send(live_server, key, message)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert InboxEvent.objects.filter(event_id="sdk-dup-1").count() == 1


def test_binary_event_and_structured_event_with_one_id_are_one_event(live_server, key):
    assert send(live_server, key, http.to_binary_event(sdk_event("sdk-both"))).status_code == 202
    structured = send(live_server, key, http.to_structured_event(sdk_event("sdk-both")))
    assert structured.json()["status"] == "duplicate"


def test_binary_errors_name_the_header(live_server, key):
    message = http.to_binary_event(sdk_event("sdk-bad-1"))
    headers = {k: v for k, v in message.headers.items() if k != "ce-type"}
    response = send(live_server, key, http.HTTPMessage(headers=headers, body=message.body))
    assert response.status_code == 400
    assert {"field": "ce-type", "message": "is required (a non-empty string)"} in response.json()[
        "errors"
    ]
    headers = {**message.headers, "ce-specversion": "0.3", "ce-time": "yesterday"}
    fields = {
        e["field"]
        for e in send(live_server, key, http.HTTPMessage(headers, message.body)).json()["errors"]
    }
    assert fields == {"ce-specversion", "ce-time"}
    assert not InboxEvent.objects.exists()


def test_binary_data_errors_name_the_body_field(live_server, key):
    message = http.to_binary_event(sdk_event("sdk-bad-2", data={"status": "down"}))
    response = send(live_server, key, message)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "data.line", "message": "is required"}]


def test_binary_without_a_body_names_the_body(live_server, key):
    message = http.to_binary_event(sdk_event("sdk-bad-3"))
    response = send(live_server, key, http.HTTPMessage(message.headers, b""))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "body", "message": "is required (a JSON object)"}
    ]


def test_binary_body_that_is_not_json(live_server, key):
    message = http.to_binary_event(sdk_event("sdk-bad-4"))
    response = send(live_server, key, http.HTTPMessage(message.headers, b"{line: L1"))
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert response.json()["extra"] == {"field": "body"}


def test_binary_data_that_is_not_json_is_refused_by_media_type(live_server, key):
    message = http.to_binary_event(
        sdk_event("sdk-bad-5", content_type="application/xml", data="<down/>")
    )
    response = send(live_server, key, message)
    assert response.status_code == 415
    assert response.json()["extra"] == {"field": "Content-Type"}
    assert not InboxEvent.objects.exists()


def test_binary_header_values_are_percent_decoded(live_server, key):
    """The SDK percent-encodes what a header cannot carry (space, non-ASCII, ``%``, ``"``)."""
    source = 'mes/rivière "L2" 100%'
    message = http.to_binary_event(sdk_event("sdk-enc-1", source=source, subject="ligne 2"))
    assert message.headers["ce-source"] != source  # encoded on the wire
    response = send(live_server, key, message)
    assert response.status_code == 202, response.json()
    assert response.json()["source"] == source
    row = InboxEvent.objects.get(event_id="sdk-enc-1")
    assert row.source == source
    assert row.attributes == {"subject": "ligne 2"}


def test_binary_header_that_is_not_utf8_is_refused(live_server, key):
    message = http.to_binary_event(sdk_event("sdk-enc-2"))
    headers = {**message.headers, "ce-source": "mes%FF%FE"}
    response = send(live_server, key, http.HTTPMessage(headers, message.body))
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "ce-source"}


def test_structured_content_type_wins_over_ce_headers(live_server, key):
    """``application/cloudevents+json`` is structured mode even with stray ``ce-`` headers."""
    message = http.to_structured_event(sdk_event("sdk-mixed"))
    headers = {**message.headers, "ce-id": "other"}
    response = send(live_server, key, http.HTTPMessage(headers, message.body))
    assert response.status_code == 202 and response.json()["id"] == "sdk-mixed"


def test_binary_mode_needs_a_key(live_server, key):
    message = http.to_binary_event(sdk_event("sdk-nokey"))
    response = requests.post(
        f"{live_server.url}/api/v1/events", data=message.body, headers=message.headers, timeout=30
    )
    assert response.status_code == 401
    assert not InboxEvent.objects.exists()


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_the_sdks_older_v1_api_is_accepted_too(live_server, key, mode):
    """Integrators on SDK 1.x code (``cloudevents.v1``: ``to_binary``/``to_structured``, an
    unencoded ``+00:00`` in ``ce-time``) are not left out."""
    from cloudevents.v1.conversion import to_binary, to_structured
    from cloudevents.v1.http import CloudEvent as LegacyEvent

    event = LegacyEvent(
        {"type": "equipment.status", "source": "mes/legacy", "id": f"legacy-{mode}"},
        {"line": "L2", "status": "idle"},
    )
    headers, body = (to_binary if mode == "binary" else to_structured)(event)
    response = send(live_server, key, http.HTTPMessage(headers=headers, body=body))
    assert response.status_code == 202, response.json()
    row = InboxEvent.objects.get(source="mes/legacy", event_id=f"legacy-{mode}")
    assert row.data == {"line": "L2", "status": "idle"}


def test_data_as_a_header_is_refused_naming_it(live_server, key):
    message = http.to_binary_event(sdk_event("sdk-data-header"))
    headers = {**message.headers, "ce-data": '{"line":"L1"}'}
    response = send(live_server, key, http.HTTPMessage(headers, message.body))
    assert response.status_code == 400
    assert response.json()["extra"] == {"field": "ce-data"}
