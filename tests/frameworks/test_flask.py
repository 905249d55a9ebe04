"""docs/webhooks.md's Flask recipe runs in Flask itself (WSGI, one background event loop)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters.linq.blocking import BlockingIntake

from .support import (
    EXPECTED_HANDLED,
    NO_SECRET,
    SECRET,
    Answer,
    Deployment,
    Post,
    answer_of,
    close,
    deploy,
    genuine_delivery,
    play_blocking,
)


@contextmanager
def running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str | None = SECRET
) -> Iterator[tuple[Deployment, Post]]:
    deployment = deploy("flask", monkeypatch=monkeypatch, tmp_path=tmp_path, secret=secret)
    blocking: BlockingIntake = deployment.names["blocking"]
    client = deployment.names["app"].test_client()

    def post(body: bytes, headers: dict[str, str]) -> Answer:
        response = client.post(
            "/linq/webhooks", data=body, headers=headers, content_type="application/json"
        )
        return answer_of(
            response.status_code,
            response.content_type,
            response.get_data(),
            response.headers.get("Retry-After"),
        )

    try:
        yield deployment, post
    finally:
        blocking.run(close(deployment))
        blocking.close()


def test_flask_recipe_answers_every_delivery_and_hands_each_event_over_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running(monkeypatch, tmp_path) as (deployment, post):
        play_blocking(post, deployment)

    assert EXPECTED_HANDLED == deployment.handled_ids()


def test_flask_recipe_without_a_secret_refuses_with_503(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with running(monkeypatch, tmp_path, secret=None) as (deployment, post):
        answer = post(*genuine_delivery())

    assert NO_SECRET == answer
    assert [] == deployment.handled_ids()
