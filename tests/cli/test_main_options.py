"""The command's own options: ``--version`` and ``--log-level`` (records to stderr)."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

import caresupport_transport
from adapters.cli.linq import wired
from adapters.cli.main import logging_to_stderr, main

ENV = {
    "LINQ_API_TOKEN": "lq_options_token_0123456789",
    "LINQ_PHONE_NUMBER": "+15550001111",
    "LINQ_BASE_URL": "https://linq.test/api/partner",
}


async def no_sleep(seconds: float) -> None:
    pass


def busy_then_empty() -> httpx.MockTransport:
    """``GET /v3/chats`` answers 503 once (a WARNING), then an empty page (INFO lines)."""
    answers = iter([httpx.Response(503, json={"error": {"code": 3006, "message": "busy"}})])

    def handler(request: httpx.Request) -> httpx.Response:
        assert "/v3/chats" == request.url.path.removeprefix("/api/partner")
        return next(answers, httpx.Response(200, json={"chats": [], "next_cursor": None}))

    return httpx.MockTransport(handler)


def chats(*options: str) -> None:
    """Run ``caresupport-transport [options] linq chats`` against :func:`busy_then_empty`."""
    with wired(environ=ENV, transport=busy_then_empty(), sleep=no_sleep):
        assert 0 == main([*options, "linq", "chats"])


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert 0 == exited.value.code
    assert f"caresupport-transport {caresupport_transport.__version__}\n" == capsys.readouterr().out
    assert re.fullmatch(r"\d+\.\d+\.\d+(\S*)", caresupport_transport.__version__)


def test_by_default_no_log_record_reaches_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """A failed command prints its own error; the records are there for who asks for them."""
    chats()
    assert "" == capsys.readouterr().err


def test_log_level_warning_prints_the_refusal_but_not_the_retry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    chats("--log-level", "WARNING")
    err = capsys.readouterr().err
    assert "WARNING caresupport_transport.linq: GET /v3/chats -> 503" in err
    assert "retrying" not in err
    assert "-> 200" not in err


@pytest.mark.parametrize("spelling", ["INFO", "info"])
def test_log_level_info_adds_the_retries_and_answers(
    spelling: str, capsys: pytest.CaptureFixture[str]
) -> None:
    chats("--log-level", spelling)
    err = capsys.readouterr().err
    assert "INFO caresupport_transport.linq: GET /v3/chats: retrying in" in err
    assert "INFO caresupport_transport.linq: GET /v3/chats -> 200" in err


def test_log_level_error_silences_the_warning(capsys: pytest.CaptureFixture[str]) -> None:
    chats("--log-level", "ERROR")
    assert "" == capsys.readouterr().err


def test_an_unknown_log_level_is_refused_naming_the_option_and_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--log-level", "LOUD", "demo"])
    assert 2 == exited.value.code
    err = capsys.readouterr().err
    assert "argument --log-level: invalid choice: 'LOUD'" in err
    assert "'DEBUG', 'INFO', 'WARNING', 'ERROR'" in err


def test_the_command_leaves_logging_as_it_found_it(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chats("--log-level", "DEBUG")
    assert (handlers, level) == (root.handlers, root.level)
    logging.getLogger("caresupport_transport.linq").warning("after the command")
    assert "after the command" not in capsys.readouterr().err


def test_a_host_collecting_more_still_gets_every_record(caplog: pytest.LogCaptureFixture) -> None:
    """The default WARNING filters what is printed, not what a host's own handlers see."""
    caplog.set_level(logging.INFO)
    with logging_to_stderr("WARNING"):
        logging.getLogger("caresupport_transport.linq").info("seen by the host")
    assert ["seen by the host"] == [r.getMessage() for r in caplog.records]
