"""Topic mappings → the inbox, without a broker: the default demo mappings, the reasons on the
failed list, derived ids (a redelivery is a duplicate), mapping validation in admin."""

import json

import pytest
from django.core.exceptions import ValidationError

from integrations.models import InboxEvent, MqttMapping
from integrations.mqtt.ingest import Ingestor, Message
from integrations.mqtt.mapping import time_text, topic_filter_problem, topic_matches


def ingest(*messages):
    return Ingestor().ingest([Message(topic, payload) for topic, payload in messages])


@pytest.mark.django_db
def test_default_riverside_status_mapping_stores_an_equipment_status(plant):
    result = ingest(("riverside/L1/status", b'{"status": "down", "reason": "jam"}'))
    assert result.accepted == 1
    row = InboxEvent.objects.get(source="mqtt:riverside/L1/status")
    assert (row.type, row.site, row.status) == ("equipment.status", "RIV", "received")
    assert row.data == {"line": "L1", "status": "down", "reason": "jam"}
    assert row.attributes["mqttmapping"] == "Riverside line status"
    assert row.integration.name == "mqtt"


@pytest.mark.django_db
def test_payload_time_is_the_event_time(plant):
    ingest(("riverside/L2/status", b'{"status": "idle", "time": "2026-11-27T08:00:00Z"}'))
    row = InboxEvent.objects.get(source="mqtt:riverside/L2/status")
    assert row.time.isoformat() == "2026-11-27T08:00:00+00:00"


def test_epoch_times_are_seconds_or_milliseconds():
    assert time_text(1764230400) == "2025-11-27T08:00:00Z"
    assert time_text(1764230400000) == "2025-11-27T08:00:00Z"
    assert time_text("2026-11-27T08:00:00Z") == "2026-11-27T08:00:00Z"


@pytest.mark.django_db
def test_the_same_message_again_is_a_duplicate(plant):
    message = ("riverside/L1/status", b'{"status": "down", "reason": "jam"}')
    assert ingest(message).accepted == 1
    again = ingest(message)
    assert (again.accepted, again.duplicate) == (0, 1)
    assert InboxEvent.objects.filter(source="mqtt:riverside/L1/status").count() == 1


@pytest.mark.django_db
def test_a_different_payload_is_a_new_event(plant):
    ingest(("riverside/L1/status", b'{"status": "down", "time": "2026-11-27T08:00:00Z"}'))
    ingest(("riverside/L1/status", b'{"status": "down", "time": "2026-11-27T09:00:00Z"}'))
    assert InboxEvent.objects.filter(source="mqtt:riverside/L1/status").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        (b"not json", "payload", "payload is not JSON"),
        (b"[1, 2]", "payload", "payload is not a JSON object (it is list)"),
        (b'{"reason": "jam"}', "data.status", "data.status (payload:status: absent) is required"),
        (
            b'{"status": "broken"}',
            "data.status",
            "data.status (payload:status) must be one of running, idle, down, maintenance",
        ),
        (b"\xff\xfe", "payload", "payload is not JSON"),
    ],
)
def test_unmappable_payload_is_on_the_failed_list_with_its_reason(plant, payload, field, reason):
    result = ingest(("riverside/L3/status", payload))
    assert (result.accepted, result.failed) == (0, 1)
    row = InboxEvent.objects.get(source="mqtt:riverside/L3/status")
    assert row.status == InboxEvent.Status.FAILED
    assert reason in row.error
    assert row.error.startswith("mapping 'Riverside line status'")
    assert row.error_field == field
    assert row.data["mqtt_topic"] == "riverside/L3/status"


@pytest.mark.django_db
def test_a_redelivered_bad_message_is_listed_once(plant):
    ingest(("riverside/L3/status", b"not json"))
    ingest(("riverside/L3/status", b"not json"))
    assert InboxEvent.objects.filter(status="failed").count() == 1


@pytest.mark.django_db
def test_a_failed_row_keeps_binary_payloads_readable(plant):
    ingest(("riverside/L3/status", b"\x00\x01binary"))
    row = InboxEvent.objects.get(status="failed")
    assert row.data["payload"] == "\\x00\x01binary" or row.data["payload"].startswith("base64:")


@pytest.mark.django_db
def test_a_bad_message_does_not_sink_the_good_ones_of_its_batch(plant):
    result = ingest(
        ("riverside/L1/status", b'{"status": "down"}'),
        ("riverside/L2/status", b"{oops"),
        ("riverside/L1/counts", b'{"job": "WO-60001", "good": 10, "scrap": 1}'),
    )
    assert (result.accepted, result.failed) == (2, 1)


@pytest.mark.django_db
def test_the_failed_list_page_shows_the_reason(plant, role_user, client):
    ingest(("riverside/L3/status", b'{"status": "broken"}'))
    client.force_login(role_user("supervisor"))
    page = client.get("/integrations/").content.decode()
    assert "must be one of running, idle, down, maintenance" in page


@pytest.mark.django_db
def test_a_message_of_no_active_mapping_is_not_dropped(plant):
    MqttMapping.objects.filter(name="Riverside line status").update(active=False)
    result = ingest(("riverside/L1/status", b'{"status": "down"}'))
    assert result.failed == 1
    assert "no active topic mapping" in InboxEvent.objects.get().error


@pytest.mark.django_db
def test_one_message_feeding_two_mappings_makes_two_events(plant):
    MqttMapping.objects.create(
        name="Line 1 counts as status",
        topic_filter="riverside/L1/counts",
        event_type="equipment.status",
        fields={"line": "topic:2", "status": "const:running"},
    )
    result = ingest(("riverside/L1/counts", b'{"job": "WO-60001", "good": 10, "scrap": 1}'))
    assert result.accepted == 2
    assert set(InboxEvent.objects.values_list("type", flat=True)) == {
        "production.progress",
        "equipment.status",
    }


def test_topic_filters_match_as_mqtt_says():
    assert topic_matches("riverside/+/status", "riverside/L1/status")
    assert not topic_matches("riverside/+/status", "riverside/L1/x/status")
    assert topic_matches("riverside/#", "riverside/L1/x/status")
    assert topic_matches("riverside/#", "riverside")
    assert not topic_matches("+/L1", "$SYS/L1")
    assert topic_filter_problem("a/b#") == "# must be a whole level, and the last one"
    assert topic_filter_problem("a/+x/b") == "+ must be a whole level"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "fmt", "message"),
    [
        ({"line": "topic:zero"}, "json", "topic needs a level number"),
        ({"line": "plc:1"}, "json", "unknown source 'plc'"),
        ({"status": "metric:Line/State"}, "json", "metric sources are for Sparkplug B"),
        ({"line": "topic:5"}, "sparkplug", "needs at least one metric:NAME"),
        ([], "json", "a JSON object of data field"),
    ],
)
def test_admin_refuses_a_bad_mapping_naming_the_problem(fields, fmt, message):
    mapping = MqttMapping(
        name="bad", topic_filter="a/+/b", format=fmt, event_type="equipment.status", fields=fields
    )
    with pytest.raises(ValidationError) as refused:
        mapping.full_clean()
    assert message in json.dumps(refused.value.message_dict)


@pytest.mark.django_db
def test_mapping_admin_pages_open(plant, admin_client):
    mapping = MqttMapping.objects.get(name="Riverside line status")
    assert admin_client.get("/admin/integrations/mqttmapping/").status_code == 200
    page = admin_client.get(f"/admin/integrations/mqttmapping/{mapping.pk}/change/")
    assert "riverside/+/status" in page.content.decode()
    assert admin_client.get("/admin/integrations/sparkplugnode/").status_code == 200


@pytest.mark.django_db
def test_a_failed_message_maps_again_once_its_mapping_is_fixed(plant, admin_client):
    ingest(("riverside/L1/status", b'{"state": "down"}'))  # this gateway says "state"
    failed = InboxEvent.objects.get(status="failed")
    assert "data.status (payload:status: absent) is required" in failed.error
    mapping = MqttMapping.objects.get(name="Riverside line status")
    mapping.fields = {"line": "topic:2", "status": "payload:state"}
    mapping.save()
    response = admin_client.post(
        "/admin/integrations/inboxevent/",
        {"action": "mqtt_map_again", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert "1 MQTT message(s) mapped; 0 still failed." in response.content.decode()
    row = InboxEvent.objects.get(source="mqtt:riverside/L1/status")
    assert (row.status, row.data) == ("received", {"line": "L1", "status": "down"})


@pytest.mark.django_db
def test_mapping_again_a_message_still_unmappable_keeps_it_failed_with_the_reason(plant):
    from integrations.mqtt.ingest import failed_map_again

    ingest(("riverside/L1/status", b"not json"))
    failed = InboxEvent.objects.get(status="failed")
    assert failed_map_again(ids=[failed.pk]) == (0, 1)
    assert "payload is not JSON" in InboxEvent.objects.get(status="failed").error


@pytest.mark.django_db
def test_the_generic_reprocess_maps_an_unmapped_message_again(plant, admin_client):
    """Reprocess (integrations page, API) on a message that never mapped maps it again from
    its kept payload, rather than re-applying an event it never was."""
    ingest(("riverside/L1/status", b'{"state": "down"}'))
    failed = InboxEvent.objects.get(status="failed")
    response = admin_client.post(f"/api/v1/events/{failed.pk}/reprocess/")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "still_unmapped"
    assert "still does not map" in response.json()["detail"]
    assert "data.status" in response.json()["detail"]  # today's reason
    assert InboxEvent.objects.filter(status="failed").count() == 1  # still there, once

    mapping = MqttMapping.objects.get(name="Riverside line status")
    mapping.fields = {"line": "topic:2", "status": "payload:state"}
    mapping.save()
    failed = InboxEvent.objects.get(status="failed")
    response = admin_client.post(f"/integrations/events/{failed.pk}/reprocess", follow=True)
    assert "Event queued again" in response.content.decode()
    row = InboxEvent.objects.get(source="mqtt:riverside/L1/status")
    assert (row.status, row.data) == ("received", {"line": "L1", "status": "down"})
