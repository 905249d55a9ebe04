"""Intents and their status as the store keeps them: ASCII JSON (the inbox codec's rules).

An :class:`OutboxIntent` is the record's immutable ``payload``; the rest of an
:class:`IntentStatus` (state aside, which the store indexes) is its ``detail``.
"""

from __future__ import annotations

import json
from typing import Any

import cattrs

from caresupport_transport.errors import ProtocolError
from caresupport_transport.inbound.codec import make_converter
from caresupport_transport.inbound.outbox_record import OutboxRecord
from caresupport_transport.outbound.intent import IntentStatus, OutboxIntent

__all__ = ["decode_intent", "encode_intent", "record_of", "status_of"]

_CONVERTER = make_converter()
_DETAIL_FIELDS = (
    "conversation_id",
    "service",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "attempts",
    "resends",
    "error",
    "fired",
    "recovered",
    "delivered_message_ids",
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def encode_intent(intent: OutboxIntent) -> str:
    """``intent`` as ASCII JSON text."""
    return _dumps(_CONVERTER.unstructure(intent))


def decode_intent(payload: str) -> OutboxIntent:
    """The intent :func:`encode_intent` wrote.

    Raises:
        ProtocolError: not JSON, or not an intent this version reads.
    """
    try:
        return _CONVERTER.structure(json.loads(payload), OutboxIntent)
    except (ValueError, TypeError, KeyError, cattrs.BaseValidationError) as exc:
        raise ProtocolError(
            f"outbox payload: not an intent this version reads ({type(exc).__name__})"
        ) from exc


def record_of(status: IntentStatus, *, base: OutboxRecord) -> OutboxRecord:
    """``base`` (as read from the store) carrying ``status``'s state, message ids and detail."""
    plain = _CONVERTER.unstructure(status)
    detail = {name: plain[name] for name in _DETAIL_FIELDS}
    return OutboxRecord(
        id=base.id,
        state=status.state.value,
        payload=base.payload,
        created_at=base.created_at,
        updated_at=base.updated_at,
        version=base.version,
        message_ids=status.message_ids,
        detail=_dumps(detail),
    )


def status_of(record: OutboxRecord) -> IntentStatus:
    """The :class:`IntentStatus` a stored record holds.

    Raises:
        ProtocolError: the record was written by a version this one cannot read.
    """
    intent = decode_intent(record.payload)
    try:
        detail = json.loads(record.detail)
        plain = {
            **detail,
            "intent": _CONVERTER.unstructure(intent),
            "state": record.state,
            "message_ids": list(record.message_ids),
        }
        return _CONVERTER.structure(plain, IntentStatus)
    except (ValueError, TypeError, KeyError, cattrs.BaseValidationError) as exc:
        raise ProtocolError(
            f"outbox record {record.id}: not a status this version reads ({type(exc).__name__})"
        ) from exc
