"""Issue 10, item 8: every role by every page and API endpoint, GET and each action.

The rows are checked against the URL conf: a new endpoint without a row here fails
``test_every_endpoint_has_a_row``. Expected statuses follow the README's role table
(section "Who reads what"). Each principal's request runs in a savepoint that is rolled
back, so every role meets the same data (an open order-change exception with a planner and
a sales task, a quality decision on a held lot, a failed inbox event).
"""

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from coordination.outbox import outbox_add
from coordination.proposals.services import proposal_build
from exceptions.models import ExceptionCase, RootCause
from integrations.delivery import target_ensure
from integrations.models import InboxEvent, OutboxDelivery
from integrations.services import integration_key_create
from tests.factories import UserFactory
from workflows.models import Task
from workflows.task_actions import task_complete

pytestmark = pytest.mark.django_db

SUP, QUA, PLA, PRO, SAL, MAI, ADM = (
    "supervisor",
    "quality",
    "planner",
    "procurement",
    "sales",
    "maintenance",
    "admin",
)
NONE, ANON, KEY = "no role", "anonymous", "integration key"
ROLES = (SUP, QUA, PLA, PRO, SAL, MAI, ADM)
PRINCIPALS = (*ROLES, NONE, ANON)

EVERYONE = ROLES
ORDER_READERS = (SUP, QUA, PLA, PRO, SAL, ADM)  # not maintenance
LOT_READERS = (SUP, QUA, PLA, PRO, ADM)  # not sales, not maintenance
ORDER_CHANGE_CASE = (SUP, PLA, SAL, ADM)  # the kinds each role acts on (exceptions/kinds.py)
SALES_TASK = (SAL, SUP, ADM)  # the owning group; supervisors read every task
QUALITY_DECISION = (QUA, SUP, ADM)
HOLDERS = (SUP, QUA, ADM)  # hold_lot
DISPOSITIONERS = (QUA, ADM)  # disposition_lot (admin holds every permission)
METRICS_READERS = (SUP, QUA, PLA, ADM)
PLANNERS = (PLA, ADM)  # approve_sequence (admin holds every permission)


def expect(ok_roles, ok=200, *, absent=(), absent_status=404, denied=403, none=403,
           anon=401, key=None, overrides=None):  # fmt: skip
    """Status per principal: ``ok`` for ``ok_roles``, 404 for ``absent`` (another group's
    object is as good as missing), ``denied`` for the other roles."""
    table = {}
    for role in ROLES:
        if role in ok_roles:
            table[role] = ok
        elif role in absent:
            table[role] = absent_status
        else:
            table[role] = denied
    table[NONE] = none
    table[ANON] = anon
    if key is not None:
        table[KEY] = key
    table.update(overrides or {})
    return table


def page(ok_roles, ok=200, **kw):
    """A page: the login redirect for anonymous callers, 403 without the permission."""
    kw.setdefault("anon", 302)
    return expect(ok_roles, ok, **kw)


@dataclass
class Row:
    route: str  # as the URL conf spells it (see ``_routes``)
    method: str
    path: str  # format string over the world's ids
    expected: dict
    data: dict = field(default_factory=dict)
    api: bool = True


AL = "api/v1/"
ROWS = [
    Row("healthz", "GET", "/healthz", expect(EVERYONE, none=200, anon=200), api=False),
    Row("readyz", "GET", "/readyz", expect(EVERYONE, none=200, anon=200), api=False),
    Row(
        "accounts/login/",
        "GET",
        "/accounts/login/",
        expect(EVERYONE, none=200, anon=200),
        api=False,
    ),
    Row(
        "accounts/logout/",
        "POST",
        "/accounts/logout/",
        expect(EVERYONE, 302, none=302, anon=302),
        api=False,
    ),
    # Django admin: staff only (the admin role's users are staff); others go to its login.
    Row("admin/", "GET", "/admin/", expect((ADM,), denied=302, none=302, anon=302), api=False),
    # --- the operational picture --------------------------------------------------------
    Row(AL + "^lines/?$", "GET", "/api/v1/lines/", expect(EVERYONE, key=401)),
    Row(AL + "^lines/(?P<code>[^/.]+)/?$", "GET", "/api/v1/lines/L1/", expect(EVERYONE)),
    Row(AL + "^orders/?$", "GET", "/api/v1/orders/", expect(ORDER_READERS, key=401)),
    Row(
        AL + "^orders/(?P<number>[^/.]+)/?$",
        "GET",
        "/api/v1/orders/SO-10101/",
        expect(ORDER_READERS),
    ),
    Row(AL + "^jobs/?$", "GET", "/api/v1/jobs/", expect(EVERYONE)),
    Row(AL + "^jobs/(?P<number>[^/.]+)/?$", "GET", "/api/v1/jobs/WO-60101/", expect(EVERYONE)),
    Row(AL + "^lots/?$", "GET", "/api/v1/lots/", expect(LOT_READERS)),
    Row(AL + "^lots/(?P<code>[^/.]+)/?$", "GET", "/api/v1/lots/LOT-FG-1/", expect(LOT_READERS)),
    # --- exceptions ---------------------------------------------------------------------
    Row(AL + "^exceptions/?$", "GET", "/api/v1/exceptions/", expect(EVERYONE, key=401)),
    Row(
        AL + "^exceptions/(?P<pk>\\d+)/?$",
        "GET",
        "/api/v1/exceptions/{case}/",
        expect(ORDER_CHANGE_CASE, absent=(QUA, PRO, MAI)),
    ),
    # Reading another function's exception: 404; acting on it: 403 (the service says why).
    Row(
        AL + "^exceptions/(?P<pk>\\d+)/acknowledge/?$",
        "POST",
        "/api/v1/exceptions/{case}/acknowledge/",
        expect(ORDER_CHANGE_CASE, denied=403, key=401),
    ),
    Row(
        AL + "^exceptions/(?P<pk>\\d+)/assign/?$",
        "POST",
        "/api/v1/exceptions/{case}/assign/",
        expect(ORDER_CHANGE_CASE, denied=403),
        data={"group": "planner"},
    ),
    Row(
        AL + "^exceptions/(?P<pk>\\d+)/dismiss/?$",
        "POST",
        "/api/v1/exceptions/{case}/dismiss/",
        expect(ORDER_CHANGE_CASE, denied=403),
        data={"reason": "entered twice"},
    ),
    Row(
        AL + "^exceptions/(?P<pk>\\d+)/resolve/?$",
        "POST",
        "/api/v1/exceptions/{case}/resolve/",
        expect(ORDER_CHANGE_CASE, denied=403),
        data={"root_cause": "{root_cause}", "note": "agreed", "confirm_active": True},
    ),
    Row(
        AL + "^exceptions/by-key/(?P<action>acknowledge|resolve|dismiss|assign)/?$",
        "POST",
        "/api/v1/exceptions/by-key/acknowledge",
        expect(ORDER_CHANGE_CASE, denied=403),
        data={"kind": "order_change", "key": "SO-10101"},
    ),
    Row(AL + "^root-causes/?$", "GET", "/api/v1/root-causes/", expect(EVERYONE)),
    # --- events (integrations) ----------------------------------------------------------
    # Only an integration key sends events; a person's session or token is not one (401).
    Row(
        AL + "events",
        "POST",
        "/api/v1/events",
        expect((), denied=401, none=401, key=202),
        data="event",
    ),
    Row(AL + "^events/?$", "GET", "/api/v1/events/", expect((SUP, ADM), key=401)),
    # --- B2MML (integrations): import with a key only; schedules for people and keys -----
    Row(
        AL + "b2mml",
        "POST",
        "/api/v1/b2mml",
        expect((), denied=401, none=401, key=200),
        data="b2mml",
    ),
    Row(
        AL + "lines/<str:code>/schedule.xml",
        "GET",
        "/api/v1/lines/L1/schedule.xml",
        expect(EVERYONE, key=200),
    ),
    Row(
        AL + "orders/<str:number>/schedule.xml",
        "GET",
        "/api/v1/orders/SO-10101/schedule.xml",
        expect(ORDER_READERS, key=200),
    ),
    Row(AL + "^events/(?P<pk>[^/.]+)/?$", "GET", "/api/v1/events/{event}/", expect((SUP, ADM))),
    Row(
        AL + "^events/(?P<pk>[^/.]+)/reprocess/?$",
        "POST",
        "/api/v1/events/{event}/reprocess/",
        expect((ADM,)),
    ),
    # --- workflows ----------------------------------------------------------------------
    Row(AL + "^tasks/?$", "GET", "/api/v1/tasks/", expect(EVERYONE, key=401)),
    Row(
        AL + "^tasks/(?P<pk>[^/.]+)/?$",
        "GET",
        "/api/v1/tasks/{task}/",
        expect(SALES_TASK, absent=(QUA, PLA, PRO, MAI)),
    ),
    # Acting on another group's task is refused naming who may (403); sales may act.
    Row(
        AL + "^tasks/(?P<pk>[^/.]+)/claim/?$", "POST", "/api/v1/tasks/{task}/claim/", expect((SAL,))
    ),
    Row(
        AL + "^tasks/(?P<pk>[^/.]+)/complete/?$",
        "POST",
        "/api/v1/tasks/{task}/complete/",
        expect((SAL,), 201),
        data={"option": "accept", "rationale": "customer agreed"},
    ),
    Row(
        AL + "^tasks/(?P<pk>[^/.]+)/note/?$",
        "POST",
        "/api/v1/tasks/{task}/note/",
        expect((SAL,)),
        data={"note": "called the customer"},
    ),
    Row(
        AL + "^tasks/(?P<pk>[^/.]+)/pause/?$",
        "POST",
        "/api/v1/tasks/{task}/pause/",
        expect((SAL,)),
        data={"reason": "waiting for the customer"},
    ),
    # Not claimed, not paused: the owner gets the conflict, everyone else the refusal.
    Row(
        AL + "^tasks/(?P<pk>[^/.]+)/release/?$",
        "POST",
        "/api/v1/tasks/{task}/release/",
        expect((SAL,), 409),
    ),
    Row(
        AL + "^tasks/(?P<pk>[^/.]+)/resume/?$",
        "POST",
        "/api/v1/tasks/{task}/resume/",
        expect((SAL,), 409),
    ),
    Row(AL + "^decisions/?$", "GET", "/api/v1/decisions/", expect(EVERYONE)),
    Row(
        AL + "^decisions/(?P<pk>[^/.]+)/?$",
        "GET",
        "/api/v1/decisions/{decision}/",
        expect(QUALITY_DECISION, absent=(PLA, PRO, SAL, MAI)),
    ),
    # --- holds and dispositions (each call is rolled back: LOT-FG-1 is available) ------
    Row(
        AL + "^lots/(?P<code>[^/.]+)/hold/?$",
        "POST",
        "/api/v1/lots/LOT-FG-1/hold/",
        expect(HOLDERS),
        data={"reason": "seal leak", "defect_code": "SEAL"},
    ),
    Row(
        AL + "^lots/(?P<code>[^/.]+)/disposition/?$",
        "POST",
        "/api/v1/lots/LOT-FG-1/disposition/",
        expect(DISPOSITIONERS, 409),  # not on hold (the world's signal raised only the case)
        data={"disposition": "release", "rationale": "re-tested: seal within spec"},
    ),
    # --- the outbox (the world's delivery is pending: retrying it is a conflict) ---------
    Row(AL + "^outbox/?$", "GET", "/api/v1/outbox/", expect((SUP, ADM), key=401)),
    Row(AL + "^outbox/(?P<pk>[^/.]+)/?$", "GET", "/api/v1/outbox/{delivery}/", expect((SUP, ADM))),
    Row(
        AL + "^outbox/(?P<pk>[^/.]+)/retry/?$",
        "POST",
        "/api/v1/outbox/{delivery}/retry/",
        expect((SUP, ADM), 409),
    ),
    # --- metrics -------------------------------------------------------------------------
    Row(AL + "^metrics/?$", "GET", "/api/v1/metrics/", expect(METRICS_READERS)),
    # --- resequencing proposals: every function reads, planners act (each call rolled back)
    Row(AL + "^proposals/?$", "GET", "/api/v1/proposals/", expect(EVERYONE, key=401)),
    Row(
        AL + "^proposals/(?P<pk>[^/.]+)/?$",
        "GET",
        "/api/v1/proposals/{proposal}/",
        expect(EVERYONE),
    ),
    Row(
        AL + "^proposals/(?P<pk>[^/.]+)/approve/?$",
        "POST",
        "/api/v1/proposals/{proposal}/approve/",
        expect(PLANNERS),
        data={"alternative": "least_tardiness", "rationale": "fewest late orders"},
    ),
    Row(
        AL + "^proposals/(?P<pk>[^/.]+)/reject/?$",
        "POST",
        "/api/v1/proposals/{proposal}/reject/",
        expect(PLANNERS),
        data={"rationale": "keep"},
    ),
    Row(
        AL + "^lines/(?P<code>[^/.]+)/resequence/?$",
        "POST",
        "/api/v1/lines/L1/resequence",
        expect(PLANNERS, 202),
    ),
    Row(
        AL + "^lines/(?P<code>[^/.]+)/priorities/?$",
        "GET",
        "/api/v1/lines/L1/priorities",
        expect(EVERYONE),
    ),
    # --- the API document: any signed-in user, and an integration key -------------------
    Row(AL + "schema/", "GET", "/api/v1/schema/", expect(EVERYONE, none=200, key=200)),
    Row(AL + "docs/", "GET", "/api/v1/docs/", expect(EVERYONE, none=200, key=200)),
    # --- pages --------------------------------------------------------------------------
    Row("", "GET", "/", page(EVERYONE), api=False),
    Row("board/", "GET", "/board/", page(EVERYONE), api=False),
    Row(
        "exceptions/<int:pk>/",
        "GET",
        "/exceptions/{case}/",
        page(ORDER_CHANGE_CASE, absent=(QUA, PRO, MAI)),
        api=False,
    ),
    Row(
        "exceptions/<int:pk>/<slug:action>/",
        "GET",
        "/exceptions/{case}/acknowledge/",
        page(ORDER_CHANGE_CASE, absent=(QUA, PRO, MAI)),
        api=False,
    ),
    Row(
        "exceptions/<int:pk>/<slug:action>/",
        "POST",
        "/exceptions/{case}/acknowledge/",
        page(ORDER_CHANGE_CASE, 302, absent=(QUA, PRO, MAI)),
        api=False,
        data={"expected_state": "open"},
    ),
    Row(
        "exceptions/<int:pk>/<slug:action>/",
        "POST",
        "/exceptions/{case}/dismiss/",
        page(ORDER_CHANGE_CASE, 302, absent=(QUA, PRO, MAI)),
        api=False,
        data={"reason": "entered twice", "expected_state": "open"},
    ),
    Row(
        "exceptions/<int:pk>/<slug:action>/",
        "POST",
        "/exceptions/{case}/resolve/",
        page(ORDER_CHANGE_CASE, 302, absent=(QUA, PRO, MAI)),
        api=False,
        data={
            "root_cause": "{root_cause}",
            "note": "agreed",
            "confirm_active": "on",
            "expected_state": "open",
        },
    ),
    Row(
        "exceptions/<int:pk>/<slug:action>/",
        "POST",
        "/exceptions/{case}/assign/",
        page(ORDER_CHANGE_CASE, 302, absent=(QUA, PRO, MAI)),
        api=False,
        data={"group": "planner", "expected_owner": ""},
    ),
    Row("integrations/", "GET", "/integrations/", page((SUP, ADM)), api=False),
    Row(
        "integrations/events/<int:pk>/reprocess",
        "POST",
        "/integrations/events/{event}/reprocess",
        page((ADM,), 302),
        api=False,
    ),
    Row("quality/", "GET", "/quality/", page(LOT_READERS), api=False),
    Row(
        "quality/hold/",
        "POST",
        "/quality/hold/",
        page(HOLDERS, 200, denied=403),
        api=False,
        data={"lots": "LOT-M0001", "reason": "contamination", "defect_code": "CONT"},
    ),
    Row("lots/<str:code>/", "GET", "/lots/LOT-FG-1/", page(LOT_READERS), api=False),
    Row(
        "lots/<str:code>/<slug:action>/",
        "POST",
        "/lots/LOT-FG-1/disposition/",
        page(DISPOSITIONERS, 200),  # not on hold: the form again, with the conflict
        api=False,
        data={"disposition": "release", "rationale": "re-tested: seal within spec"},
    ),
    # --- floor pages: drill-down, search, the andon station (issue 15) -------------------
    Row("board/raise/", "GET", "/board/raise/", page((SUP, ADM)), api=False),
    Row(
        "board/raise/",
        "POST",
        "/board/raise/",
        page((SUP, ADM), 302),  # raised; a plain form goes back to the board
        api=False,
        data={"title": "Forklift blocking the L2 aisle", "severity": "2", "line": "L2"},
    ),
    Row("lines/<str:code>/", "GET", "/lines/L1/", page(EVERYONE), api=False),
    Row("orders/", "GET", "/orders/", page(ORDER_READERS), api=False),
    Row("orders/<str:number>/", "GET", "/orders/SO-10101/", page(ORDER_READERS), api=False),
    Row("jobs/<str:number>/", "GET", "/jobs/WO-60101/", page(EVERYONE), api=False),
    Row("items/<str:code>/", "GET", "/items/FG-1/", page(EVERYONE), api=False),
    Row("search/", "GET", "/search/?q=SO-1010&list=1", page(EVERYONE), api=False),
    Row("lines/<str:code>/andon", "GET", "/lines/L1/andon", page(EVERYONE), api=False),
    Row(
        "lines/<str:code>/andon",
        "POST",
        "/lines/L1/andon",
        page(EVERYONE, 302),  # stored in the inbox; a plain form goes back to the station
        api=False,
        data={"call": "help", "station": "L1-1"},
    ),
    Row("metrics/", "GET", "/metrics/", page(METRICS_READERS), api=False),
    Row(
        "metrics/export/<slug:table>.csv",
        "GET",
        "/metrics/export/sla.csv",
        page(METRICS_READERS),
        api=False,
    ),
    # Prometheus: only with METRICS_TOKEN configured (not here), and then only with it.
    Row(
        "metrics",
        "GET",
        "/metrics",
        expect((), 200, denied=404, none=404, anon=404),
        api=False,
    ),
    Row(
        "integrations/outbox/<int:pk>/retry",
        "POST",
        "/integrations/outbox/{delivery}/retry",
        page((SUP, ADM), 302),  # not dead: the integrations page again, with the message
        api=False,
    ),
    Row("plan/", "GET", "/plan/", page(EVERYONE), api=False),
    Row(
        "plan/proposals/<str:pk>/", "GET", "/plan/proposals/{proposal}/", page(EVERYONE), api=False
    ),
    Row(
        "plan/proposals/<str:pk>/<slug:action>/",
        "POST",
        "/plan/proposals/{proposal}/approve/",
        page(PLANNERS, 302),
        api=False,
        data={"alternative": "least_tardiness", "rationale": "fewest late orders"},
    ),
    Row(
        "plan/proposals/<str:pk>/pin/",
        "POST",
        "/plan/proposals/{proposal}/pin/",
        page(PLANNERS, 302),
        api=False,
        data={"job": "WO-60102", "position": "1"},
    ),
    Row(
        "plan/lines/<str:code>/resequence/",
        "POST",
        "/plan/lines/L1/resequence/",
        page(PLANNERS, 302),
        api=False,
    ),
    Row("inbox/", "GET", "/inbox/", page(EVERYONE), api=False),
    Row("inbox/counts/", "GET", "/inbox/counts/", page(EVERYONE, none=200), api=False),
    Row(
        "inbox/notifications/", "GET", "/inbox/notifications/", page(EVERYONE, none=200), api=False
    ),
    Row(
        "inbox/notifications/read/",
        "POST",
        "/inbox/notifications/read/",
        page(EVERYONE, 302, none=302),
        api=False,
    ),
    Row("inbox/preferences/", "GET", "/inbox/preferences/", page(EVERYONE, none=200), api=False),
    Row(
        "inbox/preferences/",
        "POST",
        "/inbox/preferences/",
        page(EVERYONE, 302, none=302),
        api=False,
        data={"in_app": "on", "collapse_minutes": "10"},
    ),
    Row(
        "tasks/<int:pk>/",
        "GET",
        "/tasks/{task}/",
        page(SALES_TASK, absent=(QUA, PLA, PRO, MAI)),
        api=False,
    ),
    Row(
        "tasks/<int:pk>/<slug:action>/",
        "GET",
        "/tasks/{task}/claim/",
        page(SALES_TASK, absent=(QUA, PLA, PRO, MAI)),
        api=False,
    ),
    *[
        Row(
            "tasks/<int:pk>/<slug:action>/",
            "POST",
            f"/tasks/{{task}}/{action}/",
            page((SAL,), ok),
            api=False,
            data=data,
        )
        for action, ok, data in (
            ("claim", 302, {"expected_state": "open"}),
            ("complete", 302, {"option": "accept", "rationale": "agreed", "value": ""}),
            ("note", 302, {"note": "called"}),
            ("pause", 302, {"reason": "waiting"}),
            ("release", 409, {"expected_state": "claimed"}),
            ("resume", 409, {}),
        )
    ],
]


def _routes(patterns=None, prefix=""):
    """Every route of the URL conf (Django admin's own as one ``admin/`` row)."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            if route == "admin/":
                yield route
            else:
                yield from _routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route


def test_every_endpoint_has_a_row():
    covered = {row.route for row in ROWS}
    missing = sorted(set(_routes()) - covered)
    assert not missing, f"add rows to the permission matrix for: {missing}"
    stale = sorted(covered - set(_routes()))
    assert not stale, f"rows for routes that no longer exist: {stale}"


@pytest.fixture
def world(plant, order_change, signal):
    """The objects the rows address, and one user per role."""
    case = order_change("SO-10101")
    sales_task = Task.objects.get(case=case, owner_group__name="sales")
    signal("quality.hold", {"lot": "LOT-FG-1", "reason": "seal leak"})
    hold = ExceptionCase.objects.get(kind="quality_hold", key="LOT-FG-1")
    quality_task = Task.objects.get(case=hold, owner_group__name="quality")
    users = {role: UserFactory(username=f"m-{role}", role=role) for role in ROLES}
    users[ADM].is_staff = True
    users[ADM].save()
    users[NONE] = UserFactory(username="m-nobody")
    decision = task_complete(
        task_id=quality_task.pk,
        actor=users[QUA],
        option=quality_task.options[0]["value"],
        rationale="seal re-tested",
        value="x",
    )
    integration, key = integration_key_create(name="mes")
    event = InboxEvent.objects.create(
        integration=integration,
        source="mes/riverside",
        event_id="evt-failed-1",
        type="equipment.status",
        time=timezone.now(),
        site="RIV",
        data={"line": "NOPE", "status": "down"},
        status=InboxEvent.Status.FAILED,
        error="line NOPE is not in the plant picture",
    )
    target_ensure(name="erp", url="http://127.0.0.1:9/erp/messages")
    with transaction.atomic():
        message = outbox_add(
            topic="order.status_changed",
            aggregate="order:SO-10101",
            data={
                "order": "SO-10101",
                "status": "in_production",
                "previous": "open",
                "changed_at": timezone.now().isoformat(),
            },
        )
    delivery = OutboxDelivery.objects.get(message=message)
    proposal = proposal_build(
        lines=["L1"], trigger="order_change", case_id=case.pk, first_signal_at=case.first_seen_at
    )
    assert Group.objects.get(name=SUP).permissions.filter(codename="view_every_task").exists()
    return {
        "ids": {
            "case": case.pk,
            "task": sales_task.pk,
            "decision": decision.pk,
            "event": event.pk,
            "delivery": delivery.pk,
            "proposal": proposal.pk,
            "root_cause": RootCause.objects.filter(active=True).first().pk,
        },
        "users": users,
        "key": key,
    }


def _client(row: Row, principal: str, world):
    """One signed-in client per principal and kind, reused (a login writes a session row);
    signing out spoils a client's cookie, so that row gets a fresh one."""
    if row.route == "accounts/logout/":
        return _new_client(row, principal, world)
    cache = world.setdefault("clients", {})
    if (principal, row.api) not in cache:
        cache[principal, row.api] = _new_client(row, principal, world)
    return cache[principal, row.api]


def _new_client(row: Row, principal: str, world):
    if principal == KEY:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['key']}")
        return client
    client = APIClient() if row.api else Client()
    if principal != ANON:
        client.force_login(world["users"][principal])
    return client


def _data(row: Row, ids: dict):
    if row.data == "event":
        return {
            "specversion": "1.0",
            "id": "matrix-1",
            "source": "mes/riverside",
            "type": "equipment.status",
            "data": {"line": "L1", "status": "down"},
        }
    return {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in row.data.items()}


B2MML_EMPTY = (
    b'<ProductionSchedule xmlns="http://www.mesa.org/xml/B2MML-V0600"><ID>matrix</ID>'
    b"</ProductionSchedule>"
)


def _call(row: Row, principal: str, world) -> int:
    ids = world["ids"]
    client = _client(row, principal, world)
    path = row.path.format(**ids)
    with transaction.atomic():
        if row.method == "GET":
            response = client.get(path)
        elif row.data == "b2mml":  # an XML file, not JSON: an empty V0600 schedule
            response = client.generic("POST", path, B2MML_EMPTY, "application/xml")
        elif row.api:
            response = client.post(path, _data(row, ids), format="json")
        else:
            response = client.post(path, _data(row, ids))
        transaction.set_rollback(True)  # the next principal meets the same data
    return response.status_code


def _label(row: Row) -> str:
    return f"{row.method} {row.path}"


def test_permission_matrix(world):
    """One world for all rows (each call is rolled back): every mismatch is listed."""
    wrong = []
    for row in ROWS:
        principals = PRINCIPALS + ((KEY,) if KEY in row.expected else ())
        for p in principals:
            actual = _call(row, p, world)
            if actual != row.expected[p]:
                wrong.append(f"{_label(row)} as {p}: {actual} (expected {row.expected[p]})")
    assert not wrong, "\n".join(wrong)


def test_scoped_lists_show_no_other_groups_objects(world):
    """The lists behind the details: another group's task, decision or case is not listed."""
    ids, users = world["ids"], world["users"]
    for role in ROLES:
        client = APIClient()
        client.force_login(users[role])
        cases = [c["id"] for c in client.get("/api/v1/exceptions/").json()["results"]]
        assert (ids["case"] in cases) == (role in ORDER_CHANGE_CASE), role
        decisions = [d["id"] for d in client.get("/api/v1/decisions/").json()["results"]]
        assert (ids["decision"] in decisions) == (role in QUALITY_DECISION), role
        tasks = [t["id"] for t in client.get("/api/v1/tasks/").json()]
        assert (ids["task"] in tasks) == (role == SAL), role  # the inbox: my groups' own
