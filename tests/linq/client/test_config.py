"""LinqConfig: from the environment, from CareSupport's JSON file, and its checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.linq import DEFAULT_BASE_URL, LinqConfig
from caresupport_transport import Handle
from caresupport_transport.errors import ConfigurationError
from caresupport_transport.inbound import MemoryEventStore

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


def test_the_store_url_comes_from_the_environment_as_a_secret() -> None:
    url = "postgresql://care:s3cret@db.internal:5432/care"
    config = LinqConfig.from_env({"LINQ_API_TOKEN": TOKEN, "CARESUPPORT_STORE_URL": url})

    assert config.store_url is not None
    assert url == config.store_url.reveal()
    assert "s3cret" not in repr(config)


def test_the_store_url_comes_from_the_json_file(tmp_path: Path) -> None:
    path = tmp_path / "linq.json"
    path.write_text(json.dumps({"linq_api_token": TOKEN, "store_url": "sqlite:///events.sqlite"}))

    config = LinqConfig.from_json_file(path)

    assert config.store_url is not None
    assert "sqlite:///events.sqlite" == config.store_url.reveal()


@pytest.mark.parametrize("value", [None, "", "  "])
def test_without_a_store_url_there_is_none(value: str | None) -> None:
    environ = {"LINQ_API_TOKEN": TOKEN}
    if value is not None:
        environ["CARESUPPORT_STORE_URL"] = value

    assert LinqConfig.from_env(environ).store_url is None
    assert LinqConfig(api_token=TOKEN, store_url=value).store_url is None


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("mysql://care:s3cret@db.internal/care", "unknown scheme 'mysql'"),
        ("care:s3cret@db.internal", "expected scheme://"),
        ("sqlite://care:s3cret@db.internal/events.db", "sqlite:///relative/path.db"),
    ],
)
def test_a_store_url_open_event_store_would_refuse_is_refused_at_load_naming_the_source(
    tmp_path: Path, url: str, rule: str
) -> None:
    path = tmp_path / "linq.json"
    path.write_text(json.dumps({"linq_api_token": TOKEN, "store_url": url}))

    with pytest.raises(ConfigurationError, match="CARESUPPORT_STORE_URL") as from_env:
        LinqConfig.from_env({"LINQ_API_TOKEN": TOKEN, "CARESUPPORT_STORE_URL": url})
    with pytest.raises(ConfigurationError, match="key store_url in ") as from_file:
        LinqConfig.from_json_file(path)
    with pytest.raises(ConfigurationError, match=r"^store_url: ") as built:
        LinqConfig(api_token=TOKEN, store_url=url)

    for caught in (from_env, from_file, built):
        assert rule in str(caught.value)
        assert "s3cret" not in str(caught.value)


def test_a_store_url_that_is_not_a_string_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "linq.json"
    path.write_text(json.dumps({"linq_api_token": TOKEN, "store_url": 5432}))

    with pytest.raises(ConfigurationError, match="'store_url' must be a string"):
        LinqConfig.from_json_file(path)


async def test_the_configured_store_is_opened_or_the_default_or_a_clear_refusal(
    tmp_path: Path,
) -> None:
    configured = LinqConfig.from_env(
        {"LINQ_API_TOKEN": "t", "CARESUPPORT_STORE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"}
    )
    unset = LinqConfig.from_env({"LINQ_API_TOKEN": "t"})

    store = await configured.open_event_store(default="memory://")
    fallback = await unset.open_event_store(default="memory://")
    await store.close()
    await fallback.close()

    assert (tmp_path / "a.sqlite").exists()
    assert isinstance(fallback, MemoryEventStore)
    with pytest.raises(ConfigurationError, match="CARESUPPORT_STORE_URL"):
        await unset.open_event_store()
