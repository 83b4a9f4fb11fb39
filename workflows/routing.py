"""Routing: which rule (and so which workflow template) an exception gets. Reads only."""

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from coordination.events import batch_cache
from coordination.models import Item
from exceptions.models import ExceptionCase

from .models import RoutingRule


@dataclass
class CaseScope:
    """What routing rules test, read from the exception and its stored impact."""

    kind: str
    severity: int
    site_id: int | None
    line_id: int | None
    line_codes: set[str] = field(default_factory=set)
    families: set[str] = field(default_factory=set)
    tiers: set[int] = field(default_factory=set)
    key: str = ""


def case_scope(case: ExceptionCase) -> CaseScope:
    impact = case.impact or {}
    items = {j.get("item") for j in impact.get("jobs") or [] if isinstance(j, dict)}
    items |= {lot.get("item") for lot in impact.get("lots") or [] if isinstance(lot, dict)}
    material = impact.get("material") or {}
    if isinstance(material, dict) and material.get("item"):
        items.add(material["item"])
    items.discard(None)
    families = set(
        Item.objects.filter(code__in=items).exclude(family="").values_list("family", flat=True)
    )
    tiers = {
        int(c["tier"])
        for c in impact.get("customers") or []
        if isinstance(c, dict) and str(c.get("tier", "")).isdigit()
    }
    lines = {str(x) for x in impact.get("lines") or [] if isinstance(x, str)}
    return CaseScope(
        kind=case.kind,
        severity=case.severity,
        site_id=case.site_id,
        line_id=case.line_id,
        line_codes=lines,
        families=families,
        tiers=tiers,
        key=case.key,
    )


def rule_matches(rule: RoutingRule, scope: CaseScope) -> bool:
    if rule.kind and rule.kind != scope.kind:
        return False
    if rule.key_pattern and not fnmatchcase(scope.key, rule.key_pattern):
        return False
    if rule.min_severity and scope.severity < rule.min_severity:
        return False
    if rule.max_severity and scope.severity > rule.max_severity:
        return False
    if rule.site_id and rule.site_id != scope.site_id:
        return False
    if rule.line_id and rule.line_id != scope.line_id and rule.line.code not in scope.line_codes:
        return False
    if rule.item_family and rule.item_family not in scope.families:
        return False
    # Tier 1 is the most important: a "tier 2" rule matches cases hitting tier 1 or 2.
    return not (rule.customer_tier and not any(t <= rule.customer_tier for t in scope.tiers))


def rule_for(case: ExceptionCase) -> RoutingRule | None:
    """The first active rule (by position) the exception matches; None if no catch-all."""
    scope = case_scope(case)
    # Admin data: read once per processing chunk when ingestion opens exceptions in bulk.
    cache = batch_cache()
    if ROUTING_RULES not in cache:
        cache[ROUTING_RULES] = list(
            RoutingRule.objects.filter(active=True, template__active=True).select_related(
                "template", "line"
            )
        )
    return next((rule for rule in cache[ROUTING_RULES] if rule_matches(rule, scope)), None)


ROUTING_RULES = "workflows:routing-rules"  # batch cache


def rule_preview(case: ExceptionCase) -> list[tuple[RoutingRule, bool]]:
    """Every rule in order with whether it matches; the first True is the one that applies."""
    scope = case_scope(case)
    rules = RoutingRule.objects.select_related("template", "line", "site")
    return [(rule, rule.active and rule_matches(rule, scope)) for rule in rules]
