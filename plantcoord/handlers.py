"""Error pages: in the app's layout (navigation, a way back) for people; the API's error
shape for ``/api/…``, where a path matching nothing answers JSON too."""

import logging

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme

logger = logging.getLogger(__name__)

PAGES = {
    403: (
        "You may not open this",
        "Your role does not include this page or action.",
        "If your work needs it, ask your shift supervisor or the plant's administrator to "
        "give your account the role.",
    ),
    404: (
        "Not found",
        "There is no such page, or what it shows does not exist (any more).",
        "Exceptions, tasks and decisions of another function are not shown to your role.",
    ),
    500: (
        "Something went wrong on our side",
        "The error has been logged. Nothing you entered was half-saved: try again in a moment.",
        "",
    ),
}


def _api(request) -> bool:
    return request.path.startswith("/api/")


def _back(request) -> str:
    """Where the person came from, if it is this site and not this very page."""
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    if referer and same_site and not referer.endswith(request.get_full_path()):
        return referer
    return ""


def _page(request, status: int, detail: str = ""):
    title, default_detail, hint = PAGES[status]
    context = {
        "status": status,
        "title": title,
        "detail": detail or default_detail,
        "hint": hint,
        "back_url": _back(request),
    }
    return render(request, "errors/_error.html", context, status=status)


def permission_denied(request, exception):
    """403: what was refused and who to ask. A ``PermissionDenied("…")`` message says who
    may act; Django's bare one gets the general sentence."""
    detail = str(exception) if exception is not None and str(exception) else ""
    if _api(request):
        return JsonResponse(
            {"code": "permission_denied", "detail": detail or PAGES[403][1], "extra": {}},
            status=403,
        )
    return _page(request, 403, detail)


def page_not_found(request, exception):
    """``/api/…`` that matches no route (an id that is not a number, an unknown action):
    the API's error shape, not an HTML page."""
    if _api(request):
        return JsonResponse(
            {"code": "not_found", "detail": f"no such endpoint or object: {request.path}",
             "extra": {}},
            status=404,
        )  # fmt: skip
    return _page(request, 404)


def server_error(request):
    if _api(request):
        return JsonResponse(
            {"code": "server_error", "detail": "internal error; it has been logged", "extra": {}},
            status=500,
        )
    try:
        # The layout needs the database (navigation, counts): the cause may be the database.
        return _page(request, 500)
    except Exception:
        logger.exception("the 500 page could not be rendered in the layout")
        return HttpResponseServerError(loader.get_template("500.html").render())
