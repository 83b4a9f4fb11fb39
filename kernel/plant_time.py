"""One way to print a moment on every page: in the plant's time zone (``TIME_ZONE``), one
readable format. A template builtin (settings ``TEMPLATES``), so no page needs ``{% load %}``.

Moments arrive as aware datetimes from the models and as ISO 8601 strings from JSON copies
(an exception's impact, a task's context): both print the same, never "2026-12-0206:00".
"""

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime

register = template.Library()

# "Wed 02 Dec 06:00": the weekday matters on a floor that runs through the night.
FORMAT = "D d M H:i"
FORMATS = {"": FORMAT, "seconds": "D d M H:i:s", "time": "H:i", "time-seconds": "H:i:s"}


def plant_moment(value) -> datetime | None:
    """An aware datetime in the plant's zone, or None for nothing or what is not a moment."""
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)  # stored and sent in UTC
    return timezone.localtime(value)


@register.filter
def plant_time(value, variant: str = "") -> str:
    """``{{ case.opened_at|plant_time }}``, ``|plant_time:"seconds"``, ``|plant_time:"time"``.

    Empty for an empty value (so ``|default:"—"`` works); text that is not a moment is
    printed as it is rather than hidden.
    """
    if value in (None, ""):
        return ""
    moment = plant_moment(value)
    if moment is None:
        return str(value)
    return date_format(moment, FORMATS.get(variant, FORMAT))


@register.simple_tag
def plant_time_zone() -> str:
    """The zone every page's times are in (named once, in the page footer)."""
    return timezone.get_current_timezone_name()
