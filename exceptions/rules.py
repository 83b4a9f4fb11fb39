"""Admin rules applied to an event: which match, with the derived values conditions may use."""

from decimal import Decimal, InvalidOperation

from coordination.events import batch_cache

from .models import RaiseRule


def event_facts(event_type: str, data: dict) -> dict:
    """The event's data plus derived values rules may test (see ``RaiseRule``)."""
    facts = dict(data)
    if event_type == "production.progress":
        good, scrap = _decimal_or_none(data.get("good")), _decimal_or_none(data.get("scrap"))
        if good is not None and scrap is not None and good + scrap > 0:
            facts["scrap_rate"] = float(scrap / (good + scrap))
    if event_type == "labor.availability":
        available, required = (
            _decimal_or_none(data.get("available")),
            _decimal_or_none(data.get("required")),
        )
        if available is not None and required is not None:
            facts["shortfall"] = float(required - available)
    return facts


def _decimal_or_none(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def condition_holds(cond: dict, facts: dict) -> bool:
    field, op, expected = cond.get("field"), cond.get("op"), cond.get("value")
    present = field in facts and facts[field] is not None
    if op == "exists":
        return present == (expected is not False)
    if not present:
        return False
    actual = facts[field]
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        return actual in (expected or [])
    if op == "not_in":
        return actual not in (expected or [])
    a, b = _decimal_or_none(actual), _decimal_or_none(expected)
    if a is None or b is None:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}.get(op, False)


def rules_matching(event_type: str, facts: dict) -> list[RaiseRule]:
    """Active rules of this event type whose conditions all hold (one query per batch)."""
    cache = batch_cache()
    if "raise-rules" not in cache:  # every type's at once: a chunk holds several types
        by_type: dict[str, list[RaiseRule]] = {}
        for rule in RaiseRule.objects.filter(active=True):
            by_type.setdefault(rule.event_type, []).append(rule)
        cache["raise-rules"] = by_type
    rules = cache["raise-rules"].get(event_type, [])
    return [r for r in rules if all(condition_holds(c, facts) for c in r.conditions or [])]
