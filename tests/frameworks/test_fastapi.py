"""docs/webhooks.md's FastAPI recipes (a mounted receiver, a route) run in FastAPI itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from .support import (
    EXPECTED_HANDLED,
    NO_SECRET,
    SECRET,
    Answer,
    Deployment,
    answer_of,
    close,
    deploy,
    genuine_delivery,
    play,
)

PATHS = {"fastapi-mount": "/linq/webhooks/", "fastapi-route": "/linq/webhooks"}

Poster = Callable[[bytes, dict[str, str]], Awaitable[Answer]]


@asynccontextmanager
async def running(
    recipe: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str | None = SECRET
) -> AsyncIterator[tuple[Deployment, Poster]]:
    deployment = deploy(recipe, monkeypatch=monkeypatch, tmp_path=tmp_path, secret=secret)
    transport = httpx.ASGITransport(app=deployment.names["app"])
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def post(body: bytes, headers: dict[str, str]) -> Answer:
                response = await client.post(PATHS[recipe], content=body, headers=headers)
                return answer_of(
                    response.status_code,
                    response.headers.get("content-type", ""),
                    response.content,
                    response.headers.get("retry-after"),
                )

            yield deployment, post
    finally:
        await close(deployment)


@pytest.mark.parametrize("recipe", sorted(PATHS))
async def test_fastapi_recipe_answers_every_delivery_and_hands_each_event_over_once(
    recipe: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with running(recipe, monkeypatch, tmp_path) as (deployment, post):
        await play(post, deployment)

    assert EXPECTED_HANDLED == deployment.handled_ids()


@pytest.mark.parametrize("recipe", sorted(PATHS))
async def test_fastapi_recipe_without_a_secret_refuses_with_503(
    recipe: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with running(recipe, monkeypatch, tmp_path, secret=None) as (deployment, post):
        answer = await post(*genuine_delivery())

    assert NO_SECRET == answer
    assert [] == deployment.handled_ids()
