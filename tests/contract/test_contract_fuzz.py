"""Contract fuzz: whatever a caller passes, every target sends or refuses with ``ValidationError``.

Hypothesis draws texts, ids, handles, keys and emoji, surrogates and control
characters included, for each port call. Whatever it draws, the call succeeds
or raises ``ValidationError`` having made no request to the provider; never
``UnicodeEncodeError``, ``AttributeError`` or ``TypeError``. ``NotFoundError``
is a fine answer only to an id that is a non-blank string (one the transport
could look up). Input that breaks a rule every target keeps (text that is
blank or not UTF-8, a key that is not 1 to 255 printable ASCII characters, a
missing or blank id) must not succeed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caresupport_transport import (
    MediaPart,
    NotFoundError,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    SendReceipt,
    StartedConversation,
    Transport,
    ValidationError,
    VoiceMemo,
)

from .harness import Harness
from .support import CAREGIVER, NURSE, history, start

ANY_CHARACTER = st.characters(exclude_categories=())
"""Every code point: lone surrogates and control characters too."""
TEXTS = st.text(ANY_CHARACTER, max_size=30) | st.sampled_from(
    [
        "Pills at 9",
        "Mum \ud800 pills",
        "\udfff",
        "end \ud83d",
        "tab\there",
        "line\nbreak",
        "\x00",
        "   ",
        "",
    ]
)
KEYS: st.SearchStrategy[Any] = (
    st.none()
    | st.sampled_from(["reminder-2pm", "x" * 255, "x" * 256, "reminder Zoë 2pm", "", " ", 123])
    | st.text(ANY_CHARACTER, max_size=20)
)
EMOJI = st.sampled_from(["👍", "❤️", "👍🏽", "🇬🇧", "\ud83d", "ab"]) | st.text(
    ANY_CHARACTER, min_size=1, max_size=3
)
MEMO = VoiceMemo(MediaPart(url="https://files.example.org/goodnight.m4a", content_type="audio/m4a"))


class _RealId:
    """Stands for the real id of the scene's conversation or message in a drawn id."""

    def __repr__(self) -> str:
        return "<the scene's real id>"


REAL = _RealId()
IDS: st.SearchStrategy[Any] = (
    st.just(REAL) | st.sampled_from([None, "", "   ", 7]) | st.text(ANY_CHARACTER, max_size=12)
)
HANDLES: st.SearchStrategy[Any] = (
    st.just(NURSE)
    | st.sampled_from([None, "", str(NURSE), "+1 651 555 0105"])
    | st.text(ANY_CHARACTER, max_size=16)
)


@attrs.frozen
class Scene:
    """A chat with the caregiver and its first message."""

    chat_id: str
    message_id: str


_GOOD_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def _bad_text(text: str) -> bool:
    """Text no provider can carry: nothing to send, or not encodable as UTF-8."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return not text.strip()


def _bad_key(key: object) -> bool:
    return key is not None and not (isinstance(key, str) and _GOOD_KEY.fullmatch(key))


def _bad_id(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


@attrs.frozen
class Call:
    """One drawn call.

    ``lookup`` is the id a ``NotFoundError`` may be about; ``refuse`` says the
    input breaks a rule every target keeps, so the call must not succeed.
    """

    run: Callable[[Transport], Awaitable[object]]
    lookup: object = None
    key: object = None
    refuse: bool = False


def _real(value: Any, real: str) -> Any:
    return real if value is REAL else value


_fresh = itertools.count()


def _draw_key(data: st.DataObject) -> Any:
    """A drawn key; a good one is made unique, as examples share one harness."""
    key = data.draw(KEYS, label="idempotency_key")
    return key if key is None or _bad_key(key) else f"{next(_fresh)}-{key}"[:255]


def send_message(data: st.DataObject, scene: Scene) -> Call:
    target = _real(data.draw(IDS, label="conversation_id"), scene.chat_id)
    text = data.draw(TEXTS, label="text")
    key = _draw_key(data)
    return Call(
        lambda t: t.send_message(target, OutgoingMessage.of_text(text), idempotency_key=key),
        lookup=target,
        key=key,
        refuse=_bad_id(target) or _bad_text(text) or _bad_key(key),
    )


def start_conversation(data: st.DataObject, scene: Scene) -> Call:
    handle = data.draw(st.just(NURSE) | HANDLES, label="participant")
    text = data.draw(TEXTS, label="text")
    key = _draw_key(data)
    return Call(
        lambda t: t.start_conversation(
            [handle], OutgoingMessage.of_text(text), idempotency_key=key
        ),
        key=key,
        refuse=_bad_text(text) or _bad_key(key),
    )


def send_voice_memo(data: st.DataObject, scene: Scene) -> Call:
    target = _real(data.draw(IDS, label="conversation_id"), scene.chat_id)
    key = _draw_key(data)
    return Call(
        lambda t: t.send_voice_memo(target, MEMO, idempotency_key=key),
        lookup=target,
        key=key,
        refuse=_bad_id(target) or _bad_key(key),
    )


def react(data: st.DataObject, scene: Scene) -> Call:
    target = _real(data.draw(IDS, label="message_id"), scene.message_id)
    emoji = data.draw(EMOJI, label="emoji")
    return Call(
        lambda t: t.react(target, Reaction(ReactionKind.CUSTOM, emoji)),
        lookup=target,
        refuse=_bad_id(target) or _bad_text(emoji),
    )


def conversation_for(data: st.DataObject, scene: Scene) -> Call:
    handle = data.draw(HANDLES, label="handle")
    return Call(lambda t: t.conversation_for(handle), refuse=handle is None)


OPERATIONS: dict[str, Callable[[st.DataObject, Scene], Call]] = {
    "conversation_for": conversation_for,
    "react": react,
    "send_message": send_message,
    "send_voice_memo": send_voice_memo,
    "start_conversation": start_conversation,
}


@pytest.fixture
async def scene(harness: Harness) -> Scene:
    """A chat with the caregiver and its first message, made once for all of a test's examples.

    A chat with the nurse is started too, so what a transport learns on its first
    call (the nurse's capabilities) is known before the first example: every
    example then meets the same world, and a failure replays. (A first call that
    refuses only after a lookup is pinned by ``test_contract_parity``.)
    """
    await start(harness.transport, NURSE)
    conversation = await start(harness.transport, CAREGIVER)
    return Scene(conversation.id, (await history(harness.transport, conversation.id))[0].id)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@settings(
    max_examples=40,
    deadline=None,
    # The same draws on every run: a drift shows every time, not now and then.
    derandomize=True,
    # One harness serves every example: the calls only add to its world, and
    # opening a loopback harness per example would cost most of the time.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_any_call_is_carried_out_or_refused_before_any_request(
    harness: Harness, scene: Scene, operation: str, data: st.DataObject
) -> None:
    call = OPERATIONS[operation](data, scene)
    before = harness.requests_made
    try:
        done = await call.run(harness.transport)
    except ValidationError:
        assert before == harness.requests_made, "refused after a request"
        return
    except NotFoundError:
        assert not _bad_id(call.lookup), f"not found instead of refused: {call.lookup!r}"
        return
    assert not call.refuse, "carried out although the input breaks a rule"
    receipt = done.receipt if isinstance(done, StartedConversation) else done
    if isinstance(receipt, SendReceipt) and call.key is not None:
        assert call.key == receipt.idempotency_key
