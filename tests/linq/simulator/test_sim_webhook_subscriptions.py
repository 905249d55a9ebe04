"""Webhook subscriptions through the API: the secret once, loopback targets only, versions."""

from __future__ import annotations

import httpx
import pytest

from adapters.linq.simulator import Simulator

from .support import WEBHOOK_URL, error_of


async def _subscribe(api: httpx.AsyncClient, target: str, events: list[str]) -> httpx.Response:
    return await api.post(
        "/v3/webhook-subscriptions", json={"target_url": target, "subscribed_events": events}
    )


async def test_a_new_subscription_returns_its_signing_secret_once(
    api: httpx.AsyncClient,
) -> None:
    created = await _subscribe(api, WEBHOOK_URL, ["message.received"])
    body = created.json()
    assert (201, True) == (created.status_code, body["signing_secret"].startswith("whsec_"))
    listed = (await api.get("/v3/webhook-subscriptions")).json()["subscriptions"]
    fetched = (await api.get(f"/v3/webhook-subscriptions/{body['id']}")).json()
    assert [body["id"]] == [s["id"] for s in listed]
    assert "signing_secret" not in listed[0]
    assert "signing_secret" not in fetched


async def test_a_subscription_is_updated_and_deleted(api: httpx.AsyncClient) -> None:
    created = (await _subscribe(api, WEBHOOK_URL, ["message.received"])).json()
    path = f"/v3/webhook-subscriptions/{created['id']}"
    updated = await api.put(path, json={"is_active": False, "subscribed_events": ["message.read"]})
    assert (False, ["message.read"]) == (
        updated.json()["is_active"],
        updated.json()["subscribed_events"],
    )
    assert 204 == (await api.delete(path)).status_code
    assert (404, 2001) == error_of(await api.get(path))


@pytest.mark.parametrize(
    "target",
    [
        "https://example.org/hooks",
        "http://10.0.0.7/hooks",
        "http://192.168.1.2:8000/hooks",
        "http://127.0.0.1.example.org/hooks",
        "http://localhost.example.org/hooks",
        "http://127.0.0.1@example.org/hooks",
        "ftp://127.0.0.1/hooks",
        "not a url",
    ],
)
async def test_a_target_off_loopback_is_refused(
    api: httpx.AsyncClient, sim: Simulator, target: str
) -> None:
    response = await _subscribe(api, target, ["message.received"])
    assert (400, 1001) == error_of(response)
    assert {} == sim.backend.subscriptions


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:8080/hooks",
        "http://127.9.9.9/hooks",
        "http://localhost:3000/hooks",
        "http://[::1]:3000/hooks",
        "https://localhost/hooks",
    ],
)
async def test_a_loopback_target_is_accepted(api: httpx.AsyncClient, target: str) -> None:
    assert 201 == (await _subscribe(api, target, ["message.received"])).status_code


@pytest.mark.parametrize(
    ("query", "version"),
    [
        ("", "2026-02-03"),
        ("?version=2025-01-01", "2025-01-01"),
        ("?version=2026-02-03", "2026-02-03"),
    ],
)
async def test_the_payload_version_comes_from_the_target_url(
    api: httpx.AsyncClient, sim: Simulator, query: str, version: str
) -> None:
    created = (await _subscribe(api, WEBHOOK_URL + query, ["message.received"])).json()
    assert version == sim.backend.subscriptions[created["id"]].version


async def test_a_version_that_does_not_exist_is_400(api: httpx.AsyncClient) -> None:
    response = await _subscribe(api, WEBHOOK_URL + "?version=2024-05-05", ["message.received"])
    assert 400 == error_of(response)[0]


async def test_an_unknown_event_type_is_400(api: httpx.AsyncClient) -> None:
    assert 400 == error_of(await _subscribe(api, WEBHOOK_URL, ["message.teleported"]))[0]


async def test_the_event_types_are_listed(api: httpx.AsyncClient) -> None:
    body = (await api.get("/v3/webhook-events")).json()
    assert {"message.received", "message.failed", "reaction.added"} <= set(body["events"])
