"""adapters.linq.serving: the file-descriptor budget, the server limits, and the flood filter."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from adapters.linq.serving import FD_RESERVE, FdBudget, FloodFilter, ServerLimits, fd_budget
from caresupport_transport import ConfigurationError


@pytest.mark.parametrize(
    ("max_connections", "fd_limit", "expected"),
    [
        (1000, 20_000, FdBudget(1000, 2048)),  # plenty: the default backlog
        (1000, 1024, FdBudget(496, 248)),  # half the room, and half the rest
        (1000, 64, FdBudget(16, 8)),
        (10, 64, FdBudget(10, 11)),  # a smaller bound leaves more backlog
        (1000, FD_RESERVE + 3, FdBudget(1, 1)),
    ],
)
def test_fd_budget_fits_connections_and_backlog_in_the_limit(
    max_connections: int, fd_limit: int, expected: FdBudget
) -> None:
    budget = fd_budget(max_connections, fd_limit)

    assert expected == budget
    # Peak: the connections, one accept burst, and one burst evicted but not yet closed.
    assert budget.connections + 2 * budget.backlog <= fd_limit - FD_RESERVE


def test_an_fd_limit_with_no_room_is_refused_naming_ulimit() -> None:
    with pytest.raises(ConfigurationError, match="ulimit -n"):
        fd_budget(1000, FD_RESERVE + 2)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("header_timeout", 0),
        ("header_timeout", math.inf),
        ("header_timeout", True),
        ("keep_alive_timeout", -1),
        ("max_connections", 0),
        ("max_connections", 1.5),
        ("max_header_bytes", 0),
    ],
)
def test_server_limits_name_the_field_that_is_wrong(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=field):
        ServerLimits(**{field: value})


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def record(message: str, *args: object, name: str = "adapters.linq.serving") -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, args or None, None)


def test_flood_filter_lets_one_record_of_a_kind_through_per_interval() -> None:
    clock = Clock()
    flood = FloodFilter(10.0, clock=clock)
    template = "closed a connection that sent no complete request within %g s"

    first = [flood.filter(record(template, 4.0)) for _ in range(300)]
    clock.now += 10.0
    later = record(template, 4.0)
    passed_later = flood.filter(later)

    assert [True] + [False] * 299 == first
    assert passed_later
    assert later.getMessage().endswith("[and 299 more like this in the 10 s before]")


def test_flood_filter_tells_kinds_apart_by_logger_level_and_first_line() -> None:
    flood = FloodFilter(10.0, clock=Clock())
    asyncio_error = "socket.accept() out of system resource\nsocket: <fd=%d>"

    passed = [
        flood.filter(record("refused a webhook delivery: %s", "missing header")),
        flood.filter(record("refused a webhook delivery: %s", "stale")),  # same template
        flood.filter(record(asyncio_error, 7, name="asyncio")),
        flood.filter(record(asyncio_error, 8, name="asyncio")),  # same first line
        flood.filter(record("refused a webhook delivery: %s", "x", name="other")),
    ]

    assert [True, False, True, False, True] == passed


def test_flood_summary_counts_what_was_left_out_then_starts_again() -> None:
    flood = FloodFilter(10.0, clock=Clock())
    for _ in range(51):
        flood.filter(record("refused a request: %d already in hand", 64))

    summary = flood.summary_record()
    again = flood.summary()

    assert summary is not None
    assert flood.filter(summary)  # the summary itself is never held back
    assert "50 x WARNING adapters.linq.serving: 'refused a request: %d already in hand'" in (
        summary.getMessage()
    )
    assert None is again


def test_flood_filter_interval_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="interval"):
        FloodFilter(0)
