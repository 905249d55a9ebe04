"""Fixtures shared by the Linq adapter's tests."""

from __future__ import annotations

import pytest

from .schema import MISSING_REASON, LinqSchema, load_schema


@pytest.fixture(scope="session")
def linq_schema() -> LinqSchema:
    """Linq's published schemas; the test is skipped, with the reason, when the file is absent."""
    schema = load_schema()
    if schema is None:
        pytest.skip(MISSING_REASON)
    return schema
