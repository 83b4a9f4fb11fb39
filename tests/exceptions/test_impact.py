"""Impact on the demo plant: what is hit, stored readable and structured; severity explained."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coordination.models import Customer, Job, Lot, Order
from exceptions.models import ExceptionCase, SeverityThreshold

pytestmark = pytest.mark.django_db


def test_downtime_lists_the_lines_jobs_orders_and_customers(demo_plant, down):
    case = down("L1", reason="filler jam")

    running = Job.objects.get(line__code="L1", status="running")
    jobs = [j["number"] for j in case.impact["jobs"]]
    assert running.number in jobs
    assert all(j["line"] == "L1" for j in case.impact["jobs"])
    orders = {o["number"] for o in case.impact["orders"]}
    assert running.order.number in orders
    assert {c["code"] for c in case.impact["customers"]} == set(
        Order.objects.filter(number__in=orders).values_list("customer__code", flat=True)
    )
    assert case.impact["lost_hours"] > 0
    assert "L1" in case.impact_summary and running.number in case.impact_summary
    assert case.line.code == "L1"


def test_long_outage_puts_due_dates_at_risk_and_raises_severity(demo_plant, down):
    soon = Job.objects.filter(line__code="L1", status="running").first()
    Order.objects.filter(pk=soon.order_id).update(due_at=timezone.now() + timedelta(hours=2))
    expected = (timezone.now() + timedelta(hours=20)).isoformat()

    case = down("L1", expected_up_at=expected)

    at_risk = [o for o in case.impact["orders"] if o["at_risk"]]
    assert soon.order.number in [o["number"] for o in at_risk]
    assert case.impact["measures"]["orders_at_risk"] >= 1
    assert case.severity == 4  # high, raised by orders at risk and lost hours: critical
    assert any("orders whose due date is at risk" in r for r in case.severity_reasons)
    assert "at risk of missing the due date" in case.impact_summary


def test_strategic_customer_raises_severity_by_the_admin_threshold(demo_plant, down):
    SeverityThreshold.objects.exclude(measure="strategic_customers").delete()
    job = Job.objects.filter(line__code="L2", status="running").first()
    Customer.objects.filter(pk=job.order.customer_id).update(tier=1)
    Customer.objects.exclude(pk=job.order.customer_id).update(tier=3)

    case = down("L2")

    assert case.base_severity == 3 and case.severity == 4
    assert case.severity_reasons[1].startswith("+1: strategic")


def test_without_thresholds_severity_is_the_base(demo_plant, down):
    SeverityThreshold.objects.all().delete()
    case = down("L3")
    assert case.severity == case.base_severity == 3
    assert case.severity_reasons == ["base high from the rule"]


def test_quality_hold_says_where_the_lots_are(demo_plant, signal):
    lot = Lot.objects.filter(job__isnull=False).select_related("location", "job").first()
    signal("quality.hold", {"lot": lot.code, "reason": "seal", "defect_code": "S1"})

    case = ExceptionCase.objects.get(kind="quality_hold")
    lots = {x["code"]: x for x in case.impact["lots"]}
    assert lots[lot.code]["location"] == lot.location.code
    assert len(lots) == Lot.objects.filter(job=lot.job).count()  # the whole run is suspect
    assert lot.location.code in case.impact_summary


def test_shortage_states_quantity_short_against_stock_and_demand(demo_plant, signal):
    signal(
        "material.shortage",
        {"item": "MAT-CAP-28", "quantity_short": 5000, "uom": "EA", "line": "L1"},
    )
    case = ExceptionCase.objects.get(kind="shortage")
    material = case.impact["material"]
    assert material["quantity_short"] == 5000 and material["on_hand"] > 0
    assert material["demand"] > 0
    assert case.impact["jobs"] and case.impact["lines"] == ["L1"]
    assert "5,000 EA short" in case.impact_summary


def test_order_change_names_the_order_customer_and_jobs(demo_plant, signal):
    order = Order.objects.filter(jobs__isnull=False, status="open").first()
    signal("order.changed", {"order": order.number, "change": "priority", "priority": 1})
    case = ExceptionCase.objects.get(kind="order_change")
    assert case.impact["orders"][0]["number"] == order.number
    assert order.customer.name in case.impact_summary
    assert {j["number"] for j in case.impact["jobs"]} == set(
        order.jobs.values_list("number", flat=True)
    )


def test_new_signal_reassesses_and_logs_a_severity_change(demo_plant, down):
    case = down("L4")
    later = (timezone.now() + timedelta(hours=48)).isoformat()
    case = down("L4", expected_up_at=later)
    assert case.severity == 4
    if case.severity != case.base_severity:
        assert case.events.filter(kind="severity").exists() or case.event_count == 2


def test_unknown_line_is_said_plainly(demo_plant, signal):
    signal("equipment.status", {"line": "L9", "status": "down"})
    case = ExceptionCase.objects.get()
    assert "not in the plant picture" in case.impact_summary
