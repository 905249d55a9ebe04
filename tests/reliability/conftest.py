"""Print the soak's figures in the terminal summary, so they appear in every CI log.

The inbox proofs run against the real PostgreSQL and Redis servers the store
tests use: ``postgres_url`` and ``redis_url`` are those fixtures (the server
from ``.ci/run``'s environment, or a throwaway one; never skipped).
"""

from __future__ import annotations

import pytest

from tests.stores.conftest import postgres_url, redis_url

from .figures import FIGURES

__all__ = ["postgres_url", "pytest_terminal_summary", "redis_url"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = FIGURES.render()
    if not lines:
        return
    terminalreporter.section("reliability soak figures")
    for line in lines:
        terminalreporter.write_line(line)
