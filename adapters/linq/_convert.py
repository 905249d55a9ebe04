"""The Linq adapter's cattrs converter, and the one place responses are read into types."""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from adapters.linq import _words, wire_chats
from adapters.linq._bodies import LinkPartBody, MediaPartBody, PartBody, TextPartBody
from adapters.linq.config import Secret
from caresupport_transport.capabilities import Service
from caresupport_transport.content import EffectKind
from caresupport_transport.errors import ProtocolError
from caresupport_transport.model import DeliveryStatus

T = TypeVar("T")


def make_converter() -> cattrs.Converter:
    """Build the converter between Linq's JSON and the adapter's attrs types.

    Rules:

    - A field named ``x_`` is the JSON key ``x`` (``from_`` <-> ``from``).
    - Unknown keys in a response are ignored (forward compatible).
    - Fields left at their default are omitted when writing (requests never send
      ``null`` for "not given"); missing optional keys read as their default.
    - Enums are their values, except the domain's :class:`Service` and
      :class:`DeliveryStatus`, which are Linq's words from
      :mod:`adapters.linq._words` (``"iMessage"`` any case, ``"received"`` read
      as delivered).
    - An optional service or effect type this version does not know reads as
      ``None`` (newer Linq may add them); an unknown delivery status is an error.
    - Datetimes are ISO 8601 strings (``Z`` accepted).
    - ``str``, ``int``, ``float`` and ``bool`` are read only as JSON gives them: no
      ``"12"`` -> 12, no 12 -> ``"12"``, no 1 -> ``True``. Tuples are read only from
      JSON arrays (a string is not a sequence of characters).
    - Message parts are tagged by ``"type"``: ``text``, ``media`` and ``link`` read
      into their classes, any other type into
      :class:`~adapters.linq.wire_chats.MessageOtherPart`. A text part's marks
      (``mentions``, ``text_decorations``) stay raw JSON, read leniently by
      ``_text_marks``.
    - :class:`~adapters.linq.config.Secret` is written as its plain string (it goes
      on the wire) and read from one.
    - ``object`` (free-form JSON such as an experience's ``params``) is read as the
      decoded JSON value, unchanged.

    Anything that breaks a rule raises from ``structure``; :func:`decode` turns that
    into a :class:`~caresupport_transport.errors.ProtocolError`.
    """
    converter = cattrs.Converter()
    _register_scalars(converter)
    _register_attrs_classes(converter)
    _register_tagged_union(
        converter,
        wire_chats.MessagePart,
        {
            cls.TAG: cls
            for cls in (
                wire_chats.MessageTextPart,
                wire_chats.MessageMediaPart,
                wire_chats.MessageLinkPart,
            )
        },
        fallback=wire_chats.MessageOtherPart,
    )
    _register_tagged_union(
        converter,
        PartBody,
        {cls.TAG: cls for cls in (TextPartBody, MediaPartBody, LinkPartBody)},
    )
    return converter


def _register_scalars(converter: cattrs.Converter) -> None:
    def strict(kind: type[Any], check: Callable[[Any], bool]) -> None:
        def read(value: Any, _: type[Any]) -> Any:
            if not check(value):
                raise TypeError(f"expected a JSON {kind.__name__}, got {type(value).__name__}")
            return kind(value)

        converter.register_structure_hook(kind, read)

    strict(str, lambda v: isinstance(v, str))
    strict(bool, lambda v: isinstance(v, bool))
    strict(int, lambda v: isinstance(v, int) and not isinstance(v, bool))
    strict(float, lambda v: isinstance(v, int | float) and not isinstance(v, bool))

    def read_datetime(value: Any, _: type[Any]) -> datetime:
        if not isinstance(value, str):
            raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
        return datetime.fromisoformat(value)

    converter.register_structure_hook(datetime, read_datetime)
    converter.register_unstructure_hook(datetime, datetime.isoformat)

    def read_service(value: Any, _: type[Any]) -> Service:
        service = _words.service_from_word(value)
        if service is None:
            raise ValueError("not a Linq service (iMessage, RCS, SMS)")
        return service

    def read_status(value: Any, _: type[Any]) -> DeliveryStatus:
        status = _words.status_from_word(value)
        if status is None:
            raise ValueError("not a Linq delivery status")
        return status

    converter.register_structure_hook(Service, read_service)
    converter.register_unstructure_hook(Service, _words.service_word)
    converter.register_structure_hook(DeliveryStatus, read_status)
    converter.register_unstructure_hook(DeliveryStatus, _words.status_word)
    _read_unknown_as_none(converter, Service | None, _words.service_from_word)
    _read_unknown_as_none(converter, EffectKind | None, _effect_kind)

    converter.register_structure_hook(
        Secret, lambda value, _: Secret(converter.structure(value, str))
    )
    converter.register_structure_hook_func(lambda kind: kind is object, lambda value, _: value)
    converter.register_unstructure_hook(Secret, Secret.reveal)

    def is_homogeneous_tuple(kind: Any) -> bool:
        args = typing.get_args(kind)
        return typing.get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis

    def tuple_hook(kind: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        item_type = typing.get_args(kind)[0]

        def read(value: Any, _: Any) -> tuple[Any, ...]:
            if not isinstance(value, list):
                raise TypeError(f"expected a JSON array, got {type(value).__name__}")
            return tuple(converter.structure(item, item_type) for item in value)

        return read

    converter.register_structure_hook_factory(is_homogeneous_tuple, tuple_hook)


def _effect_kind(word: str) -> EffectKind | None:
    try:
        return EffectKind(word)
    except ValueError:
        return None


def _read_unknown_as_none(
    converter: cattrs.Converter, optional: Any, read: Callable[[Any], Any]
) -> None:
    """Read an optional field's string with ``read``; a string it does not know is ``None``."""

    def read_optional(value: Any, _: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"expected a JSON string, got {type(value).__name__}")
        return read(value)

    converter.register_structure_hook_func(lambda kind: kind == optional, read_optional)


def _register_attrs_classes(converter: cattrs.Converter) -> None:
    def renames(cls: type[Any]) -> dict[str, Any]:
        return {
            field.name: override(rename=field.name[:-1])
            for field in attrs.fields(cls)
            if field.name.endswith("_") and not field.name.startswith("_")
        }

    def writer(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        return make_dict_unstructure_fn(
            cls, converter, _cattrs_omit_if_default=True, **renames(cls)
        )

    def reader(cls: type[Any]) -> Callable[[Any, Any], Any]:
        read = make_dict_structure_fn(cls, converter, **renames(cls))

        def read_object(value: Any, kind: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected a JSON object, got {type(value).__name__}")
            return read(value, kind)

        return read_object

    def is_wire_class(cls: Any) -> bool:
        return attrs.has(cls) and cls is not Secret

    converter.register_unstructure_hook_factory(is_wire_class, writer)
    converter.register_structure_hook_factory(is_wire_class, reader)


def _register_tagged_union(
    converter: cattrs.Converter,
    union: Any,
    classes: Mapping[str, type[Any]],
    *,
    fallback: type[Any] | None = None,
) -> None:
    def read(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected a JSON object, got {type(value).__name__}")
        tag = value.get("type")
        if not isinstance(tag, str):
            raise ValueError("a part needs a string 'type'")
        cls = classes.get(tag)
        if cls is None:
            if fallback is None:
                raise ValueError(f"unknown part type {tag!r}")
            return fallback(type=tag)
        return converter.structure(value, cls)

    converter.register_structure_hook(union, read)
    for tag, cls in classes.items():
        converter.register_unstructure_hook(
            cls, _tagged_writer(tag, converter.get_unstructure_hook(cls))
        )


def _tagged_writer(tag: str, write: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    def write_tagged(obj: Any) -> dict[str, Any]:
        return {"type": tag, **write(obj)}

    return write_tagged


@cache
def converter() -> cattrs.Converter:
    """The adapter's one converter (building it is the costly part; it holds no state)."""
    return make_converter()


_DECODE_FAILURES = (
    cattrs.BaseValidationError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    RecursionError,
)


def decode(
    payload: object, kind: type[T], *, what: str, status: int | None, trace_id: str | None
) -> T:
    """Read a decoded JSON ``payload`` as ``kind``, or raise ProtocolError naming what is wrong.

    Args:
        payload: the decoded JSON body (``None`` when the body was empty).
        kind: the attrs class the API promises.
        what: the operation, for the message (``"get_chat"``).
        status: the HTTP status of the answer, carried on the error.
        trace_id: Linq's trace id of the answer, carried on the error.

    Raises:
        ProtocolError: the body is empty, not JSON or not of the promised shape.
    """
    if payload is None:
        raise ProtocolError(
            f"{what}: expected a JSON {kind.__name__}, got an empty or non-JSON body",
            status=status,
            trace_id=trace_id,
        )
    try:
        return converter().structure(payload, kind)
    except _DECODE_FAILURES as exc:
        raise ProtocolError(
            f"{what}: the answer is not a {kind.__name__} ({_describe(exc)})",
            status=status,
            trace_id=trace_id,
        ) from exc


def _describe(exc: BaseException) -> str:
    """Where the shape broke, without echoing values (they may be personal data)."""
    if isinstance(exc, cattrs.BaseValidationError):
        lines = cattrs.transform_error(exc, path="$")
        return "; ".join(lines[:3]) + ("; ..." if len(lines) > 3 else "")
    if isinstance(exc, TypeError):
        return str(exc)  # only the converter's own hooks reach here, and they name no values
    return type(exc).__name__
