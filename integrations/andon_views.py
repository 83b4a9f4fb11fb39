"""The andon station page of a line (``/lines/<code>/andon``): a tablet at the line."""

from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from coordination.models import Line
from exceptions.kinds import ANDON_CALLS
from kernel.errors import InvalidInputError

from . import andon

VIEW_LINE = "coordination.view_line"


@permission_required(VIEW_LINE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def station(request, code: str):
    """GET: the station (htmx: its live call list). POST: one call, then the list again."""
    line = Line.objects.select_related("site").filter(code=code).first()
    if line is None:
        raise Http404(f"line {code} does not exist")
    source = request.POST if request.method == "POST" else request.GET
    error, message, status = "", "", 200
    try:
        station_name = andon.station_clean(source.get("station", ""), line)
    except InvalidInputError as exc:
        if request.method == "POST":
            return _render(request, line, "", error=exc.detail, status=200 if request.htmx else 400)
        station_name, error = andon.station_clean("", line), exc.detail
    if request.method == "POST":
        stop_reason = request.POST.get("stop_reason", "")
        call = "stopped" if stop_reason else request.POST.get("call", "")
        try:
            andon.andon_call(
                line=line,
                call=call,
                actor=request.user,
                station=station_name,
                reason=stop_reason,
                note=request.POST.get("note", ""),
            )
        except InvalidInputError as exc:
            error, status = exc.detail, (200 if request.htmx else 400)
        else:
            message = f"Called: {ANDON_CALLS[call]}."
            if not request.htmx:
                url = reverse("andon", args=[line.code])
                return redirect(f"{url}?{urlencode({'station': station_name})}")
    return _render(request, line, station_name, error=error, message=message, status=status)


def _render(request, line, station_name, *, error="", message="", status=200):
    line.refresh_from_db(fields=["status", "status_reason", "status_since"])
    context = {
        "line": line,
        "station": station_name,
        "calls": andon.andon_calls(line=line),
        "buttons": [(c, ANDON_CALLS[c]) for c in andon.CALLS if c != "stopped"],
        "stop_reasons": andon.STOP_REASONS,
        "max_note": andon.MAX_NOTE,
        "error": error,
        "message": message,
    }
    template = "integrations/andon.html"
    if request.htmx:
        template += "#calls"
    return render(request, template, context, status=status)
