"""Production settings refuse to start on missing or malformed configuration, naming it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEPLOYMENT": "production",
    "SECRET_KEY": "x" * 60 + "-production-grade-secret-for-the-deploy-check",
    "DATABASE_URL": "postgres://plant:secret@db.internal:5432/plant",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "plant.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a "deployment".
    leave_out = {*PRODUCTION, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in leave_out}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("variable", ["SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"])
def test_production_refuses_to_start_without(variable):
    env = {k: v for k, v in PRODUCTION.items() if k != variable}
    result = manage("check", **env)
    assert result.returncode != 0
    assert f"{variable}: must be set when DEPLOYMENT=production" in result.stderr


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "scheme must be"),
        ("mysql://u@h/db", "scheme must be"),
        ("postgres://u@h:notaport/db", "DATABASE_URL: cannot parse"),
        ("postgres://u@h:5432", "no database name"),
    ],
)
def test_malformed_database_url_names_the_variable(url, reason):
    result = manage("check", **{**PRODUCTION, "DATABASE_URL": url})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert reason in result.stderr


def test_unknown_deployment_is_refused():
    result = manage("check", DEPLOYMENT="staging")
    assert result.returncode != 0
    assert "DEPLOYMENT: must be 'embedded' or 'production'" in result.stderr


def test_production_refuses_to_start_with_debug_on():
    result = manage("check", **{**PRODUCTION, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG: must be false when DEPLOYMENT=production" in result.stderr
