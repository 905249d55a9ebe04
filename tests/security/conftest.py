"""The ``sweep`` fixture: every logger at DEBUG, captured, for the leak checks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from .sweep import Sweep, everything_logged_at_debug


@pytest.fixture
def sweep(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Sweep]:
    caplog.set_level(logging.DEBUG)
    output = io.StringIO()
    with everything_logged_at_debug(output):
        yield Sweep(capsys, caplog, output)
