"""Default escalation policy, workflow templates and routing rules a plant starts with.

Seeded by the data migration and again after every migrate when the tables are empty (a
flushed test database); never overwrites what an admin changed. Works with migration-state
``apps`` (no model methods used).
"""

ACCEPT = {"value": "accept", "label": "Accept"}
REJECT = {"value": "reject", "label": "Reject"}
RESEQUENCE = {"value": "resequence", "label": "Resequence"}
KEEP = {"value": "keep", "label": "Keep plan"}


def counter(label: str, value_type: str = "text") -> dict:
    return {
        "value": "counter",
        "label": "Counter",
        "needs_value": True,
        "value_label": label,
        "value_type": value_type,
    }


# The type of each default option's value (workflows/values.py), by its label: also what
# migration 0005 adds to templates seeded before values had types.
VALUE_TYPES = {
    "Expected back at": "datetime",
    "Parts expected": "datetime",
    "Arrives at": "datetime",
    "New promise date": "datetime",
    "Substitute item": "item",
}


POLICIES = {
    # name: [(after minutes past due, action, target group, label)]
    "Standard": [
        (0, "notify_group", None, ""),
        (15, "assign", "supervisor", "the shift supervisor"),
        (30, "notify", "admin", "the plant manager"),
    ],
    "Critical": [
        (0, "notify_group", None, ""),
        (5, "assign", "supervisor", "the shift supervisor"),
        (15, "notify", "admin", "the plant manager"),
    ],
}

# name: (description, policy, [(key, title, group or "owner", due min, after keys, options,
#         stall minutes, instructions)])
TEMPLATES = {
    "Line down": (
        "Maintenance estimates, planning resequences, sales confirms customer impact.",
        "Standard",
        [
            ("repair", "Estimate repair time", "maintenance", 15, [],
             [{"value": "estimate", "label": "Repair estimate", "needs_value": True,
               "value_label": "Expected back at", "value_type": "datetime"},
              {"value": "parts", "label": "Waiting for parts", "needs_value": True,
               "value_label": "Parts expected", "value_type": "datetime"},
              {"value": "unknown", "label": "Cannot estimate yet"}], 20,
             "Look at the line and give the expected time it runs again."),
            ("sequence", "Propose a new sequence", "planner", 30, ["repair"],
             [RESEQUENCE, KEEP, counter("Other line / plan")], 20,
             "Use the repair estimate: move jobs or keep the plan."),
            ("customers", "Confirm customer impact", "sales", 60, ["sequence"],
             [ACCEPT, REJECT, counter("New promise date", "datetime")], 30,
             "Tell affected customers or agree a new date."),
        ],
    ),
    "Critical line down": (
        "Faster deadlines when a critical downtime hits the plan.",
        "Critical",
        [
            ("repair", "Estimate repair time", "maintenance", 10, [],
             [{"value": "estimate", "label": "Repair estimate", "needs_value": True,
               "value_label": "Expected back at", "value_type": "datetime"},
              {"value": "unknown", "label": "Cannot estimate yet"}], 10, ""),
            ("sequence", "Propose a new sequence", "planner", 20, ["repair"],
             [RESEQUENCE, KEEP, counter("Other line / plan")], 15, ""),
            ("customers", "Confirm customer impact", "sales", 30, [],
             [ACCEPT, REJECT, counter("New promise date", "datetime")], 20, ""),
            ("supervise", "Coordinate the recovery", "owner", 30, [],
             [{"value": "on_track", "label": "Recovery on track"}, counter("Escalate to")], 20, ""),
        ],
    ),
    "Material shortage": (
        "Procurement expedites or substitutes; planning adapts the plan.",
        "Standard",
        [
            ("expedite", "Expedite or substitute material", "procurement", 30, [],
             [{"value": "expedite", "label": "Expedite", "needs_value": True,
               "value_label": "Arrives at", "value_type": "datetime"},
              {"value": "substitute", "label": "Substitute", "needs_value": True,
               "value_label": "Substitute item", "value_type": "item"},
              {"value": "none", "label": "No option"}], 30, ""),
            ("replan", "Adapt the plan to the material", "planner", 30, ["expedite"],
             [ACCEPT, REJECT, counter("Plan change")], 20, ""),
            ("customers", "Confirm customer impact", "sales", 60, ["replan"],
             [ACCEPT, REJECT, counter("New promise date", "datetime")], 30, ""),
        ],
    ),
    "Quality hold": (
        "Quality dispositions; planning covers the held quantity.",
        "Standard",
        [
            ("disposition", "Decide the disposition", "quality", 60, [],
             [{"value": "release", "label": "Release"}, {"value": "rework", "label": "Rework"},
              {"value": "scrap", "label": "Scrap"},
              {"value": "deviation", "label": "Use as is (deviation)", "needs_value": True,
               "value_label": "Deviation number"}], 30, ""),
            ("cover", "Cover the held quantity", "planner", 60, [],
             [ACCEPT, REJECT, counter("Plan change")], 30, ""),
        ],
    ),
    "Order change": (
        "Planning proposes a sequence, sales confirms customer impact, in parallel.",
        "Standard",
        [
            ("sequence", "Propose a new sequence", "planner", 30, [],
             [ACCEPT, REJECT, counter("Counter proposal")], 20,
             "Can the change be absorbed? Propose a sequence or a counter date."),
            ("customers", "Confirm customer impact", "sales", 60, [],
             [ACCEPT, REJECT, counter("New promise date", "datetime")], 30, ""),
        ],
    ),
    "Labour short": (
        "The supervisor covers the shift; planning adapts if not.",
        "Standard",
        [
            ("cover", "Cover the crew", "supervisor", 15, [],
             [{"value": "covered", "label": "Covered"}, {"value": "short", "label": "Run short"}],
             15, ""),
            ("replan", "Adapt the plan to the crew", "planner", 30, ["cover"],
             [ACCEPT, REJECT, counter("Plan change")], 20, ""),
        ],
    ),
    "Scrap investigation": (
        "Quality investigates and contains.",
        "Standard",
        [
            ("investigate", "Investigate scrap and contain", "quality", 30, [],
             [{"value": "contained", "label": "Contained"},
              {"value": "stop", "label": "Stop the job"}, counter("Other action")], 20, ""),
        ],
    ),
    "Lot out of sync": (
        "ERP or MES disagrees with us about a lot's hold: quality finds out who is right.",
        "Standard",
        [
            ("reconcile", "Reconcile the lot's status with ERP/MES", "quality", 30, [],
             [{"value": "ours", "label": "We are right: correct ERP/MES"},
              {"value": "theirs", "label": "They are right: correct our picture"},
              counter("Other")], 20,
             "Check the lot; then fix the side that is wrong. The exception clears itself "
             "once both agree."),
        ],
    ),
    "Order or sequence out of sync": (
        "ERP or MES disagrees with us about an order or a line's sequence: planning corrects it.",
        "Standard",
        [
            ("reconcile", "Reconcile with ERP/MES", "planner", 60, [],
             [{"value": "ours", "label": "We are right: correct ERP/MES"},
              {"value": "theirs", "label": "They are right: correct our plan"},
              counter("Other")], 30,
             "The exception clears itself once both agree."),
        ],
    ),
    # Andon calls from the line (exceptions/defaults.py): someone goes there, fast.
    "Andon: quality problem": (
        "A person at the line called quality: quality goes there and contains.",
        "Critical",
        [
            ("respond", "Go to the line: quality problem", "quality", 10, [],
             [{"value": "contained", "label": "Contained, line goes on"},
              {"value": "hold", "label": "Hold the material"}, counter("Other action")], 10,
             "Acknowledge on the board so the station sees someone is coming."),
        ],
    ),
    "Andon: material needed": (
        "A person at the line needs material: procurement or logistics brings it.",
        "Standard",
        [
            ("respond", "Bring material to the line", "procurement", 15, [],
             [{"value": "delivered", "label": "Delivered"},
              {"value": "substitute", "label": "Substitute", "needs_value": True,
               "value_label": "Substitute item"},
              {"value": "none", "label": "None available"}], 15, ""),
        ],
    ),
    "Andon: need help": (
        "A person at the line asked for help: the supervisor goes or sends someone.",
        "Critical",
        [
            ("respond", "Help at the line", "supervisor", 10, [],
             [{"value": "helped", "label": "Helped"}, counter("Other action")], 10, ""),
        ],
    ),
    "General response": (
        "Catch-all: the exception's owner (or the supervisors) decides.",
        "Standard",
        [
            ("decide", "Decide the response", "owner", 60, [], [ACCEPT, REJECT, counter("Other")],
             30, ""),
        ],
    ),
}  # fmt: skip

# position, name, kind, min severity, template, key pattern (optional)
RULES = [
    (10, "Critical line down", "downtime", 4, "Critical line down"),
    (20, "Line down", "downtime", None, "Line down"),
    (30, "Material shortage", "shortage", None, "Material shortage"),
    (40, "Quality hold", "quality_hold", None, "Quality hold"),
    (50, "Order change", "order_change", None, "Order change"),
    (60, "Labour short", "labour", None, "Labour short"),
    (70, "Scrap", "scrap", None, "Scrap investigation"),
    (80, "Lot out of sync", "sync_divergence", None, "Lot out of sync", "*:lot:*"),
    (90, "Order or sequence out of sync", "sync_divergence", None, "Order or sequence out of sync"),
    (100, "Andon: quality problem", "andon", None, "Andon: quality problem", "*:quality"),
    (110, "Andon: material needed", "andon", None, "Andon: material needed", "*:material"),
    (120, "Andon: need help", "andon", None, "Andon: need help", "*:help"),
    (1000, "Everything else", "", None, "General response"),
]


def defaults_seed(apps) -> None:
    """Create the defaults when there are no templates (idempotent)."""
    if apps.get_model("workflows", "WorkflowTemplate").objects.exists():
        return
    if _has_key_pattern(apps):
        _templates_create(apps, TEMPLATES, RULES)
    else:  # migration 0002's state: the sync templates come with 0004 (sync_defaults_add)
        later = (*SYNC_TEMPLATES, *ANDON_TEMPLATES)  # added by migrations 0004 and 0005
        base = {k: v for k, v in TEMPLATES.items() if k not in later}
        _templates_create(apps, base, [r for r in RULES if r[4] not in later])


def _has_key_pattern(apps) -> bool:
    Rule = apps.get_model("workflows", "RoutingRule")
    return any(f.name == "key_pattern" for f in Rule._meta.get_fields())


SYNC_TEMPLATES = ("Lot out of sync", "Order or sequence out of sync")
ANDON_TEMPLATES = ("Andon: quality problem", "Andon: material needed", "Andon: need help")


def andon_defaults_add(apps) -> None:
    """Add the andon templates and rules to a plant seeded before them (idempotent)."""
    Template = apps.get_model("workflows", "WorkflowTemplate")
    if not Template.objects.exists() or Template.objects.filter(name__in=ANDON_TEMPLATES).exists():
        return
    _templates_create(
        apps,
        {name: TEMPLATES[name] for name in ANDON_TEMPLATES},
        [r for r in RULES if r[4] in ANDON_TEMPLATES],
    )


def value_types_add(apps) -> None:
    """Type the values of default options in templates seeded before types (migration 0005):
    only options still as seeded (same label, no type yet); an admin's own stay text."""
    Step = apps.get_model("workflows", "StepTemplate")
    for step in Step.objects.all():
        options = (
            [
                {**o, "value_type": VALUE_TYPES[o.get("value_label")]}
                if isinstance(o, dict)
                and o.get("needs_value")
                and "value_type" not in o
                and o.get("value_label") in VALUE_TYPES
                else o
                for o in step.options
            ]
            if isinstance(step.options, list)
            else step.options
        )
        if options != step.options:
            step.options = options
            step.save(update_fields=["options"])


def sync_defaults_add(apps) -> None:
    """Add reconciliation's templates and rules to a plant seeded before them (idempotent)."""
    Template = apps.get_model("workflows", "WorkflowTemplate")
    if not Template.objects.exists() or Template.objects.filter(name__in=SYNC_TEMPLATES).exists():
        return  # an empty plant gets them with the rest; one that has them keeps its edits
    _templates_create(
        apps,
        {name: TEMPLATES[name] for name in SYNC_TEMPLATES},
        [r for r in RULES if r[4] in SYNC_TEMPLATES],
    )


def _templates_create(apps, templates_wanted: dict, rules: list) -> None:
    Group = apps.get_model("auth", "Group")
    Policy = apps.get_model("workflows", "EscalationPolicy")
    Level = apps.get_model("workflows", "EscalationLevel")
    Template = apps.get_model("workflows", "WorkflowTemplate")
    Step = apps.get_model("workflows", "StepTemplate")
    Rule = apps.get_model("workflows", "RoutingRule")
    groups = {g.name: g for g in Group.objects.all()}
    policies = {}
    for name, levels in POLICIES.items():
        policy = Policy.objects.get_or_create(name=name)[0]
        policies[name] = policy
        if not policy.levels.exists():
            for after, action, group, label in levels:
                Level.objects.create(
                    policy=policy,
                    after_minutes=after,
                    action=action,
                    target_group=groups.get(group) if group else None,
                    label=label,
                )
    templates = {}
    for name, (description, policy, steps) in templates_wanted.items():
        template = Template.objects.create(name=name, description=description)
        templates[name] = template
        made = {}
        for position, (key, title, who, due, after, options, stall, text) in enumerate(steps, 1):
            step = Step.objects.create(
                template=template,
                position=position,
                title=title,
                instructions=text,
                assignee="owner" if who == "owner" else "group",
                group=None if who == "owner" else groups[who],
                due_minutes=due,
                options=options,
                escalation=policies[policy],
                stall_minutes=stall,
            )
            step.after.set([made[k] for k in after])
            made[key] = step
    for position, name, kind, min_severity, template, *pattern in rules:
        extra = {"key_pattern": pattern[0]} if pattern else {}  # from migration 0004 on
        Rule.objects.create(
            position=position,
            name=name,
            kind=kind,
            min_severity=min_severity,
            template=templates[template],
            **extra,
        )
