"""The fallback policy at its edges: defaults, rule words, quote length, group splits, messages.

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
    MediaPart,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    Service,
    ServicePreference,
    TextPart,
    UnsupportedError,
    VoiceMemo,
)
from caresupport_transport.policy import (
    FallbackPolicy,
    LongTextFallback,
    OnUnsupported,
    TapbackFallback,
    VoiceMemoFallback,
    choose_service,
    plan_message,
    plan_reaction,
    plan_voice_memo,
    tapback_text,
)

LOVE = Reaction(ReactionKind.LOVE)
PHOTO = MediaPart(url="https://example.org/rota.png", content_type="image/png")


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


def test_no_service_for_everyone_names_every_recipient() -> None:
    nowhere = [
        HandleCapabilities(
            Handle(f"{name}@example.org"),
            imessage=Availability.UNAVAILABLE,
            rcs=Availability.UNAVAILABLE,
        )
        for name in ("gran", "grandpa")
    ]

    with pytest.raises(UnsupportedError) as caught:
        choose_service(nowhere, ServicePreference.AUTO)

    assert "no service reaches every recipient: gran@example.org, grandpa@example.org" in str(
        caught.value
    )


def test_a_quote_of_60_characters_is_kept_whole() -> None:
    quote = "x" * 60
    assert f'Loved "{quote}"' == tapback_text(LOVE, quote)


def test_a_quote_of_61_characters_is_cut_to_59_and_an_ellipsis() -> None:
    assert f'Loved "{"x" * 59}…"' == tapback_text(LOVE, "x" * 61)


def test_media_before_a_split_text_goes_in_a_message_of_its_own() -> None:
    long_text = " ".join(["word"] * 400)  # 1,999 characters: two SMS bubbles of 1,600 at most
    message = OutgoingMessage((PHOTO, TextPart(long_text)))

    plan = plan_message(message, Service.SMS)

    assert [(PHOTO,), 2] == [plan.messages[0].parts, len(plan.messages) - 1]
    assert all([type(p) for p in m.parts] == [TextPart] for m in plan.messages[1:])


def test_refusals_on_fail_rules_say_what_and_why() -> None:
    memo = VoiceMemo(MediaPart(url="https://example.org/m.m4a", content_type="audio/x-m4a"))
    with pytest.raises(UnsupportedError) as tapback:
        plan_reaction(LOVE, Service.SMS, "Hi", FallbackPolicy(tapbacks=TapbackFallback.FAIL))
    with pytest.raises(UnsupportedError) as voice:
        plan_voice_memo(memo, Service.SMS, FallbackPolicy(voice_memos=VoiceMemoFallback.FAIL))

    assert "tapback: SMS has no tapbacks" in str(tapback.value)
    assert "voice memo: SMS has no voice memos" in str(voice.value)
