"""Attachments: request an upload, PUT the bytes with exactly the required headers, read, delete."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.linq import LinqClient
from adapters.linq.wire_account import AttachmentInfo, AttachmentStatus
from caresupport_transport import limits
from caresupport_transport.errors import ProtocolError, ProviderError, ValidationError
from caresupport_transport.model import Attachment

from .support import ATTACHMENT_ID, WHEN, FakeLinq, body_of, path_of

UPLOAD_URL = "https://uploads.linq.test/bucket/abc?X-Amz-Signature=s3cr3t"


def ticket_json(**changes: Any) -> dict[str, Any]:
    return {
        "attachment_id": ATTACHMENT_ID,
        "upload_url": UPLOAD_URL,
        "download_url": f"https://cdn.linqapp.com/attachments/{ATTACHMENT_ID}/chart.png",
        "http_method": "PUT",
        "expires_at": WHEN,
        "required_headers": {"Content-Type": "image/png", "x-amz-acl": "private"},
        **changes,
    }


async def test_request_upload_posts_the_file_metadata(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, ticket_json())

    ticket = await client.request_upload("chart.png", "image/png", 2048)

    assert ("POST", "/v3/attachments") == (linq.last.method, path_of(linq.last))
    assert {"filename": "chart.png", "content_type": "image/png", "size_bytes": 2048} == body_of(
        linq.last
    )
    assert (ATTACHMENT_ID, "PUT") == (ticket.attachment_id, ticket.http_method)
    assert {"Content-Type": "image/png", "x-amz-acl": "private"} == ticket.required_headers
    assert "s3cr3t" not in repr(ticket)
    linq.check_against_reference()


async def test_upload_puts_the_bytes_with_exactly_the_required_headers_and_no_token(
    client: LinqClient, linq: FakeLinq, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    linq.answer(200, ticket_json())
    linq.answer(200)
    data = b"\x89PNG" + b"\x00" * 100

    attachment = await client.upload(data, "chart.png", "image/png")

    request_upload, put = linq.requests
    assert "/v3/attachments" == path_of(request_upload)
    assert ("PUT", UPLOAD_URL) == (put.method, str(put.url))
    assert data == put.content
    assert "image/png" == put.headers["Content-Type"]
    assert "private" == put.headers["x-amz-acl"]
    assert "authorization" not in put.headers
    ours = [r for r in caplog.records if r.name == "caresupport_transport.linq"]
    assert ours
    assert not any("s3cr3t" in r.getMessage() for r in ours)  # we log the upload host only
    assert (
        Attachment(
            id=ATTACHMENT_ID,
            filename="chart.png",
            content_type="image/png",
            size_bytes=len(data),
            download_url=f"https://cdn.linqapp.com/attachments/{ATTACHMENT_ID}/chart.png",
        )
        == attachment
    )


async def test_upload_never_sends_an_injected_clients_default_credentials(
    linq: FakeLinq,
) -> None:
    linq.answer(200, ticket_json())
    linq.answer(200)
    client, http = linq.client()
    http.headers["Authorization"] = "Bearer leaked"

    async with http, client:
        await client.upload(b"data", "notes.txt", "text/plain")

    assert "authorization" not in linq.requests[-1].headers


async def test_upload_reads_a_path_and_guesses_its_content_type(
    client: LinqClient, linq: FakeLinq, tmp_path: Path
) -> None:
    file = tmp_path / "discharge.pdf"
    file.write_bytes(b"%PDF-1.7 discharge notes")
    linq.answer(200, ticket_json(required_headers={"Content-Type": "application/pdf"}))
    linq.answer(200)

    attachment = await client.upload(file)

    assert {"filename": "discharge.pdf", "content_type": "application/pdf", "size_bytes": 24} == (
        body_of(linq.requests[0])
    )
    assert b"%PDF-1.7 discharge notes" == linq.requests[1].content
    assert ("discharge.pdf", "application/pdf") == (attachment.filename, attachment.content_type)


async def test_a_failed_put_is_retried_with_the_same_bytes(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, ticket_json())
    linq.fail(httpx.ReadError("connection reset"))
    linq.answer(200)

    await client.upload(b"abc", "a.txt", "text/plain")

    assert [b"abc", b"abc"] == [r.content for r in linq.requests[1:]]


async def test_a_refused_put_is_a_provider_error_with_the_status(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, ticket_json())
    linq.answer(403, content=b"<Error><Code>SignatureDoesNotMatch</Code></Error>")

    with pytest.raises(ProviderError) as caught:
        await client.upload(b"abc", "a.txt", "text/plain")

    assert (403, "upload: HTTP 403") == (caught.value.status, caught.value.message)


async def test_an_upload_url_that_is_not_https_gets_no_bytes(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, ticket_json(upload_url="http://uploads.linq.test/x"))

    with pytest.raises(ProtocolError):
        await client.upload(b"abc", "a.txt", "text/plain")

    assert 1 == len(linq.requests)


@pytest.mark.parametrize(
    "headers",
    [{"\x80": ""}, {"Content Type": "x"}, {"x-amz-acl": "priv\r\nate"}, {"x-note": "caf\u00e9"}],
)
async def test_an_upload_ticket_asking_for_a_header_http_cannot_carry_sends_nothing(
    client: LinqClient, linq: FakeLinq, headers: dict[str, str]
) -> None:
    linq.answer(200, ticket_json(required_headers=headers))

    with pytest.raises(ProtocolError, match="required_headers"):
        await client.upload(b"abc", "a.txt", "text/plain")

    assert 1 == len(linq.requests)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8787/uploads/x", "http://localhost:8787/uploads/x", "http://[::1]/u"]
)
async def test_a_plain_http_upload_url_on_loopback_gets_the_bytes(
    client: LinqClient, linq: FakeLinq, url: str
) -> None:
    linq.answer(200, ticket_json(upload_url=url))
    linq.answer(200, {})

    await client.upload(b"abc", "a.txt", "text/plain")

    assert ("PUT", url, b"abc") == (
        linq.requests[1].method,
        str(linq.requests[1].url),
        linq.requests[1].content,
    )


@pytest.mark.parametrize("url", ["http://10.0.0.5/x", "ftp://127.0.0.1/x", "https:///x"])
async def test_an_upload_url_off_loopback_without_https_gets_no_bytes(
    client: LinqClient, linq: FakeLinq, url: str
) -> None:
    linq.answer(200, ticket_json(upload_url=url))

    with pytest.raises(ProtocolError):
        await client.upload(b"abc", "a.txt", "text/plain")

    assert 1 == len(linq.requests)


async def test_a_file_over_100_mb_is_refused_before_reading_or_any_request(
    client: LinqClient, linq: FakeLinq, tmp_path: Path
) -> None:
    big = tmp_path / "scan.pdf"
    with big.open("wb") as handle:
        handle.truncate(limits.MAX_UPLOAD_BYTES + 1)  # sparse: no 100 MB written

    with pytest.raises(ValidationError) as caught:
        await client.upload(big)

    assert ("size_bytes", []) == (caught.value.field, linq.requests)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ((b"abc", None, "text/plain"), "filename"),
        ((b"abc", "a.webp", None), "content_type"),
        ((b"abc", "a.unknownext", None), "content_type"),
        ((b"", "a.txt", "text/plain"), "size_bytes"),
        ((b"abc", "../a.txt", "text/plain"), "filename"),
        ((b"abc", "a.svg", "image/svg+xml"), "content_type"),
    ],
)
async def test_upload_refuses_bad_input_before_any_request(
    client: LinqClient, linq: FakeLinq, arguments: tuple[Any, ...], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.upload(*arguments)

    assert (field, []) == (caught.value.field, linq.requests)


async def test_request_upload_refuses_sizes_out_of_range(
    client: LinqClient, linq: FakeLinq
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.request_upload("a.pdf", "application/pdf", limits.MAX_UPLOAD_BYTES + 1)

    assert ("size_bytes", []) == (caught.value.field, linq.requests)


async def test_get_attachment_reads_the_metadata(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(
        200,
        {
            "id": ATTACHMENT_ID,
            "filename": "chart.png",
            "content_type": "image/png",
            "size_bytes": 2048,
            "status": "complete",
            "download_url": "https://cdn.linqapp.com/a/chart.png",
            "created_at": WHEN,
        },
    )

    info = await client.get_attachment(ATTACHMENT_ID)

    assert ("GET", f"/v3/attachments/{ATTACHMENT_ID}") == (linq.last.method, path_of(linq.last))
    assert isinstance(info, AttachmentInfo)
    assert (AttachmentStatus.COMPLETE, 2048) == (info.status, info.size_bytes)
    linq.check_against_reference()


async def test_delete_attachment_deletes_it(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(204)

    await client.delete_attachment(ATTACHMENT_ID)

    assert ("DELETE", f"/v3/attachments/{ATTACHMENT_ID}") == (linq.last.method, path_of(linq.last))


async def test_a_path_that_cannot_be_read_is_refused_naming_the_source(
    client: LinqClient, linq: FakeLinq, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.upload(tmp_path / "missing.pdf")

    assert ("source", []) == (caught.value.field, linq.requests)

    with pytest.raises(ValidationError) as caught:
        await client.upload(tmp_path, "folder.pdf")  # a directory

    assert ("source", []) == (caught.value.field, linq.requests)
