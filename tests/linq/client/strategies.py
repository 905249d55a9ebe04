"""Hypothesis strategies for the Linq adapter: wire values by type, and JSON near and far."""

from __future__ import annotations

import enum
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
from hypothesis import strategies as st

from adapters.linq import Secret
from adapters.linq.wire_chats import MessageOtherPart

_ZONES = st.one_of(st.none(), st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]))
_TEXT = st.text(max_size=12)


def for_type(kind: Any) -> st.SearchStrategy[Any]:
    """Values of a wire type, built field by field from its annotations."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is type(None):
        return st.none()
    if kind is str:
        return _TEXT
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(min_value=-(2**63), max_value=2**63)
    if kind is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind is object:
        return json_values
    if kind is datetime:
        return st.datetimes(timezones=_ZONES)
    if kind is Secret:
        return _TEXT.map(Secret)
    if kind is MessageOtherPart:
        return st.builds(
            MessageOtherPart, type=_TEXT.filter(lambda t: t not in ("text", "media", "link"))
        )
    if kind is Any:
        return json_values  # raw JSON kept as it came (a text part's marks)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return st.sampled_from(list(kind))
    if origin is tuple:
        return st.lists(for_type(args[0]), max_size=3).map(tuple)
    if origin is dict:
        return st.dictionaries(_TEXT, for_type(args[1]), max_size=3)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(for_type(arg) for arg in args))
    if attrs.has(kind):
        hints = typing.get_type_hints(kind)
        fields = {f.name: for_type(hints[f.name]) for f in attrs.fields(kind) if f.init}
        return st.builds(kind, **fields)
    raise NotImplementedError(f"no strategy for {kind!r}")


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any, *, delete: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, dict):
        copy = dict(node)
        if delete and not rest:
            del copy[head]
        else:
            copy[head] = _replace(node[head], rest, value, delete=delete)
        return copy
    copy_list = list(node)
    if delete and not rest:
        del copy_list[head]
    else:
        copy_list[head] = _replace(node[head], rest, value, delete=delete)
    return copy_list


@st.composite
def near(draw: st.DrawFn, sample: Any) -> Any:
    """``sample`` with one node replaced by random JSON, or one key or item removed."""
    path = draw(st.sampled_from(_paths(sample)))
    delete = bool(path) and draw(st.booleans())
    return _replace(sample, path, None if delete else draw(json_values), delete=delete)
