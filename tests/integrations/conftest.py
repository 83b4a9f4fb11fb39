import itertools
import json

import pytest

from coordination.demo import demo_seed
from integrations.services import integration_key_create

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _wide_time_window(settings):
    """The fixtures' plant times are fixed (November 2026): widen the acceptance window so they
    stay inside it as the calendar moves on. test_poison checks the default window itself."""
    settings.EVENT_TIME_PAST_DAYS = 36500


@pytest.fixture
def plant(db):
    demo_seed(users=False)


@pytest.fixture
def key(plant):
    """A key of an integration that may send every type, defaulting to the demo site."""
    return integration_key_create(name="mes")[1]


DEFAULT = object()


def cloudevent(type_="equipment.status", data=DEFAULT, **attrs):
    """A valid structured-mode CloudEvent with a fresh id unless one is given."""
    event = {
        "specversion": "1.0",
        "id": f"evt-{next(_ids)}",
        "source": "mes/riverside",
        "type": type_,
        "time": "2026-11-27T08:00:00Z",
        "data": {"line": "L1", "status": "down", "reason": "jam"} if data is DEFAULT else data,
    }
    event.update(attrs)
    return event


@pytest.fixture
def post(client, key):
    """``post(body, content_type=…, key=…)``: POST /api/v1/events through the full stack."""

    def send(body, content_type="application/cloudevents+json", key=key, raw=False):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        payload = body if raw else json.dumps(body)
        return client.generic("POST", "/api/v1/events", payload, content_type, **headers)

    return send
