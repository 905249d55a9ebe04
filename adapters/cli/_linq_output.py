"""What the ``linq`` commands print: readable lines, or JSON with ``--json`` (private).

Every command's result is an :class:`Output`: lines for people and the same
facts as JSON (Linq's own field names, from the client's converter). Nothing
here ever sees the API token. The ``inbox`` commands print their results and
errors the same way (:class:`Output`, :func:`report_error`, :func:`error_json`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import attrs

from adapters.linq._convert import converter
from adapters.linq.wire_account import (
    Accepted,
    ContactCard,
    CreatedWebhookSubscription,
    PhoneNumber,
    WebhookSubscription,
)
from adapters.linq.wire_blocked import BlockedHandle
from adapters.linq.wire_chats import (
    Chat,
    ChatHandle,
    CreatedChat,
    Message,
    MessageLinkPart,
    MessageMediaPart,
    MessagePart,
    MessageSent,
    MessageTextPart,
    VoiceMemoSent,
)
from adapters.linq.wire_extras import LocationPoint
from adapters.linq.wire_lines import AvailableNumber, ReputationAudit
from caresupport_transport.errors import (
    ConfigurationError,
    ProtocolError,
    ProviderError,
    TransportError,
    UnsupportedError,
    ValidationError,
)
from caresupport_transport.model import Attachment, Degradation
from caresupport_transport.redact import mask_handle

__all__ = [
    "Output",
    "accepted",
    "attachment",
    "audit",
    "available_number",
    "blocked_handle",
    "blocked_handles",
    "chats",
    "contact_card",
    "contact_cards",
    "created_chat",
    "describe_error",
    "describe_error_json",
    "edited",
    "error_json",
    "event_types",
    "locations",
    "messages",
    "phones",
    "report_error",
    "reputations",
    "sent",
    "subscription_created",
    "subscriptions",
    "voice_memo_sent",
]


@attrs.frozen
class Output:
    """A command's result: ``lines`` for people, ``data`` for ``--json``."""

    lines: tuple[str, ...]
    data: Any

    def write(self, out: TextIO, *, as_json: bool) -> None:
        if as_json:
            print(json.dumps(self.data, indent=2, ensure_ascii=False, default=str), file=out)
        else:
            for line in self.lines:
                print(line, file=out)


def _json(value: Any) -> Any:
    return converter().unstructure(value)


def _others(handles: Iterable[ChatHandle]) -> str:
    return ", ".join(h.handle for h in handles if not h.is_me) or "-"


def _label(service: object) -> str:
    label = getattr(service, "label", None)
    return label if isinstance(label, str) else "-"


def _chat_line(chat: Chat | CreatedChat) -> str:
    kind = "group" if chat.is_group else "1:1"
    name = f'  "{chat.display_name}"' if chat.display_name else ""
    return f"{chat.id}  {_label(chat.service):<8} {kind:<5}  {_others(chat.handles)}{name}"


def chats(found: Sequence[Chat]) -> Output:
    lines = tuple(_chat_line(c) for c in found) or ("(no chats)",)
    return Output(lines, [_json(c) for c in found])


def created_chat(chat: CreatedChat, notes: Sequence[str] = (), *, reused: bool = False) -> Output:
    """A create's result, saying whether Linq made a chat or sent into one it had."""
    message = chat.message
    how = f"{_label(chat.service)}, {'group' if chat.is_group else '1:1'}"
    first = (
        f"chat {chat.id} reused: a chat with these people existed, the message went there ({how})"
        if reused
        else f"chat {chat.id} created ({how})"
    )
    lines = (
        first,
        f"message {message.id}: {message.delivery_status.value}",
        f"idempotency key: {chat.idempotency_key}",
        *notes,
    )
    return Output(lines, {**_json(chat), "reused_existing_chat": reused})


def _sent_lines(answer: MessageSent) -> tuple[str, str]:
    message = answer.message
    return (
        f"message {message.id} in chat {answer.chat_id}: {message.delivery_status.value} "
        f"({_label(message.service)})",
        f"idempotency key: {answer.idempotency_key}",
    )


def sent(
    answers: Sequence[MessageSent], degradations: Sequence[Degradation] = (), *, key: str = ""
) -> Output:
    """One send's bubbles (one, or several when long text was split) and every degradation.

    JSON: Linq's answer with ``degradations`` added; several bubbles are listed under
    ``bubbles`` with the chat id and the caller's key.
    """
    lines = [line for answer in answers for line in _sent_lines(answer)]
    lines.extend(f"degradation: {change}" for change in degradations)
    changes = [str(change) for change in degradations]
    if len(answers) == 1:
        return Output(tuple(lines), {**_json(answers[0]), "degradations": changes})
    data = {
        "chat_id": answers[0].chat_id if answers else None,
        "idempotency_key": key,
        "bubbles": [_json(answer) for answer in answers],
        "degradations": changes,
    }
    return Output(tuple(lines), data)


def voice_memo_sent(memo: VoiceMemoSent) -> Output:
    lines = (
        f"voice memo {memo.id} in chat {memo.chat.id}: {memo.status} ({_label(memo.service)})",
        f"audio: {memo.voice_memo.filename} ({memo.voice_memo.mime_type})",
        f"idempotency key: {memo.idempotency_key}",
    )
    return Output(lines, _json(memo))


def edited(message: Message) -> Output:
    return Output((f"message {message.id} edited", _message_line(message)), _json(message))


def _part_text(part: MessagePart) -> str:
    if isinstance(part, MessageTextPart):
        return part.value
    if isinstance(part, MessageMediaPart):
        return f"[{part.mime_type or 'media'}: {part.filename or part.url}]"
    if isinstance(part, MessageLinkPart):
        return f"[link: {part.value}]"
    return f"[{part.type}]"


def _message_line(message: Message) -> str:
    arrow = "->" if message.is_from_me else "<-"
    who = message.from_ or (message.from_handle.handle if message.from_handle else "?")
    status = (
        message.delivery_status.value
        if message.delivery_status
        else ("read" if message.is_read else "delivered" if message.is_delivered else "sent")
    )
    text = " ".join(_part_text(p) for p in message.parts or ()) or "(empty)"
    when = message.created_at.strftime("%Y-%m-%d %H:%M")
    return f"{when}  {arrow} {who}  [{_label(message.service)}, {status}]  {text}  ({message.id})"


def messages(found: Sequence[Message]) -> Output:
    lines = tuple(_message_line(m) for m in found) or ("(no messages)",)
    return Output(lines, [_json(m) for m in found])


def phones(found: Sequence[PhoneNumber]) -> Output:
    lines = tuple(f"{p.phone_number}  ({p.id})" for p in found) or ("(no lines)",)
    return Output(lines, [_json(p) for p in found])


def available_number(chosen: AvailableNumber) -> Output:
    # The vCard link is time-limited and shows the line's card: JSON only.
    return Output((chosen.phone_number,), _json(chosen))


def reputations(found: Sequence[PhoneNumber]) -> Output:
    def line(p: PhoneNumber) -> str:
        status = p.reputation.status if p.reputation else "unknown"
        forwarding = f"  calls forwarded to {p.forwarding_number}" if p.forwarding_number else ""
        return f"{p.phone_number}  {status}  ({p.line_type or 'line type unknown'}){forwarding}"

    return Output(tuple(line(p) for p in found) or ("(no lines)",), [_json(p) for p in found])


def audit(found: ReputationAudit) -> Output:
    lines = [f"audit {found.audit_id}: {found.status}"]
    report = found.report
    if report is not None:
        lines.append(f"severity: {report.severity or 'unknown'}")
        if report.primary_driver:
            lines.append(f"primary driver: {report.primary_driver}")
        lines.extend(
            f"{item.priority or '-'}. {item.title}"
            for item in report.action_items or ()
            if item.title
        )
    if found.error:
        lines.append(f"error: {found.error}")
    return Output(tuple(lines), _json(found))


def locations(found: Sequence[LocationPoint]) -> Output:
    lines = tuple(
        f"{p.handle}  {p.latitude:.5f}, {p.longitude:.5f}"
        + (f"  {p.locality}" if p.locality else "")
        + (f"  (as of {p.updated_at:%Y-%m-%d %H:%M})" if p.updated_at else "")
        for p in found
    )
    return Output(lines or ("(nobody shares a location in this chat)",), [_json(p) for p in found])


def accepted(what: str, answer: Accepted | None = None) -> Output:
    data = _json(answer) if answer is not None else {}
    return Output((f"{what}: done",), {"status": "ok", **data})


def attachment(uploaded: Attachment) -> Output:
    lines = (
        f"attachment {uploaded.id}: {uploaded.filename} ({uploaded.content_type}, "
        f"{uploaded.size_bytes} bytes)",
        f"send it with: MediaPart(attachment_id={uploaded.id!r})",
    )
    data = {
        "id": uploaded.id,
        "filename": uploaded.filename,
        "content_type": uploaded.content_type,
        "size_bytes": uploaded.size_bytes,
        "download_url": uploaded.download_url,
    }
    return Output(lines, data)


def _subscription_line(item: WebhookSubscription | CreatedWebhookSubscription) -> str:
    state = "active" if item.is_active else "paused"
    return f"{item.id}  {state:<6}  {item.target_url}  {', '.join(item.subscribed_events)}"


def subscriptions(found: Sequence[WebhookSubscription]) -> Output:
    lines = tuple(_subscription_line(s) for s in found) or ("(no webhook subscriptions)",)
    return Output(lines, [_json(s) for s in found])


def subscription_created(created: CreatedWebhookSubscription) -> Output:
    lines = (
        _subscription_line(created),
        f"signing secret: {created.signing_secret.reveal()}",
        "store it now (LINQ_WEBHOOK_SIGNING_SECRET): Linq never shows it again",
    )
    return Output(lines, _json(created))


def _card_line(card: ContactCard) -> str:
    name = " ".join(n for n in (card.first_name, card.last_name) if n)
    state = "active" if card.is_active else "pending"
    photo = f"  photo {card.image_url}" if card.image_url else ""
    return f"{card.phone_number}  {name}  ({state}){photo}"


def contact_cards(found: Sequence[ContactCard]) -> Output:
    lines = tuple(_card_line(c) for c in found) or ("(no contact cards)",)
    return Output(lines, [_json(c) for c in found])


def contact_card(card: ContactCard, what: str) -> Output:
    return Output((f"contact card {what}: {_card_line(card)}",), _json(card))


def _blocked_json(entry: BlockedHandle) -> dict[str, Any]:
    """A blocklist entry with its handle masked: who is blocked is personal too."""
    return {**_json(entry), "handle": mask_handle(entry.handle)}


def _blocked_line(entry: BlockedHandle) -> str:
    reason = f"  ({entry.reason})" if entry.reason else ""
    return f"{mask_handle(entry.handle)}  blocked {entry.blocked_at.isoformat()}{reason}"


def blocked_handles(found: Sequence[BlockedHandle]) -> Output:
    """The blocklist, newest first, handles masked."""
    lines = tuple(_blocked_line(e) for e in found) or ("(no blocked handles)",)
    return Output(lines, [_blocked_json(e) for e in found])


def blocked_handle(entry: BlockedHandle) -> Output:
    return Output((f"blocked: {_blocked_line(entry)}",), _blocked_json(entry))


def event_types(found: Sequence[str]) -> Output:
    return Output(tuple(found) or ("(no event types)",), list(found))


def describe_error(exc: TransportError) -> list[str]:
    """The message, Linq's code and the trace id, one per line (never a credential)."""
    if not isinstance(exc, ProviderError):
        lines = [f"error: {exc}"]
    else:
        lines = [f"error: {exc.message}"]
        if exc.status is not None:
            lines.append(f"status: {exc.status}")
        if exc.code is not None:
            lines.append(f"code: {exc.code}")
        if exc.trace_id:
            lines.append(f"trace id: {exc.trace_id}")
    if isinstance(exc, ProtocolError) and exc.trace_id:
        lines.append(f"trace id: {exc.trace_id}")
    if exc.idempotency_key:
        lines.append(f"idempotency key: {exc.idempotency_key} (retry under it, never a new one)")
    return lines


def error_json(kind: str, message: str, **facts: Any) -> dict[str, Any]:
    """``{"error": {...}}`` with every key present (``null`` when unknown)."""
    fields = {
        "kind": kind,
        "message": message,
        "status": None,
        "code": None,
        "trace_id": None,
        "field": None,
        "rule": None,
        "idempotency_key": None,
        "outcome_unknown": False,
    }
    return {"error": {**fields, **facts}}


_KINDS: tuple[tuple[type[TransportError], str], ...] = (
    (ValidationError, "validation"),
    (ConfigurationError, "configuration"),
    (UnsupportedError, "unsupported"),
    (ProviderError, "refused"),
    (ProtocolError, "protocol"),
)


def describe_error_json(exc: TransportError) -> dict[str, Any]:
    """The error as JSON for ``--json``: kind, message, status, code, trace id (no credential)."""
    kind = next((name for cls, name in _KINDS if isinstance(exc, cls)), "unreachable")
    facts: dict[str, Any] = {
        "idempotency_key": exc.idempotency_key,
        "outcome_unknown": exc.outcome_unknown,
    }
    if isinstance(exc, ValidationError):
        facts.update(field=exc.field, rule=exc.rule)
    if isinstance(exc, ProviderError):
        facts.update(status=exc.status, code=exc.code, trace_id=exc.trace_id)
        return error_json(kind, exc.message, **facts)
    if isinstance(exc, ProtocolError):
        facts.update(status=exc.status, trace_id=exc.trace_id)
    return error_json(kind, str(exc), **facts)


def report_error(exc: TransportError, *, as_json: bool) -> None:
    """Print ``exc`` on stderr: :func:`describe_error`'s lines, or its JSON with ``as_json``."""
    if as_json:
        print(json.dumps(describe_error_json(exc), ensure_ascii=False), file=sys.stderr)
        return
    for line in describe_error(exc):
        print(line, file=sys.stderr)
