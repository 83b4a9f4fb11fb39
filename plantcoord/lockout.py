"""Guessing is throttled, with django-axes' counters (rows in the database, so every web
process shares them).

- Sign-in (the login page, the admin): axes' authentication backend counts failures per
  username and per client address; either reaching ``AXES_FAILURE_LIMIT`` locks out for
  ``AXES_COOLOFF_TIME``, and the page says so (429).
- API: tokens and integration keys are not checked by ``authenticate()``, so this
  middleware feeds axes itself. A request that presents credentials and gets 401 is a failed
  guess, counted per client address (there is no username to count by); once the address
  is locked out, every request with credentials from it gets 429 with ``Retry-After`` —
  the right key too, so guessing cannot go on.
"""

import math

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"
API_USERNAME = "(api credentials)"  # stands in for the unknown user of a failed API call


def client_ip(request) -> str | None:
    """The client's address: the proxy's ``X-Forwarded-For`` entry when behind one.

    With ``TRUSTED_PROXY_COUNT`` = n proxies in front, the n-th entry from the right is the
    address the outermost proxy saw; entries further left are whatever the client claimed.
    """
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")


class SignInLockoutBackend(AxesStandaloneBackend):
    """axes' backend, for sign-ins over HTTP. ``authenticate()`` without a request (a shell,
    a script on the server) has no address to count and nothing to lock out: passed on."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_parameters(request_or_attempt, credentials=None) -> list:
    """Sign-in: per username and per address. API: per address only."""
    username = (credentials or {}).get("username") or getattr(request_or_attempt, "username", None)
    if username == API_USERNAME:
        return ["ip_address"]
    return ["username", "ip_address"]


def cool_off_minutes(request) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 0


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page's answer once locked out (``AXES_LOCKOUT_CALLABLE``)."""
    minutes = cool_off_minutes(request)
    context = {
        "username": (credentials or {}).get("username", ""),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class ApiLockoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX) or "HTTP_AUTHORIZATION" not in request.META:
            return self.get_response(request)
        credentials = {"username": API_USERNAME}
        if AxesProxyHandler.is_locked(request, credentials):
            return self._locked_out(request)
        response = self.get_response(request)
        if response.status_code == 401:
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        return response

    def _locked_out(self, request):
        minutes = cool_off_minutes(request)
        response = JsonResponse(
            {
                "code": "too_many_failed_authentications",
                "detail": "Too many failed authentications from this address; "
                f"try again in {minutes} minutes.",
                "extra": {"retry_after_seconds": minutes * 60},
            },
            status=429,
        )
        response["Retry-After"] = str(minutes * 60)
        return response
