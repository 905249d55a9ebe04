"""Fuzz: random JSON read as every response type Linq promises: a value or ``ProtocolError``.

``tests/linq/client`` fuzzes each operation end to end; this reaches every
response type directly, including nested ones no operation returns on its own,
with JSON shaped like the type (its own field names, random values) as well as
JSON of any shape.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.linq import wire_account, wire_chats
from adapters.linq._convert import decode
from caresupport_transport.errors import ProtocolError

from .strategies import json_values

RESPONSE_TYPES = sorted(
    (
        value
        for module in (wire_chats, wire_account)
        for value in vars(module).values()
        if attrs.has(value) and value.__module__ == module.__name__
    ),
    key=lambda cls: cls.__name__,
)


def wire_names(kind: type[Any]) -> list[str]:
    """The type's field names as they travel (``from_`` is ``from``)."""
    return [field.name.rstrip("_") for field in attrs.fields(kind)]


def shaped(kind: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with (some of) the type's own keys, holding random JSON."""
    names = wire_names(kind)
    return st.dictionaries(st.sampled_from(names), json_values, max_size=len(names))


def outcome(kind: type[Any], payload: object) -> object:
    """The value read, or the ProtocolError raised; anything else propagates."""
    try:
        return decode(payload, kind, what="fuzz", status=200, trace_id="trace-fuzz")
    except ProtocolError as exc:
        return exc


@pytest.mark.parametrize("kind", RESPONSE_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_json_reads_as_the_type_or_raises_protocol_error(
    kind: type[Any], data: st.DataObject
) -> None:
    payload = data.draw(st.one_of(json_values, shaped(kind)))

    read = outcome(kind, payload)

    if isinstance(read, ProtocolError):
        assert (200, "trace-fuzz") == (read.status, read.trace_id)
        assert str(read).startswith("fuzz: ")
    else:
        assert isinstance(read, kind)


def test_the_fuzzed_types_are_the_responses() -> None:
    names = {kind.__name__ for kind in RESPONSE_TYPES}

    assert {"Chat", "Message", "MessageSent", "ChatsPage", "CreatedWebhookSubscription"} <= names
    assert all(typing.get_type_hints(kind) for kind in RESPONSE_TYPES)
