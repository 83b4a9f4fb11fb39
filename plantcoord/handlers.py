"""Error pages for paths no view answers: the API speaks JSON there too."""

from django.http import JsonResponse
from django.views import defaults


def page_not_found(request, exception):
    """``/api/…`` that matches no route (an id that is not a number, an unknown action):
    the API's error shape, not an HTML page. Elsewhere Django's own 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "detail": f"no such endpoint or object: {request.path}",
             "extra": {}},
            status=404,
        )  # fmt: skip
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "server_error", "detail": "internal error; it has been logged", "extra": {}},
            status=500,
        )
    return defaults.server_error(request)
