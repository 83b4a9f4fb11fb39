"""A believable demo plant: a beverage bottler with four lines, for the demo and the tests.

Deterministic for a seed and an anchor time; created in one transaction, so a crash leaves
nothing half-seeded, and a second run finds the site and changes nothing.
"""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from kernel.roles import ADMIN, ROLES

from . import models as plant

SITE_CODE = "RIV"
DEMO_PASSWORD = "demo"

# line code, name, assets, {family: (rate per hour, [products])}
LINES = [
    (
        "L1",
        "PET filling line 1",
        ["filler", "capper", "labeller", "palletiser"],
        {
            "PET-WATER": (
                6000,
                ["Still water 0.5 L", "Sparkling water 0.5 L", "Still water 1.5 L"],
            ),
            "PET-CSD": (5000, ["Cola 0.5 L", "Lemon-lime 0.5 L", "Orange soda 1.5 L"]),
            "PET-JUICE": (3500, ["Apple juice 1 L", "Orange juice 1 L"]),
        },
    ),
    (
        "L2",
        "Can line 2",
        ["depalletiser", "filler", "seamer", "packer"],
        {
            "CAN-CSD": (
                9000,
                ["Cola 330 ml", "Cola zero 330 ml", "Lemon soda 330 ml", "Ginger ale 330 ml"],
            ),
            "CAN-ENERGY": (
                7000,
                [
                    "Energy original 250 ml",
                    "Energy sugar-free 250 ml",
                    "Energy tropical 500 ml",
                    "Iced tea peach 330 ml",
                ],
            ),
        },
    ),
    (
        "L3",
        "Glass bottle line 3",
        ["washer", "filler", "crowner", "labeller"],
        {
            "GLS-JUICE": (
                2500,
                [
                    "Apple juice 0.25 L glass",
                    "Orange juice 0.25 L glass",
                    "Tomato juice 0.2 L glass",
                    "Multivitamin 0.25 L glass",
                ],
            ),
            "GLS-PREMIUM": (
                2000,
                [
                    "Tonic water 0.2 L",
                    "Bitter lemon 0.2 L",
                    "Ginger beer 0.2 L",
                    "Mineral water 0.75 L glass",
                ],
            ),
        },
    ),
    (
        "L4",
        "Aseptic carton line 4",
        ["sterilizer", "filler", "straw applicator", "case packer"],
        {
            "CTN-JUICE": (
                4000,
                [
                    "Apple juice carton 1 L",
                    "Orange juice carton 1 L",
                    "Kids juice carton 0.2 L",
                    "Cranberry carton 1 L",
                ],
            ),
            "CTN-DAIRY": (
                3000,
                ["Oat drink 1 L", "Chocolate milk 0.5 L", "Vanilla milk 0.5 L", "Barista oat 1 L"],
            ),
        },
    ),
]
MATERIALS = [
    ("MAT-PREFORM-28", "PET preform 28 mm", "EA"),
    ("MAT-CAP-28", "Closure 28 mm", "EA"),
    ("MAT-CAN-330", "Aluminium can 330 ml", "EA"),
    ("MAT-LID-202", "Can lid 202", "EA"),
    ("MAT-GLASS-025", "Glass bottle 0.25 L", "EA"),
    ("MAT-CARTON-1L", "Aseptic carton blank 1 L", "EA"),
    ("MAT-CONC-ORANGE", "Orange juice concentrate", "KG"),
    ("MAT-SYRUP-COLA", "Cola syrup", "L"),
]
CUSTOMERS = [
    ("C-BRIGHT", "Brightway Supermarkets", 1),
    ("C-COAST", "Coastal Wholesale", 1),
    ("C-GREEN", "Greenleaf Markets", 1),
    ("C-SUMMIT", "Summit Distribution", 2),
    ("C-RIVER", "Riverbend Co-op", 2),
    ("C-OAK", "Oakridge Foodservice", 2),
    ("C-LAKE", "Lakeside Convenience", 2),
    ("C-PION", "Pioneer Catering", 2),
    ("C-RED", "Redstone Stores", 3),
    ("C-BLUE", "Bluewater Hotels", 3),
    ("C-SUN", "Sunvale Retail", 3),
    ("C-IRON", "Ironbridge Logistics", 3),
    ("C-MEADOW", "Meadow Fresh Markets", 3),
    ("C-CREST", "Crestline Vending", 3),
    ("C-HARBOR", "Harborview Cinemas", 3),
]
LOCATIONS = [
    ("WH-RAW-01", "Raw material warehouse, aisle 1", plant.Location.Kind.WAREHOUSE),
    ("WH-RAW-02", "Raw material warehouse, aisle 2", plant.Location.Kind.WAREHOUSE),
    ("WH-FG-01", "Finished goods warehouse", plant.Location.Kind.WAREHOUSE),
    ("QA-CAGE", "Quality cage", plant.Location.Kind.QUALITY),
    ("DOCK-1", "Shipping dock 1", plant.Location.Kind.SHIPPING),
    *[(f"LS-{code}", f"Line side {code}", plant.Location.Kind.LINE_SIDE) for code, *_ in LINES],
]
SHIFTS = [
    ("A", "Early", time(6), time(14), 14),
    ("B", "Late", time(14), time(22), 14),
    ("C", "Night", time(22), time(6), 9),
]
HOLD_REASONS = [
    "Seal integrity below spec",
    "Fill level out of tolerance",
    "Foreign particle found in sample",
    "Supplier certificate missing",
]
OPEN_ORDERS = 80
DONE_ORDERS = 12
LOTS_PER_DONE_JOB = 5
MATERIAL_LOTS = 140


@dataclass
class SeedReport:
    created: bool
    counts: dict[str, int]
    users: list[str]


def demo_seed(*, seed: int = 7, now: datetime | None = None, users: bool = True) -> SeedReport:
    """Create the demo plant unless it exists; demo users (password ``demo``) when asked."""
    created = False
    with transaction.atomic():
        if not plant.Site.objects.filter(code=SITE_CODE).exists():
            _Plant(random.Random(seed), now or timezone.now()).build()
            created = True
        names = _demo_users() if users else []
    counts = {
        "lines": plant.Line.objects.count(),
        "items": plant.Item.objects.count(),
        "customers": plant.Customer.objects.count(),
        "orders": plant.Order.objects.count(),
        "open orders": plant.Order.objects.filter(
            status__in=[plant.Order.Status.OPEN, plant.Order.Status.IN_PRODUCTION]
        ).count(),
        "jobs": plant.Job.objects.count(),
        "open jobs": plant.Job.objects.exclude(
            status__in=[plant.Job.Status.COMPLETED, plant.Job.Status.CANCELLED]
        ).count(),
        "lots": plant.Lot.objects.count(),
    }
    return SeedReport(created=created, counts=counts, users=names)


def _demo_users() -> list[str]:
    User = get_user_model()
    names = []
    for role in ROLES:
        user, made = User.objects.get_or_create(
            username=role, defaults={"email": f"{role}@demo.plant", "first_name": role.title()}
        )
        if made:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = role == ADMIN
            user.save()
        user.groups.add(Group.objects.get(name=role))
        names.append(role)
    return names


class _Plant:
    def __init__(self, rng: random.Random, now: datetime):
        self.rng = rng
        self.now = now.replace(minute=0, second=0, microsecond=0)

    def build(self) -> None:
        self.site = plant.Site.objects.create(code=SITE_CODE, name="Riverside bottling plant")
        self.locations = {
            code: plant.Location.objects.create(site=self.site, code=code, name=name, kind=kind)
            for code, name, kind in LOCATIONS
        }
        plant.Shift.objects.bulk_create(
            plant.Shift(site=self.site, code=c, name=n, starts=s, ends=e, crew_size=k)
            for c, n, s, e, k in SHIFTS
        )
        self._lines_and_items()
        self.customers = plant.Customer.objects.bulk_create(
            plant.Customer(code=c, name=n, tier=t) for c, n, t in CUSTOMERS
        )
        self._completed_history()
        self._open_orders_and_jobs()
        self._material_lots_and_stock()

    def _lines_and_items(self) -> None:
        self.lines, self.products_by_line = {}, {}
        items = []
        for code, name, assets, families in LINES:
            line = plant.Line.objects.create(
                site=self.site,
                code=code,
                name=name,
                families=list(families),
                status=plant.Line.Status.RUNNING,
                status_since=self.now - timedelta(hours=3),
            )
            self.lines[code] = line
            plant.Asset.objects.bulk_create(
                plant.Asset(line=line, code=f"{code}-{a.upper().replace(' ', '-')}", name=a.title())
                for a in assets
            )
            for number, (family, (rate, products)) in enumerate(families.items()):
                for k, description in enumerate(products):
                    items.append(
                        plant.Item(
                            code=f"FG-{code}{number + 1}{k + 1:02d}",
                            description=description,
                            family=family,
                            rate_per_hour=rate,
                            uom="EA",
                        )
                    )
            self._changeovers(line, list(families))
        items += [
            plant.Item(code=c, description=d, kind=plant.Item.Kind.MATERIAL, uom=u)
            for c, d, u in MATERIALS
        ]
        created = plant.Item.objects.bulk_create(items)
        by_family = {}
        for item in created:
            by_family.setdefault(item.family, []).append(item)
        self.materials = [i for i in created if i.kind == plant.Item.Kind.MATERIAL]
        for code, _, _, families in LINES:
            self.products_by_line[code] = [i for f in families for i in by_family[f]]

    def _changeovers(self, line: plant.Line, families: list[str]) -> None:
        """Flavour changes within a family are quick; across families need cleaning, and
        anything into juice or dairy needs a full CIP (asymmetric, as on real lines)."""
        rows = []
        for a in families:
            for b in families:
                if a == b:
                    minutes = 15
                else:
                    minutes = self.rng.choice([40, 45, 60, 75])
                    if b.endswith(("JUICE", "DAIRY")):
                        minutes += 30
                rows.append(
                    plant.ChangeoverMatrix(line=line, from_family=a, to_family=b, minutes=minutes)
                )
        plant.ChangeoverMatrix.objects.bulk_create(rows)

    def _order(self, number: int, item: plant.Item, due: datetime, status: str) -> plant.Order:
        weights = [1, 1, 1] if status == plant.Order.Status.COMPLETED else [3, 5, 7]
        customer = self.rng.choices(
            self.customers, weights=[weights[c.tier - 1] for c in self.customers]
        )[0]
        return plant.Order(
            number=f"SO-{number}",
            site=self.site,
            customer=customer,
            item=item,
            quantity=self.rng.randrange(6, 49) * 1000,
            due_at=due,
            priority=self.rng.choices([1, 2, 3, 4, 5], weights=[1, 3, 6, 3, 1])[0],
            status=status,
        )

    def _completed_history(self) -> None:
        """Yesterday's finished work, so there are finished-goods lots to hold and trace."""
        orders = []
        for k in range(DONE_ORDERS):
            line = list(self.lines)[k % len(self.lines)]
            item = self.rng.choice(self.products_by_line[line])
            due = self.now - timedelta(hours=self.rng.randrange(2, 30))
            orders.append(self._order(10001 + k, item, due, plant.Order.Status.COMPLETED))
        orders = plant.Order.objects.bulk_create(orders)
        jobs = []
        for k, order in enumerate(orders):
            end = order.due_at - timedelta(hours=self.rng.randrange(1, 6))
            start = end - timedelta(hours=order.quantity / order.item.rate_per_hour)
            jobs.append(
                plant.Job(
                    number=f"WO-{50001 + k}",
                    order=order,
                    line=self.lines[list(self.lines)[k % 4]],
                    item=order.item,
                    quantity=order.quantity,
                    sequence=0,
                    planned_start=start,
                    planned_end=end,
                    actual_start=start,
                    actual_end=end,
                    good_quantity=order.quantity,
                    scrap_quantity=self.rng.randrange(0, 120),
                    status=plant.Job.Status.COMPLETED,
                )
            )
        jobs = plant.Job.objects.bulk_create(jobs)
        # FSM states are set at construction (the field is protected afterwards).
        held = dict(
            zip(
                self.rng.sample(range(len(jobs) * LOTS_PER_DONE_JOB), len(HOLD_REASONS)),
                HOLD_REASONS,
                strict=True,
            )
        )
        lots = []
        for job in jobs:
            per_lot = Decimal(job.quantity) / LOTS_PER_DONE_JOB
            for k in range(LOTS_PER_DONE_JOB):
                reason = held.get(len(lots), "")
                lots.append(
                    plant.Lot(
                        code=f"LOT-{job.actual_end:%y%m%d}-{job.number[3:]}-{k + 1}",
                        item=job.item,
                        quantity=per_lot,
                        job=job,
                        produced_at=job.actual_end,
                        location=self.locations["QA-CAGE" if reason else "WH-FG-01"],
                        status=plant.Lot.Status.ON_HOLD if reason else plant.Lot.Status.AVAILABLE,
                        hold_reason=reason,
                    )
                )
        plant.Lot.objects.bulk_create(lots)

    def _open_orders_and_jobs(self) -> None:
        """80 open orders due over ten days; big ones split in two jobs; each line sequenced
        by due date with same-family runs kept together, like a planner's first cut."""
        wanted = []
        for _ in range(OPEN_ORDERS):
            line = self.rng.choice(list(self.lines))
            item = self.rng.choice(self.products_by_line[line])
            wanted.append((line, item, self.now + timedelta(hours=self.rng.randrange(8, 240))))
        # The order first in each line's sequence is in production; FSM states are set at
        # construction, so find those before the orders are built.
        first_on_line = {}
        for k, (line, item, due) in enumerate(wanted):
            key = (due.date(), item.family, due)
            if line not in first_on_line or key < first_on_line[line][0]:
                first_on_line[line] = (key, k)
        started = {k for _, k in first_on_line.values()}
        orders = plant.Order.objects.bulk_create(
            self._order(
                10101 + k,
                item,
                due,
                plant.Order.Status.IN_PRODUCTION if k in started else plant.Order.Status.OPEN,
            )
            for k, (line, item, due) in enumerate(wanted)
        )
        line_of = {i.pk: code for code, items in self.products_by_line.items() for i in items}
        per_line: dict[str, list[tuple[plant.Order, int]]] = {code: [] for code in self.lines}
        for order in orders:
            parts = 2 if order.quantity >= 20000 else 1
            for k in range(parts):
                share = order.quantity // parts + (order.quantity % parts if k == 0 else 0)
                per_line[line_of[order.item_id]].append((order, share))
        changeover = {
            (c.line.code, c.from_family, c.to_family): c.minutes
            for c in plant.ChangeoverMatrix.objects.select_related("line")
        }
        jobs, number = [], 60001
        for code, work in per_line.items():
            work.sort(key=lambda w: (w[0].due_at.date(), w[0].item.family, w[0].due_at))
            clock = self.now - timedelta(minutes=70)  # the first job started before now
            previous = None
            for position, (order, quantity) in enumerate(work):
                if previous is not None:
                    clock += timedelta(minutes=changeover[(code, previous, order.item.family)])
                hours = quantity / order.item.rate_per_hour
                status = (
                    plant.Job.Status.RUNNING
                    if position == 0
                    else plant.Job.Status.RELEASED
                    if position <= 2
                    else plant.Job.Status.PLANNED
                )
                jobs.append(
                    plant.Job(
                        number=f"WO-{number}",
                        order=order,
                        line=self.lines[code],
                        item=order.item,
                        quantity=quantity,
                        sequence=(position + 1) * 10,
                        planned_start=clock,
                        planned_end=clock + timedelta(hours=hours),
                        status=status,
                        actual_start=clock if position == 0 else None,
                        good_quantity=int(quantity * 70 / 60 / hours) if position == 0 else 0,
                    )
                )
                clock += timedelta(hours=hours)
                previous = order.item.family
                number += 1
        plant.Job.objects.bulk_create(jobs)
        assert {j.order_id for j in jobs if j.status == plant.Job.Status.RUNNING} == {
            o.pk for o in orders if o.status == plant.Order.Status.IN_PRODUCTION
        }, "each line's first order is the one in production"

    def _material_lots_and_stock(self) -> None:
        lots = []
        for k in range(MATERIAL_LOTS):
            item = self.materials[k % len(self.materials)]
            where = self.rng.choice(["WH-RAW-01", "WH-RAW-02", *[f"LS-{c}" for c in self.lines]])
            lots.append(
                plant.Lot(
                    code=f"LOT-M{k + 1:04d}",
                    item=item,
                    location=self.locations[where],
                    quantity=Decimal(
                        self.rng.randrange(5, 60) * (1000 if item.uom == "EA" else 25)
                    ),
                    produced_at=self.now - timedelta(days=self.rng.randrange(1, 40)),
                    **(
                        {
                            "status": plant.Lot.Status.ON_HOLD,
                            "hold_reason": "Supplier certificate missing",
                        }
                        if k == 7
                        else {}
                    ),
                )
            )
        plant.Lot.objects.bulk_create(lots)
        totals: dict[tuple[int, int], Decimal] = {}
        usable = {plant.Lot.Status.AVAILABLE, plant.Lot.Status.RELEASED}
        for lot in plant.Lot.objects.filter(status__in=usable):
            key = (lot.item_id, lot.location_id)
            totals[key] = totals.get(key, Decimal(0)) + lot.quantity
        plant.Stock.objects.bulk_create(
            plant.Stock(item_id=i, location_id=loc, quantity=q, updated_at=self.now)
            for (i, loc), q in totals.items()
        )
