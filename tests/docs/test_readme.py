"""The README's care-logic example runs as written (so the README stays true)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(
        r"<!-- example:start -->\n```python\n(.*?)```\n<!-- example:end -->", text, re.S
    )
    assert match is not None, "README lost its care-logic example"
    return match.group(1)


def test_readme_care_logic_example_is_at_most_fifteen_lines_of_code() -> None:
    lines = [line for line in _example().splitlines() if line.strip()]
    assert len(lines) <= 15


def test_readme_care_logic_example_passes_as_a_test() -> None:
    namespace: dict[str, object] = {}
    exec(compile(_example(), str(README), "exec"), namespace)
    test = namespace["test_sms_only_daughter_gets_the_reminder_without_the_effect"]
    import asyncio

    asyncio.run(test())  # type: ignore[operator]
