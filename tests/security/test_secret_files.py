"""Credentials can come from files (``LINQ_API_TOKEN_FILE``, ``*_file`` keys), so they are
in neither ``ps`` nor the environment; every mistake is an error naming the setting."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from adapters.cli.linq import wired
from adapters.cli.main import main
from adapters.linq import LinqConfig, Secret
from adapters.linq.simulator import IN_PROCESS_BASE_URL, Simulator
from caresupport_transport.errors import ConfigurationError

from .sweep import TOKEN, WEBHOOK_SECRET, Sweep

LINE = "+15550001111"


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content",
    [TOKEN, TOKEN + "\n", TOKEN + "\r\n"],
    ids=["no newline", "one newline", "one CRLF"],
)
def test_the_token_file_is_read_with_one_trailing_newline_dropped(
    content: str, tmp_path: Path
) -> None:
    token_file = write(tmp_path / "token", content)

    config = LinqConfig.from_env({"LINQ_API_TOKEN_FILE": str(token_file)})

    assert TOKEN == config.api_token.reveal()


def test_the_signing_secret_file_is_read_too(tmp_path: Path) -> None:
    secret_file = write(tmp_path / "whsec", WEBHOOK_SECRET + "\n")

    config = LinqConfig.from_env(
        {"LINQ_API_TOKEN": TOKEN, "LINQ_WEBHOOK_SIGNING_SECRET_FILE": str(secret_file)}
    )

    assert Secret(WEBHOOK_SECRET) == config.webhook_signing_secret


def test_the_variable_and_its_file_together_are_refused(tmp_path: Path) -> None:
    token_file = write(tmp_path / "token", TOKEN)

    with pytest.raises(ConfigurationError) as caught:
        LinqConfig.from_env({"LINQ_API_TOKEN": TOKEN, "LINQ_API_TOKEN_FILE": str(token_file)})

    assert (
        "environment variable LINQ_API_TOKEN and environment variable LINQ_API_TOKEN_FILE "
        "are both set: give the secret or the file holding it, not both"
    ) == str(caught.value)


def test_the_signing_secret_and_its_file_together_are_refused(tmp_path: Path) -> None:
    secret_file = write(tmp_path / "whsec", WEBHOOK_SECRET)
    environ = {
        "LINQ_API_TOKEN": TOKEN,
        "LINQ_WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
        "LINQ_WEBHOOK_SIGNING_SECRET_FILE": str(secret_file),
    }

    with pytest.raises(ConfigurationError, match="LINQ_WEBHOOK_SIGNING_SECRET_FILE are both set"):
        LinqConfig.from_env(environ)


def unreadable(tmp_path: Path) -> Path:
    path = write(tmp_path / "locked", TOKEN)
    path.chmod(0)
    return path


BAD_FILES = {
    "missing": (lambda tmp: tmp / "nowhere", "does not exist"),
    "a directory": (lambda tmp: tmp, "is a directory, not a file"),
    "empty": (lambda tmp: write(tmp / "empty", ""), "is empty"),
    "only a newline": (lambda tmp: write(tmp / "newline", "\n"), "is empty"),
    "blank": (lambda tmp: write(tmp / "blank", "  \t\n"), "is empty"),
    "two lines": (lambda tmp: write(tmp / "two", f"{TOKEN}\n{TOKEN}\n"), "on one line"),
    "two newlines": (lambda tmp: write(tmp / "two", f"{TOKEN}\n\n"), "on one line"),
    "below a file": (lambda tmp: write(tmp / "file", TOKEN) / "token", "cannot read the file"),
    "not UTF-8": (lambda tmp: write(tmp / "latin", b"\xff\xfe" + TOKEN.encode()), "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_token_file_is_an_error_naming_the_variable_never_the_content(
    case: str, tmp_path: Path
) -> None:
    make, rule = BAD_FILES[case]
    path = make(tmp_path)

    with pytest.raises(ConfigurationError) as caught:
        LinqConfig.from_env({"LINQ_API_TOKEN_FILE": str(path)})

    message = str(caught.value)
    assert message.startswith("environment variable LINQ_API_TOKEN_FILE: ")
    assert rule in message
    assert TOKEN not in message
    error = caught.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__  # no OSError with the bytes


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_token_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        LinqConfig.from_env({"LINQ_API_TOKEN_FILE": str(unreadable(tmp_path))})

    assert "LINQ_API_TOKEN_FILE: cannot read the file" in str(caught.value)
    assert "Permission denied" in str(caught.value)


def test_neither_the_token_nor_its_file_names_both_in_the_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        LinqConfig.from_env({"LINQ_PHONE_NUMBER": LINE})

    assert "LINQ_API_TOKEN is missing or empty (or give LINQ_API_TOKEN_FILE)" in str(caught.value)


def test_json_file_keys_name_files_relative_to_the_json_file(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    write(tmp_path / "secrets" / "token", TOKEN + "\n")
    write(tmp_path / "secrets" / "whsec", WEBHOOK_SECRET)
    settings = {
        "linq_api_token_file": "secrets/token",
        "webhook_signing_secret_file": str(tmp_path / "secrets" / "whsec"),
        "linq_phone": LINE,
    }
    path = write(tmp_path / "linq.json", json.dumps(settings))

    config = LinqConfig.from_json_file(path)

    assert (TOKEN, WEBHOOK_SECRET) == (
        config.api_token.reveal(),
        config.webhook_signing_secret.reveal() if config.webhook_signing_secret else None,
    )


def test_json_file_with_a_key_and_its_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "token", TOKEN)
    path = write(
        tmp_path / "linq.json",
        json.dumps({"linq_api_token": TOKEN, "linq_api_token_file": "token"}),
    )

    with pytest.raises(ConfigurationError) as caught:
        LinqConfig.from_json_file(path)

    assert f"key linq_api_token in {path} and key linq_api_token_file in {path}" in str(
        caught.value
    )
    assert TOKEN not in str(caught.value)


def test_json_file_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "linq.json", json.dumps({"linq_api_token_file": "gone"}))

    with pytest.raises(ConfigurationError) as caught:
        LinqConfig.from_json_file(path)

    assert str(caught.value).startswith(f"key linq_api_token_file in {path}: the file ")
    assert "does not exist" in str(caught.value)


def test_the_linq_commands_read_the_token_from_its_file(tmp_path: Path, sweep: Sweep) -> None:
    """The token never on a command line nor in the environment: only the file's path."""
    token_file = write(tmp_path / "token", TOKEN + "\n")
    environ = {
        "LINQ_API_TOKEN_FILE": str(token_file),
        "LINQ_PHONE_NUMBER": LINE,
        "LINQ_BASE_URL": IN_PROCESS_BASE_URL,
    }
    sim = Simulator(tokens={TOKEN: [LINE]})
    with wired(environ=environ, transport=sim.transport()):
        status = main(["linq", "phones"])

    assert 0 == status
    assert LINE in sweep.capsys.readouterr().out
    sweep.assert_clean()


def test_the_linq_commands_report_both_settings_with_exit_2(tmp_path: Path, sweep: Sweep) -> None:
    token_file = write(tmp_path / "token", TOKEN)
    environ = {"LINQ_API_TOKEN": TOKEN, "LINQ_API_TOKEN_FILE": str(token_file)}
    with wired(environ=environ, transport=Simulator(tokens={TOKEN: [LINE]}).transport()):
        status = main(["linq", "phones"])

    assert 2 == status
    assert "are both set" in sweep.capsys.readouterr().err
    sweep.assert_clean()
