"""Opt-outs: which inbound message opts a person out, and which opts them back in (the one rule).

Written once, here, and used by the in-memory ``World`` (and so the Linq
simulator), by the Linq adapter (which derives ``OptedOut`` / ``OptedIn`` from
the messages it receives) and by ``ProviderTransport`` (which refuses sends to
a person it knows opted out). The rule is Linq's (linq-python 0.65):

- ``STOP``, ``UNSUBSCRIBE``, ``OPTOUT``, ``CANCEL``, ``END``, ``QUIT`` opt out only
  as the *whole* trimmed message, in exactly that case (``STOP`` yes, ``Stop``
  and ``please stop`` no);
- ``OPT OUT`` is the exception: any casing, with a space, a hyphen or nothing
  between (``opt out``, ``Opt-Out``, ``optout``);
- any later inbound message of other content from that person opts them back
  in, in whichever conversation it arrives (no ``START`` needed);
- a group thread is never marked and never blocked by an opt-out: a keyword
  there changes nothing, and group sends are never refused for it.

The blocklist compares handles as Linq normalizes them (:func:`blocklist_form`:
an email address lower-cased whole).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

from caresupport_transport.content import Part, TextPart
from caresupport_transport.handles import Handle

__all__ = [
    "OPT_OUT_KEYWORDS",
    "ConsentChange",
    "blocklist_form",
    "consent_change",
    "is_opt_out_keyword",
    "is_opt_out_message",
]

OPT_OUT_KEYWORDS = frozenset({"STOP", "UNSUBSCRIBE", "OPTOUT", "CANCEL", "END", "QUIT"})
"""Opt out only as the whole trimmed message, matched case included."""

_OPT_OUT_PHRASE = re.compile(r"opt[ -]?out", re.IGNORECASE)
"""``OPT OUT`` in any casing, with a space, a hyphen or nothing between."""


class ConsentChange(enum.Enum):
    """What one inbound message does to its sender's opt-out."""

    OPTED_OUT = "opted out"
    OPTED_IN = "opted in"


def blocklist_form(handle: Handle) -> Handle:
    """``handle`` as a blocklist holds it: an email address lower-cased, a number as is."""
    return Handle(handle.value.lower()) if handle.is_email else handle


def is_opt_out_keyword(text: str) -> bool:
    """Whether ``text``, trimmed, is exactly an opt-out keyword (see the module notes)."""
    trimmed = text.strip()
    return trimmed in OPT_OUT_KEYWORDS or _OPT_OUT_PHRASE.fullmatch(trimmed) is not None


def is_opt_out_message(parts: Sequence[Part]) -> bool:
    """Whether a message of ``parts`` is an opt-out: text only, and the whole of it a keyword."""
    if not parts or not all(isinstance(part, TextPart) for part in parts):
        return False
    text = "\n\n".join(part.text for part in parts if isinstance(part, TextPart))
    return is_opt_out_keyword(text)


def consent_change(
    parts: Sequence[Part], *, is_group: bool, opted_out: bool
) -> ConsentChange | None:
    """What an inbound message of ``parts`` does to its sender's opt-out, if anything.

    Args:
        parts: the message's content.
        is_group: whether it arrived in a group thread (never marked by a keyword).
        opted_out: whether the sender is opted out now.

    Returns:
        ``OPTED_OUT`` for a keyword in a 1:1 conversation from someone not opted
        out; ``OPTED_IN`` for any other content from someone opted out (in any
        conversation, groups included); ``None`` when nothing changes.
    """
    if is_opt_out_message(parts):
        return None if is_group or opted_out else ConsentChange.OPTED_OUT
    return ConsentChange.OPTED_IN if opted_out else None
