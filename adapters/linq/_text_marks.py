"""Mentions, text decorations and link parts between Linq's JSON and the domain.

Linq counts every range in UTF-16 code units, ``[start, end)``, as the domain's
:class:`~caresupport_transport.content.TextRange` does, so ranges cross as they
are. On the wire a range is a two-number array ``[start, end]``; an object
``{"start", "end"}`` is read too (the SDK leaves the shape loosely typed).

Sending: a text part carries its decorations as ``text_decorations`` and its
mention as ``mention`` + ``mention_range`` (the send parameters take one mention
per part; ``check_message`` allows no more). Reading is lenient, as for every
inbound content: the text is always kept, and marks that cannot be read (an
unknown style, a range off the text) are left off rather than losing the part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.linq._bodies import DecorationBody, LinkPartBody, TextPartBody
from caresupport_transport.content import (
    LinkPart,
    Mention,
    TextAnimation,
    TextDecoration,
    TextPart,
    TextRange,
    TextStyle,
)
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle

__all__ = ["link_body", "link_from_wire", "range_from_wire", "text_body", "text_from_wire"]


def text_body(part: TextPart) -> TextPartBody:
    """A domain text part as Linq's ``TextPartParam``."""
    mention = part.mentions[0] if part.mentions else None
    decorations = tuple(
        DecorationBody((d.range.start, d.range.end), d.style, d.animation) for d in part.decorations
    )
    return TextPartBody(
        part.text,
        mention=mention.handle.value if mention is not None else None,
        mention_range=(mention.range.start, mention.range.end) if mention is not None else None,
        text_decorations=decorations or None,
    )


def link_body(part: LinkPart) -> LinkPartBody:
    return LinkPartBody(part.url)


def range_from_wire(value: object) -> TextRange | None:
    """``[start, end]`` (or ``{"start", "end"}``) as a range; ``None`` when unreadable."""
    start: object
    end: object
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        start, end = value[0], value[1]
    elif isinstance(value, Mapping):
        start, end = value.get("start"), value.get("end")
    else:
        return None
    if isinstance(start, bool) or isinstance(end, bool):
        return None
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    try:
        return TextRange(start, end)
    except ValidationError:
        return None


def _mention(raw: object) -> Mention | None:
    if not isinstance(raw, Mapping):
        return None
    handle = raw.get("handle")
    if isinstance(handle, Mapping):  # a ChatHandle object rather than its text
        handle = handle.get("handle")
    found = range_from_wire(raw.get("range"))
    if not isinstance(handle, str) or found is None:
        return None
    try:
        return Mention(Handle(handle), found, is_me=raw.get("is_me") is True)
    except ValidationError:
        return None


def _decoration(raw: object) -> TextDecoration | None:
    if not isinstance(raw, Mapping):
        return None
    found = range_from_wire(raw.get("range"))
    if found is None:
        return None
    try:
        style = TextStyle(raw["style"]) if raw.get("style") is not None else None
        animation = TextAnimation(raw["animation"]) if raw.get("animation") is not None else None
        return TextDecoration(found, style=style, animation=animation)
    except (ValueError, ValidationError):
        return None


def _listed(value: object) -> list[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return []


def text_from_wire(
    text: str,
    *,
    mentions: object = None,
    decorations: object = None,
    mention: object = None,
    mention_range: object = None,
) -> TextPart:
    """A received text part with what can be read of its marks (the text always kept).

    ``mentions`` is the list of every mention; the deprecated single ``mention``
    / ``mention_range`` is read only when the list is absent.
    """
    found_mentions = [m for m in map(_mention, _listed(mentions)) if m is not None]
    if mentions is None and isinstance(mention, str):
        single = _mention({"handle": mention, "range": mention_range})
        found_mentions = [single] if single is not None else []
    found_decorations = [d for d in map(_decoration, _listed(decorations)) if d is not None]
    if not found_mentions and not found_decorations:
        return TextPart(text)
    try:
        return TextPart(text, mentions=found_mentions, decorations=found_decorations)
    except ValidationError:
        return TextPart(text)


def link_from_wire(url: object) -> LinkPart | TextPart | None:
    """A received link part; a URL the domain would not send is kept as text."""
    if not isinstance(url, str) or not url.strip():
        return None
    try:
        return LinkPart(url)
    except ValidationError:
        return TextPart(url)
