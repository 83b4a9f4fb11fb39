"""The metrics' two front doors: ``GET /api/v1/metrics/`` and the ``/metrics/`` dashboard (with
a CSV export of each of its tables). Both parse the same parameters and read
``coordination.metrics.metrics_summary``; neither computes anything itself."""

import csv

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from exceptions.models import Kind
from kernel.errors import InvalidInputError
from kernel.roles import ADMIN, PLANNER, QUALITY, ROLES, SUPERVISOR

from .metrics import OWNER, PERIODS, MetricsQuery, metrics_query_parse, metrics_summary
from .models import Line, Site

# Who reads the plant's performance: those who run, plan and assure it.
METRICS_ROLES = (SUPERVISOR, PLANNER, QUALITY, ADMIN)


def metrics_may_view(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.groups.filter(name__in=METRICS_ROLES).exists()


class MayViewMetrics(BasePermission):
    message = "metrics are for supervisors, planners, quality and admin"

    def has_permission(self, request, view) -> bool:
        return metrics_may_view(request.user)


_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.STR, description="date or date-time (default: -7 d)"),
    OpenApiParameter("to", OpenApiTypes.STR, description="date (inclusive) or date-time (now)"),
    OpenApiParameter("site", OpenApiTypes.STR, description="site code"),
    OpenApiParameter("line", OpenApiTypes.STR, description="line code"),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Kind.values),
    OpenApiParameter("function", OpenApiTypes.STR, enum=[*ROLES, OWNER]),
    OpenApiParameter("period", OpenApiTypes.STR, enum=list(PERIODS), description="trend buckets"),
]  # fmt: skip


class MetricsView(APIView):
    """The brief's metrics over a window, with the trend against the window before."""

    permission_classes = [IsAuthenticated, MayViewMetrics]

    @extend_schema(parameters=_PARAMS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        query = metrics_query_parse(request.query_params)  # InvalidInputError → 400 naming it
        return Response(metrics_summary(query))


# --- the dashboard ------------------------------------------------------------------------------


def duration(seconds) -> str:
    """Readable from across the floor: 45 s, 21 min, 1.5 h, 2.3 d."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def percent(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.0f} %"


TILES = [
    ("constraint_to_response_p50_s", "Constraint → response (p50)", duration),
    ("mtta_p50_s", "MTTA (p50)", duration),
    ("mttr_p50_s", "MTTR (p50)", duration),
    ("repeat_rate", "Repeat rate", percent),
    ("sla_rate", "SLA compliance", percent),
    ("no_decision_rate", "Resolved without a decision", percent),
]


def _tiles(summary: dict) -> list[dict]:
    out = []
    for name, label, fmt in TILES:
        trend = summary["trend"][name]
        arrow = "" if trend["delta"] in (None, 0) else ("▲" if trend["delta"] > 0 else "▼")
        verdict = {True: "better", False: "worse", None: "same"}[trend["better"]]
        out.append(
            {
                "name": name,
                "label": label,
                "value": fmt(trend["now"]),
                "before": fmt(trend["before"]),
                "arrow": arrow,
                "verdict": verdict,
            }
        )
    return out


def _tables(summary: dict) -> dict[str, tuple[list[str], list[list]]]:
    """Each table on the page, as headers and rows: what the page shows and the CSV holds."""
    local = timezone.localtime
    return {
        "trend": (
            ["from", "to", "opened", "responded", "response p50 (s)", "response p90 (s)",
             "MTTA p50 (s)", "MTTR p50 (s)", "repeats", "repeat rate", "SLA rate"],
            [
                [local(b["start"]).strftime("%Y-%m-%d %H:%M"),
                 local(b["end"]).strftime("%Y-%m-%d %H:%M"), b["opened"],
                 b["constraint_to_response"]["n"], b["constraint_to_response"]["p50_s"],
                 b["constraint_to_response"]["p90_s"], b["mtta_p50_s"], b["mttr_p50_s"],
                 b["repeats"], b["repeat_rate"], b["sla_rate"]]
                for b in summary["series"]
            ],
        ),
        "distribution": (
            ["constraint → response", "exceptions"],
            [[b["label"], b["count"]] for b in summary["constraint_to_response"]["distribution"]],
        ),
        "sla": (
            ["function", "tasks counted", "on time", "late", "pending", "rate", "escalations",
             "tasks escalated", "time to decide p50 (s)"],
            [
                [name, e["n"], e["on_time"], e["late"], e["pending"], e["rate"],
                 e["escalations"], e["escalated_tasks"], e["decide_p50_s"]]
                for name, e in summary["sla"].items()
            ],
        ),
        "root_causes": (
            ["category", "cause", "exceptions", "share", "cumulative"],
            [[r["category"], r["cause"], r["n"], r["share"], r["cumulative"]]
             for r in summary["root_causes"]],
        ),
        "repeaters": (
            ["kind", "key", "line", "last title", "repeats"],
            [[r["kind"], r["key"], r["line"], r["title"], r["repeats"]]
             for r in summary["repeat_rate"]["top"]],
        ),
        "no_decision": (
            ["exception", "title", "resolved at"],
            [[c["id"], c["title"], local(c["resolved_at"]).strftime("%Y-%m-%d %H:%M")]
             for c in summary["no_decision"]["cases"]],
        ),
    }  # fmt: skip


def _chart_data(summary: dict) -> dict:
    """What the charts draw (``static/metrics/dashboard.js``), as plain JSON."""
    series = summary["series"]
    fmt = {"shift": "%a %d %H:%M", "day": "%a %d %b", "week": "week of %d %b"}
    labels = [
        timezone.localtime(b["start"]).strftime(fmt[summary["period"]["period"]]) for b in series
    ]
    return {
        "response": {
            "labels": labels,
            "p50_min": [_minutes(b["constraint_to_response"]["p50_s"]) for b in series],
            "p90_min": [_minutes(b["constraint_to_response"]["p90_s"]) for b in series],
            "responded": [b["constraint_to_response"]["n"] for b in series],
        },
        "distribution": {
            "labels": [b["label"] for b in summary["constraint_to_response"]["distribution"]],
            "counts": [b["count"] for b in summary["constraint_to_response"]["distribution"]],
        },
        "sla": {
            "labels": list(summary["sla"]),
            "rate_pct": [
                None if e["rate"] is None else round(e["rate"] * 100, 1)
                for e in summary["sla"].values()
            ],
            "escalations": [e["escalations"] for e in summary["sla"].values()],
        },
        "pareto": {
            "labels": [r["cause"] for r in summary["root_causes"]],
            "counts": [r["n"] for r in summary["root_causes"]],
            "cumulative_pct": [round(r["cumulative"] * 100, 1) for r in summary["root_causes"]],
        },
        "repeats": {
            "labels": labels,
            "repeats": [b["repeats"] for b in series],
            "rate_pct": [
                None if b["repeat_rate"] is None else round(b["repeat_rate"] * 100, 1)
                for b in series
            ],
        },
    }


def _minutes(seconds):
    return None if seconds is None else round(seconds / 60, 1)


def _check(request) -> None:
    if not request.user.is_authenticated:
        raise PermissionDenied  # the login_required wrapper below sends them to sign in first
    if not metrics_may_view(request.user):
        raise PermissionDenied("metrics are for supervisors, planners, quality and admin")


def _filter_choices() -> dict:
    return {
        "sites": list(Site.objects.values_list("code", flat=True)),
        "lines": list(Line.objects.order_by("code").values_list("code", flat=True)),
        "kinds": Kind.choices,
        "functions": [*ROLES, OWNER],
        "periods": PERIODS,
    }


def _form_values(query: MetricsQuery | None, params) -> dict:
    """What the filter form shows: the query's values (dates as the form's local inputs)."""
    if query is None:
        return {k: params.get(k, "") for k in ("from", "to", "site", "line", "kind", "function",
                                                 "period")}  # fmt: skip
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "from": timezone.localtime(query.start).strftime(fmt),
        "to": timezone.localtime(query.end).strftime(fmt),
        "site": query.site,
        "line": query.line,
        "kind": query.kind,
        "function": query.function,
        "period": query.period,
    }


def dashboard(request):
    """The plant's response at a glance: headline numbers with trend, charts, tables, CSV."""
    from django.contrib.auth.views import redirect_to_login

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    _check(request)
    template = "coordination/metrics.html"
    if request.htmx:
        template += "#dashboard"
    context = {"choices": _filter_choices(), "kiosk": request.GET.get("kiosk") == "1"}
    try:
        query = metrics_query_parse(request.GET)
    except InvalidInputError as error:
        context |= {"error": error, "form": _form_values(None, request.GET)}
        # htmx 2 does not swap 4xx: the form comes back with its error as a normal answer.
        return render(request, template, context, status=200 if request.htmx else 400)
    summary = metrics_summary(query)
    export_query = urlencode({k: v for k, v in query.params().items()})
    context |= {
        "query": query,
        "form": _form_values(query, request.GET),
        "summary": summary,
        "tiles": _tiles(summary),
        "tables": _tables(summary),
        "charts": _chart_data(summary),
        "export_query": export_query,
        "durations": {
            "c2r_p90": duration(summary["constraint_to_response"]["p90_s"]),
            "c2res_p50": duration(summary["constraint_to_resolution"]["p50_s"]),
            "mtta_mean": duration(summary["mtta"]["mean_s"]),
            "mttr_mean": duration(summary["mttr"]["mean_s"]),
        },
    }
    return render(request, template, context)


def _csv_cell(value):
    """Spreadsheets run cells that start with = + - @ as formulas: titles come from the plant's
    systems, so such a cell is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(request, table: str):
    """One dashboard table as CSV, for the same filters."""
    from django.contrib.auth.views import redirect_to_login
    from django.http import Http404

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    _check(request)
    try:
        query = metrics_query_parse(request.GET)
    except InvalidInputError as error:
        message = f"{error.field}: {error.detail}\n"
        return HttpResponse(message, status=400, content_type="text/plain")
    tables = _tables(metrics_summary(query))
    if table not in tables:
        raise Http404(f"no table {table}")
    headers, rows = tables[table]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = f"{query.start:%Y%m%d}-{query.end:%Y%m%d}"
    response["Content-Disposition"] = f'attachment; filename="metrics-{table}-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return response
