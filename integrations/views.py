from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kernel.errors import DomainError
from kernel.filters import MAX_BIGINT
from kernel.roles import ADMIN

from .delivery import dead_delivery_list, delivery_retry, target_health_list
from .models import InboxEvent
from .selectors import failed_event_list, integration_health_list
from .services import NotFailedError, inbox_event_reprocess


@permission_required("integrations.view_integration", raise_exception=True)
def integrations(request):
    """Who sends us what, how often, and what could not be applied (and why)."""
    template = "integrations/integrations.html"
    if request.htmx:
        template += "#failed"
    return render(
        request,
        template,
        {
            "integrations": integration_health_list(),
            "failed": failed_event_list(),
            "can_reprocess": request.user.has_perm("integrations.change_inboxevent"),
            # Who a supervisor asks for a key or a target (they cannot open admin).
            "administrators": _administrators() if not request.user.is_staff else [],
            **_outbox_context(request),
        },
    )


def _administrators() -> list[str]:
    """Names of the people who manage keys and targets: staff accounts of the admin role."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, is_staff=True, groups__name=ADMIN)
        .order_by("username")
    )
    return [u.get_full_name() or u.get_username() for u in users.distinct()[:5]]


@require_POST
@permission_required("integrations.change_inboxevent", raise_exception=True)
def reprocess(request, pk: int):
    _id_or_404(pk)
    try:
        event = inbox_event_reprocess(event_id=pk, actor=request.user, via="web")
    except NotFailedError:
        messages.error(request, "That event is no longer failed; nothing to reprocess.")
    except DomainError as error:
        messages.error(request, str(error))
    else:
        if event.status == InboxEvent.Status.RECEIVED:
            messages.success(request, "Event queued again; it will be applied in a moment.")
        else:
            messages.success(request, f"Mapped again: event {event.status}.")
    if request.htmx:
        return render(
            request,
            "integrations/integrations.html#failed",
            {"failed": failed_event_list(), "can_reprocess": True},
        )
    return redirect("integrations")


def _outbox_context(request) -> dict:
    return {
        "targets": target_health_list(),
        "dead": dead_delivery_list(),
        "can_retry": request.user.has_perm("integrations.change_outboxdelivery"),
    }


@require_POST
@permission_required("integrations.view_integration", raise_exception=True)
def delivery_retry_view(request, pk: int):
    """Send a dead delivery again (the Retry button); the service checks who may."""
    _id_or_404(pk)
    try:
        delivery_retry(delivery_id=pk, actor=request.user, via="web")
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.detail) from None
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Delivery queued again; it will be sent in a moment.")
    if request.htmx:
        return render(request, "integrations/integrations.html#dead", _outbox_context(request))
    return redirect("integrations")


def _id_or_404(pk: int) -> None:
    """An id beyond the database's integers names nothing (SQLite would overflow on it)."""
    if pk > MAX_BIGINT:
        raise Http404("no such id")
