"""What every group of client operations shares: calling, decoding and paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from adapters.linq._convert import converter, decode
from adapters.linq._http import Call, Reply, Requester
from adapters.linq._retry import Replay
from adapters.linq._validate import KeyFactory
from adapters.linq.config import LinqConfig
from adapters.linq.wire_account import Accepted
from caresupport_transport.errors import ProtocolError

T = TypeVar("T")
P = TypeVar("P")

Query = tuple[tuple[str, str], ...]


class Operations:
    """The base of the operation groups that make up ``LinqClient``."""

    _requester: Requester
    _config: LinqConfig
    _new_key: KeyFactory

    async def _reply(
        self,
        what: str,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Any = None,
        headers: tuple[tuple[str, str], ...] = (),
        replay: Replay = Replay.SAFE,
    ) -> Reply:
        json = converter().unstructure(body) if body is not None else None
        call = Call(what, method, path, query=query, json=json, headers=headers, replay=replay)
        return await self._requester.send(call)

    async def _fetch(
        self,
        kind: type[T],
        what: str,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Any = None,
        headers: tuple[tuple[str, str], ...] = (),
        replay: Replay = Replay.SAFE,
    ) -> T:
        reply = await self._reply(
            what, method, path, query=query, body=body, headers=headers, replay=replay
        )
        return _decode_done(reply, kind, what)

    async def _send(self, kind: type[T], what: str, path: str, body: Any, key: str) -> T:
        """POST a send under ``key``, in the ``Idempotency-Key`` header on every attempt.

        The body carries the key too where Linq reads it there (message content).
        """
        return await self._fetch(
            kind, what, "POST", path, body=body, headers=(("Idempotency-Key", key),)
        )

    async def _accept(
        self,
        what: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        replay: Replay = Replay.SAFE,
    ) -> Accepted:
        """Calls answered ``202`` with ``{status, message, trace_id}``, or ``204``."""
        reply = await self._reply(what, method, path, body=body, replay=replay)
        if reply.payload is None:
            return Accepted(trace_id=reply.trace_id)
        return _decode_done(reply, Accepted, what)

    async def _paginate(
        self,
        what: str,
        path: str,
        query: Query,
        *,
        page: type[P],
        items: Callable[[P], tuple[T, ...]],
        next_cursor: Callable[[P], str | None],
    ) -> AsyncIterator[T]:
        """Yield every item, one page in memory at a time, following ``next_cursor``.

        Raises:
            ProtocolError: a page names as next the cursor it was fetched with (it
                would loop forever).
        """
        cursor: str | None = None
        while True:
            page_query = query if cursor is None else (*query, ("cursor", cursor))
            current = await self._fetch(page, what, "GET", path, query=page_query)
            for item in items(current):
                yield item
            following = next_cursor(current)
            if not following:
                return
            if following == cursor:
                raise ProtocolError(f"{what}: next_cursor {following!r} did not advance")
            cursor = following


def _decode_done(reply: Reply, kind: type[T], what: str) -> T:
    """Decode a successful answer; one that cannot be read still means the call took effect."""
    try:
        return decode(reply.payload, kind, what=what, status=reply.status, trace_id=reply.trace_id)
    except ProtocolError as error:
        error.outcome_unknown = True
        raise
