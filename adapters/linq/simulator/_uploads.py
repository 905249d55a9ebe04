"""Attachments: announce an upload, take the bytes at the presigned URL, serve them back.

The presigned URL is the simulator's own ``/uploads/{id}?signature=...``. Like a
real object store it checks the signature and expiry, takes exactly the
``required_headers`` and exactly the announced number of bytes, and refuses a
request carrying an ``Authorization`` header (the API token must never travel
to an upload host). Errors there are plain text, as an object store's are.
"""

from __future__ import annotations

import base64
import hmac
from datetime import timedelta
from urllib.parse import quote

from adapters.linq.simulator import _wire
from adapters.linq.simulator._errors import bad_request, not_found, payload_too_large
from adapters.linq.simulator._http import Request, Response
from adapters.linq.simulator._parse import require_str
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator.state import Backend, Upload
from caresupport_transport import limits
from caresupport_transport.content import check_content_type
from caresupport_transport.errors import ValidationError

__all__ = ["UPLOAD_ROUTES", "UPLOAD_URL_LIFETIME", "serve_download", "serve_upload"]

UPLOAD_URL_LIFETIME = timedelta(minutes=15)


def request_upload(call: Call) -> Response:
    body = call.body()
    filename = require_str(body, "filename")
    content_type = require_str(body, "content_type")
    size = body.get("size_bytes")
    if len(filename) > 255 or "/" in filename:
        raise bad_request("filename must be 1 to 255 characters without '/'")
    try:
        check_content_type("content_type", content_type)
    except ValidationError as exc:
        raise bad_request(str(exc)) from None
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise bad_request("size_bytes must be a positive integer")
    if size > limits.MAX_UPLOAD_BYTES:
        raise payload_too_large(f"File too large - maximum size is {limits.MAX_UPLOAD_BYTES} bytes")
    backend = call.backend
    world = backend.primary
    upload_id = backend.ids.next("attachment")
    signature = base64.urlsafe_b64encode(backend.make_secret(18)).decode()
    origin = call.request.origin
    upload = Upload(
        id=upload_id,
        filename=filename,
        content_type=content_type,
        size_bytes=size,
        created_at=world.now,
        expires_at=world.now + UPLOAD_URL_LIFETIME,
        signature=signature,
        download_url=f"{origin}/files/{upload_id}/{quote(filename)}",
    )
    backend.uploads[upload_id] = upload
    return call.json(
        200,
        {
            "attachment_id": upload_id,
            "upload_url": f"{origin}/uploads/{upload_id}?signature={signature}",
            "download_url": upload.download_url,
            "http_method": "PUT",
            "expires_at": _wire.iso(upload.expires_at),
            "required_headers": {"Content-Type": content_type},
        },
    )


def _attachment_json(upload: Upload) -> dict[str, object]:
    return {
        "id": upload.id,
        "filename": upload.filename,
        "content_type": upload.content_type,
        "size_bytes": upload.size_bytes,
        "status": "complete" if upload.complete else "pending",
        "download_url": upload.download_url,
        "created_at": _wire.iso(upload.created_at),
    }


def get_attachment(call: Call) -> Response:
    upload = call.backend.uploads.get(call.params["attachmentId"])
    if upload is None:
        raise not_found("Attachment")
    return call.json(200, _attachment_json(upload))


def delete_attachment(call: Call) -> Response:
    backend = call.backend
    attachment_id = call.params["attachmentId"]
    if backend.uploads.pop(attachment_id, None) is None:
        raise not_found("Attachment")
    backend.primary.attachments.pop(attachment_id, None)
    backend.primary.attachment_data.pop(attachment_id, None)
    return Response.empty()


def _store_error(status: int, code: str, message: str) -> Response:
    body = f"{code}: {message}".encode()
    return Response(status, body, (("content-type", "text/plain"),))


def serve_upload(backend: Backend, request: Request) -> Response:
    """``PUT /uploads/{id}?signature=...``: the presigned upload."""
    if request.method != "PUT":
        return _store_error(405, "MethodNotAllowed", "PUT the file's bytes here")
    upload = backend.uploads.get(request.path.removeprefix("/uploads/"))
    signature = request.query_one("signature") or ""
    if upload is None or not hmac.compare_digest(signature, upload.signature):
        return _store_error(403, "SignatureDoesNotMatch", "the upload URL is not valid")
    if backend.primary.now > upload.expires_at:
        return _store_error(403, "AccessDenied", "the upload URL has expired")
    if "authorization" in request.headers:
        return _store_error(
            400, "InvalidArgument", "send only the required headers, never an Authorization header"
        )
    if request.headers.get("content-type") != upload.content_type:
        return _store_error(
            403, "SignatureDoesNotMatch", f"Content-Type must be exactly {upload.content_type}"
        )
    if len(request.body) != upload.size_bytes:
        return _store_error(
            400,
            "IncompleteBody" if len(request.body) < upload.size_bytes else "EntityTooLarge",
            f"got {len(request.body)} bytes; {upload.size_bytes} were announced",
        )
    backend.primary.store_upload(
        upload.id,
        request.body,
        filename=upload.filename,
        content_type=upload.content_type,
        download_url=upload.download_url,
    )
    upload.complete = True
    return Response(200, b"", (("etag", f'"{upload.id}"'),))


def serve_download(backend: Backend, request: Request) -> Response:
    """``GET /files/{id}/{filename}``: an uploaded file's bytes."""
    if request.method not in ("GET", "HEAD"):
        return _store_error(405, "MethodNotAllowed", "GET the file here")
    attachment_id = request.path.removeprefix("/files/").split("/", 1)[0]
    upload = backend.uploads.get(attachment_id)
    data = backend.primary.attachment_data.get(attachment_id)
    if upload is None or data is None:
        return _store_error(404, "NoSuchKey", "no such file")
    return Response(200, data, (("content-type", upload.content_type),))


UPLOAD_ROUTES = (
    Route("POST", "/v3/attachments", request_upload),
    Route("GET", "/v3/attachments/{attachmentId}", get_attachment),
    Route("DELETE", "/v3/attachments/{attachmentId}", delete_attachment),
)
