"""``LinqTransport`` satisfies the ``Transport`` port, as ``mypy --strict`` checks.

As in ``test_conformance.py``: the annotated assignment is the proof, and the
test runs mypy on this very file.
"""

from __future__ import annotations

from pathlib import Path

from adapters.linq import LinqClient, LinqConfig, LinqTransport
from caresupport_transport import Transport


def make_linq_transport() -> Transport:
    client = LinqClient(LinqConfig(api_token="lq_typing_only", phone_number="+15550100000"))
    transport: Transport = LinqTransport(client)
    return transport


def test_linq_transport_is_a_transport_at_run_time() -> None:
    transport = make_linq_transport()
    assert isinstance(transport, LinqTransport)


def test_mypy_strict_accepts_linq_transport_as_a_transport() -> None:
    from mypy import api

    here = Path(__file__)
    stdout, stderr, status = api.run(["--strict", "--no-error-summary", str(here)])
    assert (status, stdout + stderr) == (0, "")
