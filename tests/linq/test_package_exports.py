"""``adapters.linq`` imports ``LinqTransport`` on first use: ``LinqClient`` alone imports light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import adapters.linq
from adapters.linq._polling import PollReport
from adapters.linq.transport import LinqTransport


def test_the_lazily_loaded_names_are_the_real_classes() -> None:
    assert (LinqTransport, PollReport) == (adapters.linq.LinqTransport, adapters.linq.PollReport)


def test_every_public_name_resolves_and_is_listed_by_dir() -> None:
    assert all(hasattr(adapters.linq, name) for name in adapters.linq.__all__)
    assert set(adapters.linq.__all__) <= set(dir(adapters.linq))


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        adapters.linq.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_client_does_not_import_the_transport() -> None:
    probe = (
        "import sys\n"
        "from adapters.linq import LinqClient\n"
        "print(sorted(m for m in ('adapters.linq.transport', 'adapters.linq._polling')"
        " if m in sys.modules))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert "[]" == found.stdout.strip()
