"""What of the plant picture a role may read when it is embedded in something else.

An exception's impact, a task's context and a decision's recorded context carry copies of
orders, customers and lots. They follow the same rules as the lists they come from
(``coordination/roles.py``): without ``view_order`` no order numbers, customers or due
dates; without ``view_lot`` no lots or where they are. Everything else stays.
"""

VIEW_ORDER = "coordination.view_order"
VIEW_LOT = "coordination.view_lot"

ORDER_KEYS = ("orders", "customers")
LOT_KEYS = ("lots",)
# The free-text parts of a task's context (and a decision's recorded copy of it).
CONTEXT_TEXT = ("impact_summary", "affected")


def _secrets(data: dict, orders: bool, lots: bool) -> list[str]:
    """The strings that must not appear in a summary shown to this reader."""
    found: list[str] = []
    if orders:
        for o in data.get("orders") or []:
            found += [str(o.get(k)) for k in ("number", "customer", "customer_name") if o.get(k)]
        for c in data.get("customers") or []:
            found += [str(c.get(k)) for k in ("code", "name") if c.get(k)]
        for j in data.get("jobs") or []:
            if j.get("order"):
                found.append(str(j["order"]))
    if lots:
        for lot in data.get("lots") or []:
            found += [str(lot.get(k)) for k in ("code", "location") if lot.get(k)]
    return [s for s in found if s]


def text_redact(text: str, secrets: list[str], sep: str = "; ") -> str:
    """A ``; ``-joined summary without the parts naming a secret (the count before ``:``
    stays when it names none: "2 at risk of missing the due date")."""
    if not text or not secrets:
        return text
    kept = []
    for part in text.rstrip(".").split(sep):
        if not any(s in part for s in secrets):
            kept.append(part)
            continue
        head = part.split(": ", 1)[0]
        if head != part and not any(s in head for s in secrets):
            kept.append(head)
    return sep.join(kept) + ("." if kept and text.endswith(".") else "")


def picture_redact(user, data: dict | None, *, text_keys: tuple[str, ...] = ()) -> dict:
    """A copy of ``data`` (impact, task context) without what ``user`` may not read.

    ``text_keys`` name free-text summaries inside ``data`` to clean the same way.
    """
    if not data:
        return data or {}
    hide_orders = not user.has_perm(VIEW_ORDER)
    hide_lots = not user.has_perm(VIEW_LOT)
    if not hide_orders and not hide_lots:
        return data
    secrets = _secrets(data, hide_orders, hide_lots)
    out = dict(data)
    if hide_orders:
        for key in ORDER_KEYS:
            if key in out:
                out[key] = []
        if out.get("jobs"):
            out["jobs"] = [{k: v for k, v in j.items() if k != "order"} for j in out["jobs"]]
    if hide_lots:
        for key in LOT_KEYS:
            if key in out:
                out[key] = []
    for key in text_keys:
        if isinstance(out.get(key), str):
            # "affected" is a label ("L1 · SO-1, SO-2"); the others are "; "-joined summaries.
            out[key] = text_redact(out[key], secrets, " · " if key == "affected" else "; ")
    now = out.get("now")
    if isinstance(now, dict) and isinstance(now.get("impact_summary"), str):
        out["now"] = {**now, "impact_summary": text_redact(now["impact_summary"], secrets)}
    out["redacted"] = [w for w, hidden in (("orders", hide_orders), ("lots", hide_lots)) if hidden]
    return out


def summary_redact(user, summary: str, data: dict | None) -> str:
    """An impact summary for ``user``: the parts naming orders, customers or lots they may
    not read are cut (counts stay)."""
    if not summary or not data:
        return summary
    secrets = _secrets(data, not user.has_perm(VIEW_ORDER), not user.has_perm(VIEW_LOT))
    return text_redact(summary, secrets)
