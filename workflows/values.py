"""Typed decision values: what an option's value means, and the one check of it.

A decision option that needs a value names its type (``value_type`` in the option, set by an
admin on the step template; missing means ``text``, so templates written before keep
working). The page form and the API both end in ``option_value_clean``: "Counter (asdf)" is
refused as a quantity, "Expected back at" must be a date and time, a line must exist.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime, parse_time

from coordination.models import Item, Line
from kernel.errors import InvalidInputError

TEXT, DATETIME, QUANTITY, LINE, ITEM = "text", "datetime", "quantity", "line", "item"
VALUE_TYPES = {
    TEXT: "free text",
    DATETIME: "a date and time (plant time), e.g. 2026-12-02 14:30",
    QUANTITY: "a quantity, a number above 0, e.g. 2400",
    LINE: "a line code, e.g. L2",
    ITEM: "an item code",
}
MAX_QUANTITY = Decimal("99999999999")  # as events' quantities (README: Events in)


def value_type(option: dict) -> str:
    return option.get("value_type") or TEXT


def value_label(option: dict) -> str:
    return option.get("value_label") or option.get("label") or "the value"


def option_value_clean(option: dict, raw, *, field: str = "value") -> str:
    """The value to record for ``option`` (normalised: ISO 8601 with the plant's offset, a
    plain number, a line or item code as stored), or ``InvalidInputError`` naming ``field``
    and the option's value label."""
    raw = "" if raw is None else str(raw).strip()
    if not option.get("needs_value"):
        return raw[:200]  # a remark beside an option that takes no value, kept as written
    label = value_label(option)
    if not raw:
        raise InvalidInputError(f"{option['label']} needs {label}", field=field)
    kind = value_type(option)
    parse = _PARSERS.get(kind, _text)
    value = parse(raw)
    if value is None:
        raise InvalidInputError(f"{label}: enter {VALUE_TYPES.get(kind, 'a value')}", field=field)
    return value[:200]


def _text(raw: str) -> str:
    return raw


def _datetime(raw: str) -> str | None:
    try:
        moment = parse_datetime(raw)  # "2026-12-02 14:30" or "2026-12-02T14:30[:00][+01:00]"
        if moment is None and (day := parse_date(raw)):
            moment = datetime.combine(day, time())
        if moment is None and (clock := parse_time(raw)):
            moment = _next_at(clock)  # "back at 14:30": the next 14:30, plant time
    except ValueError:  # well formed but impossible: 30 February, 25:00
        return None
    if moment is None:
        return None
    if timezone.is_naive(moment):  # what a person types is plant time
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    if not 2000 <= moment.year <= 2999:
        return None
    return timezone.localtime(moment).isoformat(timespec="minutes")


def _next_at(clock: time) -> datetime:
    now = timezone.localtime()
    moment = timezone.make_aware(datetime.combine(now.date(), clock.replace(tzinfo=None)))
    return moment if moment >= now else moment + timedelta(days=1)


def _quantity(raw: str) -> str | None:
    text = raw.replace(",", "").replace("_", "").strip()
    if not text.isascii():
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or number <= 0 or number > MAX_QUANTITY:
        return None
    return format(number.normalize(), "f")


def _line(raw: str) -> str | None:
    return Line.objects.filter(code__iexact=raw).values_list("code", flat=True).first()


def _item(raw: str) -> str | None:
    return Item.objects.filter(code__iexact=raw).values_list("code", flat=True).first()


_PARSERS = {TEXT: _text, DATETIME: _datetime, QUANTITY: _quantity, LINE: _line, ITEM: _item}


def value_types_error(options: list) -> str:
    """An admin's option list names only types there are (``StepTemplate.clean``)."""
    for k, option in enumerate(options, 1):
        kind = option.get("value_type")
        if kind is not None and kind not in VALUE_TYPES:
            return f"option {k}: value_type must be one of {', '.join(VALUE_TYPES)}"
    return ""
