"""Sending through the World the way Linq does: idempotency, opt-outs, the blocklist, left chats.

An effect or a reply-to on a send that goes out over a service that cannot
carry it (SMS, RCS) is dropped, as the service would, but never silently: the
send is recorded in :attr:`Backend.dropped_features` and counted in
``counters.features_dropped``, so a test catches an adapter that forgot to
degrade (the ``Transport`` degrades, or refuses, before anything is sent).
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.linq.simulator._errors import MENTION_IN_DIRECT_CHAT, conflict, not_found
from adapters.linq.simulator._parse import MessageContent
from adapters.linq.simulator.state import Backend
from adapters.memory.world import World
from caresupport_transport.capabilities import capabilities_of
from caresupport_transport.content import LinkPart, OutgoingMessage, TextPart
from caresupport_transport.errors import ConflictError
from caresupport_transport.handles import Handle
from caresupport_transport.model import Conversation, Message

__all__ = ["check_new_chat", "check_reachable", "send_content"]


def check_new_chat(
    world: World, handles: Sequence[Handle], content: MessageContent, *, override_optout: bool
) -> None:
    """Refuse a send that would open a chat before the chat is created (as Linq does).

    A send repeated under a known key is left to its replay.
    """
    if content.idempotency_key not in world.idempotency_keys:
        world.check_direct_send(handles, override_optout=override_optout)


def check_reachable(world: World, conversation: Conversation, *, override_optout: bool) -> None:
    """Refuse before anything is queued what Linq refuses: opted out, blocked, left.

    The opt-out and blocklist rules are the World's (groups are exempt from
    opt-outs and go through with one unblocked member).

    Raises:
        ProviderError: 403 / 2024 (opted out), 403 / 2026 (on the blocklist);
            409 when the line left the group.
    """
    world.check_direct_send(conversation.participants, override_optout=override_optout)
    if world.has_left(conversation.id):
        raise conflict("You have left this chat; start a new one")


def replay(backend: Backend, world: World, content: MessageContent, chat_id: str) -> Message | None:
    """The message first sent under ``content``'s idempotency key, if any.

    Raises:
        ProviderError: 404 when that message was deleted (it is never resent),
            409 when the key was used for another chat or other content.
    """
    key = content.idempotency_key
    if key is None or key not in world.idempotency_keys:
        return None
    original_id = world.idempotency_keys[key]
    if world.is_deleted(original_id):
        raise not_found("Message")
    original = world.messages[original_id]
    fingerprint = backend.request_fingerprints.get(original_id)
    if original.conversation_id != chat_id or fingerprint not in (None, content.fingerprint):
        raise conflict(f"idempotency_key {key!r} was already used for a different message")
    return original


def send_content(
    backend: Backend,
    world: World,
    conversation: Conversation,
    content: MessageContent,
    *,
    voice_memo: bool = False,
    override_optout: bool = False,
) -> tuple[Message, bool]:
    """Send ``content`` into ``conversation``: ``(message, created)``.

    A repeated idempotency key returns the original message with ``created``
    false; nothing new is created and nothing counted. ``override_optout``
    lets the send through the person's opt-out (counted).
    """
    original = replay(backend, world, content, conversation.id)
    if original is not None:
        return original, False
    check_reachable(world, conversation, override_optout=override_optout)
    overrides = len(world.opt_out_overrides)
    outgoing = content.message
    if not conversation.is_group and any(
        isinstance(p, TextPart) and p.mentions for p in outgoing.parts
    ):
        raise ConflictError(
            "Mentions are only supported in group chats", status=409, code=MENTION_IN_DIRECT_CHAT
        )
    message = world.send(
        conversation.id,
        outgoing.parts,
        effect=outgoing.effect,
        reply_to=outgoing.reply_to,
        preference=content.preference,
        idempotency_key=content.idempotency_key,
        voice_memo=voice_memo,
        override_optout=override_optout,
    )
    backend.counters.opt_out_overrides += len(world.opt_out_overrides) - overrides
    backend.request_fingerprints[message.id] = content.fingerprint
    _record_dropped_features(backend, outgoing, message)
    if content.idempotency_key is not None:
        backend.counters.messages_by_idempotency_key[content.idempotency_key] += 1
    backend.counters.messages_created += 1
    return message, True


def _record_dropped_features(backend: Backend, asked: OutgoingMessage, message: Message) -> None:
    """Record what ``asked`` carried that the service ``message`` went out on cannot."""
    if message.service is None:
        return  # no service reaches everyone: the send fails as a whole
    caps = capabilities_of(message.service)
    dropped = []
    if asked.effect is not None and not caps.effects:
        dropped.append("effect")
    if asked.reply_to is not None and not caps.reply_threads:
        dropped.append("reply_to")
    texts = [p for p in asked.parts if isinstance(p, TextPart)]
    if any(p.mentions for p in texts) and not caps.mentions:
        dropped.append("mention")
    if any(p.decorations for p in texts) and not caps.text_decorations:
        dropped.append("text_decoration")
    if any(isinstance(p, LinkPart) for p in asked.parts) and not caps.link_previews:
        dropped.append("link_preview")
    if dropped:
        backend.dropped_features[message.id] = tuple(dropped)
        for feature in dropped:
            backend.counters.features_dropped[f"{feature}:{message.service.value}"] += 1
