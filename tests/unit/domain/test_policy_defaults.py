"""The fallback policy's defaults and rule values, and the refusal that names who lacks a service.

Written for the changes that the mutation script (``tools/mutate.py policy``)
showed the suite did not notice.
"""

from __future__ import annotations

import enum

import pytest

from caresupport_transport import (
    Availability,
    Handle,
    HandleCapabilities,
    Service,
    ServicePreference,
    UnsupportedError,
)
from caresupport_transport.policy import (
    FallbackPolicy,
    LongTextFallback,
    OnUnsupported,
    TapbackFallback,
    VoiceMemoFallback,
    choose_service,
)


def test_the_default_policy_degrades_and_never_re_sends_on_its_own() -> None:
    assert (
        FallbackPolicy(
            effects=OnUnsupported.DROP,
            reply_threads=OnUnsupported.DROP,
            tapbacks=TapbackFallback.TEXT,
            voice_memos=VoiceMemoFallback.MEDIA,
            long_text=LongTextFallback.SPLIT,
            resend_on_failure=False,
        )
        == FallbackPolicy()
    )


@pytest.mark.parametrize(
    ("rules", "values"),
    [
        (OnUnsupported, {"drop", "fail"}),
        (TapbackFallback, {"text", "skip", "fail"}),
        (VoiceMemoFallback, {"media", "fail"}),
        (LongTextFallback, {"split", "fail"}),
    ],
)
def test_each_rule_reads_from_its_configuration_word(
    rules: type[enum.Enum], values: set[str]
) -> None:
    """A deployment names its rules in configuration: ``TapbackFallback("skip")``."""
    assert values == {rule.value for rule in rules}
    assert all(rules(value).value == value for value in values)


def test_a_pinned_service_names_every_recipient_who_lacks_it() -> None:
    no_imessage = Availability.UNAVAILABLE
    people = [
        HandleCapabilities(Handle("+16517037981"), imessage=no_imessage),
        HandleCapabilities(Handle("+16517037982"), imessage=no_imessage),
    ]

    with pytest.raises(UnsupportedError) as caught:
        choose_service(people, ServicePreference.IMESSAGE)

    assert "iMessage was pinned but +16517037981, +16517037982 cannot use it" in str(caught.value)
    assert (caught.value.feature, caught.value.service) == ("service", Service.IMESSAGE.value)
