"""``POST /api/v1/b2mml``, ``manage.py import_b2mml`` and the V0600 schedule downloads."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree

from coordination.models import Customer, Item, Job, Line, Order, StateChange
from integrations.b2mml.export import ScheduledJob, schedule_xml
from integrations.b2mml.reader import schema_for
from integrations.services import integration_key_create
from tests.integrations.test_b2mml_import import COCOP, COURBON, INVALID, written

pytestmark = pytest.mark.django_db
NS = {"b": "http://www.mesa.org/xml/B2MML-V0600"}


@pytest.fixture
def master(plant):
    site = Line.objects.get(code="L1").site
    for code in ("fsf", "psc2"):
        Line.objects.create(site=site, code=code, name=f"COCOP {code}")
    Customer.objects.create(code="STOCK", name="Make to stock")
    Item.objects.create(code="matte", description="Copper matte", uom="t")
    Item.objects.create(code="SO1215", description="Final 1215", uom="KG")


@pytest.fixture
def erp_key(master):
    return integration_key_create(name="erp")[1]


def upload(client, key, body: bytes, content_type="application/xml"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.generic("POST", "/api/v1/b2mml", body, content_type, **headers)


def test_api_imports_a_schedule_and_audits_it_as_api(client, erp_key):
    response = upload(client, erp_key, (COCOP / "ProcessProductionSchedule.xml").read_bytes())
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["message"] == "ProcessProductionSchedule" and body["version"] == "V0600"
    assert body["created"] == {"order": 1, "job": 2}
    order = Order.objects.get(number="my-identifier-1")
    assert StateChange.objects.get(object_id=order.pk, transition="create").via == "api"
    again = upload(client, erp_key, (COCOP / "ProcessProductionSchedule.xml").read_bytes())
    assert again.json()["created"] == {} and again.json()["unchanged"] == {"order": 1, "job": 2}


def test_api_refusal_lists_path_line_reason_and_writes_nothing(client, erp_key):
    before = written()
    sample = COCOP / "Neg_ProcessProductionSchedule_InvalidMatUse.xml"
    response = upload(client, erp_key, sample.read_bytes(), "text/xml")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    path, line, words = INVALID[sample]
    assert error["path"] == path and error["line"] == line and words in error["reason"]
    assert written() == before


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"<a/>", "application/json", 415),
        (b"  \n ", "application/xml", 400),
        (b"not xml at all", "application/xml", 400),
        (b"<a>\x00</a>", "application/xml", 400),
        (b"\xff\xfe<\x00a\x00/>", "application/xml", 400),
    ],
)
def test_api_bad_bodies_are_client_errors(client, erp_key, body, content_type, status):
    assert upload(client, erp_key, body, content_type).status_code == status


def test_api_body_over_the_limit_is_413(client, erp_key):
    response = upload(client, erp_key, b"<a>" + b" " * (5 * 1024 * 1024) + b"</a>")
    assert response.status_code == 413


def test_api_needs_an_integration_key(client, erp_key, api):
    body = (COCOP / "ProcessProductionSchedule.xml").read_bytes()
    assert upload(client, None, body).status_code == 401
    assert upload(client, "pck_nope", body).status_code == 401
    person = api("planner").generic("POST", "/api/v1/b2mml", body, "application/xml")
    assert person.status_code == 403  # a person is not an integration
    assert not Order.objects.filter(number="my-identifier-1").exists()


def test_api_key_scoped_to_other_types_is_forbidden(client, master):
    key = integration_key_create(name="mes-status", types=["equipment.status"])[1]
    response = upload(client, key, (COCOP / "ProcessProductionSchedule.xml").read_bytes())
    assert response.status_code == 403
    assert "order.changed" in response.json()["detail"]


def test_command_imports_files_in_order(master):
    out = StringIO()
    files = [
        COURBON / "MAT-20121210170256-CRBN0001.xml",
        COURBON / "LOT-20121210170718-0001L0001.xml",
    ]
    call_command("import_b2mml", *map(str, files), stdout=out)
    assert "SyncMaterialDefinition V0401: created item 1" in out.getvalue()
    assert "SyncMaterialInformation V0401: created lot 1" in out.getvalue()


def test_command_with_a_bad_file_exits_non_zero_and_writes_nothing(master):
    before = written()
    err = StringIO()
    files = [
        COCOP / "ProcessProductionSchedule.xml",
        COCOP / "Neg_ProcessProductionSchedule_EndBeforeStart.xml",
    ]
    with pytest.raises(CommandError) as failed:
        call_command("import_b2mml", *map(str, files), stdout=StringIO(), stderr=err)
    assert "nothing was imported from 2 file(s)" in str(failed.value)
    assert (
        "EarliestStartTime (line " in err.getvalue() and "is after LatestEndTime" in err.getvalue()
    )
    assert written() == before  # the good first file was rolled back too


def test_command_names_a_missing_file(master, tmp_path):
    with pytest.raises(CommandError):
        call_command("import_b2mml", str(tmp_path / "nope.xml"), stderr=StringIO())


# --- export ---------------------------------------------------------------------------------


def _validates(content: bytes) -> etree._Element:
    root = etree.fromstring(content)
    schema_for("V0600", "schedule").validate(root)  # raises on any schema error
    return root


def test_line_schedule_xml_is_the_current_sequence_and_validates(api, plant):
    open_jobs = Job.objects.filter(line__code="L2", status__in=("planned", "released", "running"))
    last = open_jobs.order_by("-sequence").first()
    Job.objects.filter(pk=last.pk).update(sequence=0)  # moved to the front of L2
    response = api("planner").get("/api/v1/lines/L2/schedule.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert 'filename="schedule-L2.xml"' in response["Content-Disposition"]
    root = _validates(response.content)
    ids = root.xpath("b:ProductionRequest/b:ID/text()", namespaces=NS)
    assert ids == list(open_jobs.order_by("sequence").values_list("number", flat=True))
    assert len(ids) > 1 and ids[0] == last.number
    first = root.find("b:ProductionRequest", NS)
    equipment = "b:SegmentRequirement/b:EquipmentRequirement/b:EquipmentID"
    assert first.findtext(equipment, None, NS) == "L2"
    assert f"order {last.order.number}" in first.findtext("b:Description", None, NS)


def test_line_schedule_hides_orders_from_maintenance(api, plant):
    response = api("maintenance").get("/api/v1/lines/L1/schedule.xml")
    assert response.status_code == 200
    assert b"SO-" not in response.content
    _validates(response.content)


def test_order_schedule_xml_validates_and_needs_order_rights(api, plant):
    order = Order.objects.filter(jobs__isnull=False).exclude(jobs__status="cancelled").first()
    response = api("planner").get(f"/api/v1/orders/{order.number}/schedule.xml")
    assert response.status_code == 200
    root = _validates(response.content)
    ids = root.xpath("b:ProductionRequest/b:ID/text()", namespaces=NS)
    assert ids == list(order.jobs.order_by("planned_start").values_list("number", flat=True))
    path = f"/api/v1/orders/{order.number}/schedule.xml"
    assert api("maintenance").get(path).status_code == 403


def test_schedule_xml_unknown_line_or_order_is_404(api, plant):
    assert api("planner").get("/api/v1/lines/NOPE/schedule.xml").status_code == 404
    assert api("planner").get("/api/v1/orders/" + "9" * 300 + "/schedule.xml").status_code == 404


def test_integration_key_may_pull_the_schedule(client, plant):
    key = integration_key_create(name="mes")[1]
    response = client.get("/api/v1/lines/L1/schedule.xml", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200 and b"SO-" in response.content


def test_schedule_of_a_given_sequence_keeps_its_order():
    """How an approved proposal will be exported: its own rows, in its own order."""
    from datetime import UTC, datetime

    start = datetime(2026, 12, 1, 6, tzinfo=UTC)
    rows = [
        ScheduledJob("WO-2", "L1", "FG-1", "EA", 500, start, start, "planned", 2, "SO-2"),
        ScheduledJob("WO-1", "L1", "FG-1", "EA", 100, start, start, "released", None, None),
    ]
    root = _validates(schedule_xml(rows, schedule_id="P-7", description="proposal 7", line="L1"))
    assert root.xpath("b:ProductionRequest/b:ID/text()", namespaces=NS) == ["WO-2", "WO-1"]
    assert root.xpath("b:ProductionRequest/b:RequestState/text()", namespaces=NS) == [
        "Forecast",
        "Released",
    ]


def test_line_without_open_jobs_exports_an_empty_valid_schedule(api, plant):
    Line.objects.create(site=Line.objects.first().site, code="L9", name="new line")
    response = api("supervisor").get("/api/v1/lines/L9/schedule.xml")
    assert response.status_code == 200
    root = _validates(response.content)
    assert root.findall("b:ProductionRequest", NS) == []
    assert root.findtext("b:HierarchyScope/b:EquipmentID", None, NS) == "L9"


def test_export_survives_a_code_xml_cannot_carry():
    from datetime import UTC, datetime

    start = datetime(2026, 12, 1, 6, tzinfo=UTC)
    rows = [ScheduledJob("WO-\x0b1", "L1", "FG\x01", "EA", 1, start, start, "planned")]
    root = _validates(schedule_xml(rows, schedule_id="x", description="d"))
    assert root.findtext("b:ProductionRequest/b:ID", None, NS) == "WO-\ufffd1"


# --- Django admin: the same import in the browser ------------------------------------------


@pytest.fixture
def admin_client_b2mml(client, master):
    from tests.factories import UserFactory

    admin = UserFactory(username="b2mml-admin", role="admin", is_staff=True)
    client.force_login(admin)
    return client


def _admin_upload(client, integration, path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/admin/integrations/integration/{integration.pk}/import-b2mml/"
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/xml")
    return client.post(url, {"file": upload})


def test_admin_imports_a_file_and_audits_it_as_admin(admin_client_b2mml):
    from integrations.b2mml.importer import import_integration

    integration = import_integration()
    response = _admin_upload(
        admin_client_b2mml, integration, COCOP / "ProcessProductionSchedule.xml"
    )
    assert response.status_code == 200
    assert b"Imported ProcessProductionSchedule (V0600)" in response.content
    order = Order.objects.get(number="my-identifier-1")
    audit = StateChange.objects.get(object_id=order.pk, transition="create")
    assert audit.via == "admin" and audit.actor.username == "b2mml-admin"


def test_admin_shows_every_problem_and_imports_nothing(admin_client_b2mml):
    from integrations.b2mml.importer import import_integration

    before = written()
    sample = COCOP / "Neg_ProcessProductionSchedule_InvalidQuantityValue.xml"
    response = _admin_upload(admin_client_b2mml, import_integration(), sample)
    assert response.status_code == 200
    assert b"Nothing was imported: 3 problems" in response.content
    assert b"&#x27;41fs.9&#x27; is not a number (double)" in response.content
    assert written() == before


def test_admin_import_needs_the_admin_role(client, master):
    from integrations.b2mml.importer import import_integration
    from tests.factories import UserFactory

    planner = UserFactory(username="b2mml-planner", role="planner", is_staff=True)
    client.force_login(planner)
    integration = import_integration()
    response = client.get(f"/admin/integrations/integration/{integration.pk}/import-b2mml/")
    assert response.status_code == 403
