"""Linq's official SDK (linq-python 0.65) as an oracle for the simulator.

Every route the simulator serves is called through the SDK's async client with
strict response validation, and every delivery the simulator signs is verified
with the SDK's webhook ``unwrap`` and validated against its event type's own
model. Nothing is refused: a refusal fails here (the only exceptions are
:data:`SDK_LIMITS`, payloads the SDK has no model for).

The SDK's ``unwrap`` verifies the Standard Webhooks signature but builds its
event union without validating, and picks the wrong class for most events
(``chat.created`` comes back as ``TeamMemberSignedOutWebhookEvent``,
``reaction.removed`` as ``ReactionAddedWebhookEvent``): so each delivery is
also validated against ``linq.types.<Type>WebhookEvent`` of its own type.
The oracle runs in its own process (see ``oracle.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from adapters.linq.simulator.routes import route_keys

ROOT = Path(__file__).resolve().parents[3]

SDK_LIMITS: dict[str, str] = {
    f"{event_type}@2025-01-01": "the SDK models only 2026-02-03 message payloads"
    for event_type in ("message.sent", "message.received", "message.delivered", "message.read")
}
"""Not refusals of ours: these deliveries are verified (signature) but have no SDK
model; tests/linq/simulator/test_sim_schema.py holds them to the YAML."""

DELIVERED = {
    f"{event_type}@{version}"
    for event_type in (
        "message.sent",
        "message.received",
        "message.delivered",
        "message.read",
        "message.failed",
        "reaction.added",
        "reaction.removed",
        "poll.sent",
        "poll.delivered",
        "poll.read",
        "poll.failed",
        "poll.received",
        "poll.updated",
        "poll.vote.added",
        "poll.vote.removed",
        "participant.added",
        "participant.removed",
        "chat.created",
        "chat.group_name_updated",
        "chat.group_icon_updated",
        "chat.group_name_update_failed",
        "chat.group_icon_update_failed",
        "chat.typing_indicator.started",
        "chat.typing_indicator.stopped",
        "chat.background_updated",
        "phone_number.status_updated",
        "phone_number.forwarding_updated",
        "contact_card.received",
        "location.sharing.started",
        "location.sharing.stopped",
        "webhook_subscription.disabled",
        "webhook_subscription.enabled",
        "webhook_subscription.deleted",
    )
    for version in ("2025-01-01", "2026-02-03")
} | {"message.edited@2026-02-03"}
"""Every (event type, payload version) the simulator sends (message.edited: 2026 only)."""

OPERATIONS = sorted(route_keys())
"""What the oracle must drive: every route served."""
ACCEPTED_DELIVERIES = len(DELIVERED) - len(SDK_LIMITS)


@cache
def oracle() -> dict[str, Any]:
    """What ``tests/linq/sdk_oracle/oracle.py`` found, run in its own process (see there)."""
    ran = subprocess.run(
        [sys.executable, "-m", "tests.linq.sdk_oracle.oracle"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert 0 == ran.returncode, ran.stderr[-2000:]
    found: dict[str, Any] = json.loads(ran.stdout)
    return found


def test_the_oracle_drives_every_route_the_simulator_serves() -> None:
    assert OPERATIONS == sorted(oracle()["operations"])


@pytest.mark.parametrize("key", OPERATIONS)
def test_the_sdk_accepts_the_simulators_answer_to(key: str) -> None:
    accepted, detail = oracle()["operations"][key]

    assert accepted, detail


@pytest.mark.parametrize(
    "expected",
    [(len(OPERATIONS), len(OPERATIONS))],
    ids=[f"accepted-{len(OPERATIONS)}-of-{len(OPERATIONS)}-operations"],
)
def test_summary_of_operations(expected: tuple[int, int]) -> None:
    outcomes = oracle()["operations"]

    assert expected == (sum(accepted for accepted, _ in outcomes.values()), len(outcomes))


def test_the_simulator_delivers_every_event_type_it_knows_in_both_versions() -> None:
    assert DELIVERED == set(oracle()["deliveries"])


@pytest.mark.parametrize("key", sorted(DELIVERED))
def test_the_sdk_verifies_and_reads_the_delivery_of(key: str) -> None:
    verified, validated, _, detail = oracle()["deliveries"][key]

    assert verified, detail  # the SDK's Standard Webhooks check passed
    if key in SDK_LIMITS:
        assert not validated, f"{key} validates now: remove it from SDK_LIMITS"
    else:
        assert validated, detail


@pytest.mark.parametrize(
    "expected",
    [(ACCEPTED_DELIVERIES, len(DELIVERED))],
    ids=[f"accepted-{ACCEPTED_DELIVERIES}-of-{len(DELIVERED)}-deliveries"],
)
def test_summary_of_deliveries(expected: tuple[int, int]) -> None:
    found = oracle()["deliveries"]

    assert expected == (sum(d[1] for d in found.values()), len(found))
