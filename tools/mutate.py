"""Mutation testing of the modules a care product can least afford to get wrong.

Usage (by hand; not part of CI)::

    python tools/mutate.py                      # every target, 2 workers
    python tools/mutate.py webhooks retries     # some targets
    python tools/mutate.py --list policy        # the mutants, without running them
    python tools/mutate.py --diff policy 17     # what mutant 17 of policy changes
    python tools/mutate.py --json /tmp/m.json   # keep every result

For each mutant (one small change: a flipped comparison, a dropped statement, a
changed constant, ``and``/``or`` swapped, a negated condition) it runs the
target's tests; a mutant is *killed* when a test fails (or the run exceeds its
time limit), and *survives* when every test passes. The kill rate is killed /
(mutants - equivalent), where the equivalent mutants are the ones listed, each
with the reason it provably changes nothing, in ``tools/equivalent_mutants.toml``.

Why a small mutator of our own rather than mutmut (3.x installs with pip):

* Speed on a 2-core machine. A baseline run records, per test, which lines of
  the target it executes (``sys.settrace``, threads included: the SQLite store
  runs on a worker thread); each mutant then runs only the tests that execute
  the mutated lines, fastest first, stopping at the first failure. A mutant no
  test reaches is reported as uncovered without running anything. Third-party
  imports (pytest, hypothesis, httpx, attrs) are paid once: the parent imports
  them, and every mutant runs in a forked child that imports the project fresh.
* Control. The mutated module is served by an import hook in the child, so the
  working tree is never rewritten (an interrupted run leaves no mutant behind,
  and other work in the same checkout is not disturbed); each child runs in its
  own process group, killed whole at its time limit; hypothesis runs
  derandomised and without its example database, so two runs of the same code
  give the same figures.
* Scope. ``adapters/linq/_http.py`` is mutated only in its retry logic (the
  functions named in ``TARGETS``); log calls (``_log.info(...)``, a
  ``self._log_answer(...)`` helper, an ``if`` that only logs) are not mutated (what is logged
  is the privacy tests' business, not a behaviour these modules promise).

Mutants are generated from the AST and applied with ``ast.unparse`` of the
mutated tree (so every mutant compiles and changes exactly one node). An id
names a mutant by its function and its change (no line numbers), so the
exclusion list survives edits elsewhere in the file.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import difflib
import functools
import importlib.abc
import importlib.util
import json
import os
import signal
import sys
import threading
import time
import tomllib
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS_FILE = Path(__file__).resolve().parent / "equivalent_mutants.toml"
TIME_LIMIT_FACTOR = 3.0
"""A mutant's time limit: this times its tests' baseline duration (measured under tracing)."""
TIME_LIMIT_FLOOR_SECONDS = 10.0


@dataclass(frozen=True)
class Target:
    """One module under mutation, and the tests that exercise it (fastest first)."""

    name: str
    path: str
    module: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()  # qualnames; empty: the whole module


TARGETS: tuple[Target, ...] = (
    Target(
        "webhooks",
        "adapters/linq/webhooks.py",
        "adapters.linq.webhooks",
        (
            "tests/linq/webhooks/test_linq_webhook_verification.py",
            "tests/linq/webhooks/test_linq_webhook_refusals.py",
            "tests/linq/webhooks/test_linq_webhook_interop.py",
            "tests/linq/webhooks/test_linq_webhook_properties.py",
            "tests/linq/receiver/test_receiver.py",
        ),
    ),
    Target(
        "policy",
        "caresupport_transport/policy.py",
        "caresupport_transport.policy",
        (
            "tests/unit/domain/test_policy_examples.py",
            "tests/unit/domain/test_policy_edges.py",
            "tests/unit/domain/test_split_text.py",
            "tests/unit/domain/test_policy_properties.py",
        ),
    ),
    Target(
        "dispatcher",
        "caresupport_transport/inbound/dispatcher.py",
        "caresupport_transport.inbound.dispatcher",
        (
            "tests/unit/inbound/test_dispatcher.py",
            "tests/unit/inbound/test_dispatcher_claims.py",
            "tests/unit/inbound/test_sqlite_store.py",
            "tests/reliability/test_claim_lease.py",
        ),
    ),
    Target(
        "sqlite_store",
        "caresupport_transport/inbound/sqlite_store.py",
        "caresupport_transport.inbound.sqlite_store",
        (
            "tests/unit/inbound/test_stores.py",
            "tests/unit/inbound/test_sqlite_store.py",
            "tests/unit/inbound/test_sqlite_store_durability.py",
        ),
    ),
    Target(
        "retry",
        "adapters/linq/_retry.py",
        "adapters.linq._retry",
        (
            "tests/linq/client/test_retries.py",
            "tests/linq/client/test_retry_budget.py",
            "tests/linq/client/test_properties.py",
        ),
    ),
    Target(
        "http_retries",
        "adapters/linq/_http.py",
        "adapters.linq._http",
        (
            "tests/linq/client/test_retries.py",
            "tests/linq/client/test_retry_budget.py",
            "tests/linq/client/test_errors.py",
            "tests/linq/client/test_secrets.py",
            "tests/linq/client/test_properties.py",
        ),
        functions=(
            "Requester.send",
            "Requester._delay_after_failure",
            "Requester._delay_after_refusal",
            "Requester._backoff",
        ),
    ),
    Target(
        "checks",
        "caresupport_transport/checks.py",
        "caresupport_transport.checks",
        (
            "tests/unit/domain/test_checks.py",
            "tests/contract/test_contract_group_refusals.py",
            "tests/contract/test_contract_validation.py",
            "tests/contract/test_contract_parity.py",
            "tests/contract/test_contract_groups_and_media.py",
            "tests/contract/test_contract_conversations.py",
            "tests/linq/client/test_validation.py",
            "tests/fuzz/test_fuzz_domain.py",
        ),
    ),
)


# --------------------------------------------------------------------------- mutants


@dataclass(frozen=True)
class Mutant:
    """One change to one node; ``path`` locates the node from the module root."""

    number: int
    ident: str
    line: int
    end_line: int
    kind: str
    path: tuple[tuple[str, int | None], ...]
    replacement: ast.AST = field(compare=False)
    at_import: bool  # the node runs when the module is imported, not inside a call


_COMPARE_SWAPS: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.Gt),
    ast.LtE: (ast.Lt, ast.GtE),
    ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt, ast.LtE),
    ast.Eq: (ast.NotEq,),
    ast.NotEq: (ast.Eq,),
    ast.Is: (ast.IsNot,),
    ast.IsNot: (ast.Is,),
    ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,),
}
_LOGGER_NAMES = frozenset({"_log", "log", "logger", "_logger", "logging"})
_NOT_DROPPED = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Import,
    ast.ImportFrom,
    ast.Pass,
    ast.Global,
    ast.Nonlocal,
)


def _is_bare_string(stmt: ast.stmt) -> bool:
    """A docstring, or an attribute docstring after an assignment: never used at run time."""
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _is_log_call(stmt: ast.stmt) -> bool:
    """``_log.info(...)``, or a call of a helper whose only job is logging (``self._log_x``)."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    if isinstance(func, ast.Attribute) and func.attr.startswith("_log_"):
        return True
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in _LOGGER_NAMES
    )


def _is_log_only(stmt: ast.stmt) -> bool:
    """A log call, or an ``if`` that only logs (``if removed: _log.debug(...)``)."""
    if isinstance(stmt, ast.If):
        return not stmt.orelse and all(_is_log_only(inner) for inner in stmt.body)
    return _is_log_call(stmt)


def _is_all(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets
    )


def _is_type_checking(stmt: ast.stmt) -> bool:
    """``if TYPE_CHECKING:`` (imports for annotations only: never run)."""
    return (
        isinstance(stmt, ast.If)
        and isinstance(stmt.test, ast.Name)
        and stmt.test.id == "TYPE_CHECKING"
    )


def _is_ellipsis(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is Ellipsis
    )


def _negated(test: ast.expr) -> ast.expr:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    return ast.UnaryOp(op=ast.Not(), operand=test)


def _constant_replacements(value: object) -> list[bool | int | float | str | bytes]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int | float):
        out: list[bool | int | float | str | bytes] = []
        for candidate in (value + 1, value - 1, type(value)(0)):
            if candidate != value and candidate not in out:
                out.append(candidate)
        return out
    if isinstance(value, str | bytes) and value:
        return [type(value)()]
    return []


def _short(node: ast.AST, limit: int = 70) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Collector:
    """Walks a module's AST and lists every mutant (see the module docstring)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.found: list[
            tuple[str, int, int, str, tuple[tuple[str, int | None], ...], ast.AST, bool]
        ] = []

    def run(self, tree: ast.Module) -> list[Mutant]:
        self._body(tree.body, (), (), in_function=False, selected=not self.target.functions)
        seen: dict[str, int] = {}
        mutants = []
        for number, (ident, line, end, kind, path, new, at_import) in enumerate(self.found, 1):
            seen[ident] = seen.get(ident, 0) + 1
            unique = ident if seen[ident] == 1 else f"{ident} #{seen[ident]}"
            mutants.append(Mutant(number, unique, line, end, kind, path, new, at_import))
        return mutants

    def _add(
        self,
        scope: tuple[str, ...],
        kind: str,
        node: ast.AST,
        path: tuple[tuple[str, int | None], ...],
        new: ast.AST,
        at_import: bool,
        what: str,
    ) -> None:
        where = ".".join(scope) or "<module>"
        self.found.append(
            (
                f"{where}: {kind}: {what}",
                getattr(node, "lineno", 0),
                getattr(node, "end_lineno", 0) or getattr(node, "lineno", 0),
                kind,
                path,
                new,
                at_import,
            )
        )

    def _body(
        self,
        body: Sequence[ast.stmt],
        path: tuple[tuple[str, int | None], ...],
        scope: tuple[str, ...],
        *,
        in_function: bool,
        selected: bool,
        field_name: str = "body",
    ) -> None:
        for index, stmt in enumerate(body):
            stmt_path = (*path, (field_name, index))
            if _is_bare_string(stmt) or _is_all(stmt) or _is_log_only(stmt):
                continue
            if isinstance(stmt, ast.ImportFrom | ast.Import) or _is_type_checking(stmt):
                continue
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = (*scope, stmt.name)
                qualname = ".".join(inner)
                chosen = selected or qualname in self.target.functions
                if chosen:
                    # Defaults and decorators run at import, in the enclosing scope.
                    for name in ("decorator_list",):
                        for i, deco in enumerate(getattr(stmt, name)):
                            self._expr(deco, (*stmt_path, (name, i)), scope, in_function)
                    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                        for i, default in enumerate(stmt.args.defaults):
                            self._expr(
                                default,
                                (*stmt_path, ("args", None), ("defaults", i)),
                                scope,
                                in_function,
                            )
                        for i, kw_default in enumerate(stmt.args.kw_defaults):
                            if kw_default is not None:
                                self._expr(
                                    kw_default,
                                    (*stmt_path, ("args", None), ("kw_defaults", i)),
                                    scope,
                                    in_function,
                                )
                is_function = isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
                self._body(
                    stmt.body,
                    stmt_path,
                    inner,
                    in_function=in_function or is_function,
                    selected=chosen,
                )
                continue
            if not selected:
                continue
            if not isinstance(stmt, _NOT_DROPPED) and not _is_ellipsis(stmt):
                self._add(
                    scope,
                    "drop",
                    stmt,
                    stmt_path,
                    ast.Pass(),
                    not in_function,
                    _short(stmt).splitlines()[0] if _short(stmt) else "",
                )
            self._stmt_children(stmt, stmt_path, scope, in_function)

    def _stmt_children(
        self,
        stmt: ast.stmt,
        path: tuple[tuple[str, int | None], ...],
        scope: tuple[str, ...],
        in_function: bool,
    ) -> None:
        if isinstance(stmt, ast.If | ast.While):
            self._add(
                scope,
                "negate",
                stmt.test,
                (*path, ("test", None)),
                _negated(copy.deepcopy(stmt.test)),
                not in_function,
                f"if {_short(stmt.test)}",
            )
        for name, value in ast.iter_fields(stmt):
            if name in ("annotation", "returns", "type_comment"):
                continue
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self._body(
                    value,
                    path,
                    scope,
                    in_function=in_function,
                    selected=True,
                    field_name=name,
                )
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.expr):
                        self._expr(item, (*path, (name, i)), scope, in_function)
                    elif isinstance(item, ast.ExceptHandler):
                        if item.type is not None:
                            self._expr(
                                item.type, (*path, (name, i), ("type", None)), scope, in_function
                            )
                        self._body(
                            item.body,
                            (*path, (name, i)),
                            scope,
                            in_function=in_function,
                            selected=True,
                        )
                    elif isinstance(item, ast.withitem):
                        self._expr(
                            item.context_expr,
                            (*path, (name, i), ("context_expr", None)),
                            scope,
                            in_function,
                        )
                    elif isinstance(item, ast.match_case):
                        self._body(
                            item.body,
                            (*path, (name, i)),
                            scope,
                            in_function=in_function,
                            selected=True,
                        )
            elif isinstance(value, ast.expr):
                self._expr(value, (*path, (name, None)), scope, in_function)

    def _expr(
        self,
        node: ast.expr,
        path: tuple[tuple[str, int | None], ...],
        scope: tuple[str, ...],
        in_function: bool,
    ) -> None:
        at_import = not in_function
        if isinstance(node, ast.JoinedStr):
            # An f-string (a message): emptied as a whole, its parts left alone.
            self._add(
                scope, "constant", node, path, ast.Constant(""), at_import, f"{_short(node)} -> ''"
            )
            return
        if isinstance(node, ast.Lambda):
            self._expr(node.body, (*path, ("body", None)), scope, True)
            return
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                for swap in _COMPARE_SWAPS.get(type(op), ()):
                    new = copy.deepcopy(node)
                    new.ops[i] = swap()
                    self._add(
                        scope,
                        "compare",
                        node,
                        path,
                        new,
                        at_import,
                        f"{_short(node)} -> {_short(new)}",
                    )
        elif isinstance(node, ast.BoolOp):
            new_bool = copy.deepcopy(node)
            new_bool.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            self._add(
                scope,
                "boolop",
                node,
                path,
                new_bool,
                at_import,
                f"{_short(node)} -> {_short(new_bool)}",
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._add(
                scope,
                "negate",
                node,
                path,
                copy.deepcopy(node.operand),
                at_import,
                f"{_short(node)} -> {_short(node.operand)}",
            )
        elif isinstance(node, ast.IfExp):
            self._add(
                scope,
                "negate",
                node.test,
                (*path, ("test", None)),
                _negated(copy.deepcopy(node.test)),
                at_import,
                f"... if {_short(node.test)} else ...",
            )
        elif isinstance(node, ast.Constant):
            for value in _constant_replacements(node.value):
                self._add(
                    scope,
                    "constant",
                    node,
                    path,
                    ast.Constant(value),
                    at_import,
                    f"{_short(node)} -> {_short(ast.Constant(value))}",
                )
            return
        for name, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                self._expr(value, (*path, (name, None)), scope, in_function)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.expr):
                        self._expr(item, (*path, (name, i)), scope, in_function)
                    elif isinstance(item, ast.comprehension):
                        base = (*path, (name, i))
                        self._expr(item.iter, (*base, ("iter", None)), scope, in_function)
                        for j, cond in enumerate(item.ifs):
                            self._add(
                                scope,
                                "negate",
                                cond,
                                (*base, ("ifs", j)),
                                _negated(copy.deepcopy(cond)),
                                at_import,
                                f"... if {_short(cond)}",
                            )
                            self._expr(cond, (*base, ("ifs", j)), scope, in_function)
                    elif isinstance(item, ast.keyword):
                        self._expr(
                            item.value, (*path, (name, i), ("value", None)), scope, in_function
                        )


def mutants_of(target: Target) -> tuple[str, list[Mutant]]:
    """The target's source and its mutants, numbered from 1 in source order."""
    source = (ROOT / target.path).read_text(encoding="utf-8")
    return source, _Collector(target).run(ast.parse(source))


def mutated_source(source: str, mutant: Mutant) -> str:
    """The module's source with ``mutant`` applied (via ``ast.unparse``)."""
    tree = ast.parse(source)
    parent: Any = tree
    *steps, (last_name, last_index) = mutant.path
    for name, index in steps:
        parent = getattr(parent, name) if index is None else getattr(parent, name)[index]
    replacement = copy.deepcopy(mutant.replacement)
    if last_index is None:
        setattr(parent, last_name, replacement)
    else:
        getattr(parent, last_name)[last_index] = replacement
    return ast.unparse(ast.fix_missing_locations(tree))


def enclosing_function(source: str, mutant: Mutant) -> str | None:
    """The qualname of the outermost function whose body holds the mutated node.

    ``None`` when the node runs at import (module or class level, a default
    value, a decorator): such a mutant needs a fresh import of the module.
    """
    node: Any = ast.parse(source)
    names: list[str] = []
    for name, index in mutant.path:
        if isinstance(node, ast.ClassDef) and name == "body":
            names.append(node.name)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return ".".join([*names, node.name]) if name == "body" else None
        node = getattr(node, name) if index is None else getattr(node, name)[index]
    return None


def _find_code(code: types.CodeType, qualname: str) -> types.CodeType | None:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            if const.co_qualname == qualname:
                return const
            found = _find_code(const, qualname)
            if found is not None:
                return found
    return None


def _live_function(module: ModuleType, qualname: str) -> types.FunctionType | None:
    obj: Any = module
    for part in qualname.split("."):
        obj = vars(obj).get(part) if hasattr(obj, "__dict__") else None
        if obj is None:
            return None
        if isinstance(obj, property):
            obj = obj.fget
        if isinstance(obj, staticmethod | classmethod):
            obj = obj.__func__
    while not isinstance(obj, types.FunctionType) and hasattr(obj, "__wrapped__"):
        obj = obj.__wrapped__
    while isinstance(obj, types.FunctionType) and hasattr(obj, "__wrapped__"):
        obj = obj.__wrapped__
    return obj if isinstance(obj, types.FunctionType) else None


def patch_in_place(target: Target, text: str, qualname: str) -> bool:
    """Give the live function ``qualname`` the mutated code; False if that cannot be done.

    Every reference to the function (``from ... import``, bound methods, attrs
    validators) sees the change, so the already imported project and tests can
    be reused: no import is repeated per mutant.
    """
    module = sys.modules.get(target.module)
    if module is None:
        return False
    new = _find_code(compile(text, str(ROOT / target.path), "exec"), qualname)
    live = _live_function(module, qualname)
    if new is None or live is None or live.__code__.co_qualname != qualname:
        return False
    try:
        live.__code__ = new
    except ValueError:  # a different number of closure cells
        return False
    return True


def load_equivalents() -> dict[str, dict[str, str]]:
    """Target name -> mutant id -> why the mutant provably changes nothing."""
    if not EQUIVALENTS_FILE.exists():
        return {}
    data = tomllib.loads(EQUIVALENTS_FILE.read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for entry in data.get("equivalent", []):
        out.setdefault(entry["target"], {})[entry["mutant"]] = entry["reason"]
    return out


# --------------------------------------------------------------------------- children


class _MutantFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module from mutated source instead of its file."""

    def __init__(self, module: str, path: Path, source: str) -> None:
        self._module = module
        self._path = path
        self._code = compile(source, str(path), "exec")

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self._module:
            return None
        return importlib.util.spec_from_file_location(fullname, self._path, loader=self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(self._code, module.__dict__)


class _Select:
    """A pytest plugin: keep only ``wanted`` tests, in that order (none: keep all)."""

    def __init__(self, wanted: Sequence[str] | None) -> None:
        self._wanted = None if wanted is None else {n: i for i, n in enumerate(wanted)}

    def pytest_collection_modifyitems(self, session: Any, config: Any, items: list[Any]) -> None:
        if self._wanted is None:
            return
        order = self._wanted
        kept = [item for item in items if item.nodeid in order]
        kept.sort(key=lambda item: order[item.nodeid])
        deselected = [item for item in items if item.nodeid not in order]
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


class _LineRecorder:
    """A pytest plugin: per test, the lines of one file it executes, and its duration."""

    def __init__(self, filename: str) -> None:
        self._filename = filename
        self.lines: dict[str, set[int]] = {}
        self.durations: dict[str, float] = {}
        self._current: set[int] | None = None

    def _local(self, frame: FrameType, event: str, arg: object) -> Any:
        if event == "line" and self._current is not None:
            self._current.add(frame.f_lineno)
        return self._local

    def _global(self, frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code.co_filename == self._filename:
            if self._current is not None:
                self._current.add(frame.f_lineno)
            return self._local
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Iterator[None]:
        self._current = self.lines.setdefault(item.nodeid, set())
        started = time.perf_counter()
        sys.settrace(self._global)
        threading.settrace(self._global)
        try:
            return (yield)
        finally:
            sys.settrace(None)
            threading.settrace(None)
            self.durations[item.nodeid] = time.perf_counter() - started
            self._current = None


def _quiet_hypothesis() -> None:
    from hypothesis import settings

    settings.register_profile("mutation", database=None, derandomize=True, deadline=None)
    settings.load_profile("mutation")


@functools.cache
def _missing_plugins() -> tuple[str, ...]:
    """``-p no:NAME`` for installed pytest plugins this checkout cannot import.

    An editable install of another checkout of the project can register a
    plugin module this one does not have; loading it would fail every run.
    """
    from importlib.metadata import entry_points

    blocked: list[str] = []
    for entry in entry_points(group="pytest11"):
        try:
            found = importlib.util.find_spec(entry.module.partition(":")[0])
        except ImportError:
            found = None
        if found is None:
            blocked += ["-p", f"no:{entry.name}"]
    return tuple(blocked)


def _pytest_args(target: Target) -> list[str]:
    return [
        *_missing_plugins(),
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "--no-header",
        "-o",
        "console_output_style=classic",
        # The parent imported hypothesis (one import for every child); nothing to rewrite there.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *(test for test in target.tests if (ROOT / test).exists()),
    ]


def _fork(body: Any, *, quiet: bool = not os.environ.get("MUTATE_DEBUG")) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        os.setpgid(0, 0)
        if quiet:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
        os.chdir(ROOT)
        code = int(body())
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 71
    finally:
        os._exit(code)


def baseline(target: Target) -> tuple[dict[str, set[int]], dict[str, float]]:
    """Run the target's tests unmutated, recording lines per test; they must all pass."""
    out = Path(f"/tmp/mutate-baseline-{os.getpid()}-{target.name}.json")
    filename = str(ROOT / target.path)

    def body() -> int:
        _quiet_hypothesis()
        recorder = _LineRecorder(filename)
        code = pytest.main(_pytest_args(target), plugins=[recorder])
        out.write_text(
            json.dumps(
                {
                    "lines": {k: sorted(v) for k, v in recorder.lines.items()},
                    "durations": recorder.durations,
                }
            )
        )
        return int(code)

    pid = _fork(body)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(
            f"{target.name}: the unmutated tests fail; run them: "
            f"python -m pytest -x {' '.join(target.tests)}"
        )
    data = json.loads(out.read_text())
    out.unlink()
    return {k: set(v) for k, v in data["lines"].items()}, data["durations"]


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed, timeout, survived, uncovered, equivalent
    seconds: float = 0.0
    tests: int = 0
    reason: str = ""


def run_target(
    target: Target,
    jobs: int,
    equivalents: dict[str, str],
    *,
    verbose: bool,
    only: set[int] | None = None,
) -> tuple[list[Result], float]:
    """Every mutant of ``target``, run ``jobs`` at a time; returns results and wall time."""
    started = time.perf_counter()
    source, mutants = mutants_of(target)
    lines, durations = baseline(target)
    order = sorted(durations, key=durations.__getitem__)
    results: list[Result] = []
    queue: list[tuple[Mutant, list[str] | None, float]] = []
    for mutant in mutants:
        if only is not None and mutant.number not in only:
            continue
        if mutant.ident in equivalents:
            results.append(Result(mutant, "equivalent", reason=equivalents[mutant.ident]))
            continue
        span = set(range(mutant.line, mutant.end_line + 1))
        wanted = None if mutant.at_import else [t for t in order if lines.get(t, set()) & span]
        if wanted == []:
            results.append(Result(mutant, "uncovered"))
            continue
        budget = sum(durations[t] for t in (order if wanted is None else wanted))
        limit = max(TIME_LIMIT_FLOOR_SECONDS, TIME_LIMIT_FACTOR * budget)
        queue.append((mutant, wanted, limit))

    _warm(target)
    running: dict[int, tuple[Mutant, list[str] | None, float, float, int]] = {}
    cold: set[int] = set()  # mutants that need a fresh import of the module
    while queue or running:
        while queue and len(running) < jobs:
            mutant, wanted, limit = queue.pop(0)
            function = enclosing_function(source, mutant)
            text = mutated_source(source, mutant)
            if function is None or mutant.number in cold:
                pid = _cold(target, mutant, wanted)
            else:
                pid = _fork(functools.partial(_warm_child, target, text, function, wanted))
            with contextlib.suppress(OSError):
                os.setpgid(pid, pid)
            count = len(order) if wanted is None else len(wanted)
            running[pid] = (mutant, wanted, time.perf_counter(), limit, count)
        pid, status = os.waitpid(-1, os.WNOHANG)
        now = time.perf_counter()
        if pid == 0:
            for child, (mutant, _, began, limit, count) in list(running.items()):
                if now - began > limit:
                    _kill_group(child)
                    os.waitpid(child, 0)
                    del running[child]
                    results.append(Result(mutant, "timeout", now - began, count))
                    _progress(results[-1], verbose)
            time.sleep(0.01)
            continue
        if pid not in running:
            continue
        mutant, wanted, began, limit, count = running.pop(pid)
        _kill_group(pid)  # anything the tests started and left behind
        code = os.waitstatus_to_exitcode(status)
        if code == _NEEDS_COLD:
            cold.add(mutant.number)
            queue.insert(0, (mutant, wanted, limit))
            continue
        verdict = "survived" if code in (0, 5) else "killed"
        results.append(Result(mutant, verdict, now - began, count))
        _progress(results[-1], verbose)
    results.sort(key=lambda r: r.mutant.number)
    return results, time.perf_counter() - started


_NEEDS_COLD = 99


def _warm(target: Target) -> None:
    """Import the project and the target's tests here, once; every forked child reuses them."""
    _quiet_hypothesis()
    saved = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        code = pytest.main([*_pytest_args(target), "--collect-only"])
    finally:
        sys.stdout.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(devnull)
    if code != 0:
        raise SystemExit(f"{target.name}: collecting the tests failed (exit {code})")
    importlib.import_module(target.module)


def _warm_child(target: Target, text: str, function: str, wanted: list[str] | None) -> int:
    if not patch_in_place(target, text, function):
        return _NEEDS_COLD
    return int(pytest.main(_pytest_args(target), plugins=[_Select(wanted)]))


def _cold(target: Target, mutant: Mutant, wanted: list[str] | None) -> int:
    """Start one mutant in a fresh interpreter (for a change that runs at import); its pid."""
    selection = Path(f"/tmp/mutate-{os.getpid()}-{target.name}-{mutant.number}.json")
    selection.write_text(json.dumps(wanted))
    command = [sys.executable, __file__, "--cold", target.name, str(mutant.number), str(selection)]
    # fork + exec rather than subprocess.Popen: Popen reaps finished children it no
    # longer holds, which would steal exit statuses from the loop's waitpid.
    return _fork(lambda: os.execv(sys.executable, command))


def cold_main(name: str, number: int, selection: Path) -> int:
    """``--cold``: run mutant ``number`` of ``name`` with the module imported from its source."""
    target = _chosen([name])[0]
    wanted = json.loads(selection.read_text())
    selection.unlink()
    source, mutants = mutants_of(target)
    text = mutated_source(source, mutants[number - 1])
    sys.path.insert(0, str(ROOT))
    _quiet_hypothesis()
    sys.meta_path.insert(0, _MutantFinder(target.module, ROOT / target.path, text))
    # Imported now, before pytest installs its assertion-rewriting import hook
    # (which takes over every module of a distribution that registers a pytest
    # plugin, this project's included, and would import the unmutated file).
    try:
        importlib.import_module(target.module)
    except Exception:  # the mutant breaks the import itself: every test would fail
        return 1
    return int(pytest.main(_pytest_args(target), plugins=[_Select(wanted)]))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _progress(result: Result, verbose: bool) -> None:
    if verbose:
        print(
            f"  {result.mutant.number:4d} {result.status:9s} {result.seconds:5.1f}s "
            f"{result.mutant.ident}",
            flush=True,
        )


# --------------------------------------------------------------------------- report


def summarise(target: Target, results: list[Result], seconds: float) -> dict[str, Any]:
    counts = {s: 0 for s in ("killed", "timeout", "survived", "uncovered", "equivalent")}
    for result in results:
        counts[result.status] += 1
    considered = len(results) - counts["equivalent"]
    killed = counts["killed"] + counts["timeout"]
    rate = 100.0 * killed / considered if considered else 100.0
    return {
        "target": target.name,
        "path": target.path,
        "mutants": len(results),
        **counts,
        "kill_rate": round(rate, 1),
        "seconds": round(seconds, 1),
        "results": [
            {
                "number": r.mutant.number,
                "id": r.mutant.ident,
                "status": r.status,
                "seconds": round(r.seconds, 2),
            }
            for r in results
        ],
        "survivors": [
            {
                "number": r.mutant.number,
                "line": r.mutant.line,
                "id": r.mutant.ident,
                "status": r.status,
            }
            for r in results
            if r.status in ("survived", "uncovered")
        ],
    }


def _print_summary(summary: dict[str, Any]) -> None:
    print(
        f"{summary['target']:13s} {summary['kill_rate']:5.1f}% killed  "
        f"({summary['killed']} failed a test, {summary['timeout']} timed out, "
        f"{summary['survived']} survived, {summary['uncovered']} uncovered, "
        f"{summary['equivalent']} equivalent; {summary['mutants']} mutants, "
        f"{summary['seconds']:.0f} s)",
        flush=True,
    )
    for survivor in summary["survivors"]:
        print(
            f"    survivor {survivor['number']:4d} line {survivor['line']:4d} "
            f"[{survivor['status']}] {survivor['id']}"
        )


def _chosen(names: Sequence[str]) -> list[Target]:
    by_name = {t.name: t for t in TARGETS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[n] for n in names] if names else list(TARGETS)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["--cold"]:
        _, name, number, selection = args_list
        return cold_main(name, int(number), Path(selection))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="target names (default: all)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--list", action="store_true", help="list mutants, run nothing")
    parser.add_argument("--diff", type=int, metavar="N", help="show mutant N of one target")
    parser.add_argument(
        "--mutants", metavar="N,M", help="run only these mutant numbers (one target)"
    )
    parser.add_argument("--json", type=Path, help="write every summary to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per mutant")
    args = parser.parse_args(argv)
    targets = _chosen(args.targets)
    if args.diff is not None:
        if len(targets) != 1:
            raise SystemExit("--diff needs exactly one target")
        source, mutants = mutants_of(targets[0])
        mutant = mutants[args.diff - 1]
        before = ast.unparse(ast.parse(source)).splitlines()
        after = mutated_source(source, mutant).splitlines()
        print(mutant.ident)
        print(
            "\n".join(difflib.unified_diff(before, after, "original", "mutant", lineterm="", n=2))
        )
        return 0
    equivalents = load_equivalents()
    known = {t.name: {m.ident for m in mutants_of(t)[1]} for t in targets}
    for name, entries in equivalents.items():
        stale = set(entries) - known.get(name, set(entries))
        for ident in sorted(stale):
            print(f"warning: {EQUIVALENTS_FILE.name} names no current mutant of {name}: {ident}")
    if args.list:
        for target in targets:
            for mutant in mutants_of(target)[1]:
                mark = " (equivalent)" if mutant.ident in equivalents.get(target.name, {}) else ""
                print(
                    f"{target.name} {mutant.number:4d} line {mutant.line:4d} {mutant.ident}{mark}"
                )
        return 0
    sys.path.insert(0, str(ROOT))
    only = None
    if args.mutants:
        if len(targets) != 1:
            raise SystemExit("--mutants needs exactly one target")
        only = {int(n) for n in args.mutants.split(",")}
    summaries = []
    total = time.perf_counter()
    for target in targets:
        results, seconds = run_target(
            target, args.jobs, equivalents.get(target.name, {}), verbose=args.verbose, only=only
        )
        summary = summarise(target, results, seconds)
        _print_summary(summary)
        summaries.append(summary)
    print(f"total {time.perf_counter() - total:.0f} s with {args.jobs} job(s)")
    if args.json is not None:
        args.json.write_text(json.dumps(summaries, indent=2) + "\n")
    below = [s["target"] for s in summaries if s["kill_rate"] < 95.0]
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
