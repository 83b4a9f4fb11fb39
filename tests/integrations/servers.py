"""Real servers for tests that need them: gunicorn (chunked bodies, the web process of the
fault test) and a private redis-server the test may kill without harming anyone else."""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import ROOT, test_database_url, wait_for


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class RedisServer:
    """``redis-server`` on its own port, no persistence: kill and start it at will."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc = None

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: listening(self.port), timeout=10, what=f"redis on {self.port}")
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    stop = kill


class Gunicorn:
    """The app under gunicorn (as ``make run`` and the Dockerfile serve it), on the test
    database; ``env`` overrides settings (e.g. a broker URL)."""

    def __init__(self, port: int, **env: str):
        self.port = port
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
            "w+", prefix="gunicorn-", suffix=".log", delete=False
        )
        environ = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "DB_CONN_MAX_AGE": "0",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "plantcoord.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--error-logfile",
                "-",
            ],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(
            lambda: listening(port) or self.proc.poll() is not None,
            timeout=60,
            what="gunicorn to listen",
        )
        assert self.proc.poll() is None, self.output()

    def output(self) -> str:
        return Path(self.log.name).read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def post(
        self,
        key: str,
        body,
        content_type="application/cloudevents+json",
        timeout=30,
        chunk_size: int | None = None,
    ):
        """POST /api/v1/events; returns (status, parsed JSON answer). ``chunk_size``: send
        the body with ``Transfer-Encoding: chunked`` and no ``Content-Length``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
            if chunk_size:
                chunks = (payload[k : k + chunk_size] for k in range(0, len(payload), chunk_size))
                conn.request(
                    "POST", "/api/v1/events", body=chunks, headers=headers, encode_chunked=True
                )
            else:
                conn.request("POST", "/api/v1/events", body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            with contextlib.suppress(ValueError):
                return response.status, json.loads(raw)
            return response.status, raw
        finally:
            conn.close()


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
