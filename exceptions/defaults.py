"""Sensible defaults a plant starts with: rules, severity thresholds, root-cause taxonomy.

Seeded by the data migration and again after every migrate when a table is empty (a flushed
test database); never overwrites what an admin changed.
"""

RULES = [
    # name, event type, conditions, kind, action, base severity (1 low .. 4 critical), active
    ("Line down", "equipment.status", [{"field": "status", "op": "in", "value": ["down"]}],
     "downtime", "raise", 3, True),
    ("Line in maintenance (MES status)", "equipment.status",
     [{"field": "status", "op": "eq", "value": "maintenance"}], "downtime", "raise", 2, True),
    ("Unplanned maintenance", "maintenance.event",
     [{"field": "kind", "op": "eq", "value": "unplanned"},
      {"field": "status", "op": "in", "value": ["scheduled", "started"]}],
     "downtime", "raise", 3, True),
    ("Line running again", "equipment.status",
     [{"field": "status", "op": "in", "value": ["running", "idle"]}], "downtime", "clear", 1, True),
    ("Maintenance over", "maintenance.event",
     [{"field": "kind", "op": "eq", "value": "unplanned"},
      {"field": "status", "op": "in", "value": ["completed", "cancelled"]}],
     "downtime", "clear", 1, True),
    ("Material short", "material.shortage", [{"field": "quantity_short", "op": "gt", "value": 0}],
     "shortage", "raise", 3, True),
    ("Stock restored", "inventory.level", [{"field": "quantity", "op": "gt", "value": 0}],
     "shortage", "clear", 1, True),
    ("Labour below requirement", "labor.availability",
     [{"field": "shortfall", "op": "gt", "value": 0}], "labour", "raise", 2, True),
    ("Labour restored", "labor.availability", [{"field": "shortfall", "op": "lte", "value": 0}],
     "labour", "clear", 1, True),
    ("Quality hold", "quality.hold", [{"field": "lot", "op": "exists", "value": True}],
     "quality_hold", "raise", 3, True),
    ("Hold dispositioned", "quality.disposition", [{"field": "lot", "op": "exists", "value": True}],
     "quality_hold", "clear", 1, True),
    ("Order changed", "order.changed",
     [{"field": "change", "op": "in", "value": ["quantity", "due_date", "priority", "add_line"]}],
     "order_change", "raise", 2, True),
    ("Order cancelled", "order.changed", [{"field": "change", "op": "eq", "value": "cancel"}],
     "order_change", "raise", 1, True),
    ("Scrap above 5 %", "production.progress",
     [{"field": "scrap_rate", "op": "gt", "value": 0.05},
      {"field": "scrap", "op": "gte", "value": 20}], "scrap", "raise", 2, True),
    ("Scrap back under 5 %", "production.progress",
     [{"field": "scrap_rate", "op": "lte", "value": 0.05}], "scrap", "clear", 1, True),
    # Reconciliation (integrations/reconcile.py) signals "sync.divergence" per disagreeing
    # object and "sync.agreed" once the two sides agree again.
    ("ERP/MES lot status differs", "sync.divergence",
     [{"field": "object", "op": "eq", "value": "lot"}], "sync_divergence", "raise", 3, True),
    ("ERP/MES order or sequence differs", "sync.divergence",
     [{"field": "object", "op": "in", "value": ["order", "sequence"]}],
     "sync_divergence", "raise", 2, True),
    ("ERP/MES agree again", "sync.agreed", [{"field": "ref", "op": "exists", "value": True}],
     "sync_divergence", "clear", 1, True),
    # Andon (a person at the line, its station page): "line stopped" is a downtime on the
    # line, joining the MES's own signal; the other calls are andon exceptions.
    ("Andon: line stopped", "andon.call", [{"field": "call", "op": "eq", "value": "stopped"}],
     "downtime", "raise", 3, True),
    ("Andon: line running again", "andon.call",
     [{"field": "call", "op": "eq", "value": "running"}], "downtime", "clear", 1, True),
    ("Andon: quality problem", "andon.call", [{"field": "call", "op": "eq", "value": "quality"}],
     "andon", "raise", 3, True),
    ("Andon: material needed", "andon.call", [{"field": "call", "op": "eq", "value": "material"}],
     "andon", "raise", 2, True),
    ("Andon: need help", "andon.call", [{"field": "call", "op": "eq", "value": "help"}],
     "andon", "raise", 2, True),
]  # fmt: skip

SYNC_RULES = [r for r in RULES if r[1] in ("sync.divergence", "sync.agreed")]
ANDON_RULES = [r for r in RULES if r[1] == "andon.call"]

THRESHOLDS = [
    ("orders_at_risk", 1, 1),
    ("orders_at_risk", 5, 1),
    ("strategic_customers", 1, 1),
    ("lost_hours", 8, 1),
]

TAXONOMY = {
    "Equipment": [
        "Mechanical failure",
        "Electrical fault",
        "Sensor or controls fault",
        "Wear not caught by preventive maintenance",
    ],
    "Material": [
        "Supplier delivered late",
        "Incoming material out of spec",
        "Inventory record wrong",
        "Planning (MRP) error",
    ],
    "Method": ["Set-up or changeover error", "Procedure not followed", "Process out of control"],
    "People": ["Absence or sickness", "Training gap", "Staffing plan"],
    "Quality": ["Contamination", "Seal or closure defect", "Foreign particle", "Labelling error"],
    "Customer and planning": ["Customer request", "Planning error", "Capacity plan"],
    "Utilities": ["Power", "Compressed air or steam", "Water supply"],
}


def defaults_seed(apps) -> None:
    """Create the defaults in any empty table (idempotent; works with migration state apps)."""
    RaiseRule = apps.get_model("exceptions", "RaiseRule")
    SeverityThreshold = apps.get_model("exceptions", "SeverityThreshold")
    Category = apps.get_model("exceptions", "RootCauseCategory")
    RootCause = apps.get_model("exceptions", "RootCause")
    Policy = apps.get_model("exceptions", "ExceptionPolicy")
    BoardVersion = apps.get_model("exceptions", "BoardVersion")
    if not RaiseRule.objects.exists():
        RaiseRule.objects.bulk_create(
            RaiseRule(
                name=name,
                event_type=event_type,
                conditions=conditions,
                kind=kind,
                action=action,
                base_severity=severity,
                active=active,
            )
            for name, event_type, conditions, kind, action, severity, active in RULES
        )
    if not SeverityThreshold.objects.exists():
        SeverityThreshold.objects.bulk_create(
            SeverityThreshold(measure=m, at_least=t, raise_by=r) for m, t, r in THRESHOLDS
        )
    if not Category.objects.exists():
        for name, causes in TAXONOMY.items():
            category = Category.objects.create(name=name)
            RootCause.objects.bulk_create(RootCause(category=category, name=c) for c in causes)
    Policy.objects.get_or_create(pk=1)
    BoardVersion.objects.get_or_create(pk=1)


def sync_rules_add(apps) -> None:
    """Add reconciliation's rules to a plant seeded before them (by name; idempotent)."""
    RaiseRule = apps.get_model("exceptions", "RaiseRule")
    for name, event_type, conditions, kind, action, severity, active in SYNC_RULES:
        RaiseRule.objects.get_or_create(
            name=name,
            event_type=event_type,
            defaults={"conditions": conditions, "kind": kind, "action": action,
                      "base_severity": severity, "active": active},
        )  # fmt: skip


def andon_rules_add(apps) -> None:
    """Add the andon rules to a plant seeded before them (by name; idempotent)."""
    RaiseRule = apps.get_model("exceptions", "RaiseRule")
    for name, event_type, conditions, kind, action, severity, active in ANDON_RULES:
        RaiseRule.objects.get_or_create(
            name=name,
            event_type=event_type,
            defaults={"conditions": conditions, "kind": kind, "action": action,
                      "base_severity": severity, "active": active},
        )  # fmt: skip
