"""docs/webhooks.md's Django recipes run in Django: an async view (ASGI), a sync one (WSGI)."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import django
import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import AsyncClient, Client, override_settings

from adapters.linq.blocking import BlockingIntake

from .support import (
    EXPECTED_HANDLED,
    NO_SECRET,
    SECRET,
    Answer,
    AsyncPost,
    Deployment,
    Post,
    answer_of,
    close,
    deploy,
    genuine_delivery,
    play,
    play_blocking,
)

URL = "/linq/webhooks/"


@pytest.fixture(scope="module", autouse=True)
def minimal_django_settings() -> None:
    """The least a project needs to serve the view: no apps, no database, no middleware."""
    if not settings.configured:
        settings.configure(
            SECRET_KEY="framework-recipe-tests",
            ALLOWED_HOSTS=["testserver"],
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
            DATABASES={},
            ROOT_URLCONF=None,
        )
        django.setup()


def _urlconf(deployment: Deployment) -> types.ModuleType:
    urls = types.ModuleType("linq_webhook_recipe_urls")
    urls.urlpatterns = deployment.names["urlpatterns"]  # type: ignore[attr-defined]
    return urls


def _answer(response: HttpResponse) -> Answer:
    return answer_of(
        response.status_code,
        response.headers.get("Content-Type", ""),
        response.content,
        response.headers.get("Retry-After"),
    )


@asynccontextmanager
async def running_asgi(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str | None = SECRET
) -> AsyncIterator[tuple[Deployment, AsyncPost]]:
    deployment = deploy("django-asgi", monkeypatch=monkeypatch, tmp_path=tmp_path, secret=secret)
    client = AsyncClient()

    async def post(body: bytes, headers: dict[str, str]) -> Answer:
        response = await client.post(URL, body, content_type="application/json", headers=headers)
        return _answer(response)

    try:
        with override_settings(ROOT_URLCONF=_urlconf(deployment)):
            yield deployment, post
    finally:
        await close(deployment)


@contextmanager
def running_wsgi(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str | None = SECRET
) -> Iterator[tuple[Deployment, Post]]:
    deployment = deploy("django-wsgi", monkeypatch=monkeypatch, tmp_path=tmp_path, secret=secret)
    blocking: BlockingIntake = deployment.names["blocking"]
    client = Client()

    def post(body: bytes, headers: dict[str, str]) -> Answer:
        response = client.post(URL, body, content_type="application/json", headers=headers)
        return _answer(response)

    try:
        with override_settings(ROOT_URLCONF=_urlconf(deployment)):
            yield deployment, post
    finally:
        blocking.run(close(deployment))
        blocking.close()


async def test_django_async_view_answers_every_delivery_and_hands_each_event_over_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with running_asgi(monkeypatch, tmp_path) as (deployment, post):
        await play(post, deployment)

    assert EXPECTED_HANDLED == deployment.handled_ids()


async def test_django_async_view_without_a_secret_refuses_with_503(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with running_asgi(monkeypatch, tmp_path, secret=None) as (deployment, post):
        answer = await post(*genuine_delivery())

    assert NO_SECRET == answer
    assert [] == deployment.handled_ids()


def test_django_sync_view_answers_every_delivery_and_hands_each_event_over_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running_wsgi(monkeypatch, tmp_path) as (deployment, post):
        play_blocking(post, deployment)

    assert EXPECTED_HANDLED == deployment.handled_ids()


def test_django_sync_view_without_a_secret_refuses_with_503(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running_wsgi(monkeypatch, tmp_path, secret=None) as (deployment, post):
        answer = post(*genuine_delivery())

    assert NO_SECRET == answer
    assert [] == deployment.handled_ids()


def test_django_view_refuses_a_get_with_405(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running_wsgi(monkeypatch, tmp_path) as (deployment, _post):
        response = Client().get(URL)

    assert 405 == response.status_code
    assert [] == deployment.handled_ids()
