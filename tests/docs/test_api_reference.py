"""``docs/api.md`` lists every public name, describes the headline API, and is not stale."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
import types
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "api.md"
HEADLINE = (
    "caresupport_transport",
    "caresupport_transport.inbound",
    "adapters.memory",
    "adapters.linq",
    "adapters.linq.simulator",
    "adapters.twilio",
    "adapters.twilio.simulator",
)
"""The packages a user imports from: each of their classes and functions is described."""
EVERY_METHOD_DESCRIBED = (
    "caresupport_transport.Transport",
    "caresupport_transport.Provider",
    "caresupport_transport.ProviderTransport",
    "caresupport_transport.EventStore",
    "caresupport_transport.MemoryEventStore",
    "caresupport_transport.SqliteEventStore",
    "caresupport_transport.InboundDispatcher",
    "adapters.memory.InMemoryTransport",
    "adapters.memory.NoSleep",
    "adapters.linq.LinqClient",
    "adapters.linq.LinqTransport",
    "adapters.linq.asgi.WebhookReceiver",
    "adapters.linq.webhooks.WebhookVerifier",
)


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "tools" / "gen_api.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def public_modules() -> list[str]:
    """Every module of both packages with no ``_``-prefixed part (found here, not by the tool)."""
    found = ["caresupport_transport", "adapters"]
    for name in list(found):
        path = importlib.import_module(name).__path__
        found += [m.name for m in pkgutil.walk_packages(path, f"{name}.")]
    return [m for m in found if not any(p.startswith("_") for p in m.split("."))]


def entries() -> dict[str, list[str]]:
    """Each ``### `name``` section of the reference, as its non-blank lines."""
    sections = re.split(r"^### `([^`]+)`\n", API.read_text(encoding="utf-8"), flags=re.M)
    return {
        name: [line for line in _own_part(body).splitlines() if line.strip()]
        for name, body in zip(sections[1::2], sections[2::2], strict=True)
    }


def _own_part(body: str) -> str:
    """A section up to the next module heading or re-export list, whichever comes first."""
    return re.split(r"^(?:## |Re-exported here:)", body, maxsplit=1, flags=re.M)[0]


def _listed_name(line: str) -> str:
    """``send_message`` from ``- `async send_message(...) -> SendReceipt`: ...``."""
    match = re.match(r"- `(?:classmethod |staticmethod )?(?:async )?(?:property )?(\w+)", line)
    assert match is not None, line
    return match.group(1)


def test_every_name_of_every_public_all_is_in_the_reference() -> None:
    written = set(re.findall(r"`([A-Za-z_][\w.]*)`", API.read_text(encoding="utf-8")))
    exported = [
        f"{module}.{name}"
        for module in public_modules()
        for name in getattr(importlib.import_module(module), "__all__", ())
    ]
    assert len(exported) > 300  # the walk found the modules
    assert [] == [name for name in exported if name not in written]


def test_the_reference_is_what_the_generator_writes_from_the_code_today() -> None:
    assert generator().render() == API.read_text(encoding="utf-8"), (
        "docs/api.md is stale: run python tools/gen_api.py"
    )


@pytest.mark.parametrize("package", HEADLINE)
def test_each_class_and_function_of_the_headline_packages_has_a_description(
    package: str,
) -> None:
    module = importlib.import_module(package)
    sections = entries()
    undescribed = []
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue  # a constant: its value is shown
        home = next(q for q, lines in sections.items() if q.endswith(f".{name}") and lines)
        prose = [line for line in sections[home][1:] if not line.startswith(("- `", "Bases:"))]
        if not prose or prose[0].startswith("Members:"):
            undescribed.append(home)
    assert [] == undescribed


@pytest.mark.parametrize("qualified", EVERY_METHOD_DESCRIBED)
def test_every_public_method_of_the_main_classes_is_listed_with_a_description(
    qualified: str,
) -> None:
    module_name, name = qualified.rsplit(".", 1)
    cls = getattr(importlib.import_module(module_name), name)
    methods = {
        member
        for klass in cls.__mro__
        if klass.__module__.split(".")[0] in ("caresupport_transport", "adapters")
        for member, value in vars(klass).items()
        if not member.startswith("_")
        and isinstance(value, types.FunctionType | property | classmethod | staticmethod)
    }
    listed = {_listed_name(line): line for line in entries()[qualified] if line.startswith("- `")}
    assert sorted(methods) == sorted(listed)
    assert [] == [line for line in listed.values() if not re.search(r"`: \S", line)]
