"""The worker survives Redis going away while it holds unacknowledged messages (issue 10,
item 4): the state in which kombu's Redis transport raised ``AttributeError: 'NoneType'
object has no attribute 'hostname'`` and killed the worker, built with real kombu on a
private redis-server."""

import pytest
from kombu import Connection, Queue

from tests.conftest import free_port
from tests.integrations.servers import RedisServer


@pytest.fixture
def redis_server():
    server = RedisServer(free_port(18270, 18280)).start()
    yield server
    server.kill()


def test_closing_a_collected_connection_with_unacked_messages_is_not_a_crash(redis_server):
    connection = Connection(redis_server.url)
    queue = Queue("plantcoord-broker-test")
    with connection.Producer() as producer:
        producer.publish({"n": 1}, routing_key=queue.name, declare=[queue])
    channel = connection.default_channel
    assert channel.basic_get(queue.name, no_ack=False) is not None  # held, not acked
    redis_server.kill()
    # What the consumer does on connection loss: collect (which ends by detaching the
    # transport) and then close. The close must be an ignored connection error, no more.
    connection._do_close_transport()
    connection.close()
    assert channel.closed
