"""open_event_store(url): each scheme opens its store; bad URLs are refused before any I/O."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

from caresupport_transport import ConfigurationError
from caresupport_transport.inbound import (
    STORE_SCHEMES,
    MemoryEventStore,
    SqliteEventStore,
    open_event_store,
)
from caresupport_transport.inbound.postgres_store import PostgresEventStore
from caresupport_transport.inbound.redis_store import RedisEventStore
from caresupport_transport.inbound.urls import check_store_url, redacted_url

from .conftest import forget_namespace, fresh_namespace
from .servers import free_port


async def test_memory_url_opens_a_memory_store_with_the_retention_given() -> None:
    store = await open_event_store("memory://", retention=timedelta(hours=2))

    assert isinstance(store, MemoryEventStore)
    assert timedelta(hours=2) == store.retention


async def test_sqlite_url_opens_the_file_at_its_path(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    store = await open_event_store(f"sqlite:///{path}")
    try:
        assert isinstance(store, SqliteEventStore)
        assert path == store.path
        assert path.exists()
    finally:
        await store.close()


@pytest.mark.parametrize(("query", "level"), [("", "full"), ("?synchronous=normal", "normal")])
async def test_sqlite_url_sets_the_synchronous_level_full_unless_asked(
    tmp_path: Path, query: str, level: str
) -> None:
    path = tmp_path / "events.sqlite"
    store = await open_event_store(f"sqlite:///{path}{query}")
    try:
        assert isinstance(store, SqliteEventStore)
        assert (path, level) == (store.path, await store.synchronous())
    finally:
        await store.close()


async def test_postgresql_url_opens_a_postgres_store_in_the_namespace(postgres_url: str) -> None:
    namespace = fresh_namespace()
    store = await open_event_store(postgres_url, namespace=namespace)
    try:
        assert isinstance(store, PostgresEventStore)
        assert namespace == store.namespace
    finally:
        await store.close()
        forget_namespace("postgres", postgres_url, namespace)


async def test_redis_url_opens_a_redis_store_in_the_namespace(redis_url: str) -> None:
    namespace = fresh_namespace()
    store = await open_event_store(redis_url, namespace=namespace)
    try:
        assert isinstance(store, RedisEventStore)
        assert namespace == store.namespace
    finally:
        await store.close()
        forget_namespace("redis", redis_url, namespace)


def test_the_schemes_are_the_four_stores_and_their_aliases() -> None:
    assert ("memory", "sqlite", "postgresql", "postgres", "redis", "rediss") == STORE_SCHEMES


MALFORMED = [
    ("events.db", "expected scheme://"),
    ("mysql://care@localhost/care", "unknown scheme 'mysql'"),
    ("memory://somewhere", "just memory://"),
    ("sqlite:///", "sqlite:///relative/path.db"),
    ("sqlite://events.db", "sqlite:///relative/path.db"),
    ("sqlite:///events.db?synchronous=off", "synchronous must be one of full, normal"),
    ("sqlite:///events.db?journal=delete", "takes only ?synchronous=..., got journal"),
]


@pytest.mark.parametrize(("url", "rule"), MALFORMED)
async def test_a_malformed_url_is_refused_with_the_rule(url: str, rule: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^store url: ") as caught:
        await open_event_store(url)

    assert rule in str(caught.value)


@pytest.mark.parametrize(("url", "rule"), MALFORMED)
def test_check_store_url_refuses_what_open_event_store_refuses(url: str, rule: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^store url: ") as caught:
        check_store_url(url)

    assert rule in str(caught.value)


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("memory://", "memory"),
        ("SQLite:///events.db", "sqlite"),
        ("sqlite:////var/lib/care/events.db", "sqlite"),
        ("postgresql://care:s3cret@db.internal/care", "postgresql"),
        ("rediss://127.0.0.1:6379/0", "rediss"),
    ],
)
def test_check_store_url_answers_the_scheme_without_opening_anything(url: str, scheme: str) -> None:
    assert scheme == check_store_url(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("memory://care:s3cret@db.internal", "memory://care:***@db.internal"),
        ("sqlite://care:s3cret@db.internal/x.db", "sqlite://care:***@db.internal/x.db"),
    ],
)
def test_a_malformed_memory_or_sqlite_url_is_quoted_without_its_password(
    url: str, shown: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_store_url(url)

    assert shown in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_non_positive_retention_is_refused_before_any_io() -> None:
    url = f"postgresql://care@127.0.0.1:{free_port()}/care"

    with pytest.raises(ConfigurationError, match="retention must be positive"):
        await open_event_store(url, retention=timedelta(0))


@pytest.mark.parametrize(
    ("url", "driver", "module", "extra"),
    [
        ("postgresql://care@127.0.0.1/care", "psycopg", "postgres_store", "postgres"),
        ("redis://127.0.0.1:6379/0", "redis", "redis_store", "redis"),
    ],
)
async def test_a_missing_driver_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, url: str, driver: str, module: str, extra: str
) -> None:
    """As on a core install (attrs, cattrs, httpx only): the driver cannot be imported."""
    monkeypatch.setitem(sys.modules, driver, None)
    monkeypatch.delitem(sys.modules, f"caresupport_transport.inbound.{module}")

    with pytest.raises(ConfigurationError) as caught:
        await open_event_store(url)

    assert f"pip install 'caresupport-transport[{extra}]'" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://care:s3cret@db.internal:5432/care",
            "postgresql://care:***@db.internal:5432/care",
        ),
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("postgresql://care@db.internal/care", "postgresql://care@db.internal/care"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert shown == redacted_url(url)


async def test_an_unknown_scheme_error_does_not_quote_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        await open_event_store("mongodb:/care:s3cret@db.internal/care")

    assert "s3cret" not in str(caught.value)
