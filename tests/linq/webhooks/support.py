"""Shared helpers for the Linq webhook tests: fixture files and the reference YAML."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.linq.event_types import ALL_EVENT_TYPES, WEBHOOK_VERSIONS
from adapters.linq.webhook_events import KNOWN_EVENT_TYPES

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "webhooks"
REFERENCE_YAML = REPO_ROOT.parent / "shared" / "reference" / "linq-api-v3.yaml"
VERSIONS = WEBHOOK_VERSIONS
EVENT_TYPES = tuple(t for t in ALL_EVENT_TYPES if t in KNOWN_EVENT_TYPES)
"""The typed event types (a fixture each, in both payload versions), in Linq's order."""

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
