"""What Linq answers about its lines: reputation, call forwarding, audits, line choice.

Same rules as :mod:`adapters.linq.wire_chats`: unknown keys are ignored, what a
caller acts on is required, descriptive fields default to ``None``. Linq's
status words (``HEALTHY``, ``pending``, driver keys) stay strings: Linq marks
reputation BETA and adds words without notice.
"""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = [
    "AuditActionItem",
    "AuditDriver",
    "AuditEvidence",
    "AuditOptOutChat",
    "AuditUnhealthyChat",
    "AvailableNumber",
    "CallForwarding",
    "LineReputation",
    "ReputationAudit",
    "ReputationAuditStarted",
    "ReputationReport",
]


@attrs.frozen
class LineReputation:
    """A line's standing (``HEALTHY``, ``AT_RISK`` or ``CRITICAL``) and Linq's guide to it."""

    status: str
    doc_url: str | None = None


@attrs.frozen
class CallForwarding:
    """Where a line forwards inbound calls (``None``: nowhere)."""

    id: str
    phone_number: str
    forwarding_number: str | None = None


@attrs.frozen
class ReputationAuditStarted:
    """An audit Linq runs in the background: poll it with its ``audit_id``."""

    audit_id: str
    status: str


@attrs.frozen
class AuditDriver:
    """One cause of a line's standing, highest impact first (``key`` as Linq names it)."""

    key: str | None = None
    metric: str | None = None
    summary: str | None = None


@attrs.frozen
class AuditActionItem:
    """What to do about it; ``priority`` 1 comes first."""

    priority: int | None = None
    title: str | None = None
    detail: str | None = None
    expected_impact: str | None = None


@attrs.frozen
class AuditOptOutChat:
    """A chat where messages were sent after the person said stop."""

    chat_id: str | None = None
    messages_after_stop: int | None = None


@attrs.frozen
class AuditUnhealthyChat:
    chat_id: str | None = None
    status: str | None = None
    driver_keys: tuple[str, ...] | None = None


@attrs.frozen
class AuditEvidence:
    opt_out_chats: tuple[AuditOptOutChat, ...] | None = None
    unhealthy_chats: tuple[AuditUnhealthyChat, ...] | None = None


@attrs.frozen
class ReputationReport:
    """A finished audit's findings (``primary_driver`` is ``""`` when nothing needs doing)."""

    severity: str | None = None
    primary_driver: str | None = None
    drivers: tuple[AuditDriver, ...] | None = None
    action_items: tuple[AuditActionItem, ...] | None = None
    evidence: AuditEvidence | None = None
    summary_markdown: str | None = None


@attrs.frozen
class ReputationAudit:
    """An audit as it stands: ``pending``, ``complete`` (with ``report``) or ``error``."""

    audit_id: str
    status: str
    error: str | None = None
    generated_at: datetime | None = None
    phone: str | None = None
    report: ReputationReport | None = None


@attrs.frozen
class AvailableNumber:
    """The line Linq suggests sending from, and a time-limited vCard of it (nothing reserved)."""

    phone_number: str
    vcf_url: str = attrs.field(repr=False)
