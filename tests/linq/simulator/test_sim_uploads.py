"""The pre-upload flow: announce, PUT exactly the bytes with exactly the headers, then send."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.linq.simulator import Simulator

from .support import GRANDMA, create_chat, error_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


async def _announce(
    api: httpx.AsyncClient, data: bytes = PNG, content_type: str = "image/png"
) -> dict[str, Any]:
    response = await api.post(
        "/v3/attachments",
        json={"filename": "chart.png", "content_type": content_type, "size_bytes": len(data)},
    )
    assert 200 == response.status_code, response.text
    announced: dict[str, Any] = response.json()
    return announced


async def _put(
    sim: Simulator, announced: dict[str, Any], data: bytes, **headers: str
) -> httpx.Response:
    async with httpx.AsyncClient(transport=sim.transport()) as store:
        return await store.put(
            announced["upload_url"],
            content=data,
            headers={**announced["required_headers"], **headers},
        )


async def test_the_whole_upload_flow_ends_in_a_sendable_attachment(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    announced = await _announce(api)
    assert ("PUT", {"Content-Type": "image/png"}) == (
        announced["http_method"],
        announced["required_headers"],
    )
    assert 200 == (await _put(sim, announced, PNG)).status_code
    info = (await api.get(f"/v3/attachments/{announced['attachment_id']}")).json()
    assert ("complete", len(PNG)) == (info["status"], info["size_bytes"])
    chat = await create_chat(api, sim.phone, GRANDMA)
    sent = await api.post(
        f"/v3/chats/{chat['id']}/messages",
        json={
            "message": {"parts": [{"type": "media", "attachment_id": announced["attachment_id"]}]}
        },
    )
    part = sent.json()["message"]["parts"][0]
    assert (announced["attachment_id"], "chart.png", "image/png") == (
        part["id"],
        part["filename"],
        part["mime_type"],
    )
    async with httpx.AsyncClient(transport=sim.transport()) as cdn:
        assert PNG == (await cdn.get(announced["download_url"])).content


async def test_sending_an_attachment_that_was_never_uploaded_is_400(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    announced = await _announce(api)
    chat = await create_chat(api, sim.phone, GRANDMA)
    response = await api.post(
        f"/v3/chats/{chat['id']}/messages",
        json={
            "message": {"parts": [{"type": "media", "attachment_id": announced["attachment_id"]}]}
        },
    )
    assert 400 == error_of(response)[0]


@pytest.mark.parametrize(
    ("data", "headers", "status"),
    [
        (PNG[:-1], {}, 400),
        (PNG + b"!", {}, 400),
        (PNG, {"Content-Type": "image/jpeg"}, 403),
        (PNG, {"Authorization": "Bearer sim-token-caresupport"}, 400),
    ],
    ids=["too-few-bytes", "too-many-bytes", "other-content-type", "api-token-leaked"],
)
async def test_an_upload_not_exactly_as_announced_is_refused(
    api: httpx.AsyncClient, sim: Simulator, data: bytes, headers: dict[str, str], status: int
) -> None:
    announced = await _announce(api)
    assert status == (await _put(sim, announced, data, **headers)).status_code
    info = (await api.get(f"/v3/attachments/{announced['attachment_id']}")).json()
    assert "pending" == info["status"]


async def test_an_upload_url_with_a_wrong_signature_is_refused(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    announced = await _announce(api)
    forged = {**announced, "upload_url": announced["upload_url"].split("?")[0] + "?signature=x"}
    assert 403 == (await _put(sim, forged, PNG)).status_code


async def test_an_upload_url_expires_after_15_minutes(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    announced = await _announce(api)
    await sim.advance(15 * 60 + 1)
    assert 403 == (await _put(sim, announced, PNG)).status_code


async def test_a_file_over_100_mb_is_refused_413_5001_before_upload(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v3/attachments",
        json={
            "filename": "scan.pdf",
            "content_type": "application/pdf",
            "size_bytes": 100 * 1024 * 1024 + 1,
        },
    )
    assert (413, 5001) == error_of(response)


@pytest.mark.parametrize("content_type", ["image/webp", "audio/ogg", "not-a-type"])
async def test_a_content_type_carriers_reject_is_400(
    api: httpx.AsyncClient, content_type: str
) -> None:
    response = await api.post(
        "/v3/attachments",
        json={"filename": "x", "content_type": content_type, "size_bytes": 10},
    )
    assert 400 == error_of(response)[0]


async def test_a_deleted_attachment_is_gone(api: httpx.AsyncClient, sim: Simulator) -> None:
    announced = await _announce(api)
    await _put(sim, announced, PNG)
    path = f"/v3/attachments/{announced['attachment_id']}"
    assert 204 == (await api.delete(path)).status_code
    assert (404, 2001) == error_of(await api.get(path))


async def test_a_voice_memo_over_10_mb_is_413_5001(api: httpx.AsyncClient, sim: Simulator) -> None:
    big = b"\x00" * (10 * 1024 * 1024 + 1)
    response = await api.post(
        "/v3/attachments",
        json={"filename": "memo.m4a", "content_type": "audio/x-m4a", "size_bytes": len(big)},
    )
    announced = response.json()
    await _put(sim, announced, big)
    chat = await create_chat(api, sim.phone, GRANDMA)
    memo = await api.post(
        f"/v3/chats/{chat['id']}/voicememo", json={"attachment_id": announced["attachment_id"]}
    )
    assert (413, 5001) == error_of(memo)


async def test_a_voice_memo_by_url_to_an_imessage_user_is_accepted(
    api: httpx.AsyncClient, sim: Simulator
) -> None:
    chat = await create_chat(api, sim.phone, GRANDMA)
    response = await api.post(
        f"/v3/chats/{chat['id']}/voicememo",
        json={"from": sim.phone, "voice_memo_url": "https://example.org/memo.m4a"},
    )
    memo = response.json()["voice_memo"]
    assert (202, "iMessage", [GRANDMA]) == (response.status_code, memo["service"], memo["to"])
    assert memo["id"] in sim.world.voice_memo_ids


async def test_a_voice_memo_to_an_sms_user_is_422(api: httpx.AsyncClient, sim: Simulator) -> None:
    from .support import SON

    chat = await create_chat(api, sim.phone, SON)
    response = await api.post(
        f"/v3/chats/{chat['id']}/voicememo", json={"voice_memo_url": "https://example.org/m.m4a"}
    )
    assert (422, 1003) == error_of(response)
