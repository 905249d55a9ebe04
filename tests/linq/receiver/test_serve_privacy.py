"""``webhooks serve``, a real process at DEBUG: no message text unless asked, no handle ever.

Signed deliveries carry a canary health detail and canary handles through every
path that prints or logs: handled events of each kind, a verified body that is
not a delivery, a forged signature. Then stdout and stderr are searched.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from adapters.linq.webhooks import sign_standard

from .processes import delivery, request_bytes, send_and_read_status, serve_process, signed_request

CANARY_TEXT = "CANARY-Mum fell at 3am, BP 180/110, on warfarin"
CANARY_PHONE = "+16515557981"
CANARY_OWNER = "+16125550123"
CANARY_EMAIL = "mum.smith@example.org"
UNMASKED = ("6515557981", "6125550123", "mum.smith", "Mum fell", "180/110", "warfarin", "CANARY")


def event(event_id: str, event_type: str, data: dict[str, Any]) -> bytes:
    return delivery(event_id, event_type=event_type, data=data)


def canary_deliveries() -> list[bytes]:
    chat = {"id": "chat-c", "is_group": False, "owner_handle": {"handle": CANARY_OWNER}}
    return [
        delivery("evt-text", text=CANARY_TEXT, sender=CANARY_PHONE),
        delivery("evt-number", text=f"{CANARY_TEXT}; call {CANARY_PHONE}", sender=CANARY_PHONE),
        event(
            "evt-reaction",
            "reaction.added",
            {
                "chat_id": "chat-c",
                "message_id": "msg-evt-text",
                "reaction_type": "love",
                "from_handle": {"handle": CANARY_PHONE},
            },
        ),
        event(
            "evt-typing",
            "chat.typing_indicator.started",
            {"chat_id": "chat-c", "from_handle": CANARY_PHONE},
        ),
        event(
            "evt-failed",
            "message.failed",
            {
                "chat_id": "chat-c",
                "message_id": "msg-out-1",
                "service": "SMS",
                "code": 3007,
                "reason": f"{CANARY_PHONE} is not reachable",
            },
        ),
        event(
            "evt-joined", "participant.added", {"chat_id": "chat-c", "participant": CANARY_EMAIL}
        ),
        event(
            "evt-edited",
            "message.edited",
            {"chat_id": "chat-c", "id": "msg-evt-text", "part": {"index": 0, "text": CANARY_TEXT}},
        ),
        event(
            "evt-created",
            "chat.created",
            {"id": "chat-c", "handles": [{"handle": CANARY_PHONE}, {"handle": CANARY_EMAIL}]},
        ),
        json.dumps({"event_type": "message.received", "data": {"chat": chat}}).encode(),
    ]


def forged(body: bytes) -> bytes:
    headers = sign_standard(body, "whsec_Zm9yZ2Vk", msg_id="forged", timestamp=int(time.time()))
    return request_bytes(body, headers)


def run_canaries(tmp_path: Path, *args: str) -> tuple[list[int | None], str, str]:
    with serve_process(tmp_path, *args, debug_logging=True) as server:
        statuses = [
            send_and_read_status(server.port, signed_request(body, msg_id=f"m{index}"), timeout=5)
            for index, body in enumerate(canary_deliveries())
        ]
        statuses.append(
            send_and_read_status(server.port, forged(canary_deliveries()[0]), timeout=5)
        )
    return statuses, server.stdout.read_text(), server.stderr.read_text()


def test_without_show_content_no_canary_text_or_handle_reaches_stdout_or_stderr(
    tmp_path: Path,
) -> None:
    statuses, out, err = run_canaries(tmp_path)

    assert [200] * 8 + [400, 401] == statuses
    assert "DEBUG" in err  # the process logged at DEBUG
    for secret in UNMASKED:
        assert secret not in out, (secret, out)
        assert secret not in err, (secret, err)
    # What is printed instead: one readable, masked line per event.
    assert "message msg-evt-text from +1651•••7981 in chat-1 via imessage: (text hidden" in out
    assert "reaction love added by +1651•••7981 on message msg-evt-text in chat-c" in out
    assert "+1651•••7981 started typing in chat-c" in out
    assert (
        "message msg-out-1 in chat-c failed on sms: +1651•••7981 is not reachable (error 3007)"
        in out
    )
    assert "m•••@example.org joined in chat-c" in out
    assert "message msg-evt-text in chat-c edited: (text hidden" in out
    assert "group chat-c created with +1651•••7981, m•••@example.org" in out


def test_with_show_content_the_text_is_printed_but_handles_stay_masked(tmp_path: Path) -> None:
    statuses, out, err = run_canaries(tmp_path, "--show-content")

    assert [200] * 8 + [400, 401] == statuses
    assert f'"{CANARY_TEXT}"' in out
    assert f'"{CANARY_TEXT}; call +1651•••7981"' in out
    for number in ("6515557981", "6125550123", "mum.smith"):
        assert number not in out
        assert number not in err
