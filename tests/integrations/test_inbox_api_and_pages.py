import re
import subprocess
import sys

import pytest
from django.core.management import call_command

from integrations.models import InboxEvent, Integration, IntegrationKey, key_digest
from integrations.services import events_accept, inbox_process
from tests.conftest import ROOT
from tests.integrations.conftest import cloudevent

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_event(key):
    integration = Integration.objects.get(name="mes")
    events_accept(
        integration=integration, raw_events=[cloudevent(data={"line": "L7", "status": "down"})]
    )
    row = InboxEvent.objects.get()
    inbox_process(row.pk)
    return row


def test_failed_events_are_listed_with_their_reason(api, failed_event):
    body = api("supervisor").get("/api/v1/events/?status=failed").json()
    assert body["count"] == 1
    [event] = body["results"]
    assert (event["error_field"], event["status"]) == ("data.line", "failed")
    assert "unknown line 'L7'" in event["error"]


def test_inbox_list_permissions(api, failed_event, client):
    assert client.get("/api/v1/events/").status_code == 401
    assert api("sales").get("/api/v1/events/").status_code == 403
    assert api("admin").get("/api/v1/events/?status=failed").status_code == 200


def test_bad_status_filter_names_the_field(api, failed_event):
    response = api("admin").get("/api/v1/events/?status=lost")
    assert response.status_code == 400
    assert "status" in response.json()


def test_reprocess_through_the_api_is_for_admins(api, failed_event):
    url = f"/api/v1/events/{failed_event.pk}/reprocess/"
    assert api("supervisor").post(url).status_code == 403
    response = api("admin").post(url)
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    assert api("admin").post(url).json()["code"] == "not_failed"


def test_create_integration_key_prints_the_key_last(plant, capsys):
    call_command("create_integration_key", "erp", "--types", "order.changed,inventory.level")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    stored = IntegrationKey.objects.get(digest=key_digest(key))
    assert stored.integration.allowed_types == ["order.changed", "inventory.level"]
    assert stored.integration.site.code == "RIV"
    assert key not in {stored.digest, stored.prefix}


def test_create_integration_key_as_a_process(plant):
    # The documented contract: the key is the last line of the command's output.
    result = subprocess.run(
        [sys.executable, "manage.py", "create_integration_key", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "last line" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["x", "--types", "equipment.status,line.exploded"],
            "unknown event type(s): line.exploded",
        ),
        (["x", "--site", "MARS"], "unknown site 'MARS'"),
    ],
)
def test_create_integration_key_bad_input(plant, args, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("create_integration_key", *args)
    assert not Integration.objects.filter(name="x").exists()


def test_integrations_page_for_admins(client, role_user, failed_event):
    admin = role_user("admin")
    client.force_login(admin)
    body = client.get("/integrations/").content.decode()
    assert "mes" in body and "unknown line &#x27;L7&#x27;" in body
    assert "Reprocess" in body


def test_supervisor_sees_the_page_without_reprocess(client, role_user, failed_event):
    client.force_login(role_user("supervisor"))
    body = client.get("/integrations/").content.decode()
    assert "Failed events" in body and "Reprocess" not in body
    url = f"/integrations/events/{failed_event.pk}/reprocess"
    assert client.post(url).status_code == 403


def test_other_roles_cannot_open_the_page(client, role_user, plant):
    client.force_login(role_user("sales"))
    assert client.get("/integrations/").status_code == 403


def test_reprocess_button_queues_the_event(client, role_user, failed_event):
    client.force_login(role_user("admin"))
    response = client.post(
        f"/integrations/events/{failed_event.pk}/reprocess", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "No failed events" in response.content.decode()
    failed_event.refresh_from_db()
    assert failed_event.status == "received"


def test_empty_page_says_how_to_start(client, role_user, db):
    client.force_login(role_user("admin"))
    body = client.get("/integrations/").content.decode()
    assert "No integrations yet" in body and "No failed events" in body


def test_admin_issues_and_revokes_keys(client, django_user_model, plant):
    integration = Integration.objects.create(name="plc-gateway")
    admin = django_user_model.objects.create_superuser("root", "r@x", "pw-Secret-1")
    client.force_login(admin)
    response = client.post(
        "/admin/integrations/integration/",
        {"action": "issue_key", "_selected_action": [integration.pk]},
        follow=True,
    )
    message = next(str(m) for m in response.context["messages"])
    raw = message.rsplit(" ", 1)[-1]
    key = IntegrationKey.objects.get(digest=key_digest(raw))
    client.post(
        "/admin/integrations/integrationkey/", {"action": "revoke", "_selected_action": [key.pk]}
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_openapi_publishes_the_event_schemas(api):
    schema = api("supervisor").get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/events" in schema["paths"]
    data = schema["components"]["schemas"]["EventData.equipment.status"]
    assert data["required"] == ["line", "status"]
    assert data["properties"]["status"]["enum"] == ["running", "idle", "down", "maintenance"]


def test_reprocess_is_audited(client, role_user, failed_event):
    from coordination.models import StateChange

    admin = role_user("admin")
    client.force_login(admin)
    client.post(f"/integrations/events/{failed_event.pk}/reprocess")
    change = StateChange.objects.get(object_id=failed_event.pk, transition="reprocess")
    assert (change.actor, change.from_state, change.to_state) == (admin, "failed", "received")
    assert "unknown line 'L7'" in change.reason
