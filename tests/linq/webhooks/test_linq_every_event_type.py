"""Every one of Linq's 75 event types, signed and received, parses: typed or kept whole.

Each type gets a delivery whose ``data`` has the shape section 5 of Linq's 2026
notes gives it (2026-02-03 payloads), goes through the real receiver (signature
verified, parsed, dispatched) and must come out as the event intended: a typed
domain event for the types care logic acts on, an ``UnknownEvent`` carrying the
raw payload with no ``problem`` for every other type. None is refused.
"""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.linq.event_types import ALL_EVENT_TYPES
from adapters.linq.receiving import WebhookIntake
from adapters.linq.webhook_events import KNOWN_EVENT_TYPES, parse_envelope
from adapters.linq.webhooks import WebhookVerifier, sign_standard
from caresupport_transport.events import (
    ContactCardReceived,
    ConversationCreated,
    ConversationUpdated,
    InboundEvent,
    LineStatusChanged,
    MessageEdited,
    MessageReceived,
    MessageStatusChanged,
    ParticipantAdded,
    ParticipantRemoved,
    ReactionAdded,
    ReactionRemoved,
    TypingStarted,
    TypingStopped,
    UnknownEvent,
    WebhookSubscriptionChanged,
)
from caresupport_transport.inbound import InboundDispatcher, MemoryEventStore

from .support import NOW, SECRET

LINE = "+12025551234"
DAUGHTER = "+12025559876"
CHAT = "8f392755-6865-4b18-880a-227f9d8b458f"
AT = "2026-02-05T19:31:13Z"
HANDLE = {"id": "h-1", "handle": DAUGHTER, "service": "iMessage", "joined_at": AT}
OWNER = {"id": "h-0", "handle": LINE, "service": "iMessage", "joined_at": AT, "is_me": True}
CHAT_REF = {
    "id": CHAT,
    "is_group": False,
    "owner_handle": OWNER,
    "health_status": {"status": "HEALTHY", "doc_url": "https://docs.linqapp.com", "updated_at": AT},
}

EXPECTED: dict[str, type] = {
    "message.sent": MessageReceived,
    "message.received": MessageReceived,
    "message.read": MessageStatusChanged,
    "message.delivered": MessageStatusChanged,
    "message.failed": MessageStatusChanged,
    "message.edited": MessageEdited,
    "reaction.added": ReactionAdded,
    "reaction.removed": ReactionRemoved,
    "participant.added": ParticipantAdded,
    "participant.removed": ParticipantRemoved,
    "chat.created": ConversationCreated,
    "chat.group_name_updated": ConversationUpdated,
    "chat.group_icon_updated": ConversationUpdated,
    "chat.group_name_update_failed": ConversationUpdated,
    "chat.group_icon_update_failed": ConversationUpdated,
    "chat.typing_indicator.started": TypingStarted,
    "chat.typing_indicator.stopped": TypingStopped,
    "phone_number.status_updated": LineStatusChanged,
    "contact_card.received": ContactCardReceived,
    "webhook_subscription.disabled": WebhookSubscriptionChanged,
    "webhook_subscription.enabled": WebhookSubscriptionChanged,
    "webhook_subscription.deleted": WebhookSubscriptionChanged,
}
"""The typed events this adapter owns; other engineers' types (polls, chat health)
are checked only as 'typed if the parser knows them, else kept whole'."""


def _message() -> dict[str, Any]:
    return {
        "id": "m-1",
        "chat": CHAT_REF,
        "direction": "inbound",
        "parts": [{"type": "text", "value": "Is Mom's appointment still at 3?"}],
        "sender_handle": HANDLE,
        "service": "iMessage",
        "sent_at": AT,
        "delivered_at": AT,
    }


def _reaction() -> dict[str, Any]:
    return {
        "is_from_me": False,
        "reaction_type": "love",
        "chat_id": CHAT,
        "message_id": "m-1",
        "part_index": 0,
        "from_handle": HANDLE,
        "reacted_at": AT,
        "reaction_id": "r-1",
        "service": "iMessage",
    }


def _account(**extra: Any) -> dict[str, Any]:
    return {
        "summary": "Something changed on the account",
        "occurred_at": AT,
        "actor": {"type": "team_member", "id": "tm-1", "name": "Ops", "email": "ops@example.org"},
        "origin": "dashboard",
        **extra,
    }


def _poll_event() -> dict[str, Any]:
    return {
        "chat": {"id": CHAT, "is_group": True, "owner_handle": OWNER},
        "direction": "outbound",
        "message_id": "poll-1",
        "service": "iMessage",
        "poll": {"options": [{"option_id": "o-1", "text": "Tue 9am"}], "total_voters": 0},
        "created_at": AT,
        "updated_at": AT,
        "sender_handle": OWNER,
    }


def _payment() -> dict[str, Any]:
    return {
        "id": "pr-1",
        "amount": 500,
        "currency": "usd",
        "status": "succeeded",
        "checkout_url": "https://pay.example.org/c/1",
        "metadata": {},
    }


def data_of(event_type: str) -> dict[str, Any]:
    """A ``data`` object of the shape Linq documents for ``event_type`` (2026-02-03)."""
    group, _, rest = event_type.partition(".")
    if event_type in ("message.sent", "message.received", "message.delivered", "message.read"):
        return _message()
    if event_type == "message.failed":
        return {
            "code": 4001,
            "failed_at": AT,
            "chat_id": CHAT,
            "message_id": "m-1",
            "reason": "Not delivered",
            "detail_code": 12,
            "service": "iMessage",
            "preferred_service": "auto",
        }
    if event_type == "message.edited":
        return {
            "id": "m-1",
            "chat": CHAT_REF,
            "direction": "inbound",
            "edited_at": AT,
            "part": {"index": 0, "text": "Is it at 4 now?"},
            "sender_handle": HANDLE,
        }
    if group == "reaction" or event_type == "poll.reaction.added":
        return _reaction()
    if event_type == "poll.failed":
        return {**_poll_event(), "error": {"code": 4001, "message": "failed"}, "failed_at": AT}
    if event_type == "poll.updated":
        return {**_poll_event(), "added_options": [{"option_id": "o-2", "text": "Wed"}]}
    if event_type in ("poll.vote.added", "poll.vote.removed"):
        return {**_poll_event(), "option_id": "o-1", "sender_handle": HANDLE}
    if group == "poll":
        return {**_poll_event(), "received_at": AT}
    if group == "participant":
        stamp = "added_at" if rest == "added" else "removed_at"
        return {"handle": DAUGHTER, "participant": HANDLE, "chat_id": CHAT, stamp: AT}
    if event_type == "chat.created":
        return {
            "id": CHAT,
            "created_at": AT,
            "updated_at": AT,
            "handles": [OWNER, HANDLE],
            "is_group": False,
            "service": "iMessage",
            "health_status": CHAT_REF["health_status"],
        }
    if event_type in ("chat.group_name_updated", "chat.group_icon_updated"):
        return {"chat_id": CHAT, "updated_at": AT, "old_value": "a", "new_value": "b"}
    if event_type.endswith("_update_failed"):
        return {"chat_id": CHAT, "error_code": 4001, "failed_at": AT}
    if event_type == "chat.background_updated":
        return {"chat": CHAT_REF, "actor_handle": HANDLE, "background": {"type": "color"}}
    if group == "chat":  # typing indicators
        return {"chat_id": CHAT, "actor_handle": HANDLE}
    if event_type == "phone_number.status_updated":
        return {
            "phone_number": LINE,
            "changed_at": AT,
            "previous_status": "ACTIVE",
            "new_status": "FLAGGED",
            "previous_reputation": "HEALTHY",
            "new_reputation": "CRITICAL",
        }
    if event_type in ("phone_number.assigned", "phone_number.released"):
        return {"phone_number": LINE, "changed_at": AT}
    if event_type == "contact_card.received":
        return {
            "sender_handle": DAUGHTER,
            "owner_handle": LINE,
            "first_name": "Dana",
            "last_name": "",
            "media_url": None,
        }
    if group == "contact_card":
        return _account(contact_card={"id": "cc-1", "first_name": "Care", "last_name": "Team"})
    if group == "call":
        return {"call_id": "call-1", "phone_number": LINE, "from": DAUGHTER, "at": AT}
    if group == "location":
        return {"shared_by": DAUGHTER, "shared_with": LINE, "chat_id": CHAT, "began_at": AT}
    if group in ("payment", "connection"):
        return _payment()
    if group == "webhook_subscription":
        return _account(
            webhook_subscription={"id": "ws-1", "target_url": "https://care.example.org/hook"}
        )
    if group == "api_token":
        return _account(api_token={"id": "t-1", "token_prefix": "lq_", "name": "ci"})
    if group == "environment":
        return _account(environment={"name": "prod", "type": "production"})
    if group == "team_member":
        return _account(team_member={"id": "tm-2", "role": "admin"}, method="password")
    return _account(phone_number=LINE, change={"from": False, "to": True})


def delivery(event_type: str, index: int) -> dict[str, Any]:
    return {
        "api_version": "v3",
        "webhook_version": "2026-02-03",
        "event_type": event_type,
        "event_id": f"evt-{index}",
        "created_at": AT,
        "trace_id": f"trace-{index}",
        "partner_id": "caresupport-partner",
        "data": data_of(event_type),
    }


def test_the_list_has_all_75_types_once_and_the_yaml_list_is_a_part_of_it() -> None:
    assert (75, 75) == (len(ALL_EVENT_TYPES), len(set(ALL_EVENT_TYPES)))
    assert set(EXPECTED) <= KNOWN_EVENT_TYPES <= set(ALL_EVENT_TYPES)


@pytest.mark.parametrize(("index", "event_type"), list(enumerate(ALL_EVENT_TYPES)))
async def test_every_event_type_is_verified_parsed_and_handed_over(
    index: int, event_type: str
) -> None:
    handled: list[InboundEvent] = []

    async def handler(event: InboundEvent) -> None:
        handled.append(event)

    intake = WebhookIntake(
        WebhookVerifier(SECRET, clock=lambda: float(NOW)),
        InboundDispatcher(handler, MemoryEventStore(), include_outbound=True),
    )
    payload = delivery(event_type, index)
    body = json.dumps(payload).encode()
    headers = sign_standard(body, SECRET, msg_id=f"evt-{index}", timestamp=NOW)

    answer = await intake.handle(body, headers)

    assert (200, "handled") == (answer.status, answer.body["status"])
    [event] = handled
    assert f"evt-{index}" == event.event_id
    if event_type in EXPECTED:
        assert EXPECTED[event_type] is type(event)
    elif event_type in KNOWN_EVENT_TYPES:
        assert not isinstance(event, UnknownEvent), "typed by another part of the parser"
    else:
        assert isinstance(event, UnknownEvent)
        assert (event_type, payload, None) == (event.event_type, event.payload, event.problem)


odd_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "chat_id",
                    "phone_number",
                    "sender_handle",
                    "owner_handle",
                    "first_name",
                    "webhook_subscription",
                    "new_status",
                    "new_reputation",
                    "detail_code",
                    "reaction_id",
                    "sticker",
                    "actor_handle",
                    "reconciled_at",
                    "handle",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@given(event_type=st.sampled_from(ALL_EVENT_TYPES), data=odd_values)
def test_odd_data_of_any_type_never_raises_only_becomes_typed_or_unknown(
    event_type: str, data: Any
) -> None:
    payload = {"event_type": event_type, "event_id": "e", "created_at": AT, "data": data}
    event = parse_envelope(payload)
    assert isinstance(event, typing.get_args(InboundEvent))
    if event_type not in KNOWN_EVENT_TYPES:
        assert isinstance(event, UnknownEvent)
        assert event.problem is None


@given(
    event_type=st.text(min_size=1, max_size=40).filter(lambda t: t not in KNOWN_EVENT_TYPES),
    data=odd_values,
)
def test_a_type_no_one_knows_is_kept_whole_without_a_problem(event_type: str, data: Any) -> None:
    payload = {"event_type": event_type, "event_id": "e", "created_at": AT, "data": data}
    event = parse_envelope(payload)
    assert isinstance(event, UnknownEvent)
    assert (event_type, payload, None) == (event.event_type, event.payload, event.problem)


def test_a_sticker_reaction_carries_its_image_and_the_deprecated_from_still_names_the_actor() -> (
    None
):
    data = {
        **_reaction(),
        "reaction_type": "sticker",
        "sticker": {"url": "https://cdn.linqapp.com/s/1.png", "mime_type": "image/png"},
        "from": DAUGHTER,
    }
    del data["from_handle"]
    event = parse_envelope({**delivery("reaction.added", 1), "data": data})
    assert isinstance(event, ReactionAdded)
    assert ("sticker", "https://cdn.linqapp.com/s/1.png", DAUGHTER, "r-1") == (
        event.reaction.kind.value,
        event.sticker_url,
        str(event.actor),
        event.reaction_id,
    )
