"""Each provider satisfies the ``Provider`` port, as ``mypy --strict`` checks.

As in ``test_conformance.py``: the annotated assignments are the proof, and the
test runs mypy on this very file. A third adapter adds its provider here.
"""

from __future__ import annotations

from pathlib import Path

from adapters.linq import LinqClient, LinqConfig
from adapters.linq.provider import LinqProvider
from adapters.memory import World
from adapters.memory.provider import MemoryProvider
from caresupport_transport.provider import Provider


def make_providers() -> list[Provider]:
    memory: Provider = MemoryProvider(World(seed=1))
    client = LinqClient(LinqConfig(api_token="lq_typing_only", phone_number="+15550100000"))
    linq: Provider = LinqProvider(client)
    return [memory, linq]


def test_each_provider_is_built_at_run_time() -> None:
    assert ["MemoryProvider", "LinqProvider"] == [type(p).__name__ for p in make_providers()]


def test_mypy_strict_accepts_each_provider_as_a_provider() -> None:
    from mypy import api

    here = Path(__file__)
    stdout, stderr, status = api.run(["--strict", "--no-error-summary", str(here)])
    assert (status, stdout + stderr) == (0, "")
