"""Polls: a question with options, asked natively (iMessage) or as numbered text.

A poll is asked with ``Transport.ask``. On iMessage it is the question as a
text message followed by a native poll; elsewhere it is one numbered text
question (:mod:`caresupport_transport.numbered`). Either way its id is the id
of the message that carries the options, and ``Transport.poll_results`` reads
the votes back as a :class:`Poll`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from caresupport_transport.capabilities import Service
from caresupport_transport.handles import Handle
from caresupport_transport.model import Degradation, DeliveryStatus, SendReceipt

__all__ = ["Poll", "PollOption", "PollReceipt", "PollVote"]


@attrs.frozen
class PollVote:
    """One person's vote for one option (``voted_at`` when the provider says)."""

    voter: Handle
    voted_at: datetime | None = None


def _votes(value: Iterable[PollVote]) -> tuple[PollVote, ...]:
    return tuple(value)


@attrs.frozen
class PollOption:
    """One option: its id, its text (empty where a zero-retention line keeps none), its votes.

    A numbered text question's options have the ids ``"1"``, ``"2"``... (the
    number a person replies with).
    """

    id: str
    text: str
    votes: tuple[PollVote, ...] = attrs.field(default=(), converter=_votes)
    creator: Handle | None = None

    @property
    def voters(self) -> tuple[Handle, ...]:
        return tuple(v.voter for v in self.votes)


def _options(value: Iterable[PollOption]) -> tuple[PollOption, ...]:
    return tuple(value)


@attrs.frozen
class Poll:
    """A poll and its votes as they stand.

    Attributes:
        id: the id of the message carrying the options (the native poll, or the
            numbered text question).
        conversation_id: where it was asked.
        options: in order, each with its votes.
        native: ``True`` for a native (iMessage) poll, ``False`` for numbered text.
        question: the question, when it is part of the poll (numbered text);
            a native poll has none (its question is the text message before it).
        creator: who asked it, when known (``None`` for our own native polls
            when the provider does not say).
    """

    id: str
    conversation_id: str
    options: tuple[PollOption, ...] = attrs.field(converter=_options)
    native: bool = True
    question: str | None = None
    creator: Handle | None = None

    @property
    def total_voters(self) -> int:
        """Distinct people who voted (someone choosing two options counts once)."""
        return len({vote.voter for option in self.options for vote in option.votes})

    def option(self, option_id: str) -> PollOption | None:
        """The option with ``option_id``, or ``None``."""
        return next((o for o in self.options if o.id == option_id), None)

    def index_of(self, option_id: str) -> int | None:
        """The 0-based position of the option with ``option_id``, or ``None``."""
        return next((i for i, o in enumerate(self.options) if o.id == option_id), None)


@attrs.frozen
class PollReceipt:
    """What ``Transport.ask`` did.

    Attributes:
        poll_id: the poll's id, for ``poll_results`` and to match vote events
            (the native poll's message id, or the numbered question's).
        conversation_id: where it was asked.
        native: whether a native poll was sent (``False``: numbered text).
        options: the options as sent, in order (ids to match vote events).
        question: the receipt of the text message carrying the question (on
            numbered text, the question with its numbered options).
        service: the service the poll went by.
        status: the delivery status as last known (of the poll message).
        idempotency_key: the caller's key (reuse it to retry: nothing is sent twice).
        degradations: every change made (``Feature.POLL`` converted to numbered
            text where native polls do not exist), the question's included.
    """

    poll_id: str
    conversation_id: str
    native: bool
    options: tuple[PollOption, ...] = attrs.field(converter=_options)
    question: SendReceipt
    service: Service | None
    status: DeliveryStatus
    idempotency_key: str
    degradations: tuple[Degradation, ...] = ()
