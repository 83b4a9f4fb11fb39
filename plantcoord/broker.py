"""A work-around for a worker crash when Redis goes away mid-task (issue 10, item 4).

With celery 5.7 / kombu 5.7, a consumer that loses Redis while it holds unacknowledged
messages first *collects* its connection, which detaches the transport
(``transport.client = None``), then closes it. Closing the channel re-queues the unacked
messages; its Redis pool is gone, so kombu rebuilds it from the detached transport and raises
``AttributeError: 'NoneType' object has no attribute 'hostname'``. That is not a connection
error, so neither kombu nor celery ignores it: the worker (and an embedded beat) dies. Seen
in about one Redis restart in four under load; ``tests/plantcoord/test_broker.py`` builds the
state directly.

A detached transport *is* a closed connection: say so with redis-py's ``ConnectionError``,
which the close ignores and after which the consumer reconnects as usual. The messages it
could not re-queue are still in Redis's unacked set (restored after the visibility timeout),
and the inbox sweep re-queues any event whose message was lost.
"""

from functools import wraps


def redis_transport_patch() -> None:
    try:
        import redis
        from kombu.transport import redis as transport
    except ImportError:  # no redis-py: the Redis transport is not in use
        return
    original = transport.Channel._connparams
    if getattr(original, "detached_is_closed", False):
        return

    @wraps(original)
    def _connparams(self, asynchronous=False):
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection was closed")
        return original(self, asynchronous=asynchronous)

    _connparams.detached_is_closed = True
    transport.Channel._connparams = _connparams
