"""Issue 10, item 7: the OpenAPI document agrees with the server.

A bounded Schemathesis run over every operation of ``/api/v1/schema/`` (served, not built
in the test), in process through the WSGI app: no 500, every status documented, every body
valid against its schema. A person's token that may read everything (the admin role)
drives the API; an integration key drives ``POST /api/v1/events``. Then the same checks on
real objects (detail views of things that exist), which random ids seldom hit.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integrations.services import integration_key_create
from plantcoord.wsgi import application
from tests.factories import UserFactory
from workflows.models import Task

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Per operation; about 40 operations, so a few hundred requests in all (well under a minute).
MAX_EXAMPLES = 12


@pytest.fixture
def in_process():
    """Django closes the connection around each request; the test's transaction must stay."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(plant, order_change, signal, in_process):
    """An admin's token (reads everything) and an integration key, over a small plant with
    an order-change exception and its tasks."""
    order_change("SO-10101")
    signal("equipment.status", {"line": "L2", "status": "down", "reason": "jam"})
    admin = UserFactory(username="schema-admin", role="admin")
    token = Token.objects.create(user=admin).key
    key = integration_key_create(name="mes")[1]
    return {"person": f"Token {token}", "integration": f"Bearer {key}"}


@pytest.fixture
def api_schema(db, credentials):
    return schemathesis.openapi.from_wsgi(
        "/api/v1/schema/", application, headers={"Authorization": credentials["person"]}
    )


def _auth(operation, credentials) -> dict:
    who = "integration" if operation.path == "/api/v1/events" else "person"
    return {"Authorization": credentials[who]}


def _real_ids(operation) -> dict:
    """Path parameters naming objects that exist (random ones are nearly always absent)."""
    task = Task.objects.filter(owner_group__name="sales").first()
    known = {"code": "L1", "number": "SO-10101", "id": task.pk}
    if "/jobs/" in operation.path:
        known["number"] = "WO-60101"
    if "/lots/" in operation.path:
        known["code"] = "LOT-FG-1"
    if "/exceptions/" in operation.path:
        known["id"] = task.case_id
    names = [p.name for p in operation.path_parameters]
    return {name: known[name] for name in names if name in known}


def _fuzz(strategy, headers):
    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases every run: a failure here is reproducible
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, don't minimise
    )
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    return check


# Schemathesis's own pytest loader (``from_fixture``) does not run on pytest 9, so the
# operations are walked here, each with Hypothesis over its strategies.
@pytest.mark.django_db
def test_api_conforms_to_its_document(api_schema, credentials):
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategies = [
            operation.as_strategy(mode)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        real = _real_ids(operation)
        if real:
            strategies.append(operation.as_strategy(path_parameters=real))
        check = _fuzz(st.one_of(strategies), _auth(operation, credentials))
        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, all told
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_real_objects_conform_to_the_document(api_schema, credentials):
    """Details of objects that exist, lists with data, and the actions on a real task."""
    task = Task.objects.filter(owner_group__name="sales").first()
    person = {"Authorization": credentials["person"]}
    calls = [
        ("GET", "/api/v1/lines/{code}/", {"code": "L1"}, None),
        ("GET", "/api/v1/orders/{number}/", {"number": "SO-10101"}, None),
        ("GET", "/api/v1/jobs/{number}/", {"number": "WO-60101"}, None),
        ("GET", "/api/v1/lots/{code}/", {"code": "LOT-FG-1"}, None),
        ("GET", "/api/v1/exceptions/{id}/", {"id": task.case_id}, None),
        ("GET", "/api/v1/tasks/{id}/", {"id": task.pk}, None),
        ("POST", "/api/v1/tasks/{id}/note/", {"id": task.pk}, {"note": "called"}),
        ("POST", "/api/v1/tasks/{id}/claim/", {"id": task.pk}, {"expected_state": "open"}),
        ("POST", "/api/v1/tasks/{id}/complete/", {"id": task.pk},
         {"option": "accept", "rationale": "agreed"}),
        ("POST", "/api/v1/tasks/{id}/claim/", {"id": task.pk}, {}),  # done: 409
        ("POST", "/api/v1/exceptions/{id}/acknowledge/", {"id": task.case_id}, {}),
    ]  # fmt: skip
    for method, path, path_parameters, body in calls:
        operation = api_schema[path][method]
        kwargs = {"path_parameters": path_parameters}
        if body is not None:
            kwargs.update(body=body, media_type="application/json")
        case = operation.Case(**kwargs)
        case.call_and_validate(headers=person, checks=CHECKS)
    for path in ("/api/v1/lines/", "/api/v1/jobs/", "/api/v1/exceptions/", "/api/v1/tasks/",
                 "/api/v1/decisions/", "/api/v1/root-causes/", "/api/v1/events/"):  # fmt: skip
        api_schema[path]["GET"].Case().call_and_validate(headers=person, checks=CHECKS)


@pytest.mark.django_db
def test_document_publishes_the_cloudevents_envelope_and_nullable_fields(client, credentials):
    doc = client.get("/api/v1/schema/?format=json", HTTP_AUTHORIZATION=credentials["person"])
    doc = doc.json()
    schemas = doc["components"]["schemas"]
    assert schemas["Task"]["properties"]["assignee"]["nullable"] is True
    assert schemas["ExceptionCase"]["properties"]["line"]["nullable"] is True
    body = doc["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]
    single = body["application/cloudevents+json"]["schema"]["oneOf"]
    assert {"$ref": "#/components/schemas/CloudEvent.equipment.status"} in single
    assert body["application/cloudevents-batch+json"]["schema"]["maxItems"] == 1000
    assert schemas["CloudEvent"]["required"] == ["specversion", "id", "source", "type", "data"]
    tasks = doc["paths"]["/api/v1/tasks/"]["get"]["responses"]["200"]
    assert tasks["content"]["application/json"]["schema"]["type"] == "array"
    claim = doc["paths"]["/api/v1/tasks/{id}/claim/"]["post"]["responses"]
    assert claim["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Task")
    assert {"400", "401", "403", "404", "409"} <= set(claim)
    # An integration builds its client from the document: its key may read it.
    as_key = client.get("/api/v1/schema/", HTTP_AUTHORIZATION=credentials["integration"])
    assert as_key.status_code == 200
