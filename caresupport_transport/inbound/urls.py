"""``open_event_store(url)``: an event store chosen by URL, for configuration files and flags.

=====================================  =============================================
URL                                    store
=====================================  =============================================
``memory://``                          :class:`MemoryEventStore` (one process, tests)
``sqlite:///events.db``                :class:`SqliteEventStore` (relative path;
                                       ``sqlite:////var/lib/x.db`` is absolute;
                                       ``?synchronous=normal`` trades power-cut
                                       safety for speed, default ``full``)
``postgresql://user:pw@host/db``       ``PostgresEventStore`` (extra ``postgres``)
``redis://host:6379/0``                ``RedisEventStore`` (extra ``redis``;
                                       ``rediss://`` for TLS)
=====================================  =============================================

The PostgreSQL and Redis drivers are optional extras, so their modules are imported
only when such a URL is opened: the core install (attrs, cattrs, httpx) never needs
them, and a missing extra is a :class:`~caresupport_transport.ConfigurationError`
that names it. :func:`check_store_url` applies the URL checks alone, without
opening anything, for configuration loaders that refuse a bad URL at load time.
"""

from __future__ import annotations

import asyncio
import importlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from caresupport_transport.errors import ConfigurationError
from caresupport_transport.inbound.memory_store import MemoryEventStore
from caresupport_transport.inbound.sqlite_store import SYNCHRONOUS_LEVELS, SqliteEventStore
from caresupport_transport.inbound.store import DEFAULT_RETENTION, EventStore

__all__ = [
    "STORE_SCHEMES",
    "STORE_URL_ENV_VAR",
    "check_store_url",
    "open_event_store",
    "redacted_url",
]

_NETWORKED = {
    "postgresql": (
        "caresupport_transport.inbound.postgres_store",
        "PostgresEventStore",
        "postgres",
    ),
    "postgres": ("caresupport_transport.inbound.postgres_store", "PostgresEventStore", "postgres"),
    "redis": ("caresupport_transport.inbound.redis_store", "RedisEventStore", "redis"),
    "rediss": ("caresupport_transport.inbound.redis_store", "RedisEventStore", "redis"),
}

STORE_URL_ENV_VAR = "CARESUPPORT_STORE_URL"
"""The environment variable naming the (inbox's) store, read by the composition roots only."""

STORE_SCHEMES = ("memory", "sqlite", *_NETWORKED)
"""The URL schemes :func:`open_event_store` understands."""


def check_store_url(url: str) -> str:
    """Check that ``url`` names a store :func:`open_event_store` can open; return its scheme.

    No I/O, no driver imported: the scheme must be one of :data:`STORE_SCHEMES`,
    a memory store is just ``memory://`` and a SQLite store
    ``sqlite:///path``. A networked store's own options (host, query
    parameters) are checked when it is opened. For configuration loaders that
    refuse a bad URL at load time, long before the store is opened.

    Returns:
        The scheme, in lower case (``"sqlite"``, ``"postgresql"``...).

    Raises:
        ConfigurationError: ``store url: ...`` with the rule; the message never
            quotes a password.
    """
    if not isinstance(url, str) or "://" not in url:
        # Not quoted: a mistyped URL may still hold a password.
        raise ConfigurationError(
            f"store url: expected scheme://..., one of {', '.join(STORE_SCHEMES)}; "
            "the value given has no ://"
        )
    scheme = url.split("://", 1)[0].lower()
    if scheme not in STORE_SCHEMES:
        raise ConfigurationError(
            f"store url: unknown scheme {scheme!r}; expected one of {', '.join(STORE_SCHEMES)}"
        )
    if scheme == "memory" and url.lower() != "memory://":
        raise ConfigurationError(
            f"store url: a memory store is just memory://, got {redacted_url(url)!r}"
        )
    if scheme == "sqlite" and (
        not url.lower().startswith("sqlite:///") or len(url) == len("sqlite:///")
    ):
        raise ConfigurationError(
            "store url: a SQLite store is sqlite:///relative/path.db or "
            f"sqlite:////absolute/path.db, got {redacted_url(url)!r}"
        )
    if scheme == "sqlite":
        _sqlite_options(url)
    return scheme


def redacted_url(url: object) -> str:
    """``url`` as a message or log may quote it: the password replaced by ``***``."""
    text = str(url)
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return "<unparsable url>"
    if password is None:
        return text
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


async def open_event_store(
    url: str,
    *,
    retention: timedelta = DEFAULT_RETENTION,
    namespace: str = "caresupport",
) -> EventStore:
    """Open the event store that ``url`` names; close it with ``close()`` when done.

    Args:
        url: ``memory://``, ``sqlite:///path``, ``postgresql://...`` or ``redis://...``.
        retention: how long a done key is remembered (default 48 hours).
        namespace: separates deployments sharing one PostgreSQL database or Redis
            server (a schema, a key prefix); the memory and SQLite stores ignore it.

    Raises:
        ConfigurationError: the URL or an option is malformed (before any I/O), or
            the scheme's extra is not installed (``pip install
            'caresupport-transport[postgres]'``).
        UnreachableError: a networked store's server did not answer.
    """
    scheme = check_store_url(url)
    if retention <= timedelta(0):
        raise ConfigurationError(f"retention must be positive, got {retention}")
    if scheme == "memory":
        return MemoryEventStore(retention=retention)
    if scheme == "sqlite":
        path, synchronous = _sqlite_options(url)
        return await asyncio.to_thread(
            SqliteEventStore, path, retention=retention, synchronous=synchronous
        )
    module_name, class_name, extra = _NETWORKED[scheme]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"store url: the {scheme}:// scheme needs the {extra!r} extra "
            f"(pip install 'caresupport-transport[{extra}]'); missing {exc.name}"
        ) from exc
    store_class: Any = getattr(module, class_name)
    store: EventStore = await store_class.connect(url, retention=retention, namespace=namespace)
    return store


def _sqlite_options(url: str) -> tuple[str, str]:
    """The path and ``synchronous`` level of ``sqlite:///path[?synchronous=LEVEL]``."""
    path, _, query = url[len("sqlite:///") :].partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - {"synchronous"})
    if unknown:
        raise ConfigurationError(
            f"store url: a SQLite store takes only ?synchronous=..., got {', '.join(unknown)}"
        )
    synchronous = options.get("synchronous", "full")
    if synchronous not in SYNCHRONOUS_LEVELS:
        raise ConfigurationError(
            f"store url: synchronous must be one of {', '.join(SYNCHRONOUS_LEVELS)}, "
            f"got {synchronous!r}"
        )
    return path, synchronous
