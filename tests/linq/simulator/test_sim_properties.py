"""Property: whatever JSON a client sends to any route, the simulator refuses it in Linq's words.

A fake that crashes on odd input would hide the real adapter's bugs behind its
own; so no body may produce a 5xx or an unhandled exception, and every refusal
carries the documented error body.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.linq.simulator import ROUTES, Simulator

from .support import GRANDMA, populate

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
# Bodies shaped like the API's, with the values scrambled, reach deeper than random JSON.
_KEYS = [
    "from",
    "to",
    "message",
    "parts",
    "type",
    "value",
    "url",
    "attachment_id",
    "handle",
    "operation",
    "custom_emoji",
    "part_index",
    "text",
    "chat_id",
    "target_url",
    "subscribed_events",
    "address",
    "filename",
    "content_type",
    "size_bytes",
    "display_name",
    "voice_memo_url",
    "phone_number",
    "first_name",
    "is_active",
    "effect",
    "reply_to",
    "idempotency_key",
    "preferred_service",
]
shaped = st.dictionaries(st.sampled_from(_KEYS), json_values, max_size=6)
bodies = st.one_of(json_values, shaped, st.builds(lambda m: {"message": m}, shaped))
with_body = [r for r in ROUTES if r.method in ("POST", "PUT", "PATCH", "DELETE")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(with_body), body=bodies)
def test_any_json_body_gets_a_linq_answer_never_a_crash(route: Any, body: Any) -> None:
    asyncio.run(_check(route, body))


async def _check(route: Any, body: Any) -> None:
    sim = Simulator()
    populate(sim)
    async with sim.client() as api:
        chat = (
            await api.post(
                "/v3/chats",
                json={
                    "from": sim.phone,
                    "to": [GRANDMA],
                    "message": {"parts": [{"type": "text", "value": "hi"}]},
                },
            )
        ).json()["chat"]
        path = route.template.replace("{chatId}", chat["id"]).replace(
            "{messageId}", chat["message"]["id"]
        )
        path = path.replace("{attachmentId}", "x").replace("{subscriptionId}", "x")
        response = await api.request(route.method, path, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()
        assert (False, response.status_code) == (error["success"], error["error"]["status"])
        assert isinstance(error["error"]["code"], int)
        assert error["trace_id"]
