"""Mutated B2MML never yields a 500 or a traceback: bytes cut, duplicated, flipped or inserted,
and element texts replaced by hostile values, over every sample file. The test client
re-raises any exception a view lets escape, so an unhandled error fails the test itself."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from coordination.models import Customer, Item, Line
from integrations.b2mml.importer import b2mml_import, import_integration
from integrations.b2mml.reader import B2mmlError
from integrations.services import integration_key_create
from kernel.errors import DomainError
from tests.integrations.test_b2mml_import import INVALID, VALID

pytestmark = pytest.mark.django_db

SAMPLES = [path.read_bytes() for path in (*VALID, *INVALID)]
FRAGMENTS = [
    b"<", b">", b"&", b"&amp;", b"&bogus;", b"]]>", b"<![CDATA[x]]>", b"<ID>", b"</ID>",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"<!-- c -->", b"<?pi x?>", b"\x00", b"\xff\xfe",
    b"\xef\xbb\xbf", b"\r\n", b"\xc3", b"<ProductionRequest><ID>X</ID></ProductionRequest>",
    b'xmlns="urn:other"', b"<MaterialLot><ID>L</ID><Status>NotValid</Status></MaterialLot>",
]  # fmt: skip
VALUES = [
    "", " ", "-1", "0", "1e400", "NaN", "Infinity", "99999999999999999999999", "0.0000001",
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-02-30T08:00:00Z",
    "2026-11-27T08:00:00", "Produced", "Consumed", "NotValid", "x" * 300, "L1", "FG-1", "STOCK",
    "ünïcødé", "\u202e", "6", "true", "1.5",
]  # fmt: skip

byte_ops = st.lists(
    st.tuples(
        st.sampled_from(["delete", "insert", "duplicate", "flip", "truncate"]),
        st.floats(0, 1),
        st.integers(1, 40),
        st.sampled_from(FRAGMENTS) | st.binary(max_size=8),
    ),
    min_size=1,
    max_size=4,
)
text_ops = st.lists(
    st.tuples(st.floats(0, 1), st.sampled_from(VALUES) | st.text(max_size=30)),
    min_size=1,
    max_size=6,
)


def mutate_bytes(data: bytes, ops) -> bytes:
    for kind, where, size, payload in ops:
        at = int(where * len(data))
        if kind == "delete":
            data = data[:at] + data[at + size :]
        elif kind == "insert":
            data = data[:at] + payload + data[at:]
        elif kind == "duplicate":
            data = data[:at] + data[at : at + size] * 2 + data[at + size :]
        elif kind == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ (size % 255 + 1)]) + data[at + 1 :]
        elif kind == "truncate":
            data = data[:at]
    return data


def mutate_texts(data: bytes, ops) -> bytes:
    """Structure kept, values replaced: the checks after the schema get their turn."""
    root = etree.fromstring(data)
    elements = [e for e in root.iter() if isinstance(e.tag, str) and len(e) == 0]
    for where, value in ops:
        element = elements[min(int(where * len(elements)), len(elements) - 1)]
        try:
            element.text = value
        except ValueError:  # a character XML cannot hold at all (NUL, lone surrogate)
            continue
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def world(plant):
    site = Line.objects.get(code="L1").site
    for code in ("fsf", "psc2"):
        Line.objects.create(site=site, code=code, name=code)
    Customer.objects.create(code="STOCK", name="Make to stock")
    Item.objects.create(code="matte", description="Copper matte", uom="t")
    Item.objects.create(code="SO1215", description="Final 1215", uom="KG")
    return integration_key_create(name="erp")[1]


def post(client, key, body: bytes):
    return client.generic(
        "POST", "/api/v1/b2mml", body, "application/xml", HTTP_AUTHORIZATION=f"Bearer {key}"
    )


def assert_clean(response, body: bytes):
    # An empty body reaches the view without a content type (the test client drops it): 415.
    assert response.status_code in (200, 400, 413) + ((415,) if not body else ()), response.content
    answer = json.loads(response.content)
    assert "Traceback" not in response.content.decode()
    if response.status_code == 400:
        for error in answer["errors"]:
            assert set(error) == {"path", "line", "reason"} and error["reason"]


@FUZZ
@given(sample=st.sampled_from(SAMPLES), ops=byte_ops)
def test_mutated_bytes_never_500(client, world, sample, ops):
    body = mutate_bytes(sample, ops)
    assert_clean(post(client, world, body), body)


@FUZZ
@given(sample=st.sampled_from(SAMPLES), ops=text_ops)
def test_mutated_values_never_500(client, world, sample, ops):
    body = mutate_texts(sample, ops)
    assert_clean(post(client, world, body), body)


@FUZZ
@given(sample=st.sampled_from(SAMPLES), ops=text_ops, more=byte_ops)
def test_import_raises_only_its_own_refusals(world, sample, ops, more):
    """The command's path: only a refusal (B2mmlError) or a domain error, never a crash."""
    integration = import_integration()
    data = mutate_bytes(mutate_texts(sample, ops), more[:1])
    try:
        b2mml_import(data, integration=integration)
    except B2mmlError as exc:
        assert exc.problems and all(str(problem) for problem in exc.problems)
    except DomainError:
        pass
