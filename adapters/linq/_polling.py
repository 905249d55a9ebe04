"""Inbound messages by polling Linq, for setups with no public webhook URL (private).

Each round lists every chat of the line (every page), then each chat's messages
newest first, back to a look-back window behind its cursor, and hands them over
oldest first as ``MessageReceived`` events with the real message ids (event id
``poll:<message id>``), fed to an
:class:`~caresupport_transport.inbound.InboundSink`: the durable
:class:`~caresupport_transport.inbound.Inbox`, or an
:class:`~caresupport_transport.inbound.InboundDispatcher`. Both key a received
message by ``message:<id>`` too, so a message seen by a webhook and by polling,
or by two rounds of polling, reaches the care logic once.

Why a window: Linq can recover a message late by reconciliation
(``reconciled_at`` set, its ``sent_at`` well in the past) and list it behind
messages a poller has already passed. A cursor that only moved forward by
``created_at`` would skip it for good. So the cursor of a chat (``chat:<id>``
in the sink's store) is a *time*, the newest settled message's (its
``reconciled_at`` when later than its ``created_at``), and every round reads
back ``reconcile_window`` (6 hours by default) behind it. A message found there
again is answered ``DUPLICATE`` by the sink's store (which remembers keys for
48 hours), not delivered twice. What it costs: every round re-reads the
window's messages of every chat (more pages for a busy chat) and offers each
to the sink once more (one key lookup per message). A message recovered more
than the window after it was sent is still found when Linq lists it among the
newest messages, but not when it is listed by its old time.

The cursor moves only past messages whose event came back queued, handled,
duplicate or filtered: if the store (or, with a dispatcher, the handler) fails,
it stays at the first message not taken and the next round tries it again.
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

__all__ = [
    "DEFAULT_LOOKBACK",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_RECONCILE_WINDOW",
    "MAX_RECONCILE_WINDOW",
    "PollReport",
    "Poller",
    "cursor_name",
]

DEFAULT_LOOKBACK = timedelta(hours=24)
"""How far back the first poll of a chat looks (inside the stores' 48-hour memory)."""
DEFAULT_RECONCILE_WINDOW = timedelta(hours=6)
"""How far behind its cursor each round re-reads a chat, for messages recovered late."""
MAX_RECONCILE_WINDOW = timedelta(hours=24)
"""The longest window: re-read messages must still be in the stores' 48-hour key memory."""
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


def _effective_at(message: WireMessage) -> datetime:
    """When a message became readable: its ``reconciled_at`` if recovered late."""
    if message.reconciled_at is not None and message.reconciled_at > message.created_at:
        return message.reconciled_at
    return message.created_at


@attrs.frozen
class _Cursor:
    """Where a chat's polling stands: every message up to ``created_at`` is settled.

    ``created_at`` is the settled message's effective time (see ``_effective_at``);
    the stored name is kept so cursors written by earlier versions still read.
    """

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
        return cls(_effective_at(message), message.id)


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


def _check_window(
    instance: object, attribute: attrs.Attribute[timedelta], value: timedelta
) -> None:
    if not isinstance(value, timedelta) or not timedelta(0) <= value <= MAX_RECONCILE_WINDOW:
        raise ConfigurationError(
            f"{attribute.name}: must be a timedelta from zero to {MAX_RECONCILE_WINDOW}"
        )


@attrs.define
class Poller:
    """Polls every chat of a line and feeds new messages to a dispatcher.

    Args:
        client: the API.
        line: our own line (outbound messages are ours).
        lookback: how far back a chat without a cursor is read.
        reconcile_window: how far behind its cursor a chat is read again, so a
            message recovered late is not skipped (module notes).
        page_size: messages per page, 1 to 100.
        include_outbound: also deliver the messages we sent.
        now: the current time (aware UTC), for the look-back.
    """

    client: LinqClient
    line: Handle | None
    lookback: timedelta = attrs.field(default=DEFAULT_LOOKBACK, validator=_check_lookback)
    reconcile_window: timedelta = attrs.field(
        default=DEFAULT_RECONCILE_WINDOW, validator=_check_window, kw_only=True
    )
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
        if cursor is None:
            since = self.now() - self.lookback
        else:
            since = cursor.created_at - self.reconcile_window
        newest: WireMessage | None = None
        fresh: list[WireMessage] = []
        async for message in self.client.list_messages(chat_id, limit=self.page_size):
            newest = newest or message
            if _effective_at(message) >= since:
                fresh.append(message)
            elif message.reconciled_at is None:
                break  # listed by time: everything after this is older still
        if newest is None:
            return []
        # Oldest first, a late one where it became readable: the order care logic hears.
        fresh.reverse()  # listed newest first; ties keep the listing's order
        fresh.sort(key=_effective_at)
        wanted = [m for m in fresh if self.include_outbound or not m.is_from_me]
        events = [self._event(chat_id, m) for m in wanted]
        outcomes: list[DispatchOutcome] = []
        try:
            outcomes = await dispatcher.dispatch_many(events)
        finally:
            # Whatever happened, keep what was delivered: the cursor stays at the
            # first message whose event is not done, or moves to the newest settled.
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
        settled = {m.id for m, o in zip(wanted, outcomes, strict=False) if o in _DONE}
        unsettled = [m for m in wanted if m.id not in settled]
        if unsettled:
            # Re-read from here next round (the window reaches behind it).
            return _Cursor.of(unsettled[0])
        if not fresh:
            # Nothing new. A first poll remembers where history stands.
            return _Cursor.of(newest) if cursor is None else cursor
        latest = _Cursor.of(fresh[-1])
        if cursor is None or latest.created_at > cursor.created_at:
            return latest
        return cursor  # never back over what is settled (its message may be deleted since)

    def _event(self, chat_id: str, wire: WireMessage) -> MessageReceived:
        message = message_from_wire(wire, self.line)
        return MessageReceived(
            event_id=f"poll:{wire.id}",
            occurred_at=wire.created_at,
            conversation_id=chat_id,
            message=message,
        )
