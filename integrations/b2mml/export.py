"""B2MML V0600 ``ProductionSchedule`` out: a line's current sequence or an order's jobs.

Each job is one ``ProductionRequest`` (ID = job number) in sequence order, with one
``SegmentRequirement`` holding its planned window, its line (``EquipmentRequirement``) and the
produced material and quantity. The document is built from plain ``ScheduledJob`` rows, so
an approved resequencing proposal (its own order and times) can be exported the same way:
``schedule_xml(jobs, ...)`` does not care where the rows came from.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone
from lxml import etree

from coordination.models import Job, Line, Order
from kernel.errors import NotFoundError

from .reader import NAMESPACE, schema_for

NS = NAMESPACE["V0600"]
OPEN_JOBS = (Job.Status.PLANNED, Job.Status.RELEASED, Job.Status.RUNNING)
# Job status → ISA-95 request state (V0600 knows Forecast, Released, Other).
REQUEST_STATE = {
    Job.Status.PLANNED: "Forecast",
    Job.Status.RELEASED: "Released",
    Job.Status.RUNNING: "Released",
}


@dataclass(frozen=True)
class ScheduledJob:
    number: str
    line: str
    item: str
    uom: str
    quantity: int
    start: datetime
    end: datetime
    status: str
    priority: int | None = None
    order: str | None = None  # None: the reader may not see orders


def _at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _rows(jobs, *, orders: bool) -> list[ScheduledJob]:
    return [
        ScheduledJob(
            number=job.number,
            line=job.line.code,
            item=job.item.code,
            uom=job.item.uom,
            quantity=job.quantity,
            start=job.planned_start,
            end=job.planned_end,
            status=job.status,
            priority=job.order.priority,
            order=job.order.number if orders else None,
        )
        for job in jobs
    ]


def line_sequence(code: str, *, orders: bool = True) -> list[ScheduledJob]:
    """The line's current sequence: its open jobs (planned, released, running) in sequence
    order, as planned."""
    if not Line.objects.filter(code=code).exists():
        raise NotFoundError(f"line {code} does not exist", field="code")
    jobs = (
        Job.objects.filter(line__code=code, status__in=OPEN_JOBS)
        .select_related("line", "item", "order")
        .order_by("sequence", "planned_start", "number")
    )
    return _rows(jobs, orders=orders)


def order_jobs(number: str) -> list[ScheduledJob]:
    """An order's jobs (every status but cancelled), in planned order."""
    if not Order.objects.filter(number=number).exists():
        raise NotFoundError(f"order {number} does not exist", field="number")
    jobs = (
        Job.objects.filter(order__number=number)
        .exclude(status=Job.Status.CANCELLED)
        .select_related("line", "item", "order")
        .order_by("planned_start", "sequence", "number")
    )
    return _rows(jobs, orders=True)


# Characters XML 1.0 cannot carry at all; a code typed into admin could hold one.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _sub(parent, name: str, text: str | None = None):
    element = etree.SubElement(parent, f"{{{NS}}}{name}")
    if text is not None:
        element.text = _NOT_XML.sub("\ufffd", text)
    return element


def _scope(parent, name: str, line: str) -> None:
    scope = _sub(parent, name)
    _sub(scope, "EquipmentID", line)
    _sub(scope, "EquipmentElementLevel", "ProductionLine")


def schedule_xml(
    jobs: Sequence[ScheduledJob],
    *,
    schedule_id: str,
    description: str,
    line: str | None = None,
    published: datetime | None = None,
) -> bytes:
    """A V0600 ``ProductionSchedule`` document of ``jobs`` in the order given (that order is
    the sequence). Checked against the official XSD before it leaves."""
    root = etree.Element(f"{{{NS}}}ProductionSchedule", nsmap={None: NS})
    _sub(root, "ID", schedule_id)
    _sub(root, "Description", description)
    if line:
        _scope(root, "HierarchyScope", line)
    _sub(root, "PublishedDate", _at(published or timezone.now()))
    if jobs:
        _sub(root, "StartTime", _at(min(job.start for job in jobs)))
        _sub(root, "EndTime", _at(max(job.end for job in jobs)))
    for position, job in enumerate(jobs, start=1):
        request = _sub(root, "ProductionRequest")
        _sub(request, "ID", job.number)
        what = f"position {position} on {job.line}"
        _sub(request, "Description", f"order {job.order}, {what}" if job.order else what)
        _scope(request, "HierarchyScope", job.line)
        _sub(request, "StartTime", _at(job.start))
        _sub(request, "EndTime", _at(job.end))
        if job.priority is not None:
            _sub(request, "Priority", str(job.priority))
        segment = _sub(request, "SegmentRequirement")
        _sub(segment, "ID", str(position))
        _sub(segment, "EarliestStartTime", _at(job.start))
        _sub(segment, "LatestEndTime", _at(job.end))
        equipment = _sub(segment, "EquipmentRequirement")
        _sub(equipment, "EquipmentID", job.line)
        material = _sub(segment, "MaterialRequirement")
        _sub(material, "MaterialDefinitionID", job.item)
        _sub(material, "MaterialUse", "Produced")
        quantity = _sub(material, "Quantity")
        _sub(quantity, "QuantityString", str(job.quantity))
        _sub(quantity, "DataType", "integer")
        _sub(quantity, "UnitOfMeasure", job.uom)
        _sub(request, "RequestState", REQUEST_STATE.get(job.status, "Other"))
    schema_for("V0600", "schedule").validate(root)  # a bug here must not reach an ERP
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def line_schedule_xml(code: str, *, orders: bool = True) -> bytes:
    now = timezone.now()
    return schedule_xml(
        line_sequence(code, orders=orders),
        schedule_id=f"{code}-{now:%Y%m%dT%H%M%SZ}",
        description=f"current sequence of line {code}",
        line=code,
        published=now,
    )


def order_schedule_xml(number: str) -> bytes:
    now = timezone.now()
    return schedule_xml(
        order_jobs(number),
        schedule_id=f"{number}-{now:%Y%m%dT%H%M%SZ}",
        description=f"jobs of order {number}",
        published=now,
    )
