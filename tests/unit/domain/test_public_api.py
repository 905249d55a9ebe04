"""The package's public names: a sorted ``__all__`` whose every name exists."""

from __future__ import annotations

import subprocess
import sys

import pytest

import caresupport_transport


def _isort_order(name: str) -> tuple[int, str]:
    """Constants first, then classes, then functions, as ruff's RUF022 sorts ``__all__``."""
    if name.isupper():
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


def test_all_is_sorted() -> None:
    expected = sorted(caresupport_transport.__all__, key=_isort_order)

    assert expected == caresupport_transport.__all__


def test_every_public_name_exists_once() -> None:
    names = caresupport_transport.__all__

    assert len(set(names)) == len(names)
    assert [] == [name for name in names if not hasattr(caresupport_transport, name)]


def test_bubble_sequencing_is_public() -> None:
    for name in ("BubbleResult", "BubbleSendResult", "send_bubbles", "split_bubbles"):
        assert name in caresupport_transport.__all__


def test_the_domain_imports_no_adapter() -> None:
    """Adapters depend on the domain, never the reverse (so no import cycle can form)."""
    script = (
        "import pkgutil, importlib, sys, caresupport_transport as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'caresupport_transport.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'adapters'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "[]" == done.stdout.strip()


def test_a_name_the_domain_does_not_have_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'send_bubble'"):
        _ = caresupport_transport.send_bubble  # type: ignore[attr-defined]
