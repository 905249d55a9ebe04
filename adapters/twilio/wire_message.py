"""``TwilioMessage``: one Message resource as the API returns it (JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import attrs

from caresupport_transport.errors import ProtocolError

__all__ = ["TwilioMessage"]


def _date(value: Any) -> datetime | None:
    """Twilio's dates are RFC 2822 (``Thu, 03 Dec 2026 19:00:00 +0000``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"a Twilio date must be a string, got {type(value).__name__}")
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"not an RFC 2822 date: {value!r}") from exc


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError(f"a Twilio message without {key!r}")
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"a Twilio message's {key!r} must be a string")
    return value


def format_date(value: datetime) -> str:
    """The RFC 2822 form Twilio writes (the simulator writes it too)."""
    return value.strftime("%a, %d %b %Y %H:%M:%S +0000")


@attrs.frozen
class TwilioMessage:
    """The fields of a Message resource the adapter reads (unknown keys are ignored).

    ``direction`` is ``inbound`` or ``outbound-api`` (or ``outbound-call`` /
    ``outbound-reply``); ``status`` is Twilio's (``queued``, ``sent``,
    ``delivered``, ``undelivered``, ``failed``, ``received``, ``read``...).
    """

    sid: str
    to: str
    from_: str | None
    body: str
    status: str
    direction: str
    date_created: datetime | None
    date_sent: datetime | None = None
    date_updated: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    num_media: int = 0
    messaging_service_sid: str | None = None

    @property
    def outbound(self) -> bool:
        return self.direction.startswith("outbound")

    @classmethod
    def from_json(cls, data: Any) -> TwilioMessage:
        """Read one resource; the wrong shape is a ``ProtocolError``."""
        if not isinstance(data, Mapping):
            raise ProtocolError("a Twilio message must be a JSON object")
        error_code = data.get("error_code")
        num_media = data.get("num_media") or "0"
        try:
            media = int(num_media)
            code = int(error_code) if error_code is not None else None
        except (TypeError, ValueError) as exc:
            raise ProtocolError("a Twilio message's num_media/error_code is not a number") from exc
        return cls(
            sid=_text(data, "sid", required=True) or "",
            to=_text(data, "to", required=True) or "",
            from_=_text(data, "from"),
            body=_text(data, "body") or "",
            status=_text(data, "status", required=True) or "",
            direction=_text(data, "direction") or "outbound-api",
            date_created=_date(data.get("date_created")),
            date_sent=_date(data.get("date_sent")),
            date_updated=_date(data.get("date_updated")),
            error_code=code,
            error_message=_text(data, "error_message"),
            num_media=media,
            messaging_service_sid=_text(data, "messaging_service_sid"),
        )
