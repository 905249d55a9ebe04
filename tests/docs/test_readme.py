"""The README's care-logic example runs as written (so the README stays true)."""

from __future__ import annotations

from .readme import README, block


def _example() -> str:
    return block("example", "python")


def test_readme_care_logic_example_is_at_most_fifteen_lines_of_code() -> None:
    lines = [line for line in _example().splitlines() if line.strip()]
    assert len(lines) <= 15


def test_readme_care_logic_example_passes_as_a_test() -> None:
    namespace: dict[str, object] = {}
    exec(compile(_example(), str(README), "exec"), namespace)
    test = namespace["test_sms_only_daughter_gets_the_reminder_without_the_effect"]
    import asyncio

    asyncio.run(test())  # type: ignore[operator]
