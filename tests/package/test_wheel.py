"""The wheel as installed by a user: typed (``py.typed``), versioned, and not the source tree."""

from __future__ import annotations

import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import caresupport_transport

from .fresh_install import ROOT, FreshInstall

DOWNSTREAM = '''\
"""A user's module: care logic on the port, wired to each adapter."""

from adapters.linq import LinqClient, LinqConfig, LinqTransport, Secret
from adapters.linq.asgi import WebhookReceiver
from adapters.linq.webhooks import WebhookVerifier
from adapters.memory import InMemoryTransport, NoSleep, RecipientKind, World
from caresupport_transport import (
    BubbleSendResult,
    Handle,
    InboundDispatcher,
    InboundEvent,
    MemoryEventStore,
    OutgoingMessage,
    SendReceipt,
    Service,
    Transport,
    send_bubbles,
)


async def remind(transport: Transport, who: Handle) -> SendReceipt:
    chat = await transport.conversation_for(who)
    message = OutgoingMessage.of_text("Time for Mum's 2pm pill")
    return await transport.send_message(chat.id, message, idempotency_key="reminder-2pm")


async def explain(transport: Transport, chat_id: str, no_sleep: NoSleep) -> BubbleSendResult:
    return await send_bubbles(
        transport, chat_id, "A long explanation. " * 40, idempotency_key="k", pause=no_sleep
    )


async def on_event(event: InboundEvent) -> None:
    pass


def in_memory() -> Transport:
    world = World(seed=1)
    world.add_recipient(Handle("+16515550101"), RecipientKind.SMS_ONLY)
    return InMemoryTransport(world)


def production(token: str, secret: str) -> tuple[Transport, WebhookReceiver]:
    client = LinqClient(LinqConfig(api_token=Secret(token)), sleep=NoSleep())
    dispatcher = InboundDispatcher(on_event, MemoryEventStore())
    return LinqTransport(client), WebhookReceiver(WebhookVerifier(secret), dispatcher)


def is_sms(receipt: SendReceipt) -> bool:
    return receipt.service is Service.SMS
'''

MISTAKE = """\
from caresupport_transport import Transport


async def remind(transport: Transport) -> None:
    await transport.send_message("chat-1", "Time for Mum's 2pm pill")
"""


@pytest.fixture(scope="module")
def mypy_output(installed: FreshInstall, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``mypy --strict`` (this environment's) on both modules, importing from the fresh venv."""
    workdir = tmp_path_factory.mktemp("downstream")
    (workdir / "downstream.py").write_text(DOWNSTREAM, encoding="utf-8")
    (workdir / "mistake.py").write_text(MISTAKE, encoding="utf-8")
    done = installed.run(
        sys.executable, "-m", "mypy", "--strict", "--no-incremental",
        "--cache-dir", workdir / ".mypy_cache",
        "--python-executable", installed.python, "downstream.py", "mistake.py",
        cwd=workdir,
    )  # fmt: skip
    return done.stdout + done.stderr


def test_the_wheel_carries_the_type_markers_and_both_entry_points(installed: FreshInstall) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        declared = wheel.read(entry_points).decode()
    assert {"caresupport_transport/py.typed", "adapters/py.typed"} <= names
    assert "caresupport-transport = adapters.cli.main:main" in declared
    assert "[pytest11]\ncaresupport_transport = adapters.memory.pytest_plugin" in declared
    assert not any(n.startswith(("tests/", "tools/", "benchmarks/")) for n in names)


def test_the_installed_packages_are_the_wheels_not_the_source_tree(
    installed: FreshInstall, tmp_path: Path
) -> None:
    probe = textwrap.dedent(
        """\
        import importlib.metadata, adapters, adapters.linq, caresupport_transport
        print(caresupport_transport.__file__)
        print(adapters.__file__)
        print(importlib.metadata.version("caresupport-transport"))
        print(caresupport_transport.__version__)
        """
    )
    done = installed.run(installed.python, "-c", probe, cwd=tmp_path)
    assert 0 == done.returncode, done.stderr
    domain, adapters, metadata_version, module_version = done.stdout.splitlines()
    for path in (domain, adapters):
        assert Path(path).is_relative_to(installed.site_packages)
        assert not Path(path).resolve().is_relative_to(ROOT)
    assert metadata_version == module_version == caresupport_transport.__version__


def test_the_installed_command_prints_its_version(installed: FreshInstall, tmp_path: Path) -> None:
    done = installed.run("caresupport-transport", "--version", cwd=tmp_path)
    assert (0, f"caresupport-transport {caresupport_transport.__version__}\n") == (
        done.returncode,
        done.stdout,
    )


def test_mypy_strict_accepts_a_downstream_module_on_the_public_api(mypy_output: str) -> None:
    assert [] == [line for line in mypy_output.splitlines() if line.startswith("downstream.py")]
    assert "Found 1 error in 1 file (checked 2 source files)" in mypy_output


def test_mypy_strict_sees_the_installed_types_and_catches_a_misuse(mypy_output: str) -> None:
    """Without ``py.typed`` the package would be ``Any`` and this mistake would pass."""
    assert [
        'mistake.py:5: error: Argument 2 to "send_message" of "Transport" has incompatible'
        ' type "str"; expected "OutgoingMessage"  [arg-type]'
    ] == [line for line in mypy_output.splitlines() if line.startswith("mistake.py")]


def test_the_wheel_carries_the_web_console_page_script_and_styles(
    installed: FreshInstall,
) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    static = "adapters/linq/simulator/console/static/"
    assert {f"{static}console.html", f"{static}console.js", f"{static}console.css"} <= names
