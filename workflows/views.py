"""Pages: the task inbox, task actions (htmx or plain forms), notifications, preferences."""

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from coordination.models import StateChange
from coordination.visibility import CONTEXT_TEXT, picture_redact
from kernel.errors import InvalidInputError, NotFoundError

from . import notify, selectors
from .actions import TASK_ACTIONS
from .forms import PreferenceForm
from .models import NotificationPreference
from .task_actions import task_may_act

VIEW = "workflows.view_task"


@permission_required(VIEW, raise_exception=True)
def inbox(request):
    """My tasks and my groups' unclaimed ones, overdue first.

    Live: the list polls with ``?partial=list&since=<version>`` and gets 204 while nothing
    in it changed (the version is a digest of what the cards show, see ``_inbox_version``).
    """
    tasks = selectors.inbox_tasks(user=request.user)
    version = _inbox_version(tasks)
    partial = request.htmx and request.GET.get("partial") == "list"
    if partial and request.GET.get("since") == version:
        return HttpResponse(status=204)
    cards = [_card(request, t) for t in tasks]
    cards.sort(key=lambda card: not card["overdue"])  # stable: then by due time
    context = {"tasks": cards, "version": version}
    template = "workflows/inbox.html"
    if partial:
        # The list changed by itself (a new task, a colleague claimed one): the counters too.
        response = render(request, template + "#task-list", context)
        return trigger_client_event(response, "tasks-changed")
    return render(request, template, context)


def _inbox_version(tasks) -> str:
    """Changes when a card would: a task comes or goes, is claimed, paused, re-dated, goes
    overdue (the minute), or its exception changes status."""
    now = timezone.now()
    parts = [
        (t.pk, t.status, t.assignee_id, t.paused_at, t.due_at, t.due_at < now, t.case.status)
        for t in tasks
    ]
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


@login_required
def counts(request):
    """The navigation counters (refreshed by htmx after each action)."""
    return render(
        request, "workflows/_counts.html", {"wf_counts": selectors.inbox_counts(request.user)}
    )


def _card(request, task, *, forms=None, error=None, message=None) -> dict:
    may_act = task_may_act(request.user, task)
    offered = TASK_ACTIONS.offered(task) if may_act else []
    # Shown, never saved: orders, customers and lots only for roles that read them.
    task.context = picture_redact(request.user, task.context, text_keys=CONTEXT_TEXT)
    # Nothing to decide (held by someone else, done): no reason to fold it away.
    expanded = bool(forms or error or message) or not (may_act and task.is_active)
    forms = forms or {}
    for name in ("complete", "pause", "note"):
        if name in offered:
            forms.setdefault(name, TASK_ACTIONS.form(name, task))
    return {
        "task": task,
        "offered": offered,
        "due": selectors.due_label(task),
        "overdue": task.is_active and not task.paused_at and task.due_at < timezone.now(),
        "may_act": may_act,
        "forms": forms,
        "error": error,
        "message": message,
        # Compact in the list; open when the person is working in it (an answer to their
        # action, an error to fix) and on the task's own page.
        "expanded": expanded,
    }


def _task_or_404(pk: int, user=None):
    try:
        return selectors.task_get(pk=pk, user=user)
    except NotFoundError as exc:
        raise Http404(exc.detail) from None


@permission_required(VIEW, raise_exception=True)
def task_detail(request, pk: int):
    task = _task_or_404(pk, request.user)
    card = {**_card(request, task), "expanded": True}  # its own page: the form is the point
    context = {"card": card, "events": selectors.task_events(task)}
    template = "workflows/task_detail.html"
    if request.htmx and request.GET.get("partial") == "timeline":
        template += "#timeline"  # refreshed after each action on the card (inbox-changed)
    return render(request, template, context)


@permission_required(VIEW, raise_exception=True)
@require_http_methods(["GET", "POST"])
def task_action(request, pk: int, action: str):
    """One action on one task. htmx gets the task card back; bad input re-renders it with the
    error next to its field (200: htmx does not swap 4xx) and changes nothing."""
    TASK_ACTIONS[action]  # 404 for an unknown action, before any lookup
    task = _task_or_404(pk)
    if not selectors.task_readable(request.user, task):
        if request.method == "GET":
            raise Http404(f"task {pk} does not exist")
        # Say who may act (as the API does), but show nothing of the task itself.
        detail = f"task “{task.title}” belongs to {task.owner_label}; only they may act on it"
        status = 200 if request.htmx else 403  # htmx swaps no 4xx
        return HttpResponse(f"<p class='error'>{escape(detail)}</p>", status=status)
    if request.method == "GET":
        return _respond(request, task)
    outcome = TASK_ACTIONS.submit(
        action, task, data=request.POST, actor=request.user, via=StateChange.Via.WEB
    )
    if outcome.ok:
        task = selectors.task_get(pk=pk)
        if request.htmx:
            response = _respond(request, task, message=outcome.message)
            return trigger_client_event(response, "inbox-changed")
        messages.success(request, outcome.message)
        return redirect(_next(request, task))
    if outcome.error is not None:
        status = outcome.error.status if not request.htmx else 200
        task = selectors.task_get(pk=pk)
        return _respond(
            request, task, forms={action: outcome.form}, error=outcome.error.detail, status=status
        )
    status = 200 if request.htmx else 400
    return _respond(request, task, forms={action: outcome.form}, status=status)


def _respond(request, task, *, forms=None, error=None, message=None, status=200):
    card = _card(request, task, forms=forms, error=error, message=message)
    if request.htmx:
        return render(request, "workflows/inbox.html#task", {"card": card}, status=status)
    context = {"card": {**card, "expanded": True}, "events": selectors.task_events(task)}
    return render(request, "workflows/task_detail.html", context, status=status)


def _next(request, task) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("inbox")


@login_required
def notifications(request):
    items = selectors.notification_list(user=request.user)
    return render(request, "workflows/notifications.html", {"items": items})


@login_required
@require_POST
def notifications_read(request):
    ids = request.POST.getlist("id") or None
    try:
        ids = [int(i) for i in ids] if ids else None
    except ValueError:
        ids = []
    notify.notifications_read(user=request.user, ids=ids)
    if request.htmx:
        response = HttpResponse("")
        return trigger_client_event(response, "inbox-changed")
    return redirect("notifications")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    pref = NotificationPreference.objects.filter(user=request.user).first()
    pref = pref or NotificationPreference(user=request.user)
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            try:
                notify.preference_update(user=request.user, **form.cleaned_data)
            except InvalidInputError as exc:
                form.add_error(exc.field, exc.detail)
            else:
                messages.success(request, "Notification preferences saved.")
                return redirect("notification-preferences")
        status = 400
    else:
        form = PreferenceForm(
            initial={
                "in_app": pref.in_app,
                "email": pref.email,
                "collapse_minutes": pref.collapse_minutes,
            }
        )
        status = 200
    return render(request, "workflows/preferences.html", {"form": form}, status=status)
