"""Inbound messages by polling Linq, for setups with no public webhook URL (private).

Each round lists every chat of the line (every page), then each chat's messages
newer than its cursor, oldest first, as ``MessageReceived`` events with the real
message ids (event id ``poll:<message id>``), fed to an
:class:`~caresupport_transport.inbound.InboundSink`: the durable
:class:`~caresupport_transport.inbound.Inbox`, or an
:class:`~caresupport_transport.inbound.InboundDispatcher`. Both key a received
message by ``message:<id>`` too, so a message seen by a webhook and by polling
reaches the care logic once.

The cursor of a chat (``chat:<id>`` in the sink's store) moves only past
messages whose event came back queued, handled, duplicate or filtered: if the
store (or, with a dispatcher, the handler) fails, the cursor stays before that
message and the next round tries it again.
A chat polled for the first time delivers what arrived within ``lookback`` (24
hours by default) rather than nothing, so a message that came in before polling
started is not lost; older history is not replayed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import attrs

from adapters.linq._http import LOGGER_NAME
from adapters.linq._to_domain import message_from_wire
from adapters.linq.client import LinqClient
from adapters.linq.wire_chats import Message as WireMessage
from caresupport_transport._log_safe import describe_failure
from caresupport_transport.errors import ConfigurationError
from caresupport_transport.events import MessageReceived
from caresupport_transport.handles import Handle
from caresupport_transport.inbound import DispatchOutcome, InboundSink

__all__ = ["DEFAULT_LOOKBACK", "DEFAULT_POLL_INTERVAL", "PollReport", "Poller", "cursor_name"]

DEFAULT_LOOKBACK = timedelta(hours=24)
"""How far back the first poll of a chat looks (inside the stores' 48-hour memory)."""
DEFAULT_POLL_INTERVAL = 10.0
"""Seconds between rounds of :meth:`Poller.poll_forever`."""

_DONE = frozenset(
    {
        DispatchOutcome.HANDLED,
        DispatchOutcome.QUEUED,
        DispatchOutcome.DUPLICATE,
        DispatchOutcome.FILTERED,
    }
)
_log = logging.getLogger(LOGGER_NAME)

Sleep = Callable[[float], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def cursor_name(chat_id: str) -> str:
    """The store's name for a chat's polling cursor."""
    return f"chat:{chat_id}"


@attrs.frozen
class _Cursor:
    """The newest message of a chat that needs no more delivery."""

    created_at: datetime
    message_id: str

    def dump(self) -> str:
        return json.dumps({"created_at": self.created_at.isoformat(), "id": self.message_id})

    @classmethod
    def load(cls, text: str | None) -> _Cursor | None:
        if text is None:
            return None
        try:
            raw = json.loads(text)
            return cls(datetime.fromisoformat(raw["created_at"]), str(raw["id"]))
        except (ValueError, KeyError, TypeError):
            _log.warning("a polling cursor could not be read; the chat is polled from scratch")
            return None

    @classmethod
    def of(cls, message: WireMessage) -> _Cursor:
        return cls(message.created_at, message.id)

    def is_reached_by(self, message: WireMessage) -> bool:
        """Whether ``message`` (listed newest first) is this cursor or older than it."""
        return message.id == self.message_id or message.created_at < self.created_at


@attrs.frozen
class PollReport:
    """What one round of polling did.

    Attributes:
        chats: how many chats were looked at.
        outcomes: what the dispatcher did with each event, in order.
        failed_chats: chats whose messages could not all be delivered (their
            cursor stays before the first one that failed; the next round retries).
    """

    chats: int
    outcomes: tuple[DispatchOutcome, ...] = ()
    failed_chats: tuple[str, ...] = ()

    @property
    def handled(self) -> int:
        """Events the handler ran on (a dispatcher)."""
        return sum(1 for o in self.outcomes if o is DispatchOutcome.HANDLED)

    @property
    def queued(self) -> int:
        """Events stored for the inbox's workers."""
        return sum(1 for o in self.outcomes if o is DispatchOutcome.QUEUED)


def _check_lookback(
    instance: object, attribute: attrs.Attribute[timedelta], value: timedelta
) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ConfigurationError("lookback: must be a timedelta of zero or more")


@attrs.define
class Poller:
    """Polls every chat of a line and feeds new messages to a dispatcher.

    Args:
        client: the API.
        line: our own line (outbound messages are ours).
        lookback: how far back a chat without a cursor is read.
        page_size: messages per page, 1 to 100.
        include_outbound: also deliver the messages we sent.
        now: the current time (aware UTC), for the look-back.
    """

    client: LinqClient
    line: Handle | None
    lookback: timedelta = attrs.field(default=DEFAULT_LOOKBACK, validator=_check_lookback)
    page_size: int = 50
    include_outbound: bool = False
    now: Callable[[], datetime] = _utc_now

    async def poll_once(self, dispatcher: InboundSink) -> PollReport:
        """One round over every chat; a chat that fails does not stop the others.

        Raises:
            TransportError: the chats could not be listed (nothing was delivered
                from the chats not reached; the next round tries again).
        """
        chats = 0
        outcomes: list[DispatchOutcome] = []
        failed: list[str] = []
        async for chat in self.client.list_chats(limit=100):
            chats += 1
            try:
                outcomes.extend(await self._poll_chat(chat.id, dispatcher))
            except Exception as exc:
                _log.error(
                    "polling chat %s failed: %s; it is tried again next round",
                    chat.id,
                    describe_failure(exc),
                )
                failed.append(chat.id)
        return PollReport(chats, tuple(outcomes), tuple(failed))

    async def poll_forever(
        self,
        dispatcher: InboundSink,
        *,
        interval: float = DEFAULT_POLL_INTERVAL,
        sleep: Sleep = asyncio.sleep,
        rounds: int | None = None,
    ) -> None:
        """Poll every ``interval`` seconds until cancelled (or for ``rounds`` rounds).

        A round that fails is logged and the next one runs as usual.
        """
        if not interval >= 0:
            raise ConfigurationError("interval: must be zero or more seconds")
        done = 0
        while rounds is None or done < rounds:
            try:
                report = await self.poll_once(dispatcher)
            except Exception as exc:
                _log.error(
                    "a polling round failed: %s; the next one runs in %g s",
                    describe_failure(exc),
                    interval,
                )
            else:
                _log.debug(
                    "polled %d chats, %d events handled, %d queued",
                    report.chats,
                    report.handled,
                    report.queued,
                )
            done += 1
            if rounds is None or done < rounds:
                await sleep(interval)

    async def _poll_chat(self, chat_id: str, dispatcher: InboundSink) -> list[DispatchOutcome]:
        store = dispatcher.store
        name = cursor_name(chat_id)
        cursor = _Cursor.load(await store.get_cursor(name))
        since = self.now() - self.lookback if cursor is None else None
        newest: WireMessage | None = None
        fresh: list[WireMessage] = []
        async for message in self.client.list_messages(chat_id, limit=self.page_size):
            newest = newest or message
            if cursor is not None and cursor.is_reached_by(message):
                break
            if since is not None and message.created_at < since:
                break
            fresh.append(message)
        if newest is None:
            return []
        fresh.reverse()  # oldest first: the order the care logic should hear them in
        wanted = [m for m in fresh if self.include_outbound or not m.is_from_me]
        events = [self._event(chat_id, m) for m in wanted]
        outcomes: list[DispatchOutcome] = []
        try:
            outcomes = await dispatcher.dispatch_many(events)
        finally:
            # Whatever happened, keep what was delivered: the cursor moves over every
            # message up to the first one whose event is not done.
            position = self._advance(fresh, wanted, outcomes, newest, cursor)
            if position is not None and position != cursor:
                await store.set_cursor(name, position.dump())
        return outcomes

    @staticmethod
    def _advance(
        fresh: list[WireMessage],
        wanted: list[WireMessage],
        outcomes: list[DispatchOutcome],
        newest: WireMessage,
        cursor: _Cursor | None,
    ) -> _Cursor | None:
        if not fresh:
            # Nothing new. A first poll remembers where history stands; a cursor
            # never moves back (its message may have been deleted since).
            return _Cursor.of(newest) if cursor is None else cursor
        settled = {m.id for m, o in zip(wanted, outcomes, strict=False) if o in _DONE}
        wanted_ids = {m.id for m in wanted}
        position = cursor
        for message in fresh:
            if message.id in wanted_ids and message.id not in settled:
                break
            position = _Cursor.of(message)
        return position

    def _event(self, chat_id: str, wire: WireMessage) -> MessageReceived:
        message = message_from_wire(wire, self.line)
        return MessageReceived(
            event_id=f"poll:{wire.id}",
            occurred_at=wire.created_at,
            conversation_id=chat_id,
            message=message,
        )
