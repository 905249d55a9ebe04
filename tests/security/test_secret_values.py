"""A ``Secret`` (and a ``LinqConfig`` holding two) shows its value to none of the generic
tools that turn objects into data: ``attrs.asdict``, ``pickle``, ``copy``, JSON, cattrs."""

from __future__ import annotations

import copy
import json
import logging
import pickle
from typing import Any

import attrs
import cattrs
import pytest

from adapters.linq import LinqConfig, Secret
from adapters.linq._convert import converter as wire_converter
from adapters.linq.wire_account import CreatedWebhookSubscription

from .sweep import TOKEN, WEBHOOK_SECRET, secret_forms, token_forms

FORMS = token_forms() | secret_forms(WEBHOOK_SECRET)


def config() -> LinqConfig:
    return LinqConfig(
        api_token=TOKEN, phone_number="+15550001111", webhook_signing_secret=WEBHOOK_SECRET
    )


def assert_hidden(text: object) -> None:
    shown = str(text)
    assert [] == [form for form in sorted(FORMS) if form in shown]


def test_attrs_asdict_and_astuple_keep_the_secret_closed() -> None:
    as_dict = attrs.asdict(config())
    as_tuple = attrs.astuple(config())

    assert Secret(TOKEN) == as_dict["api_token"]
    assert "Secret('***')" == repr(as_dict["api_token"])
    assert_hidden(as_dict)
    assert_hidden(as_tuple)
    assert "***" == json.dumps(as_dict, default=str).split('"api_token": "')[1][:3]


def test_attrs_asdict_refuses_a_bare_secret() -> None:
    with pytest.raises(attrs.exceptions.NotAnAttrsClassError):
        attrs.asdict(Secret(TOKEN))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [Secret(TOKEN), config()], ids=["secret", "config"])
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_refuses_a_secret_at_every_protocol(value: object, protocol: int) -> None:
    with pytest.raises(TypeError, match="cannot be pickled") as caught:
        pickle.dumps(value, protocol=protocol)

    assert_hidden(caught.value)


def test_getstate_gives_nothing_away() -> None:
    with pytest.raises(TypeError):
        Secret(TOKEN).__getstate__()


@pytest.mark.parametrize("clone", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copies_are_equal_and_still_hidden(clone: Any) -> None:
    original = config()

    copied = clone(original)

    assert original == copied
    assert TOKEN == copied.api_token.reveal()
    assert WEBHOOK_SECRET == copied.webhook_signing_secret.reveal()
    assert_hidden(repr(copied))
    assert_hidden(repr(clone(Secret(TOKEN))))


def test_json_refuses_a_secret_and_writes_stars_with_default_str() -> None:
    with pytest.raises(TypeError, match="not JSON serializable") as caught:
        json.dumps({"token": Secret(TOKEN)})

    assert_hidden(caught.value)
    assert '{"token": "***"}' == json.dumps({"token": Secret(TOKEN)}, default=str)
    assert '{"token": "Secret(\'***\')"}' == json.dumps({"token": Secret(TOKEN)}, default=repr)


def test_a_plain_cattrs_converter_keeps_the_secret_closed() -> None:
    for unstructure in (cattrs.unstructure, cattrs.Converter().unstructure):
        data = unstructure(config())

        assert isinstance(data["api_token"], Secret)
        assert_hidden(data)
        assert_hidden(json.dumps(data, default=str))


def test_only_the_wire_converter_opens_a_secret_on_purpose() -> None:
    """The Linq converter writes what goes on the wire, and ``webhooks create --json``
    shows a new subscription's secret once: that is the one place it is opened."""
    created = CreatedWebhookSubscription(
        id="s1",
        target_url="https://care.example.org/hooks",
        signing_secret=Secret(WEBHOOK_SECRET),
        subscribed_events=("message.received",),
        is_active=True,
    )

    assert WEBHOOK_SECRET == wire_converter().unstructure(created)["signing_secret"]


def test_vars_formatting_logging_and_attribute_writes_show_nothing() -> None:
    secret = Secret(TOKEN)

    with pytest.raises(TypeError):
        vars(secret)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        secret._value = "other"  # type: ignore[misc]
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%s %r", (secret, secret), None)
    assert ("***", "***", "*** Secret('***')") == (f"{secret}", format(secret), record.getMessage())


def test_secrets_compare_by_value_and_hash_alike() -> None:
    assert Secret(TOKEN) == Secret(TOKEN)
    assert Secret(TOKEN) != Secret(TOKEN + "x")
    assert Secret(TOKEN) != TOKEN
    assert 1 == len({Secret(TOKEN), Secret(TOKEN)})
