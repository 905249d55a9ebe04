"""Fuzz: handles as people type them, and replies sent as bubbles, on any text.

``tests/unit/domain`` holds the properties of ``Handle``, ``parse_handle`` (with
the default country) and ``split_bubbles``. Missing there, and here: the
country code given at random too, a parsed handle read back unchanged, the
``check_handle`` guard every adapter calls on any object, and bubbles actually
*sent* through a transport, once, whatever the text.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.memory import InMemoryTransport, RecipientKind, World
from caresupport_transport import (
    Handle,
    InvalidHandleError,
    ValidationError,
    parse_handle,
    send_bubbles,
    split_bubbles,
)
from caresupport_transport.bubbles import MAX_BUBBLES
from caresupport_transport.checks import check_handle

typed_numbers = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 +-().@/", max_size=24),
    st.from_regex(r"\(?[2-9][0-9]{2}\)? ?[0-9]{3}[-. ][0-9]{4}", fullmatch=True),
    st.emails(),
)
countries = st.one_of(st.from_regex(r"\+[1-9][0-9]{0,2}", fullmatch=True), st.text(max_size=5))


def attempt(read: Callable[[], Handle]) -> Handle | InvalidHandleError:
    """The handle read, or the InvalidHandleError raised; anything else propagates."""
    try:
        return read()
    except InvalidHandleError as exc:
        return exc


@given(text=typed_numbers, country=countries)
@example(text="@\x85", country="+1")  # the error once named the stripped text
def test_parse_handle_on_any_text_and_country_gives_a_handle_that_reads_back_or_one_error(
    text: str, country: str
) -> None:
    handle = attempt(lambda: parse_handle(text, default_country=country))

    if isinstance(handle, InvalidHandleError):
        named = text if handle.field == "handle" else country
        assert repr(named) in str(handle)
    else:
        assert handle == Handle(handle.value)
        assert handle == parse_handle(handle.value, default_country=country)


anything = st.one_of(
    st.text(),
    st.integers(),
    st.none(),
    st.binary(max_size=8),
    st.floats(),
    st.lists(st.text(max_size=3), max_size=2),
    st.builds(Handle, st.from_regex(r"\+[1-9][0-9]{1,14}", fullmatch=True)),
)


@given(value=anything, field=st.sampled_from(["to", "participants[2]", "handle"]))
def test_check_handle_on_any_object_gives_a_handle_or_an_error_naming_the_field(
    value: object, field: str
) -> None:
    handle = attempt(lambda: check_handle(value, field))

    if isinstance(handle, InvalidHandleError):
        assert field == handle.field
        assert str(handle).startswith(f"{field}: ")
    else:
        assert handle == (Handle(value) if isinstance(value, str) else value)


ANN = Handle("+15554440001")
_words = st.one_of(
    st.sampled_from(["Mum", "took", "her", "pills", "at", "8am", "nurse", "visits", "noon."]),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=14),
)
replies = st.one_of(
    st.text(),
    st.builds(
        lambda words, gaps: "".join(w + g for w, g in zip(words, gaps, strict=False)),
        st.lists(_words, min_size=1, max_size=400),
        st.lists(st.sampled_from([" ", " ", ". ", "! ", "\n", "\n\n", "\t", "  "]), max_size=400),
    ),
)


async def no_pause(_: float) -> None:
    return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=replies)
async def test_any_reply_goes_out_as_its_bubbles_in_order_once(text: str) -> None:
    world = World(seed=7)
    world.add_recipient(ANN, RecipientKind.IMESSAGE)
    transport = InMemoryTransport(world=world)
    conversation = await transport.conversation_for(ANN)

    try:
        result = await send_bubbles(
            transport, conversation.id, text, idempotency_key="reply-1", pause=no_pause
        )
    except ValidationError:
        assert [] == transport.sent  # refused before anything was sent
        return
    again = await send_bubbles(
        transport, conversation.id, text, idempotency_key="reply-1", pause=no_pause
    )

    sent = [message.text for message in transport.sent]
    assert list(result.bubbles) == split_bubbles(text) == sent
    assert 1 <= len(sent) <= MAX_BUBBLES
    assert all(bubble.strip() for bubble in sent)
    assert " ".join(sent).split() == text.split()
    assert result.completed
    assert again.completed
    assert [r.message_id for r in result.receipts] == [r.message_id for r in again.receipts]
