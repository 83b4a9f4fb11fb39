"""Settings for the plant coordination layer: one module, environments differ only by env vars.

Nothing set gives the embedded default (SQLite and a filesystem broker in ``var/``, a generated
secret kept there). ``DEPLOYMENT=production`` turns on the production guard rails: secrets and
service URLs must come from the environment and the security headers are on.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.FileAwareEnv()  # also reads FOO_FILE secrets (docker/k8s secrets)

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
DEPLOYMENT = env.str("DEPLOYMENT", default="embedded")
if DEPLOYMENT not in ("embedded", "production"):
    raise ImproperlyConfigured(
        f"DEPLOYMENT: must be 'embedded' or 'production', got {DEPLOYMENT!r}"
    )
PRODUCTION = DEPLOYMENT == "production"
EMBEDDED = not PRODUCTION


def _required(name: str) -> str:
    """A production secret or service URL: missing means refuse to start, naming it."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name}: must be set when DEPLOYMENT=production")
    return value


def _embedded_secret() -> str:
    """The embedded default keeps a generated secret in var/ so sessions survive restarts."""
    from django.core.management.utils import get_random_secret_key

    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


def _database(url: str) -> dict:
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises a bare error on nonsense
        raise ImproperlyConfigured(f"DATABASE_URL: cannot parse {url!r}: {exc}") from exc
    engine = config.get("ENGINE", "")
    if engine not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        raise ImproperlyConfigured(
            f"DATABASE_URL: scheme must be postgres:// or sqlite:///, got {url.split(':')[0]!r}"
        )
    if engine.endswith("postgresql") and not config.get("NAME"):
        raise ImproperlyConfigured("DATABASE_URL: no database name in the URL")
    if engine.endswith("sqlite3"):
        # Web and worker write at once: WAL and a busy timeout instead of "database is locked".
        config.setdefault("OPTIONS", {}).update(
            {
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
            }
        )
    else:
        config["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    config.setdefault("TEST", {})
    return config


SECRET_KEY = (
    _required("SECRET_KEY")
    if PRODUCTION
    else env.str("SECRET_KEY", default="") or (_embedded_secret())
)
DEBUG = env.bool("DEBUG", default=False)
if DEBUG and PRODUCTION:
    # Debug pages leak settings and source; a warning in `check --deploy` is not enough.
    raise ImproperlyConfigured("DEBUG: must be false when DEPLOYMENT=production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATABASE_URL = (
    _required("DATABASE_URL")
    if PRODUCTION
    else env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'plant.sqlite3'}")
)
DATABASES = {"default": _database(DATABASE_URL)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a real worker process can share the test database.
    DATABASES["default"]["TEST"]["NAME"] = str(VAR_DIR / "test.sqlite3")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files
    "axes",
    "csp",
    "django_htmx",
    "template_partials",
    "coordination",
    "integrations",
    "exceptions",
    "workflows",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "kernel.filters.RejectNulMiddleware",  # %00 in a parameter: 400 naming it
    "plantcoord.lockout.ApiLockoutMiddleware",
    "plantcoord.slow_clients.UnreadableBodyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "plantcoord.middleware.LoginRequiredMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the 429 page
]

ROOT_URLCONF = "plantcoord.urls"
WSGI_APPLICATION = "plantcoord.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "plantcoord.context_processors.navigation",
            ],
            # template_partials wraps the loaders; on Django 6 these two lines go.
            "builtins": [
                "template_partials.templatetags.partials",
                "kernel.plant_time",  # |plant_time: every moment in the plant's zone
            ],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "plantcoord.lockout.SignInLockoutBackend",  # first: refuses a locked-out user or address
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")  # plant local time for display; stored in UTC
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if EMBEDDED:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root

# --- security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP inside
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Failed sign-ins and API authentications (django-axes; see plantcoord/lockout.py).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = "plantcoord.lockout.lockout_parameters"
AXES_CLIENT_IP_CALLABLE = "plantcoord.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "plantcoord.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Not reset on success: one good sign-in from an address would wipe other users' counts there.
AXES_RESET_ON_SUCCESS = False
# Proxies in front that append X-Forwarded-For (nginx in docker-compose: 1); 0 trusts none.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Content-Security-Policy (django-csp): our own origin only, no inline script, event handler
# or style anywhere (htmx's indicator styles are off: see base.html and app.css), no eval.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # Swagger UI's and the admin's icons are data: SVGs
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous call gets 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["kernel.permissions.RoleModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kernel.api.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Plant coordination layer API",
    "DESCRIPTION": "Events in (CloudEvents 1.0), the plant's operational picture, exceptions, "
    "tasks and decisions. Authenticate with a user token or an integration key.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # An integration builds its client from the document, so its key may read it too.
    "SERVE_AUTHENTICATION": [
        "rest_framework.authentication.TokenAuthentication",
        "integrations.authentication.IntegrationKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Swagger UI from drf-spectacular-sidecar (no CDN: plants are often offline, and the CSP
    # allows our own origin only).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "LineStatusEnum": "coordination.models.Line.Status",
        "OrderStatusEnum": "coordination.models.Order.Status",
        "JobStatusEnum": "coordination.models.Job.Status",
        "LotStatusEnum": "coordination.models.Lot.Status",
        "InboxStatusEnum": "integrations.models.InboxEvent.Status",
        "DeliveryStatusEnum": "integrations.models.OutboxDelivery.Status",
        "ExceptionStatusEnum": "exceptions.models.ExceptionCase.Status",
        "EventResultStatusEnum": ["accepted", "duplicate", "rejected"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integrations.api.schema.add_event_schemas",
        "plantcoord.openapi.add_error_responses",
        "integrations.api.schema.add_outbox_schemas",
    ],
}

# --- ingestion ------------------------------------------------------------------------------
# An event's ``time`` must fall in this window around its arrival (clock skew ahead, replayed
# backlogs behind); outside it is rejected naming ``time``.
EVENT_TIME_PAST_DAYS = env.int("EVENT_TIME_PAST_DAYS", default=30)
EVENT_TIME_FUTURE_SECONDS = env.int("EVENT_TIME_FUTURE_SECONDS", default=300)
# Events still ``received`` this long after arrival are queued again (the broker was away when
# they arrived, or their worker died); the sweep runs every INBOX_REQUEUE_EVERY_SECONDS.
INBOX_REQUEUE_AFTER_SECONDS = env.float("INBOX_REQUEUE_AFTER_SECONDS", default=20.0)
INBOX_REQUEUE_EVERY_SECONDS = env.float("INBOX_REQUEUE_EVERY_SECONDS", default=10.0)
# How a processing chunk is applied: "set" (per type, as sets: coordination/apply_set.py) or
# "event" (one event at a time, each in a savepoint: the reference path, kept for comparison).
INBOX_APPLY = env.str("INBOX_APPLY", default="set")
# A worker's processing task takes up to this many waiting events in one transaction (its own
# and, facing a backlog, the oldest others): set-based apply costs per statement, not per event.
INBOX_CHUNK_MAX = env.int("INBOX_CHUNK_MAX", default=500)

# --- Celery ---------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = (
    _required("CELERY_BROKER_URL")
    if PRODUCTION
    else env.str("CELERY_BROKER_URL", default="filesystem://")
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # kombu's filesystem transport: producers write to "in", consumers read it too.
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # health_check_interval: PING idle connections so one a Redis restart (or a proxy) closed
    # is noticed and replaced before use, rather than failing the next publish.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "health_check_interval": 25}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Outbound deliveries (the outbox relay: ERP, MES, webhook receivers) wait on other people's
# servers: their own queue, consumed by their own worker (bin/run, docker-compose `webhooks`),
# so a slow receiver never delays inbox processing or the sweeps on the default queue. Routes
# apply to every way the relay is sent: the on-commit nudge, a retry's nudge, beat's sweep.
WEBHOOK_QUEUE = "webhooks"
CELERY_TASK_ROUTES = {"integrations.outbox_relay": {"queue": WEBHOOK_QUEUE}}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic sweeps. Deadlines live in the database; beat only wakes the sweepers.
CELERY_BEAT_SCHEDULE: dict = {
    "worker-heartbeat": {"task": "coordination.heartbeat", "schedule": 30.0},
    "inbox-requeue-stuck": {
        "task": "integrations.inbox_requeue_stuck",
        "schedule": INBOX_REQUEUE_EVERY_SECONDS,
        "options": {"expires": INBOX_REQUEUE_EVERY_SECONDS},
    },
    # SLA: due escalations and stalled reminders (workflows.Task.sweep_at); expires so a
    # backlog of ticks behind a stopped worker does not pile up.
    "workflows-escalation-sweep": {
        "task": "workflows.escalation_sweep",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
}

# --- outbox delivery (integrations/delivery.py) -----------------------------------------------
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=12)  # then the delivery is dead
OUTBOX_BACKOFF_BASE = env.float("OUTBOX_BACKOFF_BASE", default=2.0)  # seconds, doubled per try
OUTBOX_BACKOFF_MAX = env.float("OUTBOX_BACKOFF_MAX", default=600.0)
OUTBOX_LEASE_SECONDS = env.float("OUTBOX_LEASE_SECONDS", default=120.0)  # a dead worker's rows
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=5.0)
OUTBOX_BATCH = env.int("OUTBOX_BATCH", default=100)  # deliveries claimed per transaction
OUTBOX_RELAY_THREADS = env.int("OUTBOX_RELAY_THREADS", default=8)  # sends in flight per worker
OUTBOX_RELAY_BUDGET = env.float("OUTBOX_RELAY_BUDGET", default=30.0)  # seconds per relay task
CELERY_BEAT_SCHEDULE["outbox-relay-sweep"] = {
    "task": "integrations.outbox_relay",
    "schedule": OUTBOX_SWEEP_SECONDS,
    "options": {"expires": OUTBOX_SWEEP_SECONDS},
}
# Reconciliation with ERP/MES (integrations/reconcile.py): how often beat compares.
RECONCILE_SECONDS = env.float("RECONCILE_SECONDS", default=300.0)
if RECONCILE_SECONDS <= 0:
    raise ImproperlyConfigured("RECONCILE_SECONDS must be a positive number of seconds")
CELERY_BEAT_SCHEDULE["reconcile"] = {
    "task": "integrations.reconcile",
    "schedule": RECONCILE_SECONDS,
    "options": {"expires": RECONCILE_SECONDS},
}

# Resequencing proposals (coordination/proposals/): seconds the solver gets per alternative;
# how often beat looks for planned maintenance no proposal has seen, and records the actual
# outcome of approved sequences.
PROPOSAL_SOLVE_SECONDS = env.float("PROPOSAL_SOLVE_SECONDS", default=0.8)
if not 0.05 <= PROPOSAL_SOLVE_SECONDS <= 60:
    raise ImproperlyConfigured("PROPOSAL_SOLVE_SECONDS must be between 0.05 and 60 seconds")
PROPOSAL_OUTCOME_SECONDS = env.float("PROPOSAL_OUTCOME_SECONDS", default=300.0)
PROPOSAL_SWEEP_SECONDS = env.float("PROPOSAL_SWEEP_SECONDS", default=15.0)
CELERY_BEAT_SCHEDULE["proposal-maintenance-sweep"] = {
    "task": "coordination.proposal_maintenance_sweep",
    "schedule": PROPOSAL_SWEEP_SECONDS,
    "options": {"expires": PROPOSAL_SWEEP_SECONDS},
}
CELERY_BEAT_SCHEDULE["proposal-outcomes"] = {
    "task": "coordination.proposal_outcomes",
    "schedule": PROPOSAL_OUTCOME_SECONDS,
    "options": {"expires": PROPOSAL_OUTCOME_SECONDS},
}

# MQTT ingestion (manage.py mqtt_ingest; README: MQTT). Empty MQTT_URL: make run starts none.
MQTT_URL = env.str("MQTT_URL", default="")
MQTT_CLIENT_ID = env.str("MQTT_CLIENT_ID", default="plantcoord-ingest")
MQTT_BATCH = env.int("MQTT_BATCH", default=500)
MQTT_RECONNECT_MAX = env.int("MQTT_RECONNECT_MAX", default=60)
MQTT_SESSION_EXPIRY = env.int("MQTT_SESSION_EXPIRY", default=7 * 24 * 3600)
MQTT_SPARKPLUG_HOST_ID = env.str("MQTT_SPARKPLUG_HOST_ID", default="")

# --- logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"no_traceback_below_500": {"()": "plantcoord.logfilters.NoTracebackBelow500"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_traceback_below_500"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="plant-coordination@localhost")

# --- operations metrics ---------------------------------------------------------------------
# /metrics (Prometheus) answers only with this bearer token; empty (the default): it is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
