"""The in-memory adapter's public names: sorted, importable, nothing private."""

from __future__ import annotations

import adapters.memory as memory


def test_all_is_sorted_and_every_name_exists() -> None:
    assert sorted(memory.__all__) == memory.__all__
    assert [name for name in memory.__all__ if not hasattr(memory, name)] == []
    assert [name for name in memory.__all__ if name.startswith("_")] == []
