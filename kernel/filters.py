"""Query and path parameters from outside: a bad value is an error naming the parameter.

Filters are parsed where each list is built (selectors, API views); these helpers are what
they share. ``RejectNulMiddleware`` stops the one value no filter can take: PostgreSQL
refuses NUL in text ("A string literal cannot contain NUL"), so a ``%00`` anywhere in the
query or the path answers 400 before any view runs.
"""

from datetime import UTC, datetime

from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.dateparse import parse_datetime
from django.utils.html import escape

# PostgreSQL bigint: an id or number beyond it cannot exist (and would overflow the query).
MAX_BIGINT = 2**63 - 1


class FilterError(ValueError):
    """A parameter value that cannot be used; ``param`` names it."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


def integer_param(value: str, param: str, *, minimum: int = 1, maximum: int = MAX_BIGINT) -> int:
    """A whole number written in ASCII digits within bounds ("²" passes ``isdigit``, not this)."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        raise FilterError(param, "must be a whole number")
    number = int(text)
    if not minimum <= number <= maximum:
        raise FilterError(param, f"must be between {minimum} and {maximum}")
    return number


def datetime_param(value: str, param: str, *, default_tz=UTC) -> datetime:
    """An ISO 8601 date-time; naive means ``default_tz``. Impossible dates (30 February,
    month 13, 25 o'clock), offsets beyond ±24 h and moments that leave the calendar when
    moved to UTC are errors naming the parameter."""
    example = "e.g. 2025-01-31T06:00:00Z"
    # A '+' in a query string arrives as a space when the client did not encode it.
    text = value.strip().replace(" ", "+")
    try:
        when = parse_datetime(text)
    except ValueError as exc:  # well-formed but impossible, or a bad offset
        raise FilterError(param, f"is not a valid date-time ({exc}); {example}") from None
    if when is None:
        raise FilterError(param, f"must be an ISO 8601 date-time, {example}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=default_tz)
    try:
        when.astimezone(UTC)
    except OverflowError:
        raise FilterError(param, "is outside the calendar once moved to UTC") from None
    return when


# Django admin's date drill-down (``?opened_at__year=…``) turns the value into a date and
# overflows (a 500) on a number beyond a C long; no calendar part has more than four digits.
DATE_PARTS = ("__year", "__month", "__day")


def _nul_in(request) -> tuple[str, str, str] | None:
    """(parameter, where, why) of the first value no view can take, if any."""
    nul = "must not contain a NUL character"
    for name, values in request.GET.lists():
        if "\x00" in name:
            return "query parameter name", "query", nul
        if any("\x00" in v for v in values):
            return name, "query", nul
        if name.endswith(DATE_PARTS) and any(len(v.strip()) > 4 for v in values):
            return name, "query", "must be a year, month or day (at most four digits)"
    if "\x00" in request.path:
        param = "path"
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
        if match is not None:
            param = next((k for k, v in match.kwargs.items() if "\x00" in str(v)), param)
        return param, "path", nul
    return None


class RejectNulMiddleware:
    """``%00`` in a query parameter or a path segment (or an admin date part beyond four
    digits): 400 naming it (API: the domain error shape ``{"code", "detail", "extra"}``;
    pages: a short page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = _nul_in(request)
        if found is None:
            return self.get_response(request)
        param, where, why = found
        detail = f"{param}: {why}"
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"code": "invalid_parameter", "detail": detail, "extra": {"parameter": param,
                                                                          "in": where}},
                status=400,
            )  # fmt: skip
        return HttpResponse(
            f"<!doctype html><title>Bad request</title><h1>Bad request</h1><p>{escape(detail)}</p>",
            status=400,
        )
