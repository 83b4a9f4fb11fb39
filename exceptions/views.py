"""Pages: the live board, the exception page, and the actions (htmx or plain forms)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from coordination.models import StateChange
from coordination.visibility import picture_redact, summary_redact
from kernel.errors import NotFoundError, PermissionDeniedError

from . import selectors
from .actions import CASE_ACTIONS, case_actions_offered
from .kinds import kinds_for
from .models import ExceptionCase
from .rows import board_rows_html

VIEW = "exceptions.view_exceptioncase"


def board(request):
    """Open exceptions by severity then age; the rows partial answers 204 when unchanged."""
    since = request.GET.get("since")
    if request.htmx and since is not None and since == str(selectors.board_version()):
        # Nothing changed: one primary-key read and no body; htmx leaves the rows alone.
        # Checked before the permission (two joins): a signed-in user learns only that
        # nothing changed, and any render below is still permission-checked.
        return HttpResponse(status=204)
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    filters = selectors.CaseFilters.parse(request.GET)
    data = selectors.board_get(user=request.user, filters=filters)
    query = filters.as_query()
    kiosk = request.GET.get("kiosk") == "1"
    context = {
        "board": data,
        "filters": filters,
        "filter_query": urlencode(query),
        "query": urlencode({**query, "kiosk": "1"} if kiosk else query),
        "kiosk": kiosk,
        # Rows are built in Python: see exceptions/rows.py for the measurement.
        "rows_html": board_rows_html(
            data.cases,
            csrf_token=get_token(request),
            next_url=reverse("board"),
            act_kinds=set(kinds_for(request.user)),
        ),
    }
    template = "exceptions/board.html"
    if request.htmx and since is not None:
        template += "#rows"
    else:
        context["choices"] = selectors.board_choices()
    return render(request, template, context)


@permission_required(VIEW, raise_exception=True)
def case_detail(request, pk: int):
    case = _case_or_404(request, pk)
    can_act = request.user.has_perm(f"exceptions.act_on_{case.kind}")
    offered = case_actions_offered(case) if can_act else []
    context = {
        "case": case,
        # Orders, customers and lots only for roles that read them (coordination/visibility)
        "impact": picture_redact(request.user, case.impact),
        "impact_summary": summary_redact(request.user, case.impact_summary, case.impact),
        "timeline": selectors.case_timeline(case),
        "predecessors": selectors.case_predecessors(case),
        "repeats": list(case.repeats.order_by("-opened_at")[:10]),
        "actions": [(name, CASE_ACTIONS.form(name, case)) for name in offered],
    }
    return render(request, "exceptions/case_detail.html", context)


def _case_or_404(request, pk: int) -> ExceptionCase:
    try:
        return selectors.case_get(user=request.user, pk=pk)
    except NotFoundError as exc:
        raise Http404(exc.detail) from None


def _next(request, case) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("exception-detail", args=[case.pk])


@permission_required(VIEW, raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_action(request, pk: int, action: str):
    """One action on one exception: GET the form, POST it. htmx gets the panel partial.

    Invalid input and conflicts re-render the form with 200 (htmx does not swap 4xx) and
    change nothing; success tells the board to refresh (``board-changed``).
    """
    CASE_ACTIONS[action]  # 404 for an unknown action, before any lookup
    case = _case_or_404(request, pk)
    if request.method == "GET":
        return _panel(request, case, action, CASE_ACTIONS.form(action, case))
    outcome = CASE_ACTIONS.submit(
        action, case, data=request.POST, actor=request.user, via=StateChange.Via.WEB
    )
    if outcome.ok:
        if request.htmx:
            response = render(
                request, "exceptions/_panel.html#done", {"message": outcome.message, "case": case}
            )
            return trigger_client_event(response, "board-changed")
        messages.success(request, outcome.message)
        return redirect(_next(request, case))
    error = outcome.error
    status = 200
    if isinstance(error, PermissionDeniedError) and not request.htmx:
        status = 403
    return _panel(request, case, action, outcome.form, error.detail if error else None, status)


def _panel(request, case, action, form, error=None, status=200):
    context = {
        "case": case,
        "action": action,
        "form": form,
        "error": error,
        "next": request.POST.get("next") or request.GET.get("next") or "",
    }
    template = "exceptions/_panel.html#form" if request.htmx else "exceptions/action_page.html"
    return render(request, template, context, status=status)
