"""``InMemoryTransport`` satisfies the ``Transport`` port, as ``mypy --strict`` checks.

The annotated assignment below is the proof: mypy rejects it if any method of
the port is missing or has an incompatible signature. The test runs mypy on
this very file, so the proof holds even where CI type-checks only the packages.
"""

from __future__ import annotations

from pathlib import Path

from adapters.memory import InMemoryTransport, World
from caresupport_transport import Transport


def make_memory_transport() -> Transport:
    transport: Transport = InMemoryTransport(World(seed=1))
    return transport


def test_memory_transport_is_a_transport_at_run_time() -> None:
    transport = make_memory_transport()
    assert isinstance(transport, InMemoryTransport)


def test_mypy_strict_accepts_memory_transport_as_a_transport() -> None:
    from mypy import api

    here = Path(__file__)
    stdout, stderr, status = api.run(["--strict", "--no-error-summary", str(here)])
    assert (status, stdout + stderr) == (0, "")
