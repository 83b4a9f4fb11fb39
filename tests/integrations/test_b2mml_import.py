"""B2MML import over every sample in ``../shared/data/b2mml/`` (V0600 and V0401): the valid ones
import, the invalid ones are refused with element, line and reason and nothing written, a
re-import changes nothing; hostile XML is refused before it is parsed whole."""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from coordination.models import (
    Customer,
    Item,
    Job,
    Line,
    Lot,
    Order,
    OutboxMessage,
    StateChange,
    Stock,
)
from exceptions.models import ExceptionCase
from integrations.b2mml.importer import b2mml_import, import_integration
from integrations.b2mml.reader import B2mmlError, document_read
from integrations.models import InboxEvent

pytestmark = pytest.mark.django_db

DATA = Path(os.environ.get("B2MML_DATA", "/work/shared/data/b2mml"))
COCOP = DATA / "cocop_v0600"
COURBON = DATA / "examples"

VALID = [
    COCOP / "ProcessProductionSchedule.xml",
    COCOP / "ProcessProductionSchedule_DateTimeKinds.xml",
    COCOP / "ProcessProductionSchedule_EmptyItems.xml",
    COCOP / "ProcessProductionSchedule_EmptySched.xml",
    COURBON / "PRO-20121210181416-27942.xml",
    COURBON / "MAT-20121210170256-CRBN0001.xml",
    COURBON / "LOT-20121210170718-0001L0001.xml",
    COURBON / "INV-20121210175555-0001L0001_01.xml",
]
# file → (element path the first problem names, its line or None, words of the reason).
# The XSD catches the first six; the last two pass it and are caught by the meaning checks.
INVALID = {
    COCOP / "Neg_ProcessProductionSchedule_InvalidCreationTime.xml": (
        "/ProcessProductionSchedule/ApplicationArea/CreationDateTime",
        36,
        "Invalid datetime",
    ),
    COCOP / "Neg_ProcessProductionSchedule_InvalidDate.xml": (
        "/ProcessProductionSchedule/DataArea/ProductionSchedule/ProductionRequest/"
        "SegmentRequirement/EarliestStartTime",
        47,
        "Invalid datetime",
    ),
    COCOP / "Neg_ProcessProductionSchedule_InvalidEqElemLevel.xml": (
        "/ProcessProductionSchedule/DataArea/ProductionSchedule/ProductionRequest[2]/"
        "HierarchyScope/EquipmentElementLevel",
        47,
        "value must be one of",
    ),
    COCOP / "Neg_ProcessProductionSchedule_InvalidMatUse.xml": (
        "/ProcessProductionSchedule/DataArea/ProductionSchedule/ProductionRequest[3]/"
        "SegmentRequirement/MaterialRequirement/MaterialUse",
        56,
        "value must be one of",
    ),
    COCOP / "Neg_ProcessProductionSchedule_InvalidQuantityDataType.xml": (
        "/ProcessProductionSchedule/DataArea/ProductionSchedule/ProductionRequest/"
        "SegmentRequirement/MaterialRequirement/Quantity/DataType",
        51,
        "value must be one of",
    ),
    COCOP / "ProcessProductionSchedule_SchedulingParams.xml": (
        "/ProcessProductionSchedule/DataArea/ProductionSchedule/ProductionRequest",
        41,
        "SchedulingParameters",
    ),
    COURBON / "PES-20121229115825-53107.xml": ("/SyncProductionPerformance", 2, "releaseID"),
    COCOP / "Neg_ProcessProductionSchedule_EndBeforeStart.xml": (
        "/ProcessProductionSchedule/DataArea/ProductionSchedule/ProductionRequest/"
        "SegmentRequirement/EarliestStartTime",
        None,
        "is after LatestEndTime",
    ),
    COCOP / "Neg_ProcessProductionSchedule_InvalidQuantityValue.xml": (
        "/ProcessProductionSchedule/DataArea/ProductionSchedule/ProductionRequest/"
        "SegmentRequirement/MaterialRequirement/Quantity[1]/QuantityString",
        None,
        "'41fs.9' is not a number (double)",
    ),
}


@pytest.fixture
def master(plant):
    """What the samples reference, as the plant's master data would hold it."""
    site = Line.objects.get(code="L1").site
    for code in ("fsf", "psc2"):
        Line.objects.create(site=site, code=code, name=f"COCOP {code}")
    Customer.objects.create(code="STOCK", name="Make to stock")
    Item.objects.create(code="matte", description="Copper matte", uom="t")
    Item.objects.create(code="SO1215", description="Final 1215", uom="KG")
    return site


@pytest.fixture
def integration(master):
    return import_integration()


def run(path: Path, integration, **kwargs):
    return b2mml_import(path.read_bytes(), integration=integration, filename=path.name, **kwargs)


def written() -> dict:
    """Everything an import could write, counted."""
    return {
        model.__name__: model.objects.count()
        for model in (Order, Job, Lot, Item, Stock, StateChange, OutboxMessage, InboxEvent)
    }


def test_every_sample_is_covered():
    samples = {p.name for p in DATA.rglob("*.xml")}
    assert samples == {p.name for p in (*VALID, *INVALID)}


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_sample_imports_and_reimport_changes_nothing(path, integration):
    if path.name.startswith(("LOT", "INV")):
        run(COURBON / "MAT-20121210170256-CRBN0001.xml", integration)
    if path.name.startswith("INV"):
        run(COURBON / "LOT-20121210170718-0001L0001.xml", integration)
    first = run(path, integration)
    after_first = written()
    second = run(path, integration)
    assert written() == after_first
    assert not second.created and not second.updated
    assert first.version in ("V0600", "V0401")


@pytest.mark.parametrize("sample", list(INVALID), ids=lambda p: p.name)
def test_invalid_sample_is_refused_naming_element_line_and_reason(sample, integration):
    before = written()
    with pytest.raises(B2mmlError) as refused:
        run(sample, integration)
    path, line, words = INVALID[sample]
    first = refused.value.problems[0]
    assert first.path == path
    if line is not None:
        assert first.line == line
    else:
        assert first.line and first.line > 1
    assert words in first.reason
    assert written() == before


def test_cocop_schedule_creates_the_order_and_its_jobs(integration):
    result = run(COCOP / "ProcessProductionSchedule.xml", integration)
    order = Order.objects.get(number="my-identifier-1")
    assert order.item.code == "matte" and order.customer.code == "STOCK"
    assert order.quantity == 12  # ProdAmount 11.9 t, not the ProdRate 41.9 t/h
    assert order.due_at.isoformat() == "2019-04-24T16:00:00+00:00"  # the nested segment's end
    jobs = {job.number: job for job in Job.objects.filter(order=order)}
    assert set(jobs) == {"my-identifier-1/1", "my-identifier-1/2"}
    first = jobs["my-identifier-1/1"]
    assert first.line.code == "fsf" and first.quantity == 12
    assert first.planned_start.isoformat() == "2019-04-24T15:00:00+00:00"
    assert first.planned_end.isoformat() == "2019-04-24T15:30:00+00:00"
    assert jobs["my-identifier-1/2"].planned_start.isoformat() == "2019-04-24T15:31:00+00:00"
    assert result.created == {"order": 1, "job": 2}
    reasons = [note.reason for note in result.notes]
    assert any("rounded up" in r for r in reasons)
    assert any("my-identifier-2 names no produced material" in r for r in reasons)
    audit = StateChange.objects.filter(object_id=order.pk, transition="create").get()
    assert audit.via == "system" and "ProcessProductionSchedule.xml" in audit.reason


def test_times_without_offset_are_plant_time_and_offsets_are_honoured(integration):
    document = document_read((COCOP / "ProcessProductionSchedule_DateTimeKinds.xml").read_bytes())
    from coordination.master_data import Audit
    from integrations.b2mml.importer import _Run, _window  # the reading, without an order

    reader = _Run(document, integration, Audit())
    segments = document.root.iter(document.q("SegmentRequirement"))
    windows = [tuple(t.isoformat()[11:16] for t in _window(reader, s)) for s in segments]
    assert windows == [
        ("13:00", "14:00"),
        ("14:00", "15:00"),
        ("15:00", "16:00"),
        ("22:00", "23:00"),
    ]


def test_courbon_production_order_without_times_is_due_at_once_and_has_no_job(integration):
    result = run(COURBON / "PRO-20121210181416-27942.xml", integration)
    order = Order.objects.get(number="258456")
    assert order.item.code == "SO1215" and order.quantity == 1
    assert order.due_at.isoformat() == "2009-12-10T17:14:16+00:00"  # its CreationDateTime
    assert not order.jobs.exists()
    assert any("due as soon as possible" in note.reason for note in result.notes)


def test_courbon_material_lot_and_sub_lot_chain(integration, master):
    run(COURBON / "MAT-20121210170256-CRBN0001.xml", integration)
    item = Item.objects.get(code="CRBN0001")
    assert (item.description, item.uom) == ("Product Courbon0001", "KG")
    run(COURBON / "LOT-20121210170718-0001L0001.xml", integration)
    lot = Lot.objects.get(code="CRBN0001_LOT01")
    assert lot.item == item and lot.status == "available" and lot.quantity == 0
    assert lot.location.kind == "warehouse"
    run(COURBON / "INV-20121210175555-0001L0001_01.xml", integration)
    sub = Lot.objects.get(code="CRBN0001_LOT01_01")
    assert sub.split_from == lot and sub.quantity == Decimal("24.910")
    assert sub.status == "on_hold" and "NotValid" in sub.hold_reason
    held = OutboxMessage.objects.get(topic="lot.held")
    assert held.payload["lot"] == "CRBN0001_LOT01_01"
    case = ExceptionCase.objects.get(kind="quality_hold", key="CRBN0001_LOT01_01")
    assert case.status == "open"  # the same signal as a person's hold


def test_unknown_reference_names_the_element_and_writes_nothing(integration):
    Item.objects.filter(code="matte").delete()
    before = written()
    with pytest.raises(B2mmlError) as refused:
        run(COCOP / "ProcessProductionSchedule.xml", integration)
    [problem] = refused.value.problems
    assert problem.path.endswith(
        "SegmentRequirement[1]/MaterialRequirement[1]/MaterialDefinitionID"
    )
    assert problem.line == 85 and "unknown item 'matte'" in problem.reason
    assert written() == before


def test_unknown_line_is_refused(integration):
    Line.objects.filter(code="fsf").delete()
    with pytest.raises(B2mmlError) as refused:
        run(COCOP / "ProcessProductionSchedule.xml", integration)
    assert {"unknown line 'fsf'" in p.reason for p in refused.value.problems} == {True}
    assert not Order.objects.filter(number="my-identifier-1").exists()


def test_one_bad_request_sinks_the_whole_file(integration):
    """All-or-nothing: the first request alone would import; the second's job is running."""
    run(COCOP / "ProcessProductionSchedule.xml", integration)
    job = Job.objects.get(number="my-identifier-1/2")
    Job.objects.filter(pk=job.pk).update(status="running")
    text = (COCOP / "ProcessProductionSchedule.xml").read_text()
    text = text.replace("2019-04-24T15:31:00Z", "2019-04-24T15:40:00Z")
    text = text.replace("<ID>my-identifier-2</ID>", "<ID>new-order-3</ID>")
    before = written()
    with pytest.raises(B2mmlError) as refused:
        b2mml_import(text.encode(), integration=integration)
    assert "is running: the plan cannot move it" in refused.value.problems[0].reason
    assert written() == before


def test_updated_schedule_replans_open_jobs_audited(integration):
    run(COCOP / "ProcessProductionSchedule.xml", integration)
    text = (COCOP / "ProcessProductionSchedule.xml").read_text()
    text = text.replace("2019-04-24T15:30:00Z", "2019-04-24T15:35:00Z")
    result = b2mml_import(text.encode(), integration=integration)
    assert result.updated == {"job": 1}
    job = Job.objects.get(number="my-identifier-1/1")
    assert job.planned_end.isoformat() == "2019-04-24T15:35:00+00:00"
    audit = StateChange.objects.get(object_id=job.pk, transition="update")
    assert "planned_end" in audit.reason


@pytest.mark.parametrize(
    "hostile",
    [
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">'
        b"]><l>&b;</l>",
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]><l>&x;</l>',
        b'<?xml version="1.0"?><!DOCTYPE l SYSTEM "http://127.0.0.1:9/evil.dtd"><l/>',
    ],
    ids=["entity-expansion", "external-entity", "external-dtd"],
)
def test_hostile_xml_is_refused_before_parsing(hostile, integration):
    with pytest.raises(B2mmlError) as refused:
        b2mml_import(hostile, integration=integration)
    assert "must not carry a DOCTYPE" in refused.value.problems[0].reason


def test_huge_file_is_refused_unread(integration):
    huge = b"<a>" + b" " * (5 * 1024 * 1024) + b"</a>"
    with pytest.raises(B2mmlError) as refused:
        b2mml_import(huge, integration=integration)
    assert "is over" in refused.value.problems[0].reason


def test_bom_and_crlf_are_fine(integration):
    raw = (COURBON / "PRO-20121210181416-27942.xml").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    stripped = raw[3:].replace(b"\r\n", b"\n")
    b2mml_import(raw, integration=integration)
    assert not b2mml_import(stripped, integration=integration).updated


PERFORMANCE = """<?xml version="1.0" encoding="UTF-8"?>
<ProcessProductionPerformance releaseID="1" xmlns="http://www.mesa.org/xml/B2MML-V0600">
  <ApplicationArea>
    <Sender><LogicalID>MES-RIV</LogicalID></Sender>
    <CreationDateTime>{now}</CreationDateTime>
  </ApplicationArea>
  <DataArea>
    <Process/>
    <ProductionPerformance>
      <ProductionResponse>
        <ID>resp-1</ID>
        <ProductionRequestID>{job}</ProductionRequestID>
        <SegmentResponse>
          <ID>fill</ID>
          <ActualEndTime>{now}</ActualEndTime>
          <MaterialActual>
            <MaterialDefinitionID>FG-1</MaterialDefinitionID>
            <MaterialUse>Produced</MaterialUse>
            <Quantity><QuantityString>{good}</QuantityString><DataType>integer</DataType>
              <UnitOfMeasure>EA</UnitOfMeasure></Quantity>
            <Quantity><QuantityString>7</QuantityString><DataType>integer</DataType>
              <UnitOfMeasure>EA</UnitOfMeasure><Key>Scrap</Key></Quantity>
          </MaterialActual>
        </SegmentResponse>
      </ProductionResponse>
    </ProductionPerformance>
  </DataArea>
</ProcessProductionPerformance>
"""


def test_production_performance_becomes_progress_events_in_the_inbox(integration):
    job = Job.objects.filter(status="running").first()
    now = timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z")
    xml = PERFORMANCE.format(now=now, job=job.number, good=120).encode()
    result = b2mml_import(xml, integration=integration)
    assert result.events == {"accepted": 1}
    event = InboxEvent.objects.get()
    assert event.type == "production.progress" and event.source == "b2mml/MES-RIV"
    assert event.data == {"job": job.number, "line": job.line.code, "good": 120, "scrap": 7}
    again = b2mml_import(xml, integration=integration)
    assert again.events == {"duplicate": 1}
    assert InboxEvent.objects.count() == 1


def test_production_performance_for_an_unknown_job_writes_nothing(integration):
    now = timezone.now().isoformat()
    xml = PERFORMANCE.format(now=now, job="WO-NOPE", good=1).encode()
    with pytest.raises(B2mmlError) as refused:
        b2mml_import(xml, integration=integration)
    assert "no job" in refused.value.problems[0].reason
    assert refused.value.problems[0].path.endswith("ProductionResponse/SegmentResponse")
    assert not InboxEvent.objects.exists()


def test_key_that_may_not_send_progress_may_not_import_performance(integration):
    integration.allowed_types = ["equipment.status"]
    integration.save()
    from integrations.b2mml.importer import ImportForbiddenError

    with pytest.raises(ImportForbiddenError):
        run(COCOP / "ProcessProductionSchedule.xml", integration)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e15", "must be ≤ 99,999,999,999"),
        ("3000000000", "an order's quantity must be 1 to 2,147,483,647"),
        ("0", "an order's quantity must be 1 to"),
        ("-2", "must be ≥ 0"),
        ("NaN", "is not a number (double)"),
    ],
)
def test_quantity_that_cannot_be_an_order_is_refused(integration, value, reason):
    text = (COCOP / "ProcessProductionSchedule.xml").read_text()
    text = text.replace(
        "<QuantityString>11.9</QuantityString>", f"<QuantityString>{value}</QuantityString>"
    )
    before = written()
    with pytest.raises(B2mmlError) as refused:
        b2mml_import(text.encode(), integration=integration)
    assert any(reason in p.reason for p in refused.value.problems), refused.value.problems
    assert written() == before


def test_time_the_database_cannot_hold_is_refused(integration):
    text = (COCOP / "ProcessProductionSchedule.xml").read_text()
    text = text.replace("2019-04-24T15:30:00Z", "9999-12-31T23:59:59-14:00")
    with pytest.raises(B2mmlError) as refused:
        b2mml_import(text.encode(), integration=integration)
    assert "years 1 to 9999" in refused.value.problems[0].reason
    assert refused.value.problems[0].path.endswith("SegmentRequirement[1]/LatestEndTime")


def test_v0401_schedule_with_a_line_and_times_creates_the_job(integration):
    """Courbon's production order, given the line (Location) and window V0401 allows."""
    raw = (COURBON / "PRO-20121210181416-27942.xml").read_bytes()
    placed = raw.replace(
        b"<ID>0010</ID>",
        b"<ID>0010</ID><Location><EquipmentID>L1</EquipmentID>"
        b"<EquipmentElementLevel>ProductionLine</EquipmentElementLevel></Location>"
        b"<EarliestStartTime>2026-12-03T06:00:00+01:00</EarliestStartTime>"
        b"<LatestEndTime>2026-12-03T08:00:00+01:00</LatestEndTime>",
        1,
    )
    result = b2mml_import(placed, integration=integration)
    job = Job.objects.get(number="258456/0010")
    assert job.line.code == "L1" and job.item.code == "SO1215" and job.quantity == 1
    assert job.planned_start.isoformat() == "2026-12-03T05:00:00+00:00"
    assert job.order.due_at.isoformat() == "2026-12-03T07:00:00+00:00"
    last = Job.objects.filter(line__code="L1").exclude(pk=job.pk).order_by("-sequence").first()
    assert job.sequence == last.sequence + 10  # appended to the line's sequence
    assert result.created == {"order": 1, "job": 1}


@pytest.mark.parametrize("version", ["V0600", "V0401"])
def test_production_performance_in_both_versions(integration, version):
    job = Job.objects.filter(status="running").first()
    now = timezone.now().replace(microsecond=0).isoformat()
    xml = PERFORMANCE.format(now=now, job=job.number, good=5)
    if version == "V0401":
        xml = xml.replace(
            "http://www.mesa.org/xml/B2MML-V0600", "http://www.wbf.org/xml/B2MML-V0401"
        )
    result = b2mml_import(xml.encode(), integration=integration)
    assert result.version == version and result.events == {"accepted": 1}
    assert InboxEvent.objects.get().data["good"] == 5


MATERIAL = """<?xml version="1.0" encoding="UTF-8"?>
<SyncMaterialInformation releaseID="1" xmlns="http://www.mesa.org/xml/B2MML-V0600">
  <ApplicationArea><CreationDateTime>2026-12-01T08:00:00Z</CreationDateTime></ApplicationArea>
  <DataArea>
    <Sync/>
    <MaterialInformation>
      <MaterialLot>
        <ID>LOT-B2-1</ID>
        <MaterialDefinitionID>MAT-CAP-28</MaterialDefinitionID>
        <Status>Valid</Status>
        <MaterialSubLot>
          <ID>LOT-B2-1-A</ID>
          <Quantity><QuantityString>40</QuantityString></Quantity>
          <MaterialSubLot><ID>LOT-B2-1-A1</ID><Status>Quarantine</Status></MaterialSubLot>
        </MaterialSubLot>
        <StorageLocation>{location}</StorageLocation>
        <Quantity><QuantityString>{quantity}</QuantityString><UnitOfMeasure>EA</UnitOfMeasure></Quantity>
      </MaterialLot>
    </MaterialInformation>
  </DataArea>
</SyncMaterialInformation>
"""


def _location():
    from coordination.models import Location

    return Location.objects.filter(kind="warehouse").order_by("code").first()


def test_v0600_lot_with_nested_sub_lots_and_its_stock(integration):
    location = _location()
    item = Item.objects.get(code="MAT-CAP-28")
    stock = Stock.objects.filter(item=item, location=location).first()
    before = stock.quantity if stock else Decimal(0)
    xml = MATERIAL.format(location=location.code, quantity="250.5")
    result = b2mml_import(xml.encode(), integration=integration)
    assert result.created == {"lot": 1, "sub-lot": 2}
    lot = Lot.objects.get(code="LOT-B2-1")
    assert (lot.quantity, lot.location, lot.status) == (Decimal("250.5"), location, "available")
    nested = Lot.objects.get(code="LOT-B2-1-A1")
    assert nested.split_from.code == "LOT-B2-1-A" and nested.status == "on_hold"
    assert Stock.objects.get(item=item, location=location).quantity == before + Decimal("250.5")
    # The ERP corrects the count: stock follows the difference, audited.
    b2mml_import(
        MATERIAL.format(location=location.code, quantity="200").encode(), integration=integration
    )
    assert Stock.objects.get(item=item, location=location).quantity == before + 200
    assert "quantity 250.500 → 200" in StateChange.objects.filter(transition="update").last().reason


def test_lot_in_an_unknown_location_or_unit_is_refused(integration):
    with pytest.raises(B2mmlError) as refused:
        b2mml_import(
            MATERIAL.format(location="NOWHERE", quantity="1").encode(), integration=integration
        )
    assert "unknown location 'NOWHERE'" in refused.value.problems[0].reason
    xml = MATERIAL.format(location=_location().code, quantity="1").replace(">EA<", ">KG<")
    with pytest.raises(B2mmlError) as refused:
        b2mml_import(xml.encode(), integration=integration)
    assert "is counted in EA, not KG" in refused.value.problems[0].reason
    assert not Lot.objects.filter(code__startswith="LOT-B2").exists()


def test_schema_location_in_a_file_is_never_fetched(integration):
    """xsi:schemaLocation pointing at a server (ours, listening) is not followed."""
    import socket

    from tests.conftest import free_port

    port = free_port(19250, 19259)  # this test's sub-range of the binding helper's 19200-19299
    listener = socket.socket()
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    listener.settimeout(0.5)
    xml = (
        '<ProductionSchedule xmlns="http://www.mesa.org/xml/B2MML-V0600" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="urn:evil http://127.0.0.1:{port}/evil.xsd '
        f'http://www.mesa.org/xml/B2MML-V0600 http://127.0.0.1:{port}/b2mml.xsd">'
        "<ID>s</ID></ProductionSchedule>"
    )
    try:
        b2mml_import(xml.encode(), integration=integration)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
