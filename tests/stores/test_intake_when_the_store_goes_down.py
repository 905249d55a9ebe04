"""A store that stops answering at intake: the receiver answers 503 and acknowledges nothing.

A real server of each networked kind is started for the test alone and stopped
mid-test, so the store's own client meets a refused connection, as it would when
the database restarts under the receiver.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from adapters.linq.asgi import create_webhook_app
from caresupport_transport import InboundEvent
from caresupport_transport.inbound import open_event_store
from tests.linq.receiver.support import SECRET, URL, encode, envelope, standard_headers

from . import servers


async def _ignore(event: InboundEvent) -> None:
    return None


@pytest.mark.parametrize(
    "start", [servers.start_redis, servers.start_postgres], ids=["redis", "postgres"]
)
async def test_a_store_that_went_down_makes_the_receiver_answer_503_with_retry_after(
    start: Callable[[], servers.Server],
) -> None:
    try:
        server = start()
    except servers.ServerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        store = await open_event_store(server.url, namespace="outage")
        app = create_webhook_app(SECRET, _ignore, store, workers=False, tolerance=10**10)
        body = encode(envelope("evt-1"))
        headers = standard_headers(body, msg_id="msg_1")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            stored = await client.post(URL, content=body, headers=headers)
            server.stop()
            second = encode(envelope("evt-2", message_id="msg-2"))
            refused = await client.post(
                URL, content=second, headers=standard_headers(second, msg_id="msg_2")
            )
        await store.close()
    finally:
        server.stop()

    assert (200, "queued") == (stored.status_code, stored.json()["status"])
    assert 503 == refused.status_code
    assert "not stored" == refused.json()["error"]
    assert "30" == refused.headers["retry-after"]
