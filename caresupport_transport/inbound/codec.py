"""``encode_event`` / ``decode_event``: an inbound event as the inbox stores it (JSON text).

The inbox keeps domain events, so a webhook delivery, a polled message and a
Twilio callback wait in one queue and any worker can handle them without
knowing where they came from. A receiver may store a verified
:class:`~caresupport_transport.inbound.Delivery` instead (``encode_delivery``),
to leave the parsing to the worker: ``decode_event`` then builds the event with
the decoder registered for the delivery's source. Decoders are found in this
process's registry (:func:`register_delivery_source`; ``adapters.linq``
registers ``"linq"`` when imported) and then among the installed entry points
of group ``caresupport_transport.deliveries`` (this package declares
``linq``), so a worker process that never imported the adapter still decodes.

Rules of :func:`make_converter`:

* An event is ``{"type": <class name>, ...its fields}``; so is a message part
  (``TextPart``, ``MediaPart``), so unions need no guessing.
* Datetimes are ISO 8601 with their offset (aware, to the microsecond); enums
  by value; a ``Handle`` by its text (validated again when read back).
* The JSON is ASCII (non-ASCII escaped), so every store keeps it byte for byte.
* A delivery is ``{"type": "Delivery", "source": ..., "body": <the verified
  JSON text>}``.
* A payload this version cannot read (an unknown type, a delivery whose source
  has no decoder, a body the decoder refuses) is a
  :class:`~caresupport_transport.ProtocolError` naming the problem, never a
  guess.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import cattrs
from cattrs.strategies import configure_tagged_union

from caresupport_transport.content import Part
from caresupport_transport.errors import ProtocolError
from caresupport_transport.events import InboundEvent
from caresupport_transport.handles import Handle
from caresupport_transport.inbound.delivery import Delivery

__all__ = [
    "DELIVERY_ENTRY_POINTS",
    "decode_event",
    "encode_delivery",
    "encode_event",
    "make_converter",
    "register_delivery_source",
]

DELIVERY_ENTRY_POINTS = "caresupport_transport.deliveries"
"""The entry-point group naming each delivery source's decoder (``text -> InboundEvent``)."""

DeliveryDecoder = Callable[[str], InboundEvent]

_DELIVERY_TYPE = "Delivery"
_DECODERS: dict[str, DeliveryDecoder] = {}


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


def encode_delivery(delivery: Delivery) -> str:
    """``delivery`` as ASCII JSON text (its body kept as received, escaped).

    The same text as ``json.dumps`` of the object with sorted keys, written
    directly: each string goes through the encoder's C fast path.
    """
    body, source = json.dumps(delivery.body), json.dumps(delivery.source)
    return f'{{"body":{body},"source":{source},"type":"{_DELIVERY_TYPE}"}}'


def register_delivery_source(source: str, decode: DeliveryDecoder) -> None:
    """Decode deliveries from ``source`` with ``decode`` in this process (replacing any other).

    ``decode`` takes a delivery's body and returns its event; it raises
    :class:`~caresupport_transport.ProtocolError` for a body it cannot read.
    """
    if not isinstance(source, str) or not source:
        raise TypeError("source: must be a non-empty string")
    _DECODERS[source] = decode


def _decoder_for(source: str) -> DeliveryDecoder:
    decoder = _DECODERS.get(source)
    if decoder is None:
        # Imported here (lazily, as sqlite3 in the SQLite store): importlib.metadata
        # costs about 60 ms at start-up (measured), and only a process that meets
        # a delivery whose decoder it never imported needs it.
        from importlib.metadata import entry_points

        for point in entry_points(group=DELIVERY_ENTRY_POINTS, name=source):
            decoder = point.load()
            _DECODERS[source] = decoder
            break
    if decoder is None:
        raise ProtocolError(
            f"inbox payload: a delivery from {source!r}, and no decoder for it is "
            f"registered or installed (entry-point group {DELIVERY_ENTRY_POINTS!r})"
        )
    return decoder


def _decode_delivery(plain: dict[str, Any]) -> InboundEvent:
    source, body = plain.get("source"), plain.get("body")
    if not isinstance(source, str) or not isinstance(body, str):
        raise ProtocolError("inbox payload: a Delivery needs a string source and body")
    decoder = _decoder_for(source)
    try:
        return decoder(body)
    except Exception as exc:
        # The class only: a decoder's message may quote the delivery's content.
        raise ProtocolError(
            f"inbox payload: the {source!r} decoder cannot read this delivery "
            f"({type(exc).__name__})"
        ) from exc


def decode_event(payload: str) -> InboundEvent:
    """The event that :func:`encode_event` wrote, or that a delivery's body holds.

    Raises:
        ProtocolError: the text is not JSON, not an event this version knows,
            or a delivery that cannot be decoded.
    """
    try:
        plain = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"inbox payload: not JSON ({exc.msg} at {exc.pos})") from exc
    kind = plain.get("type") if isinstance(plain, dict) else None
    if kind == _DELIVERY_TYPE:
        return _decode_delivery(plain)
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
