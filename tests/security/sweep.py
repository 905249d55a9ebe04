"""Canary credentials, every form they could leak in, and a sweep of everything a run showed.

A :class:`Sweep` gathers text from every place a credential could surface:
standard output and error, every log record of every logger at DEBUG (message,
arguments, formatted exception), a handler on the root logger, exception
messages and whole tracebacks (causes included), and ``repr``/``str`` of
objects. :meth:`Sweep.assert_clean` then looks for each canary form.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import attrs
import httpx
import pytest

from adapters.linq.webhooks import sign_legacy, sign_standard

__all__ = [
    "MALFORMED_SECRET",
    "OTHER_WEBHOOK_SECRET",
    "TOKEN",
    "WEBHOOK_SECRET",
    "Recording",
    "Sweep",
    "assert_token_only_in_the_authorization_header_to_linq",
    "expected_signatures",
    "secret_forms",
    "token_forms",
]

TOKEN = "csx_live_canary_7Qm2Zp9Lw4RtVb8N"
"""A distinctive API token: found anywhere, it leaked."""
WEBHOOK_KEY = b"canary-webhook-key-Jx8Vb3Nq"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
OTHER_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"canary-other-key-Hk5Tw2Yc").decode()
MALFORMED_SECRET = "whsec_canary-Mz6Qe1Ud!!"
"""A mistyped secret (not base64) is still nearly the real one: it must not be echoed."""


API_HOST = "simulator.linq.test"
"""The host of ``IN_PROCESS_BASE_URL``: the only one that may see the token."""


class Recording(httpx.AsyncBaseTransport):
    """Passes requests on and keeps them, to check where the token went."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


def assert_token_only_in_the_authorization_header_to_linq(requests: list[httpx.Request]) -> None:
    for request in requests:
        assert TOKEN not in str(request.url)
        assert TOKEN not in request.content.decode("utf-8", "replace")
        others = [v for k, v in request.headers.items() if k.lower() != "authorization"]
        assert [] == [v for v in others if TOKEN in v]
        if request.url.host == API_HOST and request.url.path.startswith("/api/partner"):
            assert f"Bearer {TOKEN}" == request.headers["authorization"]
        else:
            assert "authorization" not in request.headers  # a presigned upload URL


def token_forms(token: str = TOKEN) -> set[str]:
    """The token, and its distinctive tail (a prefix cut off still leaks it)."""
    return {token, token[-16:]}


def secret_forms(secret: str) -> set[str]:
    """A webhook secret, its base64 part (padded or not), and the key it decodes to."""
    forms = {secret}
    encoded = secret.removeprefix("whsec_")
    forms |= {encoded, encoded.rstrip("=")}
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return forms | {encoded.rstrip("!")[-12:]}
    forms |= {key.hex(), base64.urlsafe_b64encode(key).decode().rstrip("=")}
    if key.isascii():
        forms.add(key.decode())
    return forms


def expected_signatures(body: bytes, secret: str, *, msg_id: str, timestamp: int) -> set[str]:
    """What a verifier holding ``secret`` computes for ``body``, as base64 and as hex."""
    standard = sign_standard(body, secret, msg_id=msg_id, timestamp=timestamp)
    digest = base64.b64decode(standard["webhook-signature"].removeprefix("v1,"))
    legacy = bytes.fromhex(sign_legacy(body, secret, timestamp=timestamp)["X-Webhook-Signature"])
    return {
        base64.b64encode(digest).decode(),
        digest.hex(),
        legacy.hex(),
        base64.b64encode(legacy).decode(),
    }


def forbidden_by_default() -> set[str]:
    return (
        token_forms()
        | secret_forms(WEBHOOK_SECRET)
        | secret_forms(OTHER_WEBHOOK_SECRET)
        | secret_forms(MALFORMED_SECRET)
    )


@attrs.define
class Sweep:
    """Everything one test showed, gathered for the leak check."""

    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    root_output: io.StringIO
    texts: list[tuple[str, str]] = attrs.Factory(list)

    def add(self, where: str, text: object) -> None:
        self.texts.append((where, str(text)))

    def add_objects(self, *objects: object) -> None:
        """``repr`` and ``str`` of each object."""
        for value in objects:
            self.add(f"repr({type(value).__name__})", repr(value))
            self.add(f"str({type(value).__name__})", str(value))

    def add_exception(self, error: BaseException) -> None:
        """Its message, ``repr``, arguments and whole traceback, chained causes included."""
        name = type(error).__name__
        self.add(f"str({name})", str(error))
        self.add(f"repr({name})", repr(error))
        self.add(f"{name}.args", repr(error.args))
        self.add(f"traceback of {name}", "".join(traceback.format_exception(error)))

    def _gather_logs_and_output(self) -> None:
        captured = self.capsys.readouterr()
        self.add("stdout", captured.out)
        self.add("stderr", captured.err)
        self.add("root handler", self.root_output.getvalue())
        formatter = logging.Formatter()
        for record in self.caplog.records:
            where = f"log record {record.name}"
            self.add(where, record.getMessage())
            self.add(where + " msg", record.msg)
            self.add(where + " args", repr(record.args))
            if record.exc_info:
                self.add(where + " exception", formatter.formatException(record.exc_info))
            if record.stack_info:
                self.add(where + " stack", record.stack_info)

    def assert_clean(self, *extra: Iterable[str]) -> None:
        """No canary form (nor any of ``extra``) appears in anything gathered."""
        self._gather_logs_and_output()
        forbidden = forbidden_by_default().union(*extra)
        leaks = [
            f"{form!r} in {where}: ...{_around(text, form)}..."
            for where, text in self.texts
            for form in sorted(forbidden)
            if form and form in text
        ]
        assert [] == leaks, "credentials leaked:\n" + "\n".join(leaks)

    @property
    def log_lines(self) -> list[str]:
        return [record.getMessage() for record in self.caplog.records]


def _around(text: str, form: str) -> str:
    at = text.find(form)
    return text[max(0, at - 80) : at + len(form) + 80]


@contextmanager
def everything_logged_at_debug(output: io.StringIO) -> Iterator[None]:
    """Every logger at DEBUG, and a handler on the root (and on loggers that do not propagate)."""
    handler = logging.StreamHandler(output)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    levels = [(logger, logger.level) for logger in loggers]
    attached = [logger for logger in loggers if logger is logging.root or not logger.propagate]
    previous_disable = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    for logger in attached:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in attached:
            logger.removeHandler(handler)
        for logger, level in levels:
            logger.setLevel(level)
        logging.disable(previous_disable)
