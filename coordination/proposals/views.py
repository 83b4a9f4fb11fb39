"""The planner's pages: ``/plan/`` (open proposals by line, ranked priorities), a proposal
(Gantt before/after, KPI deltas, explanation, pin and re-optimise, approve or reject)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from coordination.models import StateChange
from coordination.priorities import line_priorities
from kernel.errors import DomainError, InvalidInputError, PermissionDeniedError
from kernel.filters import FilterError, integer_param

from . import services
from .actions import PROPOSAL_ACTIONS, proposal_actions_offered
from .forms import PinForm
from .models import Proposal
from .selectors import plan_overview, proposal_page, recent_decisions

VIEW = "coordination.view_proposal"


def _proposal_or_404(pk) -> Proposal:
    try:
        key = integer_param(str(pk), "id")
    except FilterError:
        raise Http404("no such proposal") from None
    proposal = Proposal.objects.select_related("line__site", "case").filter(pk=key).first()
    if proposal is None:
        raise Http404("no such proposal")
    return proposal


@permission_required(VIEW, raise_exception=True)
def plan(request):
    """Open proposals by line, and what to run next on each. htmx: the proposals alone."""
    template = "planning/plan.html"
    if request.htmx and request.GET.get("part") == "lines":
        template += "#lines"
    entries = plan_overview(site_code=request.GET.get("site"))
    for entry in entries:
        entry["priorities"] = line_priorities(entry["line"].code)[:6]
    context = {
        "entries": entries,
        "decisions": recent_decisions(),
        "may_plan": request.user.has_perm(services.APPROVE_PERMISSION),
    }
    return render(request, template, context)


@permission_required(VIEW, raise_exception=True)
def proposal_detail(request, pk):
    proposal = _proposal_or_404(pk)
    if request.htmx and request.GET.get("part") == "status" and not proposal.ready_at:
        return render(request, "planning/proposal.html#building", {"proposal": proposal})
    orders_visible = request.user.has_perm("coordination.view_order")
    page = proposal_page(proposal, request.GET.get("alt"), orders_visible=orders_visible)
    offered = proposal_actions_offered(proposal, request.user) if page["ready"] else []
    chosen = page.get("chosen")
    forms = {}
    for name in offered:
        form = PROPOSAL_ACTIONS.form(name, proposal)
        if name == "approve" and chosen:
            form.initial["alternative"] = chosen["key"]
        forms[name] = form
    context = {
        "proposal": proposal,
        **page,
        "forms": forms,
        "pin_form": PinForm() if "approve" in offered else None,
        "decision": getattr(proposal, "decision", None) if proposal.status == "approved" else None,
        "orders_visible": orders_visible,
    }
    if request.htmx and request.GET.get("part") == "status":
        response = render(request, "planning/proposal.html#building", context)
        response["HX-Refresh"] = "true"  # ready now: load the whole page
        return response
    return render(request, "planning/proposal.html", context)


@permission_required(VIEW, raise_exception=True)
@require_POST
def proposal_action(request, pk, action: str):
    """Approve or reject (planners); invalid input or a conflict shows the page again."""
    PROPOSAL_ACTIONS[action]  # 404 for an unknown action, before any lookup
    if not request.user.has_perm(services.APPROVE_PERMISSION):
        raise PermissionDenied
    proposal = _proposal_or_404(pk)
    outcome = PROPOSAL_ACTIONS.submit(
        action, proposal, data=request.POST, actor=request.user, via=StateChange.Via.WEB
    )
    if outcome.ok:
        messages.success(request, outcome.message)
        return redirect(reverse("plan-proposal", args=[proposal.pk]))
    error = outcome.error
    if error is not None:
        messages.error(request, error.detail)
    else:
        messages.error(
            request, "; ".join(f"{k}: {' '.join(v)}" for k, v in outcome.form.errors.items())
        )
    return redirect(
        reverse("plan-proposal", args=[proposal.pk]) + f"?alt={request.POST.get('alternative', '')}"
    )


@permission_required(VIEW, raise_exception=True)
@require_POST
def proposal_pin(request, pk):
    """Pin a job to a line and/or a position and re-optimise around it: a new proposal."""
    if not request.user.has_perm(services.APPROVE_PERMISSION):
        raise PermissionDenied
    proposal = _proposal_or_404(pk)
    form = PinForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(" ".join(v) for v in form.errors.values()))
        return redirect(reverse("plan-proposal", args=[proposal.pk]))
    pins = [{**p, "position": p.get("position")} for p in proposal.pins or []]
    data = form.cleaned_data
    pins = [p for p in pins if p["job"] != data["job"]]
    pins.append({"job": data["job"], "line": data["line"] or None, "position": data["position"]})
    try:
        new = services.proposal_request(
            line_code=proposal.line.code, actor=request.user, pins=pins, based_on=proposal.pk
        )
    except InvalidInputError as exc:
        messages.error(request, exc.detail)
        return redirect(reverse("plan-proposal", args=[proposal.pk]))
    messages.success(request, f"Re-optimising around {data['job']}: proposal #{new.pk}.")
    return redirect(reverse("plan-proposal", args=[new.pk]))


@permission_required(VIEW, raise_exception=True)
@require_http_methods(["POST"])
def line_resequence(request, code: str):
    """A planner asks for a proposal on a line."""
    if not request.user.has_perm(services.APPROVE_PERMISSION):
        raise PermissionDenied
    try:
        proposal = services.proposal_request(line_code=code, actor=request.user)
    except PermissionDeniedError:
        raise PermissionDenied from None
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.detail) from None
        raise
    return redirect(reverse("plan-proposal", args=[proposal.pk]))
