"""Print the soak's figures in the terminal summary, so they appear in every CI log."""

from __future__ import annotations

import pytest

from .figures import FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = FIGURES.render()
    if not lines:
        return
    terminalreporter.section("reliability soak figures")
    for line in lines:
        terminalreporter.write_line(line)
