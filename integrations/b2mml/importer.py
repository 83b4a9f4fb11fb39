"""Importing a B2MML file: ProductionSchedule (→ orders and jobs), MaterialInformation /
MaterialDefinition / MaterialLot / MaterialSubLot (→ items, lots and stock) and
ProductionPerformance (→ ``production.progress`` events into the inbox), V0600 and V0401.

One file is one transaction: read and schema-checked (``reader``), checked for meaning (dates
in order, quantities that match their data type and are ≥ 0, references that resolve), then
written through the domain's services (``coordination.master_data``, audited) and the inbox
(``events_accept``: the same validation, deduplication and "stored before anything else" as
the REST API). Any problem anywhere and nothing is written; every problem names the element
path, the line and the reason. Writing only what differs makes a re-import change nothing,
and events get an id derived from their content, so a re-sent performance is a duplicate.

The README section "B2MML import and export" is the mapping table; keep them together.
"""

import hashlib
import math
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from coordination.master_data import Audit, item_record, job_record, lot_record, order_record
from coordination.models import Customer, Item, Job, Line, Location, Lot, Order, Site, StateChange
from kernel.errors import DomainError, PermissionDeniedError

from ..models import Integration
from ..services import events_accept
from .reader import B2mmlError, Document, Problem, document_read, local_name, problem_at

STOCK_CUSTOMER = "STOCK"  # the customer of make-to-stock orders (a request naming none)
CUSTOMER_PARAMETER = "Customer"  # the ProductionParameter (ID) that names an order's customer
MAX_NUMBER = 20  # Order.number and Job.number columns
MAX_CODE = 40  # Item.code, Lot.code, Location.code
MAX_COUNT = 2_147_483_647  # order and job quantities land in 32-bit integer columns
MAX_QUANTITY = Decimal("99999999999")  # lot quantities land in numeric(14, 3) columns
# What a key must be allowed to send to import each family (``Integration.allowed_types``).
FAMILY_TYPES = {
    "schedule": "order.changed",
    "material": "inventory.level",
    "performance": "production.progress",
}
NUMERIC_TYPES = {
    "amount", "decimal", "double", "float", "int", "integer", "long", "short", "byte",
    "unsignedbyte", "unsignedint", "unsignedlong", "unsignedshort", "positiveinteger",
    "negativeinteger", "nonnegativeinteger", "nonpositiveinteger", "numeric", "measure",
    "quantity",
}  # fmt: skip
INTEGER_TYPES = {t for t in NUMERIC_TYPES if "int" in t or t in ("long", "short", "byte")}
BOOLEAN_TYPES = {"boolean", "indicator"}
HOLD_STATUSES = {"notvalid", "invalid", "blocked", "hold", "onhold", "quarantine", "rejected"}
USABLE_STATUSES = {"valid", "released", "available", "approved", "unrestricted"}
SCRAP_KEYS = {"scrap", "rejected", "reject", "bad"}
AMOUNT_KEYS = {"", "amount", "prodamount", "quantity", "total"}


class ImportForbiddenError(PermissionDeniedError):
    code = "import_forbidden"


@dataclass
class ImportResult:
    message: str
    version: str
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)
    notes: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "message": self.message,
            "version": self.version,
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": dict(self.unchanged),
            "events": {"accepted": self.events["accepted"], "duplicate": self.events["duplicate"]},
            "notes": [note.as_dict() for note in self.notes],
        }

    def count(self, kind: str, created: bool, changed: bool) -> None:
        (self.created if created else self.updated if changed else self.unchanged)[kind] += 1


class _Run:
    """One import's state: the document, who imports, what was found wrong or done."""

    def __init__(self, document: Document, integration: Integration, audit: Audit):
        self.doc = document
        self.integration = integration
        self.audit = audit
        self.problems: list[Problem] = []
        self.found: dict[tuple, object] = {}
        self.result = ImportResult(local_name(document.root), document.version)
        self.zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        area = self.child(document.root, "ApplicationArea")
        self.created_at = self.time(area, "CreationDateTime") if area is not None else None
        sender = self.child(area, "Sender") if area is not None else None
        self.sender = self.text(sender, "LogicalID") if sender is not None else ""

    # --- reading ---------------------------------------------------------------------------

    def child(self, element, name: str):
        return element.find(self.doc.q(name)) if element is not None else None

    def children(self, element, name: str) -> list:
        return element.findall(self.doc.q(name)) if element is not None else []

    def text(self, element, name: str) -> str:
        found = self.child(element, name)
        return (found.text or "").strip() if found is not None else ""

    def time(self, element, name: str) -> datetime | None:
        found = self.child(element, name)
        if found is None or not (found.text or "").strip():
            return None
        return self.parse_time(found)

    def parse_time(self, element) -> datetime | None:
        """xs:dateTime in UTC. A time without an offset is the plant's local time
        (``TIME_ZONE``, UTC unless set); more than microseconds are cut."""
        text = element.text.strip().replace("z", "Z")
        head, dot, rest = text.partition(".")
        if dot:
            digits = len(rest) - len(rest.lstrip("0123456789"))
            rest = rest[:digits][:6].ljust(6, "0") + rest[digits:]
            text = f"{head}.{rest}"
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=self.zone)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            self.problem(element, f"{text!r} is not a date-time we can store (years 1 to 9999)")
            return None

    def problem(self, element, reason: str) -> None:
        self.problems.append(problem_at(element, reason))

    def note(self, element, reason: str) -> None:
        self.result.notes.append(problem_at(element, reason))

    def lookup(self, model, element, what: str, **where):
        """The referenced record, or a problem naming the element that references it. Master
        records are looked up once per file (a schedule names the same lines and items over
        and over)."""
        key = (model, tuple(sorted(where.items())))
        if key not in self.found:
            self.found[key] = model.objects.filter(**where).first()
        found = self.found[key]
        if found is None:
            value = next(iter(where.values()))
            self.problem(element, f"unknown {what} {value!r}: not in the plant picture")
        return found

    def savepoint(self, element, write):
        """Run one record's write; a domain refusal becomes a problem at ``element`` and the
        import goes on, so that every problem is reported. No savepoint is needed: a domain
        refusal is raised by a check, not by a failed statement, so the transaction stays
        usable, and any problem rolls the whole file back at the end."""
        try:
            return write()
        except DomainError as exc:
            self.problem(element, exc.detail)
            return None

    # --- meaning checks over the whole document ----------------------------------------------

    def check_meaning(self) -> None:
        for element in self.doc.root.iter():
            name = local_name(element)
            if name in ("Quantity", "Value"):
                self.check_value(element, quantity=name == "Quantity")
            for start_name, end_name in (
                ("EarliestStartTime", "LatestEndTime"),
                ("StartTime", "EndTime"),
                ("ActualStartTime", "ActualEndTime"),
            ):
                start, end = self.time(element, start_name), self.time(element, end_name)
                if start and end and start > end:
                    self.problem(
                        self.child(element, start_name),
                        f"{start_name} {start.isoformat()} is after {end_name} {end.isoformat()}",
                    )

    def check_value(self, element, *, quantity: bool) -> None:
        """A QuantityString / ValueString must read as its DataType says; a quantity ≥ 0."""
        value_element = self.child(element, "QuantityString" if quantity else "ValueString")
        text = (value_element.text or "").strip() if value_element is not None else ""
        kind = self.text(element, "DataType").lower()
        if value_element is None or not text:
            return
        if kind in BOOLEAN_TYPES:
            if text.lower() not in ("true", "false", "1", "0"):
                self.problem(value_element, f"{text!r} is not a {kind} (true or false)")
            return
        if kind in NUMERIC_TYPES or (quantity and not kind):
            number = self.number(text)
            if number is None:
                label = kind or "number"
                self.problem(value_element, f"{text!r} is not a number ({label})")
            elif kind in INTEGER_TYPES and number != number.to_integral_value():
                self.problem(value_element, f"{text!r} is not a whole number ({kind})")
            elif quantity and number < 0:
                self.problem(value_element, f"quantity {text} must be ≥ 0")
            elif quantity and number > MAX_QUANTITY:
                self.problem(value_element, f"quantity {text} must be ≤ {MAX_QUANTITY:,}")

    @staticmethod
    def number(text: str) -> Decimal | None:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None

    def quantity(self, owner) -> tuple[Decimal | None, str, object]:
        """(amount, unit, element) of the owner's amount: its Quantity without a Key or keyed
        as an amount (``ProdAmount``); a rate (``ProdRate``, t/h) is not an amount."""
        for q in self.children(owner, "Quantity"):
            if self.text(q, "Key").lower() in AMOUNT_KEYS:
                value = self.child(q, "QuantityString")
                text = (value.text or "").strip() if value is not None else ""
                return self.number(text), self.text(q, "UnitOfMeasure"), q
        return None, "", None

    # --- where things are --------------------------------------------------------------------

    def site(self, element) -> Site | None:
        if self.integration.site_id:
            return self.integration.site
        sites = list(Site.objects.all()[:2])
        if len(sites) == 1:
            return sites[0]
        if sites:
            self.problem(element, "the importing integration has no site and the plant has several")
        else:
            self.problem(element, "the plant has no site yet")
        return None

    def equipment(self, element) -> str:
        """The equipment an element is scoped to: its HierarchyScope (V0600), its Location, or
        its first EquipmentRequirement."""
        for holder in ("HierarchyScope", "Location", "EquipmentRequirement"):
            found = self.child(element, holder)
            if found is not None and self.text(found, "EquipmentID"):
                level = self.text(found, "EquipmentElementLevel")
                if level in ("Enterprise", "Site", "Area"):
                    continue  # a scope wider than a line says nothing about the line
                return self.text(found, "EquipmentID")
        return ""


def import_integration(name: str = "b2mml-import") -> Integration:
    """The integration a command-line import runs as (the plant's only site by default)."""
    integration = Integration.objects.filter(name=name).first()
    if integration is None:
        sites = list(Site.objects.all()[:2])
        integration = Integration.objects.create(
            name=name,
            site=sites[0] if len(sites) == 1 else None,
            description="B2MML files imported with manage.py import_b2mml",
        )
    return integration


def b2mml_import(
    data: bytes, *, integration: Integration, actor=None, via: str = StateChange.Via.SYSTEM,
    filename: str = "",
) -> ImportResult:  # fmt: skip
    """Import one B2MML file all-or-nothing; ``B2mmlError`` lists every problem (nothing
    written), ``ImportForbiddenError`` if the integration may not send that family."""
    document = document_read(data)
    needed = FAMILY_TYPES[document.family]
    if not integration.allows(needed):
        raise ImportForbiddenError(
            f"this key may not import {document.noun} (it needs {needed} among its event types)",
            field="type",
        )
    label = f"B2MML import {filename}".strip() if filename else "B2MML import"
    run = _Run(document, integration, Audit(actor=actor, via=via, reason=label))
    run.check_meaning()
    if run.problems:
        raise B2mmlError(run.problems)
    with transaction.atomic():
        {"schedule": _schedule, "material": _material, "performance": _performance}[
            document.family
        ](run)
        if run.problems:
            raise B2mmlError(run.problems)  # leaving the block rolls everything back
    return run.result


# --- ProductionSchedule → orders and jobs ------------------------------------------------------


def _schedule(run: _Run) -> None:
    schedule_line = ""
    for schedule in run.doc.root.iter(run.doc.q("ProductionSchedule")):
        schedule_line = run.equipment(schedule)
        for request in run.children(schedule, "ProductionRequest"):
            _request(run, request, schedule_line)


def _produced(run: _Run, request):
    """The request's produced material: a MaterialRequirement used ``Produced`` (or a
    MaterialProducedRequirement) naming a material, anywhere in its segments."""
    for element in request.iter(
        run.doc.q("MaterialRequirement"), run.doc.q("MaterialProducedRequirement")
    ):
        produced = local_name(element) == "MaterialProducedRequirement"
        if (produced or run.text(element, "MaterialUse") == "Produced") and run.text(
            element, "MaterialDefinitionID"
        ):
            return element
    return None


def _customer_code(run: _Run, request) -> str:
    for parameter in request.iter(run.doc.q("Parameter"), run.doc.q("ProductionParameter")):
        if run.text(parameter, "ID") == CUSTOMER_PARAMETER:
            for value in parameter.iter(run.doc.q("ValueString")):
                if (value.text or "").strip():
                    return value.text.strip()
    return ""


def _window(run: _Run, segment) -> tuple[datetime | None, datetime | None]:
    """A segment's planned window: its own times, else the span of its nested segments."""
    start, end = run.time(segment, "EarliestStartTime"), run.time(segment, "LatestEndTime")
    if start and end:
        return start, end
    starts, ends = [], []
    for nested in segment.iter(run.doc.q("SegmentRequirement")):
        starts.append(run.time(nested, "EarliestStartTime"))
        ends.append(run.time(nested, "LatestEndTime"))
    starts, ends = [s for s in starts if s], [e for e in ends if e]
    return start or (min(starts) if starts else None), end or (max(ends) if ends else None)


def _request(run: _Run, request, schedule_line: str) -> None:
    known = len(run.problems)  # an earlier request's problems do not stop this one's checks
    number_element = run.child(request, "ID")
    number = run.text(request, "ID")
    if not number:
        run.note(request, "skipped: a ProductionRequest without an ID cannot be an order")
        return
    if len(number) > MAX_NUMBER:
        run.problem(number_element, f"order number {number!r} is over {MAX_NUMBER} characters")
        return
    existing = Order.objects.filter(number=number).select_related("item", "customer").first()
    produced = _produced(run, request)
    if produced is None and existing is None:
        run.note(
            request,
            f"skipped: request {number} names no produced material (MaterialUse Produced), "
            "so it is not an order we can create",
        )
        return
    # Item and quantity.
    if produced is not None:
        code = run.text(produced, "MaterialDefinitionID")
        item = run.lookup(Item, run.child(produced, "MaterialDefinitionID"), "item", code=code)
        amount, unit, quantity_element = run.quantity(produced)
    else:
        item, amount, unit, quantity_element = existing.item, None, "", None
    if item is None:
        return
    if unit and item.uom and unit.upper() != item.uom.upper():
        run.problem(quantity_element, f"item {item.code} is counted in {item.uom}, not {unit}")
        return
    if amount is None:
        if existing is None:
            run.problem(produced, f"request {number}: the produced material has no quantity")
            return
        quantity = existing.quantity
    else:
        quantity = math.ceil(amount)
        if quantity != amount:
            run.note(
                quantity_element, f"{amount} rounded up to {quantity}: orders count whole units"
            )
        if not 1 <= quantity <= MAX_COUNT:
            run.problem(quantity_element, f"an order's quantity must be 1 to {MAX_COUNT:,}")
            return
    # Customer, priority.
    customer = None
    customer_code = _customer_code(run, request)
    if customer_code:
        customer = run.lookup(Customer, request, "customer", code=customer_code)
        if customer is None:
            return
    elif existing is None:
        key = (Customer, (("code", STOCK_CUSTOMER),))
        if key not in run.found:
            run.found[key] = Customer.objects.filter(code=STOCK_CUSTOMER).first()
        customer = run.found[key]
        if customer is None:
            run.problem(
                request,
                f"request {number} names no customer (a ProductionParameter {CUSTOMER_PARAMETER}) "
                f"and the plant has no make-to-stock customer {STOCK_CUSTOMER}",
            )
            return
    priority = None
    priority_text = run.text(request, "Priority")
    if priority_text:
        if not priority_text.lstrip("-").isdigit() or not 1 <= int(priority_text) <= 5:
            run.problem(
                run.child(request, "Priority"),
                f"priority {priority_text!r} must be 1 (most urgent) to 5",
            )
            return
        priority = int(priority_text)
    # Segments → jobs; the order is due when the last one must end.
    request_line = run.equipment(request) or schedule_line
    segments = []
    for position, segment in enumerate(run.children(request, "SegmentRequirement"), start=1):
        start, end = _window(run, segment)
        start = start or run.time(request, "StartTime")
        end = end or run.time(request, "EndTime")
        segments.append((position, segment, start, end))
    due_at = run.time(request, "EndTime") or max((end for *_, end in segments if end), default=None)
    if due_at is None:
        if existing is not None:
            due_at = existing.due_at
        else:
            due_at = run.created_at or datetime.now(UTC)
            run.note(
                request,
                f"request {number} has no EndTime or LatestEndTime: due as soon as possible "
                f"(its CreationDateTime, {due_at.isoformat()})",
            )
    site = None
    jobs = []
    for position, segment, start, end in segments:
        line_code = run.equipment(segment) or request_line
        if not line_code:
            run.note(segment, "no job: the segment names no line (HierarchyScope, Location or "
                     "EquipmentRequirement EquipmentID)")  # fmt: skip
            continue
        line = run.lookup(Line, segment, "line", code=line_code)
        if line is None:
            continue
        site = site or line.site
        if start is None or end is None:
            run.note(segment, f"no job: line {line.code} but no start and end time to plan it")
            continue
        if start > end:  # each pair was checked; a window pieced together may still cross
            run.problem(
                segment,
                f"the job would start ({start.isoformat()}) after it ends ({end.isoformat()})",
            )
            continue
        label = run.text(segment, "ID") or run.text(segment, "ProcessSegmentID") or str(position)
        job_number = f"{number}/{label}"
        if len(job_number) > MAX_NUMBER:
            run.problem(segment, f"job number {job_number!r} is over {MAX_NUMBER} characters")
            continue
        own = _produced(run, segment)
        segment_amount, _, _ = run.quantity(own if own is not None else segment)
        job_quantity = math.ceil(segment_amount) if segment_amount else quantity
        if not 1 <= job_quantity <= MAX_COUNT:
            run.problem(segment, f"a job's quantity must be 1 to {MAX_COUNT:,}")
            continue
        jobs.append((segment, job_number, line, job_quantity, start, end))
    site = site or (existing.site if existing else None) or run.site(request)
    if site is None or len(run.problems) > known:
        return
    # Written even when another request of the file was refused: the domain's own checks
    # (a running job, a closed order) report their problems too; the file is rolled back.

    order = run.savepoint(
        request,
        lambda: _count(
            run,
            "order",
            order_record(
                number=number,
                site=site,
                customer=customer,
                item=item,
                quantity=quantity,
                due_at=due_at,
                priority=priority,
                audit=run.audit,
            ),
            existing is None,
        ),
    )
    if order is None:
        return
    for segment, job_number, line, job_quantity, start, end in jobs:
        created = not Job.objects.filter(number=job_number).exists()
        run.savepoint(
            segment,
            lambda n=job_number, li=line, q=job_quantity, s=start, e=end, c=created: _count(
                run,
                "job",
                job_record(
                    number=n, order=order, line=li, quantity=q, planned_start=s, planned_end=e,
                    audit=run.audit,
                ),
                c,
            ),
        )  # fmt: skip


def _count(run: _Run, kind: str, outcome: tuple, created: bool):
    record, changed = outcome[0], outcome[1]
    run.result.count(kind, created, changed)
    return record


# --- MaterialInformation / MaterialDefinition / MaterialLot → items, lots, stock -------------


def _material(run: _Run) -> None:
    q = run.doc.q
    for definition in run.doc.root.iter(q("MaterialDefinition")):
        _definition(run, definition)
    if run.problems:
        return  # the lots below may name these materials
    for lot in run.doc.root.iter(q("MaterialLot")):
        _lot(run, lot, parent=None)  # and its sub-lots, nested or not
    # Sub-lots on their own (a MaterialSubLot message, or beside their lot) name their lot.
    for sub in run.doc.root.iter(q("MaterialSubLot")):
        if local_name(sub.getparent()) in ("MaterialLot", "MaterialSubLot"):
            continue
        code = run.text(sub, "MaterialLotID")
        if not code:
            run.problem(sub, "a sub-lot outside its lot must name it (MaterialLotID)")
            continue
        parent = run.lookup(Lot, run.child(sub, "MaterialLotID"), "lot", code=code)
        if parent is not None:
            _lot(run, sub, parent=parent)


def _definition(run: _Run, definition) -> None:
    code = run.text(definition, "ID")
    if not code or len(code) > MAX_CODE:
        run.problem(definition, f"a material needs an ID of 1 to {MAX_CODE} characters")
        return
    uom = ""
    for prop in run.children(definition, "MaterialDefinitionProperty"):
        if run.text(prop, "ID") in ("BaseUnitOfMeasure", "UnitOfMeasure"):
            value = prop.find(f".//{run.doc.q('ValueString')}")
            uom = (value.text or "").strip() if value is not None else ""
    description = run.text(definition, "Description") or code
    created = not Item.objects.filter(code=code).exists()
    run.savepoint(
        definition,
        lambda: _count(
            run,
            "item",
            item_record(code=code, description=description, uom=uom or None, audit=run.audit),
            created,
        ),
    )


def _lot_item(run: _Run, lot, parent: Lot | None) -> Item | None:
    """The lot's material: its MaterialDefinitionID, else its sub-lot's parent's, else the
    enclosing MaterialInformation's ID when that is a material code (as Courbon sends it)."""
    code = run.text(lot, "MaterialDefinitionID")
    if code:
        return run.lookup(Item, run.child(lot, "MaterialDefinitionID"), "item", code=code)
    if parent is not None:
        return parent.item
    info = next((a for a in lot.iterancestors() if local_name(a) == "MaterialInformation"), None)
    info_id = run.text(info, "ID") if info is not None else ""
    item = Item.objects.filter(code=info_id).first() if info_id else None
    if item is None:
        run.problem(lot, "the lot names no material (MaterialDefinitionID) we know")
    return item


def _lot_location(run: _Run, lot, parent: Lot | None, site: Site | None) -> Location | None:
    for holder in ("StorageLocation", "Location"):
        found = run.child(lot, holder)
        if found is None:
            continue
        code = (found.text or "").strip() or run.text(found, "EquipmentID")
        if code:
            return run.lookup(Location, found, "location", code=code)
    if parent is not None:
        return parent.location
    if Lot.objects.filter(code=run.text(lot, "ID")).exists():
        return None  # unchanged
    # A new lot with no storage location: the site's receiving warehouse (its first).
    location = (
        Location.objects.filter(site=site, kind=Location.Kind.WAREHOUSE).order_by("code").first()
        if site is not None
        else None
    )
    if location is None:
        run.problem(lot, "a new lot needs a StorageLocation (the site has no warehouse)")
    return location


def _lot(run: _Run, lot, *, parent: Lot | None) -> Lot | None:
    """One lot (or sub-lot) and, below it, its sub-lots."""
    known = len(run.problems)
    code = run.text(lot, "ID")
    if not code or len(code) > MAX_CODE:
        run.problem(lot, f"a lot needs an ID of 1 to {MAX_CODE} characters")
        return None
    item = _lot_item(run, lot, parent)
    if item is None:
        return None
    site = run.site(lot) if parent is None and not Lot.objects.filter(code=code).exists() else None
    location = _lot_location(run, lot, parent, site)
    if len(run.problems) > known:
        return None
    amount, unit, quantity_element = run.quantity(lot)
    if unit and item.uom and unit.upper() != item.uom.upper():
        run.problem(quantity_element, f"item {item.code} is counted in {item.uom}, not {unit}")
        return None
    status = run.text(lot, "Status")
    hold_reason = None
    key = status.replace(" ", "").replace("_", "").lower()
    if key in HOLD_STATUSES:
        hold_reason = f"ERP status {status} ({run.audit.reason})"
    elif status and key not in USABLE_STATUSES:
        run.note(run.child(lot, "Status"), f"status {status!r} is not mapped: status unchanged")
    created = not Lot.objects.filter(code=code).exists()

    def write():
        record, changed, note = lot_record(
            code=code, item=item, location=location, quantity=amount, parent=parent,
            hold_reason=hold_reason, audit=run.audit,
        )  # fmt: skip
        if note:
            run.note(lot, note)
        run.result.count("sub-lot" if parent else "lot", created, changed)
        return record

    record = run.savepoint(lot, write)
    if record is not None:
        for sub in run.children(lot, "MaterialSubLot"):
            _lot(run, sub, parent=record)
    return record


# --- ProductionPerformance → production.progress events --------------------------------------


def _performance(run: _Run) -> None:
    q = run.doc.q
    events, elements = [], []
    for response in run.doc.root.iter(q("ProductionResponse")):
        request_id = run.text(response, "ProductionRequestID")
        response_id = run.text(response, "ID")
        for position, segment in enumerate(run.children(response, "SegmentResponse"), 1):
            event = _progress(run, response, segment, request_id, response_id, position)
            if event is not None:
                events.append(event)
                elements.append(segment)
    if run.problems or not events:
        return
    results = events_accept(integration=run.integration, raw_events=events)
    for result, segment in zip(results, elements, strict=True):
        if result["status"] == "rejected":
            for error in result["errors"]:
                run.problem(segment, f"production.progress {error['field']}: {error['message']}")
        else:
            run.result.events[result["status"]] += 1


def _progress(run: _Run, response, segment, request_id, response_id, position) -> dict | None:
    segment_id = run.text(segment, "ID") or run.text(segment, "ProcessSegmentID") or str(position)
    candidates = [c for c in (f"{request_id}/{segment_id}" if request_id else "", request_id,
                              response_id) if c]  # fmt: skip
    good = scrap = Decimal(0)
    found = False
    for actual in segment.iter(run.doc.q("MaterialActual"), run.doc.q("MaterialProducedActual")):
        if local_name(actual) == "MaterialActual" and run.text(actual, "MaterialUse") != "Produced":
            continue
        for quantity in run.children(actual, "Quantity"):
            amount = run.number(run.text(quantity, "QuantityString"))
            if amount is None:
                continue
            found = True
            if run.text(quantity, "Key").lower() in SCRAP_KEYS:
                scrap += amount
            else:
                good += amount
    if not found:
        run.note(segment, "no produced material actual: no progress to report")
        return None
    if good != good.to_integral_value() or scrap != scrap.to_integral_value():
        run.problem(segment, f"counts must be whole units (good {good}, scrap {scrap})")
        return None
    job = Job.objects.filter(number__in=candidates).first()
    if job is None:
        run.problem(
            segment,
            f"no job {' or '.join(repr(c) for c in candidates)} (ProductionRequestID / ID)",
        )
        return None
    moment = (
        run.time(segment, "ActualEndTime")
        or run.time(response, "EndTime")
        or run.created_at
        or datetime.now(UTC)
    )
    source = f"b2mml/{run.sender or run.integration.name}"
    content = (
        f"{source}|{response_id}|{segment_id}|{job.number}|{moment.isoformat()}|{good}|{scrap}"
    )
    return {
        "specversion": "1.0",
        "id": "b2mml-" + hashlib.sha256(content.encode()).hexdigest()[:32],
        "source": source,
        "type": "production.progress",
        "time": moment.isoformat().replace("+00:00", "Z"),
        "data": {"job": job.number, "line": job.line.code, "good": int(good), "scrap": int(scrap)},
    }
