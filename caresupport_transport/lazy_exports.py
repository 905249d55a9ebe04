"""Package names loaded on first use: the module ``__getattr__`` and ``__dir__`` for them.

Used by packages whose heavier parts most programs never touch
(``caresupport_transport`` for bubbles and inbound dispatch, ``adapters.linq``
for ``LinqTransport``). Type checkers should see plain imports under
``TYPE_CHECKING`` instead, so a misspelt name stays an error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, loaded_on_first_use: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``.

    Args:
        package: the package's ``__name__``.
        loaded_on_first_use: each lazy name and the module that defines it.
        public: the package's ``__all__``.
    """

    def __getattr__(name: str) -> Any:
        module = loaded_on_first_use.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *public})

    return __getattr__, __dir__
