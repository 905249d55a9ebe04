"""The simulator package's public names: sorted, unique, importable; every route counted."""

from __future__ import annotations

import adapters.linq.simulator as simulator
from adapters.linq.simulator import ROUTES, route_keys


def _isort_order(name: str) -> tuple[int, str]:
    """Constants first, then classes, then functions, as ruff's RUF022 sorts ``__all__``."""
    if name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def test_all_is_sorted_unique_and_importable() -> None:
    names = simulator.__all__
    assert sorted(names, key=_isort_order) == names
    assert len(set(names)) == len(names)
    assert all(hasattr(simulator, name) for name in names)


def test_every_route_key_is_unique() -> None:
    keys = route_keys()
    assert len(set(keys)) == len(keys) == len(ROUTES)
