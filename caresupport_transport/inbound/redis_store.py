"""``RedisEventStore``: the event store shared by many receivers and workers (redis-py asyncio).

Design choices:

* Every step that reads and writes, or touches several keys, is one Lua script,
  which Redis runs atomically: a claim checks every key and takes all or none
  (a done key beats a live claim; a claim whose lease ended before ``now`` is
  taken over), renew and release act only for the holder's token, complete
  marks every key done. Scripts are sent by SHA and re-sent when the server
  has forgotten them (after a restart).
* Each handled key is a hash ``{namespace}:key:<key>`` (``done``, ``token``,
  ``expires_at`` in microseconds since the epoch); a sorted set
  ``{namespace}:expiries`` holds every key by ``expires_at``, so ``prune``
  removes exactly what expired by the ``now`` it is given (the caller's clock,
  as in every other store) and says how many. The braces are a cluster hash
  tag: every key of a namespace lives in one slot, so one script may touch an
  event's keys together. Cursors are the hash ``{namespace}:cursors``;
  ``{namespace}:schema`` records the layout's version so a later release can
  migrate what it finds.
* Redis also forgets on its own: a done key expires ``retention`` after it was
  completed and a claim ``retention`` after its lease ends (by the server's
  clock), so a namespace whose owner never prunes stays bounded but for its
  small expiry index, which ``prune`` trims.
* Redis may drop keys on its own before they expire: an eviction policy other
  than ``noeviction`` under memory pressure, or a restart without persistence.
  Either forgets done keys, and a redelivered event is then handled twice.
  ``connect`` reads ``maxmemory-policy`` and logs a warning unless it is
  ``noeviction`` (where ``CONFIG`` is refused, as on managed services, it
  cannot check).
* The driver's errors never leave the store: no answer (refused, dropped, timed
  out) is an :class:`~caresupport_transport.UnreachableError`, a refused login
  a :class:`~caresupport_transport.ConfigurationError`, any other refusal a
  :class:`~caresupport_transport.ProtocolError`; messages name the server but
  never its password, and never a key's or cursor's value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import redis.asyncio
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    TransportTimeoutError,
    UnreachableError,
    ValidationError,
)
from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus
from caresupport_transport.inbound.urls import redacted_url

__all__ = ["DEFAULT_TIMEOUT", "SCHEMA_VERSION", "RedisEventStore"]

SCHEMA_VERSION: Final = 1
"""The version of the key layout this release writes and reads."""

DEFAULT_TIMEOUT: Final = timedelta(seconds=5)
"""How long connecting, and each command, may take unless the URL says otherwise."""

_log = logging.getLogger(__name__)

_NAMESPACE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SCHEMES = ("redis", "rediss", "unix")
_PRUNE_BATCH = 1_000
# Query parameters a store URL may carry, and how each is read. Anything else
# is refused before any I/O rather than passed to the driver to fail later.
_QUERY_PARAMETERS = {
    "db": int,
    "socket_timeout": float,
    "socket_connect_timeout": float,
    "max_connections": int,
    "health_check_interval": int,
    "client_name": str,
    "ssl_cert_reqs": str,
    "ssl_ca_certs": str,
    "ssl_check_hostname": str,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Lua numbers are doubles: integers up to 2**53 compare exactly.
_LARGEST_MICROS = 2**53

_CLAIM = """
local now = tonumber(ARGV[2])
local busy = false
for i = 2, #KEYS do
  local entry = redis.call('HMGET', KEYS[i], 'done', 'expires_at')
  if entry[1] == '1' then
    return 'done'
  end
  if entry[1] and tonumber(entry[2]) > now then
    busy = true
  end
end
if busy then
  return 'busy'
end
for i = 2, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('HSET', KEYS[i], 'done', '0', 'token', ARGV[1], 'expires_at', ARGV[3])
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
  redis.call('ZADD', KEYS[1], ARGV[3], KEYS[i])
end
return 'claimed'
"""

_RENEW = """
local retention = tonumber(ARGV[3])
for i = 2, #KEYS do
  local entry = redis.call('HMGET', KEYS[i], 'done', 'token', 'expires_at')
  if entry[1] == '0' and entry[2] == ARGV[1] then
    local extension = math.floor((tonumber(ARGV[2]) - tonumber(entry[3])) / 1000)
    local ttl = redis.call('PTTL', KEYS[i]) + extension
    if ttl < retention then
      ttl = retention
    end
    redis.call('HSET', KEYS[i], 'expires_at', ARGV[2])
    redis.call('PEXPIRE', KEYS[i], ttl)
    redis.call('ZADD', KEYS[1], ARGV[2], KEYS[i])
  end
end
return 0
"""

_COMPLETE = """
for i = 2, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('HSET', KEYS[i], 'done', '1', 'expires_at', ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
  redis.call('ZADD', KEYS[1], ARGV[1], KEYS[i])
end
return 0
"""

_RELEASE = """
for i = 2, #KEYS do
  local entry = redis.call('HMGET', KEYS[i], 'done', 'token')
  if entry[1] == '0' and entry[2] == ARGV[1] then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], KEYS[i])
  end
end
return 0
"""

# The index names every key of the namespace; they share its slot (hash tag).
_PRUNE = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, key in ipairs(expired) do
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], key)
end
return #expired
"""

_SET_SCHEMA = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""


def _check_settings(url: str, *, retention: timedelta, namespace: str) -> None:
    """Refuse a bad URL or option, naming it, before any I/O."""
    shown = redacted_url(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigurationError(f"url: not a valid Redis URL ({shown})") from exc
    if parts.scheme not in _SCHEMES or "://" not in url:
        raise ConfigurationError(
            f"url: a Redis store URL starts with redis://, rediss:// or unix://, got {shown!r}"
        )
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigurationError(f"url: a unix:// URL needs the socket's path, got {shown!r}")
    else:
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(f"url: the port must be 1 to 65535, in {shown!r}") from exc
        if not parts.hostname:
            raise ConfigurationError(f"url: the host is missing, in {shown!r}")
        if port == 0:
            raise ConfigurationError(f"url: the port must be 1 to 65535, in {shown!r}")
        database = parts.path.strip("/")
        if database and not (database.isascii() and database.isdigit()):
            raise ConfigurationError(
                f"url: the path names the database by number (/0), got {database!r} in {shown!r}"
            )
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        read = _QUERY_PARAMETERS.get(name)
        if read is None:
            raise ConfigurationError(
                f"url: unknown query parameter {name!r} (known: "
                f"{', '.join(sorted(_QUERY_PARAMETERS))}), in {shown!r}"
            )
        try:
            number = read(value)
        except ValueError as exc:
            raise ConfigurationError(
                f"url: query parameter {name!r} must be a {read.__name__}, got {value!r}"
            ) from exc
        if isinstance(number, int | float) and number < 0:
            raise ConfigurationError(
                f"url: query parameter {name!r} must not be negative, got {value!r}"
            )
    if retention <= timedelta(0):
        raise ConfigurationError(f"retention must be positive, got {retention}")
    if not _NAMESPACE.fullmatch(namespace):
        raise ConfigurationError(
            "namespace must be 1 to 63 lowercase letters, digits or underscores, "
            f"not starting with a digit; got {namespace!r}"
        )


def _micros(moment: datetime, field: str) -> int:
    """``moment`` as whole microseconds since the epoch (a naive one is local time)."""
    micros = (moment.astimezone(UTC) - _EPOCH) // _MICROSECOND
    if abs(micros) >= _LARGEST_MICROS:
        raise ValidationError(
            field,
            "must lie between the years 1685 and 2255 (Redis compares times as "
            f"microseconds held exactly in a double), got {moment.isoformat()}",
        )
    return micros


def _milliseconds(duration: timedelta) -> int:
    """``duration`` in whole milliseconds, at least one (Redis expiries are integers)."""
    return max(1, -(-duration // timedelta(milliseconds=1)))


class RedisEventStore:
    """An ``EventStore`` in Redis, shared by every process that uses the same namespace.

    Create it with :meth:`connect` (it checks the server answers and records the
    layout version); use it as an async context manager or call :meth:`close`.

    Attributes:
        retention: how long a done key is remembered.
        namespace: the prefix (and cluster hash tag) of every key this store writes.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        server: str,
        retention: timedelta,
        namespace: str,
    ) -> None:
        """Wrap an open client (``decode_responses=True``); use :meth:`connect` instead."""
        self._client = client
        self._server = server
        self.retention = retention
        self.namespace = namespace
        self._closed = False
        self._prefix = f"{{{namespace}}}:"
        self._index = f"{self._prefix}expiries"
        self._cursors = f"{self._prefix}cursors"
        self._schema = f"{self._prefix}schema"
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._complete = client.register_script(_COMPLETE)
        self._release = client.register_script(_RELEASE)
        self._prune = client.register_script(_PRUNE)
        self._set_schema = client.register_script(_SET_SCHEMA)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        namespace: str = "caresupport",
    ) -> RedisEventStore:
        """Connect to the Redis server at ``url`` and record the layout version if new.

        Args:
            url: ``redis://[user:password@]host[:port][/db]`` (``rediss://`` for TLS,
                ``unix:///path/to/socket``); query parameters ``socket_timeout``,
                ``socket_connect_timeout`` (seconds, default 5), ``max_connections``,
                ``health_check_interval``, ``client_name``, ``db`` and the ``ssl_*``
                ones of redis-py.
            retention: how long a done key is remembered (default 48 hours).
            namespace: the prefix of every key (lowercase letters, digits, ``_``).

        Raises:
            ConfigurationError: a bad setting (checked before any I/O), a refused
                login, or keys written by a newer release of this library.
            UnreachableError: the server did not answer.
        """
        _check_settings(url, retention=retention, namespace=namespace)
        server = redacted_url(url)
        seconds = DEFAULT_TIMEOUT.total_seconds()
        try:
            client = redis.asyncio.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=seconds,
                socket_connect_timeout=seconds,
                # A pooled connection the server dropped (a restart) fails once;
                # the retry reconnects. A claim retried after a lost answer finds
                # its own live claim and says BUSY: a delay, never a double.
                retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2),
            )
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"url: not a valid Redis URL ({server}): {exc}") from exc
        store = cls(client, server=server, retention=retention, namespace=namespace)
        try:
            await store._record_schema()
            await store._check_eviction_policy()
        except BaseException:
            await client.aclose()
            raise
        return store

    async def _record_schema(self) -> None:
        with self._translated("connecting"):
            found = await self._set_schema(keys=[self._schema], args=[SCHEMA_VERSION])
        if not str(found).isdigit() or int(found) > SCHEMA_VERSION:
            raise ConfigurationError(
                f"event store {self._server}: namespace {self.namespace!r} holds layout "
                f"version {found!r}, not written by this release (it reads {SCHEMA_VERSION}); "
                "upgrade caresupport-transport or choose another namespace"
            )

    async def _check_eviction_policy(self) -> None:
        with self._translated("reading the eviction policy"):
            try:
                found = await self._client.config_get("maxmemory-policy")
            except redis.exceptions.ResponseError:
                return  # CONFIG disabled, renamed or not granted (managed services).
        policy = found.get("maxmemory-policy")
        if policy is not None and policy != "noeviction":
            _log.warning(
                "event store %s: maxmemory-policy is %s; under memory pressure Redis may "
                "evict done keys and a redelivered event would be handled twice. "
                "Set maxmemory-policy noeviction.",
                self._server,
                policy,
            )

    async def schema_version(self) -> int:
        """The layout version recorded in this namespace."""
        with self._translated("reading the layout version"):
            found = await self._client.get(self._schema)
        return int(found) if found is not None else 0

    async def claim(
        self, keys: Sequence[str], *, token: str, now: datetime, until: datetime
    ) -> ClaimStatus:
        now_us, until_us = _micros(now, "now"), _micros(until, "until")
        # Redis keeps a stale claim, as every store does until it is pruned or
        # taken over, then forgets it by itself a retention window later.
        ttl = _milliseconds(max(until - now, timedelta(0)) + self.retention)
        with self._translated("claiming"):
            found = await self._claim(
                keys=[self._index, *self._hashes(keys)], args=[token, now_us, until_us, ttl]
            )
        return ClaimStatus(found)

    async def renew(self, keys: Sequence[str], *, token: str, until: datetime) -> None:
        until_us = _micros(until, "until")
        with self._translated("renewing"):
            await self._renew(
                keys=[self._index, *self._hashes(keys)],
                args=[token, until_us, _milliseconds(self.retention)],
            )

    async def complete(self, keys: Sequence[str], *, now: datetime) -> None:
        expires_us = _micros(now + self.retention, "now")
        with self._translated("completing"):
            await self._complete(
                keys=[self._index, *self._hashes(keys)],
                args=[expires_us, _milliseconds(self.retention)],
            )

    async def release(self, keys: Sequence[str], *, token: str) -> None:
        with self._translated("releasing"):
            await self._release(keys=[self._index, *self._hashes(keys)], args=[token])

    async def is_done(self, key: str) -> bool:
        with self._translated("reading a key"):
            done = await self._client.hget(self._hash(key), "done")
        return done == "1"

    async def get_cursor(self, name: str) -> str | None:
        with self._translated("reading a cursor"):
            value = await self._client.hget(self._cursors, name)
        return None if value is None else str(value)

    async def set_cursor(self, name: str, value: str) -> None:
        with self._translated("saving a cursor"):
            await self._client.hset(self._cursors, name, value)

    async def prune(self, now: datetime) -> int:
        now_us = _micros(now, "now")
        removed = 0
        # In batches, so one prune of a large backlog never stalls the server.
        while True:
            with self._translated("pruning"):
                batch = int(await self._prune(keys=[self._index], args=[now_us, _PRUNE_BATCH]))
            removed += batch
            if batch < _PRUNE_BATCH:
                return removed

    async def close(self) -> None:
        """Close every pooled connection; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._client.aclose()

    async def __aenter__(self) -> RedisEventStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _hash(self, key: str) -> str:
        return f"{self._prefix}key:{key}"

    def _hashes(self, keys: Sequence[str]) -> list[str]:
        return [self._hash(key) for key in keys]

    @contextmanager
    def _translated(self, doing: str) -> Iterator[None]:
        """Turn redis-py's errors into the library's, naming the server but no secret."""
        if self._closed:
            raise ConfigurationError(f"event store {self._server} is closed")
        try:
            yield
        except redis.exceptions.TimeoutError as exc:
            raise TransportTimeoutError(
                f"event store {self._server}: no answer in time while {doing}; "
                "the outcome of this call is unknown"
            ) from exc
        except (
            redis.exceptions.AuthenticationError,
            redis.exceptions.AuthorizationError,
            redis.exceptions.NoPermissionError,
        ) as exc:
            raise ConfigurationError(
                f"event store {self._server}: the server refused this login or command "
                f"while {doing} ({type(exc).__name__}); check the URL's user and password"
            ) from exc
        except redis.exceptions.ConnectionError as exc:
            raise UnreachableError(
                f"event store {self._server}: the connection failed or was dropped while "
                f"{doing} ({type(exc).__name__}); the outcome of this call is unknown"
            ) from exc
        except redis.exceptions.RedisError as exc:
            raise ProtocolError(
                f"event store {self._server}: the server refused while {doing} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
