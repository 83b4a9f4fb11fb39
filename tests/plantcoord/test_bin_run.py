"""``bin/run`` (what ``make run`` starts) supervises the worker: if it dies it comes back
while the web keeps answering, and SIGINT (Ctrl-C) or SIGTERM stops everything within 10 s
(issue 10, item 4; issue 15, item 11)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, test_database_url, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def children(pid: int) -> dict[int, str]:
    out = subprocess.run(
        ["ps", "--ppid", str(pid), "-o", "pid=,args="], capture_output=True, text=True
    ).stdout
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in out.splitlines()}


def worker_pid(run_pid: int) -> int | None:
    return next((p for p, args in children(run_pid).items() if "celery" in args), None)


def group(pgid: int) -> list[str]:
    """Processes still in the process group ``pgid`` (bin/run and all it started)."""
    out = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout
    return out.split()


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_bin_run_restarts_a_dead_worker_and_ctrl_c_stops_all(tmp_path):
    port = free_port(18260, 18270)
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": test_database_url(),
        "VAR_DIR": str(tmp_path),
        "WORKER_RESTART_DELAY": "0.5",
    }
    log = (tmp_path / "run.log").open("w")
    run = subprocess.Popen(
        ["bin/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_for(lambda: healthy(port) and worker_pid(run.pid), timeout=60, what="bin/run up")
        first = worker_pid(run.pid)
        os.kill(first, signal.SIGKILL)  # as a crash or the OOM killer would
        second = wait_for(
            lambda: (pid := worker_pid(run.pid)) not in (None, first) and pid,
            timeout=30,
            what=f"the worker to be started again:\n{(tmp_path / 'run.log').read_text()}",
        )
        assert healthy(port) and run.poll() is None
        assert "starting it again" in (tmp_path / "run.log").read_text()

        gunicorn = [p for p, args in children(run.pid).items() if "gunicorn" in args]
        os.killpg(run.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        run.wait(timeout=60)
        for pid in (second, *gunicorn):
            wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), timeout=30, what="exit")
        # Nothing of it is left behind (a worker restarted in the middle of Ctrl-C would be).
        wait_for(lambda: not group(run.pid), timeout=30, what="every process of bin/run to exit")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


def descendants(pid: int) -> set[int]:
    """Every process started under ``pid``, whatever its process group (the workers run in
    their own: bin/run ends them itself)."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    parents: dict[int, list[int]] = {}
    for line in out.splitlines():
        child, parent = (int(x) for x in line.split())
        parents.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids) -> list[str]:
    """Those of ``pids`` still running (a zombie has exited: its parent just has not reaped
    it yet), with their command lines."""
    left = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            left.append(f"{pid} {args[:100]}")
    return left


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_bin_run_stops_everything_within_10_s(tmp_path, sig):
    """Ctrl-C (SIGINT to the foreground group) or a SIGTERM to the group: web, both workers
    with their pools and beat, the reference ERP/MES and the simulator are gone within 10 s.
    The worker used to hang at "beat: Shutting down…" for good (issue 15, item 11): a pool
    child signalled directly died holding the pool's queue lock."""
    port = free_port(19420, 19430)  # floorfix's range 19400-19499: this test uses 19420-19429
    # What `make run` runs on: the embedded default (SQLite, the filesystem broker), migrated.
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(PORT=str(port), REFERENCE_PORT=str(port + 50), VAR_DIR=str(tmp_path))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log_path = tmp_path / "run.log"
    run = subprocess.Popen(
        ["bin/run"],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        wait_for(lambda: healthy(port) and worker_pid(run.pid), timeout=90, what="bin/run up")
        # Both workers ready and the prefork pool has run beat's first tasks (its children
        # wait on the pool's queue: where a direct signal used to leave the lock held).
        wait_for(
            lambda: (
                log_path.read_text().count(" ready.") >= 2
                and "succeeded in" in log_path.read_text()
            ),
            timeout=90,
            what=f"the workers to run a task:\n{log_path.read_text()[-3000:]}",
        )
        started = descendants(run.pid)
        assert len([a for a in alive(started) if "celery" in a]) >= 4, alive(started)

        os.killpg(run.pid, sig)
        t0 = time.monotonic()
        wait_for(
            lambda: run.poll() is not None and not alive(started),
            timeout=10,
            interval=0.1,
            what=f"everything to stop after {sig.name}; left: {alive(started)}\n"
            f"{log_path.read_text()[-3000:]}",
        )
        print(f"{sig.name}: all of bin/run stopped in {time.monotonic() - t0:.1f} s")
    finally:
        for pid in [run.pid, *started]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.wait()
