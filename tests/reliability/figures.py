"""The soak's figures, collected by the tests and printed at the end of every run."""

from __future__ import annotations

import attrs

__all__ = ["FIGURES", "Figures"]


@attrs.define
class Figures:
    """Named sections of ``label: value`` lines, in the order the tests recorded them."""

    sections: dict[str, list[tuple[str, object]]] = attrs.Factory(dict)

    def record(self, section: str, **values: object) -> None:
        """Add (or overwrite) figures under ``section``; keyword order is kept."""
        lines = self.sections.setdefault(section, [])
        known = {label: index for index, (label, _) in enumerate(lines)}
        for label, value in values.items():
            if label in known:
                lines[known[label]] = (label, value)
            else:
                lines.append((label, value))

    def render(self) -> list[str]:
        """The figures as text lines, a heading per section."""
        text: list[str] = []
        for section, lines in self.sections.items():
            text.append(f"{section}:")
            width = max((len(label) for label, _ in lines), default=0)
            text.extend(f"  {label.replace('_', ' '):<{width}}  {value}" for label, value in lines)
        return text


FIGURES = Figures()
"""Filled by the reliability tests; ``conftest.pytest_terminal_summary`` prints it."""
