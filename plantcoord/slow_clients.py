"""A request body that does not arrive in time is the client's fault: 408, not a 500.

gunicorn.conf.py gives every body a deadline; reading past it raises a ``TimeoutError``
inside the view, which Django turns into ``UnreadablePostError``.
"""

import logging

from django.http import JsonResponse, UnreadablePostError

log = logging.getLogger(__name__)


class UnreadableBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, UnreadablePostError):
            return None
        log.warning(
            "request body from %s unreadable: %s", request.META.get("REMOTE_ADDR"), exception
        )
        response = JsonResponse(
            {
                "code": "request_timeout",
                "detail": f"the request body was not received: {exception}",
                "extra": {},
            },
            status=408,
        )
        return response  # gunicorn closes the connection: the rest of the body is unread
