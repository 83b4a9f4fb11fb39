"""The board's "Raise by hand" form: GET it (htmx: into the board's panel), POST it."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from coordination.models import StateChange
from kernel.errors import DomainError, InvalidInputError

from .forms import RaiseForm
from .manual import RAISE_PERMISSION, case_raise


@permission_required(RAISE_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def case_raise_view(request):
    form, error = RaiseForm(request.POST or None), ""
    if request.method == "POST" and form.is_valid():
        try:
            case = case_raise(
                actor=request.user,
                title=form.cleaned_data["title"],
                severity=form.cleaned_data["severity"],
                note=form.cleaned_data["note"],
                line_code=form.cleaned_data["line"],
                via=StateChange.Via.WEB,
            )
        except InvalidInputError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
        except DomainError as exc:
            error = exc.detail
        else:
            message = f"#{case.pk} raised: {case.title}."
            if request.htmx:
                response = render(
                    request, "exceptions/_raise.html#done", {"message": message, "case": case}
                )
                return trigger_client_event(response, "board-changed")
            messages.success(request, message)
            return redirect(reverse("board"))
    status = 200 if request.htmx or request.method == "GET" else 400
    template = "exceptions/_raise.html#form" if request.htmx else "exceptions/raise_page.html"
    return render(request, template, {"form": form, "error": error}, status=status)
