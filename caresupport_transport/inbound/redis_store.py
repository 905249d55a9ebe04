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
* The durable inbox lives under ``{namespace}:inbox:``. Each entry is a hash
  ``entry:<id>`` (its fields, times in microseconds since the epoch, and its
  acceptance number from the counter ``seq``); the pending entries of an order
  key are the sorted set ``queue:<order key>``, by acceptance number (a dead
  entry leaves it, and a replay puts it back under its own number: its old
  place). ``heads`` ranks every order key that has a pending entry by that
  entry's due time, then acceptance number, in one lexicographic sorted set
  (fixed-width decimals, so the order is exact; ``places`` remembers each
  key's member). A lease is the key's token in the hash ``leases`` and its
  end in the sorted set ``lease_ends``; tokens come from the counter ``token``
  and only grow. A lease stays after it runs out (its holder may still
  acknowledge) until the key is acknowledged, retried, buried or taken again.
  A leased key leaves ``heads`` for ``parked`` (by lease end) and comes back
  when a ``take`` finds its lease ended; ``take`` then reads ``heads`` from
  the front up to ``now``, so its work is the limit plus the leases that ran
  out since, never the whole inbox nor the keys held right now. ``pending``,
  ``dead``, ``due`` and ``received`` index the entries for listing in
  acceptance order and for ``stats``, which reads counts and never walks the
  entries. Intake checks and records the event's keys and appends the entry
  in one script, so two receivers of one event queue it once. Inbox keys
  never expire.
* The outbox lives under ``{namespace}:outbox:``. Each record is a hash
  ``record:<id>`` (its fields, times in microseconds since the epoch,
  ``message_ids`` as a JSON list, and its place: the fixed-width creation time
  then the id). ``by_created`` ranks every record by place, and
  ``state:<state>`` the records in one state, as lexicographic sorted sets, so a
  listing reads only the records it returns; ``counts`` holds how many records
  each state has, and ``messages`` maps a provider's message id to its record.
  ``put_record`` stores a record and accepts its first job in one script,
  running the very intake function ``enqueue`` runs; ``replace_record`` checks
  the version and rewrites the record and its indexes in one script. Outbox
  keys never expire.
* Redis also forgets on its own: a done key expires ``retention`` after it was
  completed and a claim ``retention`` after its lease ends (by the server's
  clock), so a namespace whose owner never prunes stays bounded but for its
  small expiry index, which ``prune`` trims.
* Redis may drop keys on its own before they expire: an eviction policy other
  than ``noeviction`` under memory pressure, or a restart without persistence.
  Either forgets done keys, and a redelivered event is then handled twice;
  a restart without persistence also loses the inbox and restarts the token
  counter, so a worker that held a lease across it could be mistaken for a
  later lease's holder. Run Redis with ``appendonly yes`` for the inbox.
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

import json
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
from caresupport_transport.inbound.inbox_entry import (
    InboxEntry,
    InboxLease,
    InboxState,
    InboxStats,
)
from caresupport_transport.inbound.outbox_record import OutboxRecord
from caresupport_transport.inbound.store import DEFAULT_RETENTION, ClaimStatus, EnqueueStatus
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

# The durable inbox. Every inbox script starts with this prelude: KEYS[1..11] are
# the inbox's fixed keys (in ``RedisEventStore._inbox_keys`` order) and ARGV[1]
# the prefix of the per-entry hashes and per-order-key queues, which share the
# namespace's hash tag. Times, sequence numbers and tokens reach Redis only as
# the decimal strings Python (or string.format) wrote: a Lua number handed to
# redis.call could be printed inexactly.
_INBOX_PRELUDE = """
local SEQ, TOKEN, HEADS, PLACES, LEASES = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local LEASE_ENDS, PARKED, PENDING, DEAD = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local DUE, RECEIVED = KEYS[10], KEYS[11]
local PREFIX = ARGV[1]

local function entry_key(id)
  return PREFIX .. 'entry:' .. id
end

local function queue_key(order_key)
  return PREFIX .. 'queue:' .. order_key
end

-- Note the order key's place (its oldest pending entry's due time, then
-- acceptance order) and hold it there in HEADS unless the key is parked; a
-- key without a pending entry has no place.
local function rescore(order_key)
  local old = redis.call('HGET', PLACES, order_key)
  if old then
    redis.call('ZREM', HEADS, old)
  end
  local head = redis.call('ZRANGE', queue_key(order_key), 0, 0)
  if #head == 0 then
    redis.call('HDEL', PLACES, order_key)
    return
  end
  local fields = redis.call('HMGET', entry_key(head[1]), 'due_rank', 'seq')
  local place = fields[1] .. fields[2] .. order_key
  redis.call('HSET', PLACES, order_key, place)
  if not redis.call('ZSCORE', PARKED, order_key) then
    redis.call('ZADD', HEADS, 0, place)
  end
end

-- A leased key waits out of HEADS until a take finds its lease ended.
local function park(order_key, lease_end)
  local place = redis.call('HGET', PLACES, order_key)
  if place then
    redis.call('ZREM', HEADS, place)
  end
  redis.call('ZADD', PARKED, lease_end, order_key)
end

local function add_pending(id, order_key, seq, due_at, received_at)
  redis.call('ZADD', queue_key(order_key), seq, id)
  redis.call('ZADD', PENDING, seq, id)
  redis.call('ZADD', DUE, due_at, id)
  redis.call('ZADD', RECEIVED, received_at, id)
end

local function remove_pending(id, order_key)
  redis.call('ZREM', queue_key(order_key), id)
  redis.call('ZREM', PENDING, id)
  redis.call('ZREM', DUE, id)
  redis.call('ZREM', RECEIVED, id)
end

-- The lease still counts: its token is the key's and its entry is pending.
local function holds(order_key, token, id)
  if redis.call('HGET', LEASES, order_key) ~= token then
    return false
  end
  return redis.call('HGET', entry_key(id), 'state') == 'pending'
end

local function free(order_key)
  redis.call('HDEL', LEASES, order_key)
  redis.call('ZREM', LEASE_ENDS, order_key)
  redis.call('ZREM', PARKED, order_key)
end
"""

# Intake, shared by ``enqueue`` and ``put_record`` (which follows the inbox
# prelude with it). ARGV[2..11] describe the entry (``_entry_args``); ``expiries``
# is the expiry index and KEYS[first_hash..] are the hashes of the entry's keys.
# A key is recorded when done, or claimed by a live claim (as ``claim`` sees it).
_ACCEPT = """
local function accept(expiries, first_hash)
  local id, order_key, now = ARGV[2], ARGV[3], tonumber(ARGV[9])
  local entry = entry_key(id)
  if redis.call('EXISTS', entry) == 1 then
    return 'duplicate'
  end
  for i = first_hash, #KEYS do
    local found = redis.call('HMGET', KEYS[i], 'done', 'expires_at')
    if found[1] == '1' or (found[1] and tonumber(found[2]) > now) then
      return 'duplicate'
    end
  end
  for i = first_hash, #KEYS do
    redis.call('DEL', KEYS[i])
    redis.call('HSET', KEYS[i], 'done', '1', 'expires_at', ARGV[10])
    redis.call('PEXPIRE', KEYS[i], ARGV[11])
    redis.call('ZADD', expiries, ARGV[10], KEYS[i])
  end
  local seq = string.format('%020d', redis.call('INCR', SEQ))
  redis.call('HSET', entry, 'id', id, 'order_key', order_key, 'keys', ARGV[4],
    'payload', ARGV[5], 'received_at', ARGV[6], 'due_at', ARGV[7], 'due_rank', ARGV[8],
    'seq', seq, 'attempts', '0', 'state', 'pending')
  add_pending(id, order_key, seq, ARGV[7], ARGV[6])
  rescore(order_key)
  return 'queued'
end
"""

# KEYS[12] is the expiry index, KEYS[13..] the entry's key hashes.
_ENQUEUE = (
    _INBOX_PRELUDE
    + _ACCEPT
    + """
return accept(KEYS[12], 13)
"""
)

# Keys whose lease ended by ``now`` come back to HEADS, which is then read in
# order up to ``now`` (ARGV[5] is the rank just after it). The lease is checked
# again there, as another caller's clock may have brought a key back early; so
# the work is the limit plus the leases that ran out, never the whole inbox.
_TAKE = (
    _INBOX_PRELUDE
    + """
local now, limit = tonumber(ARGV[2]), tonumber(ARGV[4])
for _, order_key in ipairs(redis.call('ZRANGEBYSCORE', PARKED, '-inf', ARGV[2])) do
  redis.call('ZREM', PARKED, order_key)
  rescore(order_key)
end
local page_size = 100
local chosen = {}
local offset = 0
while #chosen < limit do
  local page = redis.call('ZRANGEBYLEX', HEADS, '-', '(' .. ARGV[5], 'LIMIT', offset, page_size)
  for _, place in ipairs(page) do
    local order_key = string.sub(place, 38)
    local lease_end = redis.call('ZSCORE', LEASE_ENDS, order_key)
    if not lease_end or tonumber(lease_end) <= now then
      chosen[#chosen + 1] = order_key
      if #chosen == limit then
        break
      end
    end
  end
  if #page < page_size then
    break
  end
  offset = offset + page_size
end
local leases = {}
for _, order_key in ipairs(chosen) do
  local id = redis.call('ZRANGE', queue_key(order_key), 0, 0)[1]
  local token = string.format('%d', redis.call('INCR', TOKEN))
  redis.call('HSET', LEASES, order_key, token)
  redis.call('ZADD', LEASE_ENDS, ARGV[3], order_key)
  park(order_key, ARGV[3])
  redis.call('HINCRBY', entry_key(id), 'attempts', 1)
  leases[#leases + 1] = {token, redis.call('HGETALL', entry_key(id))}
end
return leases
"""
)

# ARGV[2..4]: the lease's order key, token and entry id (every lease script).
_HEARTBEAT = (
    _INBOX_PRELUDE
    + """
if not holds(ARGV[2], ARGV[3], ARGV[4]) then
  return 0
end
redis.call('ZADD', LEASE_ENDS, ARGV[5], ARGV[2])
park(ARGV[2], ARGV[5])
return 1
"""
)

_ACK = (
    _INBOX_PRELUDE
    + """
if not holds(ARGV[2], ARGV[3], ARGV[4]) then
  return 0
end
local entry = entry_key(ARGV[4])
local order_key = redis.call('HGET', entry, 'order_key')
remove_pending(ARGV[4], order_key)
redis.call('DEL', entry)
free(ARGV[2])
rescore(order_key)
return 1
"""
)

# ARGV[5..] name the turn's other entries; those of another key or not pending stay.
_ACK_TURN = (
    _INBOX_PRELUDE
    + """
if not holds(ARGV[2], ARGV[3], ARGV[4]) then
  return 0
end
for i = 4, #ARGV do
  local entry = entry_key(ARGV[i])
  local fields = redis.call('HMGET', entry, 'order_key', 'state')
  if fields[1] == ARGV[2] and fields[2] == 'pending' then
    remove_pending(ARGV[i], ARGV[2])
    redis.call('DEL', entry)
  end
end
free(ARGV[2])
rescore(ARGV[2])
return 1
"""
)

# ARGV[2] is the order key, ARGV[3] the last index wanted (the limit less one).
_PENDING_OF = (
    _INBOX_PRELUDE
    + """
local entries = {}
for i, id in ipairs(redis.call('ZRANGE', queue_key(ARGV[2]), 0, ARGV[3])) do
  entries[i] = redis.call('HGETALL', entry_key(id))
end
return entries
"""
)

_RETRY = (
    _INBOX_PRELUDE
    + """
if not holds(ARGV[2], ARGV[3], ARGV[4]) then
  return 0
end
local entry = entry_key(ARGV[4])
redis.call('HSET', entry, 'due_at', ARGV[5], 'due_rank', ARGV[6], 'last_error', ARGV[7])
redis.call('ZADD', DUE, ARGV[5], ARGV[4])
free(ARGV[2])
rescore(redis.call('HGET', entry, 'order_key'))
return 1
"""
)

_BURY = (
    _INBOX_PRELUDE
    + """
if not holds(ARGV[2], ARGV[3], ARGV[4]) then
  return 0
end
local entry = entry_key(ARGV[4])
local fields = redis.call('HMGET', entry, 'order_key', 'seq')
redis.call('HSET', entry, 'state', 'dead', 'last_error', ARGV[5])
remove_pending(ARGV[4], fields[1])
redis.call('ZADD', DEAD, fields[2], ARGV[4])
free(ARGV[2])
rescore(fields[1])
return 1
"""
)

# A replayed entry goes back under its own sequence number: its old place.
_REPLAY = (
    _INBOX_PRELUDE
    + """
local id = ARGV[2]
local entry = entry_key(id)
local fields = redis.call('HMGET', entry, 'state', 'order_key', 'seq', 'received_at')
if not fields[1] then
  return 0
end
redis.call('HSET', entry, 'state', 'pending', 'due_at', ARGV[3], 'due_rank', ARGV[4],
  'attempts', '0')
redis.call('ZREM', DEAD, id)
add_pending(id, fields[2], fields[3], ARGV[3], fields[4])
rescore(fields[2])
return 1
"""
)

# A lease on the key stays until it runs out, as in every store.
_DISCARD = (
    _INBOX_PRELUDE
    + """
local id = ARGV[2]
local entry = entry_key(id)
local order_key = redis.call('HGET', entry, 'order_key')
if not order_key then
  return 0
end
remove_pending(id, order_key)
redis.call('ZREM', DEAD, id)
redis.call('DEL', entry)
rescore(order_key)
return 1
"""
)

# ARGV[2] is 'pending', 'dead' or '' (any); ARGV[3] the last index wanted (the
# limit less one). Both listings are read up to it and merged by sequence.
_ENTRIES = (
    _INBOX_PRELUDE
    + """
local last = tonumber(ARGV[3])
local found = {}
local sources = {PENDING, DEAD}
if ARGV[2] == 'pending' then
  sources = {PENDING}
elseif ARGV[2] == 'dead' then
  sources = {DEAD}
end
for _, source in ipairs(sources) do
  local page = redis.call('ZRANGE', source, 0, ARGV[3], 'WITHSCORES')
  for i = 1, #page, 2 do
    found[#found + 1] = {page[i], tonumber(page[i + 1])}
  end
end
table.sort(found, function(a, b) return a[2] < b[2] end)
local entries = {}
for i = 1, math.min(#found, last + 1) do
  entries[i] = redis.call('HGETALL', entry_key(found[i][1]))
end
return entries
"""
)

_STATS = (
    _INBOX_PRELUDE
    + """
local oldest = redis.call('ZRANGE', RECEIVED, 0, 0)[1]
return {
  redis.call('ZCARD', PENDING),
  redis.call('ZCOUNT', DUE, '-inf', ARGV[2]),
  redis.call('ZCOUNT', LEASE_ENDS, '(' .. ARGV[2], '+inf'),
  redis.call('ZCARD', DEAD),
  oldest and redis.call('HGET', entry_key(oldest), 'received_at') or '',
}
"""
)


# The outbox. A record's place is its creation time (fixed width, ``_rank``) and
# then its id, so BY_CREATED, and ``state:<name>`` for the records in one state,
# list records in (created_at, id) order as lexicographic sorted sets. COUNTS
# holds how many records each state has; MESSAGES maps a provider's message id
# to its record's id.
_OUTBOX_FUNCTIONS = """
local function record_key(id)
  return OUTBOX .. 'record:' .. id
end

local function state_key(state)
  return OUTBOX .. 'state:' .. state
end

-- ARGV[at..at+7] are a record's id, state, payload, created_at, updated_at,
-- message_ids (a JSON list), detail and place (``_record_args``). It is written
-- with ``version``, ranked, counted, and each of its message ids points to it
-- (taken from any other record, as the memory store does).
local function store_record(at, version)
  local id, state, message_ids, place = ARGV[at], ARGV[at + 1], ARGV[at + 5], ARGV[at + 7]
  redis.call('HSET', record_key(id), 'id', id, 'state', state, 'payload', ARGV[at + 2],
    'created_at', ARGV[at + 3], 'updated_at', ARGV[at + 4], 'message_ids', message_ids,
    'detail', ARGV[at + 6], 'place', place, 'version', version)
  redis.call('ZADD', BY_CREATED, 0, place)
  redis.call('ZADD', state_key(state), 0, place)
  redis.call('HINCRBY', COUNTS, state, 1)
  for _, message_id in ipairs(cjson.decode(message_ids)) do
    redis.call('HSET', MESSAGES, message_id, id)
  end
end

-- The stored record leaves its rankings and its state's count, and its message
-- ids that still point to it point nowhere.
local function unindex_record(id)
  local old = redis.call('HMGET', record_key(id), 'state', 'place', 'message_ids')
  redis.call('ZREM', BY_CREATED, old[2])
  redis.call('ZREM', state_key(old[1]), old[2])
  if redis.call('HINCRBY', COUNTS, old[1], -1) <= 0 then
    redis.call('HDEL', COUNTS, old[1])
  end
  for _, message_id in ipairs(cjson.decode(old[3])) do
    if redis.call('HGET', MESSAGES, message_id) == id then
      redis.call('HDEL', MESSAGES, message_id)
    end
  end
end
"""


def _outbox_prelude(*, first_key: int, prefix_at: int) -> str:
    """The outbox scripts' prelude, for a script whose outbox keys start at ``first_key``.

    KEYS[first_key..first_key+2] are BY_CREATED, COUNTS and MESSAGES (in
    ``RedisEventStore._outbox_keys`` order); ARGV[prefix_at] is the prefix of the
    per-record hashes and per-state rankings.
    """
    return (
        f"local BY_CREATED, COUNTS, MESSAGES = KEYS[{first_key}], KEYS[{first_key + 1}], "
        f"KEYS[{first_key + 2}]\n"
        f"local OUTBOX = ARGV[{prefix_at}]\n" + _OUTBOX_FUNCTIONS
    )


# The record and its first job in one script: KEYS[1..12] and ARGV[1..11] as
# for ``enqueue``, KEYS[13..15] the outbox's, KEYS[16..] the job's key hashes;
# ARGV[12] the outbox prefix, ARGV[13..20] the record. A job seen before is not
# accepted again; the record is stored all the same.
_PUT_RECORD = (
    _INBOX_PRELUDE
    + _ACCEPT
    + _outbox_prelude(first_key=13, prefix_at=12)
    + """
if redis.call('EXISTS', record_key(ARGV[13])) == 1 then
  return 0
end
store_record(13, '1')
accept(KEYS[12], 16)
return 1
"""
)

# ARGV[2..9] the record, ARGV[10] the version the writer read, ARGV[11] the next.
_REPLACE_RECORD = (
    _outbox_prelude(first_key=1, prefix_at=1)
    + """
local id = ARGV[2]
if redis.call('HGET', record_key(id), 'version') ~= ARGV[10] then
  return 0
end
unindex_record(id)
store_record(2, ARGV[11])
return 1
"""
)

# KEYS[4] is the ranking to read (BY_CREATED or one state's), ARGV[2] the last
# index wanted (the limit less one); a place's id follows its 17-digit time.
_RECORDS = (
    _outbox_prelude(first_key=1, prefix_at=1)
    + """
local records = {}
for _, place in ipairs(redis.call('ZRANGE', KEYS[4], 0, ARGV[2])) do
  records[#records + 1] = redis.call('HGETALL', record_key(string.sub(place, 18)))
end
return records
"""
)


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


def _moment(micros: str) -> datetime:
    """The aware UTC datetime ``micros`` (microseconds since the epoch) stands for."""
    return _EPOCH + int(micros) * _MICROSECOND


def _rank(micros: int) -> str:
    """``micros`` as a fixed-width decimal that sorts as the number does (17 digits)."""
    return f"{micros + _LARGEST_MICROS:017d}"


def _inbox_entry(flat: Sequence[str]) -> InboxEntry:
    """The entry a hash holds, from its ``HGETALL`` reply (field, value, field, ...)."""
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    return InboxEntry(
        id=fields["id"],
        order_key=fields["order_key"],
        keys=json.loads(fields["keys"]),
        payload=fields["payload"],
        received_at=_moment(fields["received_at"]),
        due_at=_moment(fields["due_at"]),
        attempts=int(fields["attempts"]),
        state=InboxState(fields["state"]),
        last_error=fields.get("last_error"),
    )


def _record_args(record: OutboxRecord) -> list[str | int]:
    """What the outbox scripts read as a record (``store_record``), times checked first."""
    created_us = _micros(record.created_at, "created_at")
    return [
        record.id,
        record.state,
        record.payload,
        created_us,
        _micros(record.updated_at, "updated_at"),
        # Raw UTF-8, so that Lua's cjson only has to undo JSON's own escapes.
        json.dumps(list(record.message_ids), ensure_ascii=False),
        record.detail,
        _rank(created_us) + record.id,
    ]


def _outbox_record(flat: Sequence[str]) -> OutboxRecord:
    """The record a hash holds, from its ``HGETALL`` reply (field, value, field, ...)."""
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    return OutboxRecord(
        id=fields["id"],
        state=fields["state"],
        payload=fields["payload"],
        created_at=_moment(fields["created_at"]),
        updated_at=_moment(fields["updated_at"]),
        version=int(fields["version"]),
        message_ids=json.loads(fields["message_ids"]),
        detail=fields["detail"],
    )


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
        inbox = f"{self._prefix}inbox:"
        self._inbox_prefix = inbox
        # In the order the inbox scripts' prelude names them.
        self._inbox_keys = [
            f"{inbox}{name}"
            for name in (
                "seq",
                "token",
                "heads",
                "places",
                "leases",
                "lease_ends",
                "parked",
                "pending",
                "dead",
                "due",
                "received",
            )
        ]
        self._enqueue = client.register_script(_ENQUEUE)
        self._take = client.register_script(_TAKE)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._ack = client.register_script(_ACK)
        self._ack_turn = client.register_script(_ACK_TURN)
        self._pending_of = client.register_script(_PENDING_OF)
        self._retry = client.register_script(_RETRY)
        self._bury = client.register_script(_BURY)
        self._replay = client.register_script(_REPLAY)
        self._discard = client.register_script(_DISCARD)
        self._entries = client.register_script(_ENTRIES)
        self._stats = client.register_script(_STATS)
        outbox = f"{self._prefix}outbox:"
        self._outbox_prefix = outbox
        # In the order the outbox scripts' prelude names them.
        self._outbox_keys = [f"{outbox}{name}" for name in ("by_created", "counts", "messages")]
        self._put_record = client.register_script(_PUT_RECORD)
        self._replace_record = client.register_script(_REPLACE_RECORD)
        self._records = client.register_script(_RECORDS)

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

    async def enqueue(self, entry: InboxEntry, *, now: datetime) -> EnqueueStatus:
        args = self._entry_args(entry, now=now)
        with self._translated("accepting an inbox entry"):
            found = await self._enqueue(
                keys=[*self._inbox_keys, self._index, *self._hashes(entry.keys)], args=args
            )
        return EnqueueStatus(found)

    async def take(self, *, now: datetime, until: datetime, limit: int) -> list[InboxLease]:
        now_us, until_us = _micros(now, "now"), _micros(until, "until")
        if limit <= 0:
            return []
        with self._translated("taking inbox entries"):
            found = await self._take(
                keys=self._inbox_keys,
                args=[self._inbox_prefix, now_us, until_us, limit, _rank(now_us + 1)],
            )
        return [InboxLease(_inbox_entry(flat), int(token), until) for token, flat in found]

    async def heartbeat(self, lease: InboxLease, *, until: datetime) -> bool:
        until_us = _micros(until, "until")
        with self._translated("extending an inbox lease"):
            held = await self._heartbeat(
                keys=self._inbox_keys, args=[*self._lease_args(lease), until_us]
            )
        return bool(held)

    async def ack(self, lease: InboxLease, *, now: datetime) -> bool:
        # ``now`` is not needed: an expired lease nobody took over still acknowledges.
        with self._translated("acknowledging an inbox entry"):
            held = await self._ack(keys=self._inbox_keys, args=self._lease_args(lease))
        return bool(held)

    async def ack_turn(self, lease: InboxLease, entry_ids: Sequence[str], *, now: datetime) -> bool:
        with self._translated("acknowledging a turn of inbox entries"):
            held = await self._ack_turn(
                keys=self._inbox_keys, args=[*self._lease_args(lease), *entry_ids]
            )
        return bool(held)

    async def pending_of(self, order_key: str, *, limit: int) -> list[InboxEntry]:
        if limit <= 0:
            return []
        last = min(limit, _LARGEST_MICROS) - 1
        with self._translated("listing an order key's inbox entries"):
            found = await self._pending_of(
                keys=self._inbox_keys, args=[self._inbox_prefix, order_key, last]
            )
        return [_inbox_entry(flat) for flat in found]

    async def retry(self, lease: InboxLease, *, error: str, due_at: datetime) -> bool:
        due_us = _micros(due_at, "due_at")
        with self._translated("rescheduling an inbox entry"):
            held = await self._retry(
                keys=self._inbox_keys,
                args=[*self._lease_args(lease), due_us, _rank(due_us), error],
            )
        return bool(held)

    async def bury(self, lease: InboxLease, *, error: str) -> bool:
        with self._translated("burying an inbox entry"):
            held = await self._bury(keys=self._inbox_keys, args=[*self._lease_args(lease), error])
        return bool(held)

    async def entries(self, *, state: InboxState | None, limit: int) -> list[InboxEntry]:
        if limit <= 0:
            return []
        # ZRANGE takes a 64-bit index; nobody lists more than 2**53 entries.
        last = min(limit, _LARGEST_MICROS) - 1
        with self._translated("listing inbox entries"):
            found = await self._entries(
                keys=self._inbox_keys,
                args=[self._inbox_prefix, "" if state is None else state.value, last],
            )
        return [_inbox_entry(flat) for flat in found]

    async def entry(self, entry_id: str) -> InboxEntry | None:
        with self._translated("reading an inbox entry"):
            fields = await self._client.hgetall(f"{self._inbox_prefix}entry:{entry_id}")
        if not fields:
            return None
        return _inbox_entry([str(part) for pair in fields.items() for part in pair])

    async def replay(self, entry_id: str, *, now: datetime) -> bool:
        now_us = _micros(now, "now")
        with self._translated("replaying an inbox entry"):
            found = await self._replay(
                keys=self._inbox_keys,
                args=[self._inbox_prefix, entry_id, now_us, _rank(now_us)],
            )
        return bool(found)

    async def discard(self, entry_id: str) -> bool:
        with self._translated("discarding an inbox entry"):
            found = await self._discard(keys=self._inbox_keys, args=[self._inbox_prefix, entry_id])
        return bool(found)

    async def stats(self, *, now: datetime) -> InboxStats:
        now_us = _micros(now, "now")
        with self._translated("counting inbox entries"):
            pending, due, leased, dead, oldest = await self._stats(
                keys=self._inbox_keys, args=[self._inbox_prefix, now_us]
            )
        return InboxStats(
            pending=int(pending),
            due=int(due),
            leased=int(leased),
            dead=int(dead),
            oldest_pending=_moment(oldest) if oldest else None,
        )

    async def put_record(self, record: OutboxRecord, job: InboxEntry, *, now: datetime) -> bool:
        args = [*self._entry_args(job, now=now), self._outbox_prefix, *_record_args(record)]
        with self._translated("storing an outbox record"):
            stored = await self._put_record(
                keys=[*self._inbox_keys, self._index, *self._outbox_keys, *self._hashes(job.keys)],
                args=args,
            )
        return bool(stored)

    async def get_record(self, record_id: str) -> OutboxRecord | None:
        with self._translated("reading an outbox record"):
            fields = await self._client.hgetall(f"{self._outbox_prefix}record:{record_id}")
        if not fields:
            return None
        return _outbox_record([str(part) for pair in fields.items() for part in pair])

    async def replace_record(self, record: OutboxRecord, *, expected_version: int) -> bool:
        args = [
            self._outbox_prefix,
            *_record_args(record),
            str(expected_version),
            str(expected_version + 1),
        ]
        with self._translated("replacing an outbox record"):
            replaced = await self._replace_record(keys=self._outbox_keys, args=args)
        return bool(replaced)

    async def record_for_message(self, message_id: str) -> str | None:
        messages = self._outbox_keys[2]
        with self._translated("finding an outbox record by message id"):
            found = await self._client.hget(messages, message_id)
        return None if found is None else str(found)

    async def records(self, *, state: str | None, limit: int) -> list[OutboxRecord]:
        if limit <= 0:
            return []
        ranking = self._outbox_keys[0] if state is None else f"{self._outbox_prefix}state:{state}"
        # ZRANGE takes a 64-bit index; nobody lists more than 2**53 records.
        last = min(limit, _LARGEST_MICROS) - 1
        with self._translated("listing outbox records"):
            found = await self._records(
                keys=[*self._outbox_keys, ranking], args=[self._outbox_prefix, last]
            )
        return [_outbox_record(flat) for flat in found]

    async def record_counts(self) -> dict[str, int]:
        counts = self._outbox_keys[1]
        with self._translated("counting outbox records"):
            found = await self._client.hgetall(counts)
        return {str(state): int(count) for state, count in found.items()}

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

    def _entry_args(self, entry: InboxEntry, *, now: datetime) -> list[str | int]:
        """What intake (``accept``) reads as ARGV[1..11], times checked first."""
        now_us = _micros(now, "now")
        expires_us = _micros(now + self.retention, "now")
        received_us = _micros(entry.received_at, "received_at")
        due_us = _micros(entry.due_at, "due_at")
        return [
            self._inbox_prefix,
            entry.id,
            entry.order_key,
            json.dumps(list(entry.keys)),
            entry.payload,
            received_us,
            due_us,
            _rank(due_us),
            now_us,
            expires_us,
            _milliseconds(self.retention),
        ]

    def _lease_args(self, lease: InboxLease) -> list[str | int]:
        return [self._inbox_prefix, lease.entry.order_key, str(lease.token), lease.entry.id]

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
