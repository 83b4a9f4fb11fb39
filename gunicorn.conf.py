"""gunicorn settings for `bin/run`, the Dockerfile and docker-compose (`gunicorn -c
gunicorn.conf.py plantcoord.wsgi`; command-line flags override what is set here).

Slow clients: gunicorn's threads read request bodies themselves, and gunicorn has no limit
on how long that may take, so a client that announces more body than it sends would hold a
thread for as long as it likes. The hooks below give every request body a total deadline
(``REQUEST_BODY_TIMEOUT`` seconds from when a thread starts on it); a client that misses it gets
408 and its connection is closed. In production a buffering proxy (nginx, see
deploy/nginx.conf) reads bodies before gunicorn sees them; this is the second line.
"""

import os
import time

bind = os.environ.get("BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# A worker whose main loop stops answering for this long is killed and replaced.
timeout = 30
graceful_timeout = 30
keepalive = 5
# Request line and headers: gunicorn's limits, stated (a longer line is answered 414/400).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Recycle workers now and then (memory growth in long-lived processes).
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"

REQUEST_BODY_TIMEOUT = float(os.environ.get("REQUEST_BODY_TIMEOUT", "5"))
# Sending the response to a client that stops reading is bounded too (per send).
SEND_TIMEOUT = 30.0


class BodyTimeout(TimeoutError):
    """The client did not send the body it announced in time (plantcoord answers 408)."""


def pre_request(worker, req):
    """Give this request's body reads a total deadline."""
    unreader = getattr(req, "unreader", None)
    sock = getattr(unreader, "sock", None)
    if sock is None or not hasattr(sock, "settimeout"):
        return
    deadline = time.monotonic() + REQUEST_BODY_TIMEOUT
    read = type(unreader).chunk
    unreader.prior_timeout = sock.gettimeout()

    def chunk(size_hint=None):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BodyTimeout(f"request body not received within {REQUEST_BODY_TIMEOUT:g} s")
        sock.settimeout(remaining)
        try:
            return read(unreader, size_hint)
        except TimeoutError as exc:
            raise BodyTimeout(
                f"request body not received within {REQUEST_BODY_TIMEOUT:g} s"
            ) from exc
        finally:
            sock.settimeout(SEND_TIMEOUT)

    unreader.chunk = chunk


def post_request(worker, req, environ, resp):
    """The connection may serve another request (keep-alive): back to gunicorn's own reads."""
    unreader = getattr(req, "unreader", None)
    if unreader is not None and "chunk" in vars(unreader):
        del unreader.chunk
        unreader.sock.settimeout(unreader.prior_timeout)
