"""``encode_event`` / ``decode_event``: an inbound event as the inbox stores it (JSON text).

The inbox keeps domain events, not provider payloads, so a webhook delivery, a
polled message and (later) a Twilio callback wait in one queue and any worker
can handle them without knowing where they came from.

Rules of :func:`make_converter`:

* An event is ``{"type": <class name>, ...its fields}``; so is a message part
  (``TextPart``, ``MediaPart``), so unions need no guessing.
* Datetimes are ISO 8601 with their offset (aware, to the microsecond); enums
  by value; a ``Handle`` by its text (validated again when read back).
* The JSON is ASCII (non-ASCII escaped), so every store keeps it byte for byte.
* A payload this version cannot read is a
  :class:`~caresupport_transport.ProtocolError` naming the problem, never a
  guess.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import cattrs
from cattrs.strategies import configure_tagged_union

from caresupport_transport.content import Part
from caresupport_transport.errors import ProtocolError
from caresupport_transport.events import InboundEvent
from caresupport_transport.handles import Handle

__all__ = ["decode_event", "encode_event", "make_converter"]


def make_converter() -> cattrs.Converter:
    """The converter between inbound events and plain JSON values (rules in the module notes)."""
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
    converter.register_structure_hook(datetime, _datetime)
    converter.register_unstructure_hook(Handle, str)
    converter.register_structure_hook(Handle, lambda value, _: Handle(value))
    configure_tagged_union(Part, converter, tag_name="type")
    configure_tagged_union(InboundEvent, converter, tag_name="type")
    return converter


def _datetime(value: object, _: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("expected a time with its UTC offset")
    return parsed


_CONVERTER = make_converter()
_EVENT_TYPES = frozenset(member.__name__ for member in InboundEvent.__args__)


def encode_event(event: InboundEvent) -> str:
    """``event`` as ASCII JSON text."""
    plain: Any = _CONVERTER.unstructure(event, InboundEvent)
    return json.dumps(plain, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def decode_event(payload: str) -> InboundEvent:
    """The event that :func:`encode_event` wrote.

    Raises:
        ProtocolError: the text is not JSON, or not an event this version knows.
    """
    try:
        plain = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"inbox payload: not JSON ({exc.msg} at {exc.pos})") from exc
    kind = plain.get("type") if isinstance(plain, dict) else None
    if kind not in _EVENT_TYPES:
        raise ProtocolError(f"inbox payload: type {kind!r} is not an event this version reads")
    try:
        event: InboundEvent = _CONVERTER.structure(plain, InboundEvent)  # type: ignore[arg-type]
    except cattrs.BaseValidationError as exc:
        detail = "; ".join(cattrs.transform_error(exc))
        raise ProtocolError(f"inbox payload: a {kind} that cannot be read ({detail})") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise ProtocolError(
            f"inbox payload: a {kind} that cannot be read ({type(exc).__name__})"
        ) from exc
    return event
