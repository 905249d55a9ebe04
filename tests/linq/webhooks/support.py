"""Shared helpers for the Linq webhook tests: fixture files and the reference YAML."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "webhooks"
REFERENCE_YAML = REPO_ROOT.parent / "shared" / "reference" / "linq-api-v3.yaml"
VERSIONS = ("2025-01-01", "2026-02-03")
EVENT_TYPES = (
    "message.sent",
    "message.received",
    "message.read",
    "message.delivered",
    "message.failed",
    "message.edited",
    "reaction.added",
    "reaction.removed",
    "participant.added",
    "participant.removed",
    "chat.created",
    "chat.group_name_updated",
    "chat.group_icon_updated",
    "chat.group_name_update_failed",
    "chat.group_icon_update_failed",
    "chat.typing_indicator.started",
    "chat.typing_indicator.stopped",
    "phone_number.status_updated",
)

# A Standard Webhooks secret (whsec_ + base64 of 24 bytes) made for these tests.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
NOW = 1_770_000_000


def fixture_path(version: str, event_type: str) -> Path:
    return FIXTURES / version / f"{event_type}.json"


def fixture_bytes(version: str, event_type: str) -> bytes:
    return fixture_path(version, event_type).read_bytes()


def fixture(version: str, event_type: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(fixture_bytes(version, event_type))
    return payload


def fixed_clock(now: float = NOW) -> Callable[[], float]:
    return lambda: now
