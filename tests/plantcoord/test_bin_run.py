"""``bin/run`` (what ``make run`` starts) supervises the worker: if it dies it comes back
while the web keeps answering, and SIGINT (Ctrl-C) still stops everything (issue 10, item 4)."""

import os
import signal
import subprocess
import urllib.request

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
