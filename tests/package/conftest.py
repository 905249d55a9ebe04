from __future__ import annotations

import pytest

from .fresh_install import FreshInstall, fresh_install


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> FreshInstall:
    """The wheel installed into a fresh venv, shared by this folder's tests."""
    return fresh_install(tmp_path_factory.mktemp("fresh-install"))
