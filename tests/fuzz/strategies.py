"""JSON far from and near to what an API sends, for the fuzz tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["json_values", "near", "paths"]

_TEXT = st.text(max_size=12)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
    | st.sampled_from(["", "iMessage", "SMS", "RCS", "2026-02-05T19:31:13Z", "+15551234567"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)
"""Any JSON value, with some strings an API would use."""


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (the empty path is the value itself)."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any, *, delete: bool) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = dict(node) if isinstance(node, dict) else list(node)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = _replace(node[head], rest, value, delete=delete)
    return copy


@st.composite
def near(draw: st.DrawFn, sample: Any, *, changes: int = 2) -> Any:
    """``sample`` with up to ``changes`` nodes replaced by random JSON or removed."""
    value = sample
    for _ in range(draw(st.integers(min_value=1, max_value=changes))):
        path = draw(st.sampled_from(paths(value)))
        delete = bool(path) and draw(st.booleans())
        value = _replace(value, path, None if delete else draw(json_values), delete=delete)
    return value
