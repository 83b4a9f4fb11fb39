from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from kernel.errors import DomainError, InvalidInputError, PermissionDeniedError

from . import floor_selectors, quality
from .actions import ACTION_PERMISSIONS, HOLDABLE, LOT_ACTIONS, lot_actions_offered
from .forms import HoldManyForm
from .models import Lot, StateChange
from .quality_selectors import hold_queue, lot_get, lot_page, lot_search
from .selectors import line_overview_list, plant_counts, worker_seen_at


@permission_required("coordination.view_line", raise_exception=True)
def overview(request):
    """The plant at a glance: every line, its status, what runs now and what comes next."""
    template = "coordination/overview.html"
    if request.htmx:
        template += "#lines"
    context = {
        "lines": line_overview_list(site_code=request.GET.get("site")),
        "counts": plant_counts(),
        "worker_seen_at": worker_seen_at(),
    }
    return render(request, template, context)


# --- quality: the hold queue, the lot page, holds and dispositions --------------------------

VIEW_LOT = "coordination.view_lot"


def _lot_or_404(code: str) -> Lot:
    lot = lot_get(code=code)
    if lot is None:
        raise Http404(f"lot {code} does not exist")
    return lot


def _queue_context(request, *, hold_form=None, message="", error="") -> dict:
    query = request.GET.get("q", request.POST.get("q", "")).strip()
    status = request.GET.get("status", request.POST.get("status", ""))
    if status not in Lot.Status.values:
        status = ""
    results = lot_search(query=query, status=status)
    may_hold = request.user.has_perm(quality.HOLD_PERMISSION)
    holdable = [lot.code for lot in results if lot.status in HOLDABLE]
    if may_hold and hold_form is None:
        hold_form = HoldManyForm(codes=holdable)
    return {
        "queue": hold_queue(),
        "query": query,
        "status": status,
        "statuses": Lot.Status.choices,
        "results": results,
        "searched": bool(query or status),
        "holdable": set(holdable),
        "may_hold": may_hold,
        "hold_form": hold_form,
        "message": message,
        "error": error,
    }


@permission_required(VIEW_LOT, raise_exception=True)
def quality_queue(request):
    """Lots on hold, oldest first, and a search to find and hold lots. htmx: the search
    results and hold form (``#workspace``) or the queue (``#queue``) alone."""
    template = "coordination/quality.html"
    if request.htmx and request.GET.get("part") in ("workspace", "queue"):
        template += "#" + request.GET["part"]
    return render(request, template, _queue_context(request))


@permission_required(VIEW_LOT, raise_exception=True)
@require_POST
def quality_hold_many(request):
    """Hold the ticked lots of the search with one reason: all of them or none."""
    if not request.htmx and not request.user.has_perm(ACTION_PERMISSIONS["hold"]):
        raise PermissionDenied  # as for one lot: a plain request gets the 403
    context = _queue_context(request)
    form = HoldManyForm(request.POST, codes=[lot.code for lot in context["results"]])
    status, message, error = 200, "", ""
    if form.is_valid():
        try:
            lots = quality.lots_hold(
                codes=form.cleaned_data["lots"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                defect_code=form.cleaned_data["defect_code"],
                via=StateChange.Via.WEB,
            )
        except InvalidInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        except PermissionDeniedError as exc:
            error, status = exc.detail, (200 if request.htmx else 403)
        except DomainError as exc:
            error = exc.detail
        else:
            message = f"On hold: {', '.join(lot.code for lot in lots)}."
            if not request.htmx:
                messages.success(request, message)
                return redirect(f"{reverse('quality')}?{urlencode({'q': context['query']})}")
            form = None
    context = _queue_context(request, hold_form=form, message=message, error=error)
    template = "coordination/quality.html"
    if request.htmx:
        template += "#workspace"
    response = render(request, template, context, status=status)
    return trigger_client_event(response, "board-changed") if message else response


@permission_required(VIEW_LOT, raise_exception=True)
def lot_detail(request, code: str):
    lot = _lot_or_404(code)
    page = lot_page(lot)
    context = {
        "lot": lot,
        **page,
        **floor_selectors.lot_extra(lot, user=request.user, history=page["history"]),
        "actions": [
            (name, LOT_ACTIONS.form(name, lot)) for name in lot_actions_offered(lot, request.user)
        ],
    }
    return render(request, "coordination/lot.html", context)


@permission_required(VIEW_LOT, raise_exception=True)
@require_http_methods(["GET", "POST"])
def lot_action(request, code: str, action: str):
    """Hold or disposition one lot: GET the form, POST it; htmx gets the form partial.

    Invalid input and conflicts re-render the form with 200 (htmx does not swap 4xx) and
    change nothing; a role without the permission gets 403 on a plain request.
    """
    LOT_ACTIONS[action]  # 404 for an unknown action, before any lookup
    if not request.htmx and not request.user.has_perm(ACTION_PERMISSIONS[action]):
        raise PermissionDenied  # a plain request gets the 403; htmx gets the message below
    lot = _lot_or_404(code)
    if request.method == "GET":
        return _lot_panel(request, lot, action, LOT_ACTIONS.form(action, lot))
    outcome = LOT_ACTIONS.submit(
        action, lot, data=request.POST, actor=request.user, via=StateChange.Via.WEB
    )
    if outcome.ok:
        if request.htmx:
            response = render(
                request,
                "coordination/_lot_action.html#done",
                {"message": outcome.message, "lot": outcome.result},
            )
            return trigger_client_event(response, "board-changed")
        messages.success(request, outcome.message)
        return redirect(_lot_next(request, lot))
    error = outcome.error
    status = 200
    if isinstance(error, PermissionDeniedError) and not request.htmx:
        status = 403
    return _lot_panel(request, lot, action, outcome.form, error.detail if error else None, status)


def _lot_next(request, lot) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("lot-detail", args=[lot.code])


def _lot_panel(request, lot, action, form, error=None, status=200):
    context = {
        "lot": lot,
        "action": action,
        "form": form,
        "error": error,
        "next": request.POST.get("next") or request.GET.get("next") or "",
    }
    template = "coordination/lot_action.html"
    if request.htmx:
        template = "coordination/_lot_action.html#form"
    return render(request, template, context, status=status)


# --- drill-down: line, order, job and item pages, and the one search box --------------------


def _or_404(found, what: str, ref: str):
    if found is None:
        raise Http404(f"{what} {ref} does not exist")
    return found


@permission_required("coordination.view_line", raise_exception=True)
def line_detail(request, code: str):
    """One line: status, what runs now and next, open exceptions, staffing, recent events."""
    line = _or_404(floor_selectors.line_get(code=code), "line", code)
    context = {"page": floor_selectors.line_page(line, user=request.user), "line": line}
    template = "coordination/line.html"
    if request.htmx and request.GET.get("part") == "live":
        template += "#live"
    return render(request, template, context)


@permission_required("coordination.view_order", raise_exception=True)
def order_detail(request, number: str):
    order = _or_404(floor_selectors.order_get(number=number), "order", number)
    context = {"order": order, **floor_selectors.order_page(order, user=request.user)}
    return render(request, "coordination/order.html", context)


@permission_required("coordination.view_job", raise_exception=True)
def job_detail(request, number: str):
    job = _or_404(floor_selectors.job_get(number=number), "job", number)
    context = {"job": job, **floor_selectors.job_page(job, user=request.user)}
    return render(request, "coordination/job.html", context)


@permission_required("coordination.view_item", raise_exception=True)
def item_detail(request, code: str):
    item = _or_404(floor_selectors.item_get(code=code), "item", code)
    context = {"item": item, **floor_selectors.item_page(item, user=request.user)}
    return render(request, "coordination/item.html", context)


@permission_required("coordination.view_line", raise_exception=True)
def search(request):
    """The layout's search box: one exact match opens its page, otherwise the list."""
    query = request.GET.get("q", "").strip()
    hits = floor_selectors.search(query=query, user=request.user)
    exact = [h for h in hits if h.exact]
    if len(exact) == 1 and request.GET.get("list") != "1":
        return redirect(exact[0].url)
    context = {"query": query, "hits": hits, "too_long": len(query) > floor_selectors.MAX_QUERY}
    return render(request, "coordination/search.html", context)


@permission_required("coordination.view_order", raise_exception=True)
def order_list(request):
    late = request.GET.get("late") == "1"
    context = {"orders": floor_selectors.order_list(late=late), "late": late}
    return render(request, "coordination/order_list.html", context)
