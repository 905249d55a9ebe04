"""The README's marked blocks, as the tests that run them read them."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def block(marker: str, language: str) -> str:
    """The code between ``<!-- {marker}:start -->`` and ``<!-- {marker}:end -->``."""
    text = README.read_text(encoding="utf-8")
    match = re.search(
        rf"<!-- {marker}:start -->\n```{language}\n(.*?)```\n<!-- {marker}:end -->", text, re.S
    )
    assert match is not None, f"README lost its {marker} block"
    return match.group(1)
