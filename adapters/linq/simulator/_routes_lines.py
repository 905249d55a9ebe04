"""Lines: call forwarding, reputation audits, the suggested line, and experiences.

Simulator's choices, where Linq states no value: an audit completes
:data:`AUDIT_SECONDS` after it starts (on the World's clock) and a line may be
audited again :data:`AUDIT_COOLDOWN` after the last one completed; every line
is an ``iMessage`` line in ``HEALTHY`` standing and its audit finds nothing to
act on; the vCard URL names an ``.invalid`` host (nothing is served there).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import (
    INVALID_PHONE,
    UPSTREAM_UNAVAILABLE,
    bad_request,
    not_found,
    rate_limited,
)
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._parse import parse_from, parse_handle
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator.state import Account, Audit, Backend
from caresupport_transport.errors import ProviderError
from caresupport_transport.handles import E164_PATTERN

__all__ = [
    "AUDIT_COOLDOWN",
    "AUDIT_READABLE",
    "AUDIT_SECONDS",
    "EXPERIENCES",
    "LINE_ROUTES",
    "REPUTATION_DOC_URL",
    "line_json",
]

AUDIT_SECONDS = 30.0
AUDIT_COOLDOWN = timedelta(hours=1)
AUDIT_READABLE = timedelta(hours=24)
REPUTATION_DOC_URL = (
    "https://docs.linqapp.com/channel/imessage/guides/phone-numbers/phone-reputation"
)
LINE_TYPE = "iMessage"

EXPERIENCES: tuple[dict[str, Any], ...] = (
    {
        "experience": "agentpay",
        "display_name": "Agent Pay",
        "actions": [
            {
                "name": "request_payment",
                "summary": "Ask the recipient to pay a payment request",
                "fields": {"checkout_url": {"type": "url", "required": True, "max": 2048}},
            }
        ],
    },
    {
        "experience": "agentcard",
        "display_name": "Agent Card",
        "actions": [
            {"name": "attach_card", "summary": "Attach a virtual card", "fields": {}},
            {"name": "approve_card", "summary": "Ask to approve a virtual card", "fields": {}},
        ],
    },
    {
        "experience": "link",
        "display_name": "Link",
        "actions": [
            {
                "name": "open",
                "summary": "Open a link in a native card",
                "fields": {"url": {"type": "url", "required": True, "max": 2048}},
            }
        ],
    },
)


def line_json(backend: Backend, line: str) -> dict[str, Any]:
    """A line as ``GET /v3/phone_numbers`` lists it (0.65 shape)."""
    return {
        "id": backend.ids.stable("line", line),
        "phone_number": line,
        "reputation": {"status": "HEALTHY", "doc_url": REPUTATION_DOC_URL},
        "forwarding_number": backend.forwarding.get(line),
        "line_type": LINE_TYPE,
    }


def set_call_forwarding(call: Call) -> Response:
    backend = call.backend
    wanted = call.params["phoneNumberId"]
    line = next(
        (n for n in call.account.phone_numbers if backend.ids.stable("line", n) == wanted), None
    )
    if line is None:
        raise not_found("Phone number")
    raw = call.body().get("forwarding_number")
    if raw is not None and not isinstance(raw, str):
        raise bad_request("forwarding_number must be an E.164 number or null")
    target = raw or None
    if target is not None and not E164_PATTERN.fullmatch(target):
        raise bad_request("forwarding_number: Phone number must be in E.164 format", INVALID_PHONE)
    before = backend.forwarding.get(line)
    backend.forwarding[line] = target
    if before != target:
        now = backend.lines[line].now
        backend.record(
            line,
            "phone_number.forwarding_updated",
            {
                "summary": f"Call forwarding for {line} updated",
                "occurred_at": _wire.iso(now),
                "actor": {"type": "api"},
                "origin": "api",
                "phone_number": line,
                "change": {"from": before, "to": target},
            },
        )
    return call.json(200, {"id": wanted, "phone_number": line, "forwarding_number": target})


def _latest_audit(backend: Backend, line: str) -> Audit | None:
    audits = [a for a in backend.audits.values() if a.line == line]
    return max(audits, key=lambda a: a.started_at) if audits else None


def start_reputation_audit(call: Call) -> Response:
    backend = call.backend
    line = parse_from(call.params["phoneNumber"], call.account, "phoneNumber")
    now = backend.lines[line].now
    latest = _latest_audit(backend, line)
    if latest is not None and now < latest.ready_at:
        return call.json(202, {"audit_id": latest.id, "status": "pending"})
    if latest is not None and now < latest.ready_at + AUDIT_COOLDOWN:
        raise rate_limited((latest.ready_at + AUDIT_COOLDOWN - now).total_seconds())
    audit = Audit(backend.ids.next("audit"), line, now, now + timedelta(seconds=AUDIT_SECONDS))
    backend.audits[audit.id] = audit
    return call.json(202, {"audit_id": audit.id, "status": "pending"})


def get_reputation_audit(call: Call) -> Response:
    backend = call.backend
    line = parse_from(call.params["phoneNumber"], call.account, "phoneNumber")
    audit = backend.audits.get(call.params["auditId"])
    now = backend.lines[line].now
    if audit is None or audit.line != line or now - audit.started_at > AUDIT_READABLE:
        raise not_found("Reputation audit")
    if now < audit.ready_at:
        return call.json(200, {"audit_id": audit.id, "status": "pending", "phone": line})
    return call.json(
        200,
        {
            "audit_id": audit.id,
            "status": "complete",
            "phone": line,
            "generated_at": _wire.iso(audit.ready_at),
            "report": {
                "severity": "HEALTHY",
                "primary_driver": "",
                "drivers": [],
                "action_items": [],
                "evidence": {"opt_out_chats": [], "unhealthy_chats": []},
                "summary_markdown": f"**{line}** is healthy: nothing to act on.",
            },
        },
    )


def choose_line(
    backend: Backend, account: Account, to: list[str], excluded: set[str]
) -> str | None:
    """The sticky line of a chat with exactly ``to``, else the least recently used one."""
    candidates = [n for n in account.phone_numbers if n not in excluded]
    if to:
        wanted = {parse_handle(v, "to") for v in to}
        for line in candidates:
            world = backend.lines[line]
            if any(set(c.participants) == wanted for c in world.conversations.values()):
                return line
    if not candidates:
        return None
    return min(candidates, key=lambda n: backend.line_uses.get(n, 0))


def get_available_number(call: Call) -> Response:
    request = call.request
    excluded: set[str] = set()
    for value in request.query_all("exclude_from"):
        if not E164_PATTERN.fullmatch(value):
            raise bad_request(f"exclude_from: {value!r} is not an E.164 number", INVALID_PHONE)
        excluded.add(value)
    kind = request.query_one("type")
    if kind is not None:
        if kind.lower() not in ("rcs", "imessage"):
            raise bad_request("type must be RCS or iMessage")
        if kind.lower() != LINE_TYPE.lower():
            raise ProviderError(f"No available {kind} line", status=503, code=UPSTREAM_UNAVAILABLE)
    line = choose_line(call.backend, call.account, request.query_all("to"), excluded)
    if line is None:
        raise bad_request("exclude_from: every line of this token is excluded")
    call.backend.use_line(line)
    vcf = f"https://vcf.linq-simulator.invalid/{call.backend.ids.next('vcf')}.vcf"
    return call.json(200, {"phone_number": line, "vcf_url": vcf})


def list_experiences(call: Call) -> Response:
    return call.json(200, {"experiences": list(EXPERIENCES)})


def get_experience(call: Call) -> Response:
    wanted = call.params["experience"]
    for experience in EXPERIENCES:
        if experience["experience"] == wanted:
            return call.json(200, experience)
    raise not_found("Experience")


LINE_ROUTES = (
    Route("PUT", "/v3/phone_numbers/{phoneNumberId}", set_call_forwarding),
    Route("POST", "/v3/phone_numbers/{phoneNumber}/reputation_audit", start_reputation_audit),
    Route(
        "GET",
        "/v3/phone_numbers/{phoneNumber}/reputation_audit/{auditId}",
        get_reputation_audit,
    ),
    Route("GET", "/v3/available_number", get_available_number),
    Route("GET", "/v3/experiences", list_experiences),
    Route("GET", "/v3/experiences/{experience}", get_experience),
)
