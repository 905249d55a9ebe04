"""docs/linq.md lists every Linq operation with its LinqClient method, and the client agrees."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from adapters.linq import LinqClient

from .test_coverage import NEWER_OPERATIONS, OPERATIONS

DOC = Path(__file__).resolve().parents[3] / "docs" / "linq.md"
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (/v3/[^`]*)` \| (.+) \|$")
ALL_BUT_PAYMENTS = 70 - 14
"""The notes count 70 operations; the 14 payment operations are left out (see the doc)."""


def table() -> dict[tuple[str, str], tuple[str, ...]]:
    rows: dict[tuple[str, str], tuple[str, ...]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = ROW.match(line)
        if found:
            method, path, names = found.groups()
            assert (method, path) not in rows, f"{method} {path} is listed twice"
            rows[(method, path)] = tuple(re.findall(r"`([a-z_]+)`", names))
    return rows


def public_coroutine_methods() -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(LinqClient)
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(member) or inspect.isfunction(member))
        and name != "aclose"
    }


def test_the_table_lists_every_operation_but_payments() -> None:
    assert ALL_BUT_PAYMENTS == len(table())


def test_every_public_client_method_appears_in_the_table() -> None:
    named = {name for names in table().values() for name in names}

    assert set() == public_coroutine_methods() - named


def test_every_method_the_table_names_exists_on_the_client() -> None:
    named = {name for names in table().values() for name in names}

    assert set() == {name for name in named if not hasattr(LinqClient, name)}


def test_the_table_agrees_with_the_client_coverage_table() -> None:
    covered = {op: (name,) for op, name in {**OPERATIONS, **NEWER_OPERATIONS}.items()}
    documented = {op: names[:1] for op, names in table().items() if op in covered}

    assert covered == documented
    assert set() == set(table()) - set(covered)
