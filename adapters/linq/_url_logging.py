"""Keeps query strings and presigned URLs of our requests out of log lines (private).

httpx logs every request at INFO on the ``httpx`` logger with its whole URL:
``HTTP Request: GET https://.../v3/chats?to=%2B16515550101 ...`` names a person,
and ``PUT https://...?X-Amz-Signature=...`` hands out a presigned upload URL.
:class:`~adapters.linq._http.Requester` runs each request of its own inside
:func:`our_request`, and :func:`install` puts one filter on the ``httpx`` logger
that rewrites the URL of those records (and only those; other clients' lines are
left alone):

* an API URL keeps its path (ids only) and loses its query: ``.../v3/chats?[query hidden]``;
  a phone number in the path (``/v3/phone_numbers/%2B1.../reputation_audit``)
  becomes ``[phone]``;
* a presigned URL keeps only its origin: ``https://uploads.example/[presigned URL hidden]``.

:class:`QueryHidingAccessLog` does the same for uvicorn's access log, where the
simulator sees the requests' query strings.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from contextvars import ContextVar
from urllib.parse import urlsplit

import httpx

__all__ = ["QueryHidingAccessLog", "hide_phones", "hide_query", "install", "our_request"]

_PRESIGNED = "presigned"
_API = "api"
_ours: ContextVar[str | None] = ContextVar("caresupport_transport_linq_request", default=None)


_PHONE_SEGMENT = re.compile(r"/(?:%2B|%2b|\+)[0-9]{2,15}(?=/|$)")


def hide_phones(path: str) -> str:
    """``path`` with every E.164 segment (``+1...`` or ``%2B1...``) as ``[phone]``."""
    return _PHONE_SEGMENT.sub("/[phone]", path)


def hide_query(url: str) -> str:
    """``url`` without its query and fragment (``?[query hidden]`` marks that there was one).

    A phone number in the path is hidden too (:func:`hide_phones`).
    """
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.scheme else ""
    hidden = "?[query hidden]" if parts.query or parts.fragment else ""
    return f"{origin}{hide_phones(parts.path)}{hidden}"


def _only_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/[presigned URL hidden]"


class _HttpxRequestFilter(logging.Filter):
    """Rewrites the URL in httpx's records of our requests (it never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        kind = _ours.get()
        if kind is None or not isinstance(record.args, tuple):
            return True
        rewrite = _only_origin if kind == _PRESIGNED else hide_query
        record.args = tuple(
            rewrite(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
        )
        return True


_FILTER = _HttpxRequestFilter()


def install() -> None:
    """Put the filter on the ``httpx`` logger (once per process; calling again is harmless)."""
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


@contextlib.contextmanager
def our_request(*, presigned: bool) -> Iterator[None]:
    """Mark what httpx logs inside the block as our request (a presigned one or not)."""
    token = _ours.set(_PRESIGNED if presigned else _API)
    try:
        yield
    finally:
        _ours.reset(token)


class QueryHidingAccessLog(logging.Filter):
    """For ``uvicorn.access``: the request path without its query string.

    uvicorn's access record has the arguments ``(client, method, path_with_query,
    http_version, status)``; phone numbers (``?to=``) and upload signatures
    (``?signature=``) live in the query.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], hide_query(args[2]), args[3], args[4])
        return True
