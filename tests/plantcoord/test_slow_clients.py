"""A client that announces more body than it sends is cut off after REQUEST_BODY_TIMEOUT
(408), and while several such clients are connected /healthz is still answered.

A real gunicorn with the project's gunicorn.conf.py (one worker, two threads, so a handful
of slow clients would hold every thread), on loopback, on the test database.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from integrations.services import integration_key_create
from tests.conftest import free_port, test_database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(18310, 18330)
SLOW_CLIENTS = 6  # three times the threads
BODY_TIMEOUT = 3

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def running_gunicorn(**extra_env):
    """gunicorn with gunicorn.conf.py, one worker, two threads, on a free port in range."""
    port = free_port(PORTS.start, PORTS.stop)
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        # The run's own broker, set or not (production settings require one by name).
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REQUEST_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = ROOT / "var" / "test" / f"gunicorn-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "plantcoord.wsgi",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:

            def up():
                with contextlib.suppress(OSError):
                    return b" 200 " in http_get(port, "/healthz", timeout=2)[:20]

            wait_for(up, timeout=60, what=f"gunicorn to answer /healthz: {log_path}")
            yield port, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def gunicorn():
    with running_gunicorn() as (port, _):
        yield port


def http_get(port: int, path: str, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        return s.recv(65536)


def read_to_end(s: socket.socket) -> bytes:
    """Everything until the server closes the connection (a kept-alive one fails the test)."""
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    return reply


def slow_client(port: int, key: str) -> socket.socket:
    """Announces 1,000 bytes of event, sends one, then nothing."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(
        b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/cloudevents+json\r\n"
        + f"Authorization: Bearer {key}\r\n".encode()
        + b"Content-Length: 1000\r\n\r\n{"
    )
    return s


def test_slow_bodies_are_cut_off_and_healthz_stays_answerable(gunicorn):
    _, key = integration_key_create(name="mes")
    started = time.monotonic()
    slow = [slow_client(gunicorn, key) for _ in range(SLOW_CLIENTS)]
    time.sleep(0.5)  # let them reach the worker's threads
    # 30 s bounds the test; without the body timeout the slow clients would hold for ever.
    answer = http_get(gunicorn, "/healthz", timeout=30)
    healthz_after = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 200"), answer
    cut = []
    for s in slow:
        with s:
            reply = read_to_end(s)
            cut.append(time.monotonic() - started)
        assert reply.startswith(b"HTTP/1.1 408"), reply
        assert b"request_timeout" in reply
    print(
        f"\n{SLOW_CLIENTS} slow clients, 2 threads, REQUEST_BODY_TIMEOUT={BODY_TIMEOUT}s: "
        f"/healthz answered after {healthz_after:.1f}s; slow clients cut off after "
        f"{min(cut):.1f}-{max(cut):.1f}s"
    )


# --- nginx (deploy/nginx.conf) in front: the production set-up of docker-compose.yml --------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
needs_nginx = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="needs nginx (apt-get install nginx-light; CI does)"
)
PRODUCTION = {
    "DEPLOYMENT": "production",
    "SECRET_KEY": "x" * 60 + "-only-for-the-proxy-test",
    "ALLOWED_HOSTS": "127.0.0.1",
    "TRUSTED_PROXY_COUNT": "1",
}


@contextlib.contextmanager
def running_nginx(upstream_port: int, tmp_path: Path):
    """deploy/nginx.conf as it is, but for the upstream address, the listen port, the body
    timeout (3 s, to keep the test short) and nginx's own file paths."""
    port = free_port(PORTS.start, PORTS.stop)
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in [
        ("server web:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("client_body_timeout 10s;", f"client_body_timeout {BODY_TIMEOUT}s;"),
    ]:
        assert old in site, old
        site = site.replace(old, new)
    tmp_path.chmod(0o777)
    (tmp_path / "site.conf").write_text(site)
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(mode=0o777)
        path.chmod(0o777)
    (tmp_path / "nginx.conf").write_text(
        f"worker_processes 1; daemon off; pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log warn;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"  access_log {tmp_path}/access.log;\n"
        + "".join(f"  {name}_temp_path {path};\n" for name, path in temp.items()).replace(
            "body_temp_path", "client_body_temp_path"
        )
        + f"  include {tmp_path}/site.conf;\n}}\n"
    )
    check = subprocess.run(
        [NGINX, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf")])
    try:

        def up():
            with contextlib.suppress(OSError):
                return b" 200 " in http_get(port, "/healthz", timeout=2)[:20]

        wait_for(up, timeout=30, what=f"nginx: {(tmp_path / 'error.log').read_text()}")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def request(port: int, raw: bytes, timeout: float = 30) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        return s.recv(65536)


@needs_nginx
def test_behind_nginx_slow_clients_never_reach_gunicorn(tmp_path):
    _, key = integration_key_create(name="mes")
    with (
        running_gunicorn(**PRODUCTION) as (upstream, gunicorn_log),
        running_nginx(upstream, tmp_path) as port,
    ):
        started = time.monotonic()
        slow = [slow_client(port, key) for _ in range(SLOW_CLIENTS * 5)]
        time.sleep(0.5)
        answer = http_get(port, "/healthz", timeout=30)
        healthz_after = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 200"), answer
        for s in slow:
            with s:
                reply = s.recv(65536)
            assert reply == b"" or reply.startswith(b"HTTP/1.1 408"), reply  # nginx just closes
        cut_after = time.monotonic() - started
        # nginx buffered (and dropped) them: gunicorn never saw one of those requests.
        assert "POST /api/v1/events" not in gunicorn_log.read_text()
        # A body over the app's 1 MiB limit is refused by nginx (413) before gunicorn.
        too_big = request(
            port,
            b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/cloudevents+json\r\n"
            + f"Authorization: Bearer {key}\r\nContent-Length: {2 * 1024 * 1024}\r\n\r\n".encode(),
        )
        assert too_big.startswith(b"HTTP/1.1 413"), too_big
    print(
        f"\nbehind nginx, {SLOW_CLIENTS * 5} slow clients: /healthz answered after "
        f"{healthz_after:.2f}s; nginx cut them off after {cut_after:.1f}s (408)"
    )


@needs_nginx
def test_behind_nginx_the_scheme_and_client_address_reach_django(tmp_path):
    with (
        running_gunicorn(**PRODUCTION) as (upstream, _),
        running_nginx(upstream, tmp_path) as port,
    ):
        get = b"GET /api/v1/lines/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        # Plain HTTP at the TLS terminator's side: the app redirects to https.
        plain = request(port, get + b"\r\n")
        assert plain.startswith(b"HTTP/1.1 301"), plain
        assert b"Location: https://127.0.0.1/api/v1/lines/" in plain
        # Forwarded by a TLS terminator: served (no redirect loop), here asking to sign in.
        secure = request(port, get + b"X-Forwarded-Proto: https\r\n\r\n")
        assert secure.startswith(b"HTTP/1.1 401"), secure[:300]
        assert b"Strict-Transport-Security" in secure
        # Probes stay plain HTTP.
        assert http_get(port, "/readyz", timeout=30).startswith(b"HTTP/1.1 200")
