"""The simulator's web console: a phone per person at ``/console`` (``docs/console.md``)."""

from adapters.linq.simulator.console.actions import FAULT_SWITCHES
from adapters.linq.simulator.console.console import CONSOLE_PATH, Console
from adapters.linq.simulator.console.export import export_pytest

__all__ = ["CONSOLE_PATH", "FAULT_SWITCHES", "Console", "export_pytest"]
