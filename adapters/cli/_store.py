"""Which event store a command opens: ``--store``, else an environment variable, else SQLite.

The one rule for every command that opens a store. ``webhooks serve`` and the
``inbox`` commands share ``$CARESUPPORT_STORE_URL`` (else ``events.sqlite``),
so that by default they all open the same file; the ``outbox`` commands read
``$CARESUPPORT_OUTBOX_STORE_URL`` (else ``outbox.sqlite``), because the outbox
needs a store of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from caresupport_transport.inbound.urls import STORE_URL_ENV_VAR, check_store_url

__all__ = [
    "DEFAULT_OUTBOX_STORE_URL",
    "DEFAULT_STORE_URL",
    "OUTBOX_STORE_URL_ENV_VAR",
    "STORE_URL_ENV_VAR",
    "missing_sqlite_file",
    "store_url_from",
]

DEFAULT_STORE_URL = "sqlite:///events.sqlite"
"""The store without ``--store`` or ``$CARESUPPORT_STORE_URL``: a file in the working directory."""

OUTBOX_STORE_URL_ENV_VAR = "CARESUPPORT_OUTBOX_STORE_URL"
"""The environment variable naming the outbox's store when ``--store`` is not given."""

DEFAULT_OUTBOX_STORE_URL = "sqlite:///outbox.sqlite"
"""The outbox's store without ``--store`` or ``$CARESUPPORT_OUTBOX_STORE_URL``."""

_SQLITE_PREFIX = "sqlite:///"


def store_url_from(
    given: str | None,
    environ: Mapping[str, str],
    *,
    env_var: str = STORE_URL_ENV_VAR,
    default: str = DEFAULT_STORE_URL,
) -> str:
    """``given`` (the ``--store`` flag), else ``$env_var`` (blank is unset), else ``default``."""
    if given is not None:
        return given
    return environ.get(env_var, "").strip() or default


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite store ``url`` that does not exist; ``None`` for any other store.

    Opening such a URL would create an empty store, and a command reporting on
    it would report it empty: commands that only look refuse it instead.

    Raises:
        ConfigurationError: ``url`` is malformed (the rule, never its password).
    """
    if check_store_url(url) != "sqlite":
        return None
    path = Path(url[len(_SQLITE_PREFIX) :])
    return None if path.exists() else path
