"""Attachment operations: request an upload, upload a file, read and delete attachments."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

from adapters.linq import _validate as check
from adapters.linq._bodies import RequestUploadBody
from adapters.linq._http import Call
from adapters.linq._ops import Operations
from adapters.linq.loopback import is_loopback_url
from adapters.linq.wire_account import AttachmentInfo, UploadTicket
from caresupport_transport import limits
from caresupport_transport.content import check_content_type
from caresupport_transport.errors import ProtocolError, ValidationError
from caresupport_transport.model import Attachment


class AttachmentOperations(Operations):
    async def request_upload(
        self, filename: str, content_type: str, size_bytes: int
    ) -> UploadTicket:
        """Ask where to upload a file (``POST /v3/attachments``); :meth:`upload` does it all.

        Repeating the request after an unknown outcome only leaves an unused slot.

        Raises:
            ValidationError: a blank or path-like filename, a content type carriers
                reject, or a size outside 1 byte to 100 MB.
        """
        body = RequestUploadBody(
            filename=check.filename(filename),
            content_type=_content_type(content_type),
            size_bytes=_size(size_bytes),
        )
        return await self._fetch(
            UploadTicket, "request_upload", "POST", "/v3/attachments", body=body
        )

    async def upload(
        self,
        source: bytes | str | os.PathLike[str],
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Attachment:
        """Upload a file: request an upload, PUT the bytes, return the attachment.

        The bytes go to the presigned ``upload_url`` with exactly the
        ``required_headers`` Linq returned, and never with the API token. Send the
        result as ``MediaPart(attachment_id=attachment.id)``.

        Args:
            source: the bytes, or a path to read them from.
            filename: the name recipients see; a path's own name by default.
            content_type: the MIME type; guessed from the filename when omitted.

        Raises:
            ValidationError: no filename, an unknown or rejected content type, an
                empty file or one over 100 MB (checked before reading a path into
                memory, and before any request).
        """
        origin = bytes(source) if isinstance(source, bytes | bytearray) else Path(source)
        size = len(origin) if isinstance(origin, bytes) else _size_on_disk(origin)
        if filename is None and isinstance(origin, Path):
            filename = origin.name
        if filename is None:
            raise ValidationError("filename", "is required when uploading bytes")
        check.filename(filename)
        if content_type is None:
            content_type = mimetypes.guess_type(filename)[0]
            if content_type is None:
                raise ValidationError(
                    "content_type", f"cannot be guessed from {filename!r}; give it"
                )
        _content_type(content_type)
        _size(size)
        data = origin if isinstance(origin, bytes) else await _read(origin)
        _size(len(data))  # the file may have grown since it was measured
        ticket = await self.request_upload(filename, content_type, len(data))
        await self._put(ticket, data)
        return Attachment(
            id=ticket.attachment_id,
            filename=filename,
            content_type=content_type,
            size_bytes=len(data),
            download_url=ticket.download_url,
        )

    async def get_attachment(self, attachment_id: str) -> AttachmentInfo:
        """An attachment's metadata (``GET /v3/attachments/{attachmentId}``)."""
        path = f"/v3/attachments/{check.path_id('attachment_id', attachment_id)}"
        return await self._fetch(AttachmentInfo, "get_attachment", "GET", path)

    async def delete_attachment(self, attachment_id: str) -> None:
        """Delete a pre-uploaded attachment (``DELETE /v3/attachments/{attachmentId}``; newer)."""
        path = f"/v3/attachments/{check.path_id('attachment_id', attachment_id)}"
        await self._reply("delete_attachment", "DELETE", path)

    async def _put(self, ticket: UploadTicket, data: bytes) -> None:
        if ticket.http_method.upper() != "PUT":
            raise ProtocolError(f"upload: Linq asked for {ticket.http_method!r}; only PUT is known")
        if not _safe_upload_target(ticket.upload_url):
            raise ProtocolError(
                "upload: the upload_url is not an https:// URL (plain http:// is allowed "
                "only on loopback, for the local simulator); bytes not sent"
            )
        call = Call(
            "upload",
            "PUT",
            ticket.upload_url,
            content=data,
            headers=tuple(ticket.required_headers.items()),
            authorized=False,
        )
        await self._requester.send(call)


def _safe_upload_target(url: str) -> bool:
    """https anywhere; plain http only to a loopback host (the local simulator)."""
    target = urlsplit(url)
    if target.scheme == "https":
        return bool(target.hostname)
    return is_loopback_url(url, schemes=("http",))


async def _read(path: Path) -> bytes:
    try:
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise ValidationError("source", f"cannot read {path} ({exc.strerror})") from None


def _size_on_disk(path: Path) -> int:
    try:
        status = path.stat()
    except OSError as exc:
        raise ValidationError("source", f"cannot read {path} ({exc.strerror})") from None
    if not stat.S_ISREG(status.st_mode):
        raise ValidationError("source", f"{path} is not a regular file")
    return status.st_size


def _content_type(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("content_type", "must be a MIME type like 'image/png'")
    check_content_type("content_type", value)
    return value


def _size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("size_bytes", "must be an integer")
    if value < 1:
        raise ValidationError("size_bytes", "the file is empty")
    if value > limits.MAX_UPLOAD_BYTES:
        raise ValidationError(
            "size_bytes",
            f"{value} bytes is over the {limits.MAX_UPLOAD_BYTES // limits.MB} MB upload limit",
        )
    return value
