"""``TwilioConfig`` from the environment or the JSON config, refusing what cannot work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.twilio import TwilioConfig
from caresupport_transport import ConfigurationError, Handle

SID = "AC" + "a" * 32
KEY = "SK" + "b" * 32
SERVICE = "MG" + "c" * 32


def test_the_environment_gives_account_token_and_sender() -> None:
    config = TwilioConfig.from_env(
        {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "s3cr3t", "TWILIO_FROM": "+16515550100"}
    )
    assert (SID, "s3cr3t", Handle("+16515550100")) == (
        config.account_sid,
        config.auth_token.reveal(),
        config.from_number,
    )
    assert (SID, "s3cr3t") == config.basic_auth
    assert "s3cr3t" not in repr(config)


def test_an_api_key_authenticates_and_a_messaging_service_sends() -> None:
    config = TwilioConfig.from_env(
        {
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": "tok",
            "TWILIO_API_KEY": KEY,
            "TWILIO_API_SECRET": "sec",
            "TWILIO_MESSAGING_SERVICE_SID": SERVICE,
        }
    )
    assert ((KEY, "sec"), SERVICE, None) == (
        config.basic_auth,
        config.messaging_service_sid,
        config.from_number,
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "+16515550100"}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_FROM": "+16515550100"}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_FROM"),
        (
            {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "+16515550100"},
            "TWILIO_ACCOUNT_SID",
        ),
        (
            {
                "TWILIO_ACCOUNT_SID": SID,
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_FROM": "+16515550100",
                "TWILIO_API_KEY": KEY,
            },
            "TWILIO_API_SECRET",
        ),
        (
            {
                "TWILIO_ACCOUNT_SID": SID,
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_FROM": "care@example.org",
            },
            "TWILIO_FROM",
        ),
    ],
    ids=["no-sid", "no-token", "no-sender", "bad-sid", "half-a-key", "email-sender"],
)
def test_a_missing_or_malformed_setting_is_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        TwilioConfig.from_env(environ)
    assert named in str(refused.value)


def test_the_json_config_has_a_twilio_object(tmp_path: Path) -> None:
    path = tmp_path / "caresupport.json"
    path.write_text(
        json.dumps(
            {
                "linq_api_token": "ignored",
                "twilio": {
                    "account_sid": SID,
                    "auth_token": "tok",
                    "from": "+16515550100",
                    "status_callback_url": "https://care.example.org/twilio/status",
                },
            }
        )
    )
    config = TwilioConfig.from_json_file(path)
    assert (Handle("+16515550100"), "https://care.example.org/twilio/status") == (
        config.from_number,
        config.status_callback_url,
    )
    path.write_text(json.dumps({"linq_api_token": "x"}))
    with pytest.raises(ConfigurationError, match="no 'twilio' object"):
        TwilioConfig.from_json_file(path)
