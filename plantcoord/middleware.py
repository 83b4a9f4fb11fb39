from django.conf import settings
from django.contrib.auth.views import redirect_to_login

# Paths that authenticate themselves (API: token/key, 401 not a redirect) or must stay open.
OPEN_PREFIXES = ("/healthz", "/readyz", "/accounts/login/", "/api/", "/admin/", "/static/")
# Exact paths that check their own credentials: /metrics (Prometheus, a bearer token).
OPEN_PATHS = ("/metrics",)


class LoginRequiredMiddleware:
    """Every page needs a signed-in user; secure by default rather than per-view decorators."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if (
            not request.user.is_authenticated
            and not path.startswith(OPEN_PREFIXES)
            and path not in OPEN_PATHS
        ):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)
