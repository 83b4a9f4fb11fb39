"""Random JSON (and random bytes) never makes the events endpoint answer 500."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "specversion": st.sampled_from(["1.0", "0.3", 1]) | scalars,
        "id": st.text(max_size=8) | scalars,
        "source": st.text(max_size=8) | scalars,
        "type": st.sampled_from(
            [
                "equipment.status",
                "quality.hold",
                "order.changed",
                "production.progress",
                "inventory.level",
            ]
        )
        | scalars,
        "time": st.sampled_from(["2026-11-27T08:00:00Z", "2026-02-30T08:00:00Z"]) | scalars,
        "data": st.dictionaries(
            st.sampled_from(
                [
                    "line",
                    "status",
                    "lot",
                    "order",
                    "change",
                    "good",
                    "scrap",
                    "quantity",
                    "due_at",
                    "priority",
                    "item",
                    "site",
                    "reason",
                ]
            ),
            values,
            max_size=6,
        )
        | values,
    },
)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(body=values | event_like)
def test_random_json_single_never_500(post, body):
    response = post(body)
    assert response.status_code in (200, 202, 400, 403), response.content


@FUZZ
@given(body=st.lists(event_like | values, max_size=5) | values)
def test_random_json_batch_never_500(post, body):
    response = post(body, content_type="application/cloudevents-batch+json")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert len(response.json()["results"]) == len(body)


@FUZZ
@given(raw=st.binary(min_size=1, max_size=200))
def test_random_bytes_never_500(post, raw):
    response = post(raw.decode("latin-1"), raw=True)
    assert response.status_code in (200, 202, 400, 403)
    json.loads(response.content)
