"""Which event store a command uses: ``--store``, else ``$CARESUPPORT_STORE_URL``, else SQLite.

The one rule for ``webhooks serve`` and the ``inbox`` commands, so that by
default they all open the same file.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DEFAULT_STORE_URL", "STORE_URL_ENV_VAR", "store_url_from"]

STORE_URL_ENV_VAR = "CARESUPPORT_STORE_URL"
"""The environment variable naming the store when ``--store`` is not given."""

DEFAULT_STORE_URL = "sqlite:///events.sqlite"
"""The store without ``--store`` or ``$CARESUPPORT_STORE_URL``: a file in the working directory."""


def store_url_from(given: str | None, environ: Mapping[str, str]) -> str:
    """``given`` (the ``--store`` flag), else ``$CARESUPPORT_STORE_URL``, else the default."""
    if given is not None:
        return given
    return environ.get(STORE_URL_ENV_VAR, "").strip() or DEFAULT_STORE_URL
