"""Pages: the task inbox, task actions (htmx or plain forms), notifications, preferences."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from coordination.visibility import CONTEXT_TEXT, picture_redact

from . import selectors, services
from .errors import DomainError, InvalidInputError, NotFoundError
from .forms import ClaimForm, CompleteForm, NoteForm, PauseForm, PreferenceForm
from .models import NotificationPreference

VIEW = "workflows.view_task"
ACTIONS = ("claim", "release", "complete", "pause", "resume", "note")


@permission_required(VIEW, raise_exception=True)
def inbox(request):
    """My tasks and my groups' unclaimed ones, overdue first."""
    tasks = selectors.inbox_tasks(user=request.user)
    context = {"tasks": [_card(request, t) for t in tasks]}
    template = "workflows/inbox.html"
    if request.htmx and request.GET.get("partial") == "list":
        template += "#task-list"
    return render(request, template, context)


@login_required
def counts(request):
    """The navigation counters (refreshed by htmx after each action)."""
    return render(
        request, "workflows/_counts.html", {"wf_counts": selectors.inbox_counts(request.user)}
    )


def _card(request, task, *, forms=None, error=None, message=None) -> dict:
    may_act = services.task_may_act(request.user, task)
    # Shown, never saved: orders, customers and lots only for roles that read them.
    task.context = picture_redact(request.user, task.context, text_keys=CONTEXT_TEXT)
    forms = forms or {}
    if may_act and task.is_active:
        forms.setdefault(
            "complete", CompleteForm(task=task, initial={"expected_state": task.status})
        )
        forms.setdefault("pause", PauseForm())
        forms.setdefault("note", NoteForm())
    return {
        "task": task,
        "due": selectors.due_label(task),
        "overdue": task.is_active and not task.paused_at and task.due_at < _now(),
        "may_act": may_act,
        "forms": forms,
        "error": error,
        "message": message,
    }


def _now():
    from django.utils import timezone

    return timezone.now()


@permission_required(VIEW, raise_exception=True)
def task_detail(request, pk: int):
    try:
        task = selectors.task_get(pk=pk, user=request.user)
    except NotFoundError as exc:
        raise Http404(exc.detail) from None
    context = {"card": _card(request, task), "events": selectors.task_events(task)}
    return render(request, "workflows/task_detail.html", context)


@permission_required(VIEW, raise_exception=True)
@require_http_methods(["GET", "POST"])
def task_action(request, pk: int, action: str):
    """One action on one task. htmx gets the task card back; bad input re-renders it with the
    error next to its field (200: htmx does not swap 4xx) and changes nothing."""
    if action not in ACTIONS:
        raise Http404("no such action")
    try:
        task = selectors.task_get(pk=pk)
    except NotFoundError as exc:
        raise Http404(exc.detail) from None
    if not selectors.task_readable(request.user, task):
        if request.method == "GET":
            raise Http404(f"task {pk} does not exist")
        # Say who may act (as the API does), but show nothing of the task itself.
        detail = f"task “{task.title}” belongs to {task.owner_label}; only they may act on it"
        status = 200 if request.htmx else 403  # htmx swaps no 4xx
        return HttpResponse(f"<p class='error'>{escape(detail)}</p>", status=status)
    if request.method == "GET":
        return _respond(request, task)
    form = _bound(action, request.POST, task)
    error = None
    if form.is_valid():
        try:
            message = _perform(request, task, action, form.cleaned_data)
        except InvalidInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        except DomainError as exc:
            error = exc.detail
            status = exc.status if not request.htmx else 200
            task = selectors.task_get(pk=pk)
            return _respond(request, task, forms={action: form}, error=error, status=status)
        else:
            task = selectors.task_get(pk=pk)
            if request.htmx:
                response = _respond(request, task, message=message)
                return trigger_client_event(response, "inbox-changed")
            messages.success(request, message)
            return redirect(_next(request, task))
    status = 200 if request.htmx else 400
    return _respond(request, task, forms={action: form}, error=error, status=status)


def _bound(action, data, task):
    if action == "complete":
        return CompleteForm(data, task=task)
    if action == "pause":
        return PauseForm(data)
    if action == "note":
        return NoteForm(data)
    return ClaimForm(data)


def _perform(request, task, action, data) -> str:
    user = request.user
    if action == "claim":
        services.task_claim(task_id=task.pk, actor=user, expected_state=data["expected_state"])
        return f"You took “{task.title}”."
    if action == "release":
        services.task_release(task_id=task.pk, actor=user, expected_state=data["expected_state"])
        return f"“{task.title}” is back with its group."
    if action == "pause":
        services.task_pause(task_id=task.pk, actor=user, reason=data["reason"])
        return f"“{task.title}” paused: the clock is stopped."
    if action == "resume":
        services.task_resume(task_id=task.pk, actor=user)
        return f"“{task.title}” resumed."
    if action == "note":
        services.task_note(task_id=task.pk, actor=user, note=data["note"])
        return "Progress noted."
    decision = services.task_complete(
        task_id=task.pk,
        actor=user,
        option=data["option"],
        value=data["value"],
        rationale=data["rationale"],
        predicted_completion_at=data["predicted_completion_at"],
        predicted_effect=data["predicted_effect"],
        expected_state=data["expected_state"],
    )
    return f"Decided “{decision.chosen_label}” on “{task.title}”."


def _respond(request, task, *, forms=None, error=None, message=None, status=200):
    card = _card(request, task, forms=forms, error=error, message=message)
    if request.htmx:
        return render(request, "workflows/inbox.html#task", {"card": card}, status=status)
    context = {"card": card, "events": selectors.task_events(task)}
    return render(request, "workflows/task_detail.html", context, status=status)


def _next(request, task) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

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
    services.notifications_read(user=request.user, ids=ids)
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
                services.preference_update(user=request.user, **form.cleaned_data)
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
