"""LinqConfig: from the environment, from CareSupport's JSON file, and its checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.linq import DEFAULT_BASE_URL, LinqConfig
from caresupport_transport import Handle
from caresupport_transport.errors import ConfigurationError

TOKEN = "lq_live_abcdef"


def test_from_env_reads_every_variable() -> None:
    config = LinqConfig.from_env(
        {
            "LINQ_API_TOKEN": TOKEN,
            "LINQ_PHONE_NUMBER": "+16517037981",
            "LINQ_BASE_URL": "https://sandbox.linq.test/api/partner",
            "LINQ_WEBHOOK_SIGNING_SECRET": "whsec_c2VjcmV0",
        }
    )

    assert TOKEN == config.api_token.reveal()
    assert Handle("+16517037981") == config.phone_number
    assert "https://sandbox.linq.test/api/partner" == config.base_url
    assert config.webhook_signing_secret is not None
    assert "whsec_c2VjcmV0" == config.webhook_signing_secret.reveal()


def test_from_env_defaults_the_base_url_and_leaves_the_rest_unset() -> None:
    config = LinqConfig.from_env({"LINQ_API_TOKEN": TOKEN, "LINQ_PHONE_NUMBER": ""})

    assert (DEFAULT_BASE_URL, None, None) == (
        config.base_url,
        config.phone_number,
        config.webhook_signing_secret,
    )
    assert (30.0, 4, 60.0, 20) == (
        config.timeout_seconds,
        config.max_attempts,
        config.retry_budget_seconds,
        config.max_in_flight,
    )


@pytest.mark.parametrize("environ", [{}, {"LINQ_API_TOKEN": ""}, {"LINQ_API_TOKEN": "  "}])
def test_from_env_without_a_token_names_the_variable(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="LINQ_API_TOKEN"):
        LinqConfig.from_env(environ)


def test_from_env_with_a_bad_phone_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="LINQ_PHONE_NUMBER"):
        LinqConfig.from_env({"LINQ_API_TOKEN": TOKEN, "LINQ_PHONE_NUMBER": "care@example.org"})


@pytest.mark.parametrize(
    "given",
    [
        "https://api.linqapp.com/api/partner",
        "https://api.linqapp.com/api/partner/",
        "https://api.linqapp.com/api/partner/v3",
        "https://api.linqapp.com/api/partner/v3/",
    ],
)
def test_a_base_url_with_or_without_v3_is_normalised(given: str) -> None:
    assert DEFAULT_BASE_URL == LinqConfig(api_token=TOKEN, base_url=given).base_url


def test_from_json_file_reads_caresupport_keys(tmp_path: Path) -> None:
    path = tmp_path / "linq.json"
    path.write_text(
        json.dumps(
            {
                "linq_api_token": TOKEN,
                "linq_phone": "+16517037981",
                "base_url": "https://api.linqapp.com/api/partner/v3",
                "webhook_signing_secret": "whsec_x",
                "unrelated": 1,
            }
        )
    )

    config = LinqConfig.from_json_file(path)

    assert (TOKEN, "+16517037981", DEFAULT_BASE_URL) == (
        config.api_token.reveal(),
        str(config.phone_number),
        config.base_url,
    )


def test_from_json_file_without_a_token_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "linq.json"
    path.write_text(json.dumps({"linq_phone": "+16517037981"}))

    with pytest.raises(ConfigurationError, match="linq_api_token"):
        LinqConfig.from_json_file(path)


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"linq_api_token": 5}', "string"),
    ],
)
def test_from_json_file_refuses_malformed_files(tmp_path: Path, content: str, rule: str) -> None:
    path = tmp_path / "linq.json"
    path.write_text(content)

    with pytest.raises(ConfigurationError, match=rule):
        LinqConfig.from_json_file(path)


def test_from_json_file_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        LinqConfig.from_json_file(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_in_flight", 0),
        ("max_attempts", 0),
        ("timeout_seconds", 0),
        ("retry_budget_seconds", -1),
        ("base_url", "ftp://linq.test"),
        ("phone_number", "care@example.org"),
        ("api_token", ""),
    ],
)
def test_out_of_range_settings_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        LinqConfig(**{"api_token": TOKEN, field: value})  # type: ignore[arg-type]
