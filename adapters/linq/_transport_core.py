"""The core of ``LinqTransport``: state, construction and the lookups every part uses (private)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import httpx

from adapters.linq._capability_cache import (
    DEFAULT_CAPABILITY_TTL,
    DEFAULT_UNKNOWN_TTL,
    CapabilityCache,
)
from adapters.linq._pending import PendingChats, is_pending
from adapters.linq._polling import DEFAULT_LOOKBACK
from adapters.linq._sending import Sender
from adapters.linq._to_domain import conversation_from_chat, message_from_wire
from adapters.linq._validate import KeyFactory, new_idempotency_key
from adapters.linq.client import LinqClient
from adapters.linq.config import LinqConfig
from caresupport_transport.capabilities import Service, ServicePreference
from caresupport_transport.errors import UnsupportedError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, Message
from caresupport_transport.policy import FallbackPolicy, choose_service
from caresupport_transport.port import InboundHandler

__all__ = ["DEFAULT_CONVERSATION_TTL", "DEFAULT_POLICY", "TransportCore"]

DEFAULT_POLICY = FallbackPolicy()
DEFAULT_CONVERSATION_TTL = 30.0
"""Seconds a chat's participants are trusted for sends and actions (not for group changes)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TransportCore:
    """What every part of ``LinqTransport`` shares: the client, caches, policy and lookups.

    Args:
        client: the Linq API client (its configured ``phone_number`` is the line).
        policy: how to degrade what a service cannot carry, and whether to re-send
            a failed message on the next service.
        capability_ttl: seconds a capability answer (available or not) is trusted.
        unknown_capability_ttl: seconds an *unknown* answer is kept (Linq could not
            tell; a 503 with 4004 / 4009 / 4010).
        conversation_ttl: seconds a chat read for a send or an action is reused by
            the next ones, so a burst of sends reads the chat once (``0``: always
            read it). Group changes always read it fresh; participant events that
            come in through this transport's dispatcher forget it at once.
        clock: monotonic seconds, for the capability and conversation caches.
        new_key: makes an idempotency key when the caller gives none.
        poll_lookback: how far back the first poll of a chat reads.
        wall_clock: the current time (aware UTC), for polling.
        owns_client: close ``client`` in :meth:`aclose` (set by :meth:`from_config`).
    """

    def __init__(
        self,
        client: LinqClient,
        *,
        policy: FallbackPolicy = DEFAULT_POLICY,
        capability_ttl: float = DEFAULT_CAPABILITY_TTL,
        unknown_capability_ttl: float = DEFAULT_UNKNOWN_TTL,
        conversation_ttl: float = DEFAULT_CONVERSATION_TTL,
        clock: Callable[[], float] = time.monotonic,
        new_key: KeyFactory = new_idempotency_key,
        poll_lookback: timedelta = DEFAULT_LOOKBACK,
        wall_clock: Callable[[], datetime] = _utc_now,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self.policy = policy
        self._line = client.config.phone_number
        self._new_key = new_key
        self._owns_client = owns_client
        self.capability_cache = CapabilityCache(
            client, ttl=capability_ttl, unknown_ttl=unknown_capability_ttl, clock=clock
        )
        self._sender = Sender(client, self.capability_cache, policy)
        self._pending = PendingChats(client, self._line)
        self._poll_lookback = poll_lookback
        self._wall_clock = wall_clock
        self._handler: InboundHandler | None = None
        self._clock = clock
        self._conversation_ttl = conversation_ttl
        self._conversations: dict[str, tuple[float, Conversation]] = {}

    @classmethod
    def from_config(
        cls, config: LinqConfig, *, http: httpx.AsyncClient | None = None, **options: object
    ) -> Self:
        """A transport with its own ``LinqClient`` (closed by :meth:`aclose`).

        Args:
            config: from :meth:`LinqConfig.from_env` or :meth:`LinqConfig.from_json_file`.
            http: an ``httpx.AsyncClient`` for the client (tests pass a mock).
            options: the keyword arguments of the constructor.
        """
        return cls(LinqClient(config, http=http), owns_client=True, **options)  # type: ignore[arg-type]

    @property
    def client(self) -> LinqClient:
        return self._client

    @property
    def line(self) -> Handle | None:
        """Our own line (the configured ``phone_number``), when configured."""
        return self._line

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._client!r})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- lookups every part uses -----------------------------------------------

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """A chat by id, read now; a pending id gives the real chat once it exists."""
        if is_pending(conversation_id):
            return await self._pending.resolve(conversation_id, self._fetch_chat)
        return await self._fetch_chat(conversation_id)

    async def _known_conversation(self, conversation_id: str) -> Conversation:
        """The chat for a send or an action: as read within ``conversation_ttl``, else now."""
        cached = self._conversations.get(conversation_id)
        if cached is not None and self._clock() - cached[0] < self._conversation_ttl:
            return cached[1]
        return await self.get_conversation(conversation_id)

    async def _fetch_chat(self, chat_id: str) -> Conversation:
        conversation = conversation_from_chat(await self._client.get_chat(chat_id), self._line)
        self._remember_conversation(conversation)
        return conversation

    def _remember_conversation(self, conversation: Conversation) -> None:
        if self._conversation_ttl > 0:
            self._conversations[conversation.id] = (self._clock(), conversation)

    def _forget_conversation(self, conversation_id: str) -> None:
        self._conversations.pop(conversation_id, None)

    async def get_message(self, message_id: str) -> Message:
        return message_from_wire(await self._client.get_message(message_id), self._line)

    async def _service_for(self, conversation: Conversation) -> Service | None:
        """The chat's service, or the one a send would use now (``None``: no service fits)."""
        if conversation.service is not None:
            return conversation.service
        found = await self.capability_cache.lookup_all(conversation.participants)
        try:
            return choose_service(found, ServicePreference.AUTO)
        except UnsupportedError:
            return None
