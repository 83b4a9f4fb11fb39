"""B2MML benchmark: how long a realistic ERP schedule takes to read, validate, import,
re-import (nothing changes) and export.

    .venv/bin/python bench/b2mml.py [--orders 500] [--keep]

Creates its own database (plantcoord_bench_b2mml; dropped at the end unless --keep), seeds
the demo plant, and writes a V0600 ProcessProductionSchedule of ``--orders`` production
requests (one job each, spread over the demo's four lines, a produced item from the demo).
Times: reading (defusedxml check, lxml parse, the official XSD with xmlschema) alone; the
first import (every order and job created and audited); a second import of the same file
(everything compared, nothing written); one line's schedule exported and validated. Prints
the figures and the machine's load (``uptime``): the machine is shared.
"""

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from harness import bench_env, django_setup, fresh_database, psql

DB = "plantcoord_bench_b2mml"
NS = "http://www.mesa.org/xml/B2MML-V0600"


def schedule(orders: int, items: list[str], lines: list[str]) -> bytes:
    start = datetime(2026, 12, 2, 6, tzinfo=UTC)
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ProcessProductionSchedule releaseID="1" '
        f'xmlns="{NS}"><ApplicationArea><CreationDateTime>{start:%Y-%m-%dT%H:%M:%SZ}'
        "</CreationDateTime></ApplicationArea><DataArea><Process/><ProductionSchedule>"
    ]
    for k in range(orders):
        begin = start + timedelta(minutes=45 * (k // len(lines)))
        end = begin + timedelta(minutes=40)
        parts.append(
            f"<ProductionRequest><ID>B-{k:06d}</ID><Priority>{k % 5 + 1}</Priority>"
            f"<SegmentRequirement><ID>10</ID>"
            f"<EarliestStartTime>{begin:%Y-%m-%dT%H:%M:%SZ}</EarliestStartTime>"
            f"<LatestEndTime>{end:%Y-%m-%dT%H:%M:%SZ}</LatestEndTime>"
            f"<EquipmentRequirement><EquipmentID>{lines[k % len(lines)]}</EquipmentID>"
            f"</EquipmentRequirement><MaterialRequirement>"
            f"<MaterialDefinitionID>{items[k % len(items)]}</MaterialDefinitionID>"
            f"<MaterialUse>Produced</MaterialUse><Quantity><QuantityString>{500 + k}"
            f"</QuantityString><DataType>integer</DataType></Quantity></MaterialRequirement>"
            f"</SegmentRequirement></ProductionRequest>"
        )
    parts.append("</ProductionSchedule></DataArea></ProcessProductionSchedule>")
    return "".join(parts).encode()


def timed(label: str, action, runs: int = 1):
    best, result = None, None
    for _ in range(runs):
        began = time.perf_counter()
        result = action()
        took = time.perf_counter() - began
        best = took if best is None else min(best, took)
    print(f"  {label:<44} {best * 1000:9.1f} ms" + (f" (best of {runs})" if runs > 1 else ""))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    env = bench_env(DB, redis_db=2)
    fresh_database(DB, env)
    try:
        django_setup(env)
        from coordination.demo import demo_seed
        from coordination.models import Customer, Item, Line, StateChange
        from integrations.b2mml.export import line_schedule_xml
        from integrations.b2mml.importer import b2mml_import, import_integration
        from integrations.b2mml.reader import document_read, schema_for

        demo_seed(users=False)
        Customer.objects.get_or_create(code="STOCK", defaults={"name": "Make to stock"})
        items = list(
            Item.objects.filter(kind="finished").exclude(uom__in=["KG", "t"])
            .values_list("code", flat=True)[:20]
        )  # fmt: skip
        lines = list(Line.objects.values_list("code", flat=True))
        data = schedule(args.orders, items, lines)
        integration = import_integration()
        print(f"B2MML V0600 schedule: {args.orders} requests, {len(data) / 1024:.0f} KiB")
        timed("compile the XSDs (once per process)", lambda: schema_for("V0600", "schedule"))
        timed("read: defusedxml + lxml + XSD", lambda: document_read(data), runs=3)
        audits = StateChange.objects.count()
        first = timed(
            "first import (orders + jobs created)",
            lambda: b2mml_import(data, integration=integration),
        )
        print(
            f"    created {dict(first.created)}, audit rows {StateChange.objects.count() - audits}"
        )
        again = timed(
            "re-import (compare, nothing written)",
            lambda: b2mml_import(data, integration=integration),
        )
        print(f"    unchanged {dict(again.unchanged)}, created {dict(again.created)}")
        xml = timed(
            f"export line {lines[0]} (with XSD check)", lambda: line_schedule_xml(lines[0]), runs=3
        )
        print(f"    {xml.count(b'<ProductionRequest>')} jobs, {len(xml) / 1024:.0f} KiB")
        print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
