"""The domain package never imports an adapter: ``adapters`` depends on it, not the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import caresupport_transport

DOMAIN = Path(caresupport_transport.__file__).parent
FORBIDDEN = "adapters"
_IMPORTERS = {"import_module", "__import__"}


def _is_forbidden(module: str) -> bool:
    return module == FORBIDDEN or module.startswith(FORBIDDEN + ".")


def adapter_imports(source: str) -> list[str]:
    """Every import of ``adapters`` in ``source``, wherever it stands.

    Reads every ``import`` and ``from ... import`` at any depth (inside
    functions, under ``if TYPE_CHECKING:``, in ``try``) and the string given to
    ``importlib.import_module`` or ``__import__``.
    """
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_forbidden(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _is_forbidden(node.module):
                found.append(node.module)
        elif isinstance(node, ast.Call) and node.args:
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else None
            if isinstance(function, ast.Name):
                name = function.id
            first = node.args[0]
            if (
                name in _IMPORTERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _is_forbidden(first.value)
            ):
                found.append(first.value)
    return found


def test_the_check_finds_adapter_imports_wherever_they_stand() -> None:
    source = """
from typing import TYPE_CHECKING
import adapters
import json, adapters.linq.client as client
from adapters.memory import World
from adaptersmith import tool
from .adapters import local
if TYPE_CHECKING:
    from adapters.linq import LinqTransport
def later():
    from adapters.memory.world import World
    return importlib.import_module("adapters.linq")
"""
    assert sorted(
        [
            "adapters",
            "adapters.linq.client",
            "adapters.memory",
            "adapters.linq",
            "adapters.memory.world",
            "adapters.linq",
        ]
    ) == sorted(adapter_imports(source))


def test_no_module_of_the_domain_package_imports_an_adapter() -> None:
    modules = sorted(DOMAIN.rglob("*.py"))
    found = {
        str(path.relative_to(DOMAIN)): imports
        for path in modules
        if (imports := adapter_imports(path.read_text(encoding="utf-8")))
    }
    assert len(modules) > 10  # the whole package was read, subpackages included
    assert {} == found
