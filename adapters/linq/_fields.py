"""Typed reads of fields from decoded Linq JSON, failing with ProtocolError.

Every reader takes the object, the key and the dotted ``path`` of the object
(``"data.message"``), so an error names the full field (``data.message.id``) and
the rule it broke. Unknown keys are never looked at (forward compatible); ``null``
and an absent key read the same for optional fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from caresupport_transport.errors import ProtocolError

__all__ = [
    "field_name",
    "optional_bool",
    "optional_datetime",
    "optional_int",
    "optional_mapping",
    "optional_str",
    "require_datetime",
    "require_list",
    "require_mapping",
    "require_str",
]


def field_name(path: str, key: str) -> str:
    """``field_name("data", "chat_id")`` is ``"data.chat_id"``."""
    return f"{path}.{key}" if path else key


def _fail(path: str, key: str, rule: str) -> ProtocolError:
    return ProtocolError(f"{field_name(path, key)}: {rule}")


def require_str(obj: Mapping[str, Any], key: str, *, path: str) -> str:
    """A present, non-empty string."""
    value = optional_str(obj, key, path=path)
    if value is None:
        raise _fail(path, key, "is required")
    return value


def optional_str(obj: Mapping[str, Any], key: str, *, path: str) -> str | None:
    """A string, or ``None`` when absent, null or empty."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(path, key, f"must be a string, not {type(value).__name__}")
    return value or None


def require_mapping(obj: Mapping[str, Any], key: str, *, path: str) -> Mapping[str, Any]:
    value = optional_mapping(obj, key, path=path)
    if value is None:
        raise _fail(path, key, "is required")
    return value


def optional_mapping(obj: Mapping[str, Any], key: str, *, path: str) -> Mapping[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(path, key, f"must be an object, not {type(value).__name__}")
    return value


def require_list(obj: Mapping[str, Any], key: str, *, path: str) -> Sequence[Any]:
    value = obj.get(key)
    if value is None:
        raise _fail(path, key, "is required")
    if not isinstance(value, list):
        raise _fail(path, key, f"must be an array, not {type(value).__name__}")
    return value


def optional_bool(obj: Mapping[str, Any], key: str, *, path: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _fail(path, key, f"must be true or false, not {type(value).__name__}")
    return value


def optional_int(obj: Mapping[str, Any], key: str, *, path: str) -> int | None:
    """An integer (JSON ``true`` is not one), or ``None``."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, key, f"must be an integer, not {type(value).__name__}")
    return value


def require_datetime(obj: Mapping[str, Any], key: str, *, path: str) -> datetime:
    value = optional_datetime(obj, key, path=path)
    if value is None:
        raise _fail(path, key, "is required")
    return value


def optional_datetime(obj: Mapping[str, Any], key: str, *, path: str) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime; one without an offset is UTC.

    Linq sends up to nanoseconds (``19:52:18.101373886Z``); Python keeps microseconds.
    """
    text = optional_str(obj, key, path=path)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _fail(path, key, "is not an ISO 8601 timestamp") from None
