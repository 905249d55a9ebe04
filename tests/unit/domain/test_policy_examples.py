"""The fallback policy by example: exact degradations, reactions, voice memos and actions."""

from __future__ import annotations

import pytest

from caresupport_transport import (
    Availability,
    Degradation,
    DegradationAction,
    Effect,
    FallbackPolicy,
    Feature,
    Handle,
    HandleCapabilities,
    LongTextFallback,
    MediaPart,
    OnUnsupported,
    OutgoingMessage,
    Reaction,
    ReactionKind,
    ReplyTo,
    Service,
    ServicePreference,
    TapbackFallback,
    TextPart,
    UnsupportedError,
    ValidationError,
    VoiceMemo,
    VoiceMemoFallback,
)
from caresupport_transport.policy import (
    choose_service,
    next_service,
    plan_action,
    plan_message,
    plan_reaction,
    plan_voice_memo,
    tapback_text,
)

PHONE = Handle("+16517037981")
EMAIL = Handle("grandma@example.org")
AVAILABLE, UNAVAILABLE = Availability.AVAILABLE, Availability.UNAVAILABLE
MEMO = VoiceMemo(MediaPart(url="https://example.org/memo.m4a", content_type="audio/x-m4a"))
LOVE = Reaction(ReactionKind.LOVE)


def _reasons(degradations: tuple[Degradation, ...]) -> list[str]:
    return [str(d) for d in degradations]


def test_an_effect_on_sms_is_dropped_and_reported() -> None:
    message = OutgoingMessage.of_text("Happy birthday, Mum!", effect=Effect.screen("balloons"))

    plan = plan_message(message, Service.SMS)

    assert (OutgoingMessage.of_text("Happy birthday, Mum!"),) == plan.messages
    assert ["effect dropped: SMS has no effects"] == _reasons(plan.degradations)


def test_a_reply_thread_on_rcs_is_dropped_and_reported() -> None:
    message = OutgoingMessage.of_text("Yes, 3pm works", reply_to=ReplyTo("msg-1"))

    plan = plan_message(message, Service.RCS)

    assert (OutgoingMessage.of_text("Yes, 3pm works"),) == plan.messages
    assert ["reply thread dropped: RCS has no reply threads"] == _reasons(plan.degradations)


def test_effect_and_reply_on_sms_are_both_reported_effect_first() -> None:
    message = OutgoingMessage.of_text(
        "Done", effect=Effect.bubble("gentle"), reply_to=ReplyTo("msg-1")
    )

    plan = plan_message(message, Service.SMS)

    assert [
        "effect dropped: SMS has no effects",
        "reply thread dropped: SMS has no reply threads",
    ] == _reasons(plan.degradations)


def test_long_text_on_sms_is_split_into_bubbles_and_reported() -> None:
    text = " ".join(["word"] * 700)  # 3,499 characters

    plan = plan_message(OutgoingMessage.of_text(text), Service.SMS)

    assert 3 == len(plan.messages)
    assert all(len(m.text) <= 1_600 for m in plan.messages)
    assert text == " ".join(m.text for m in plan.messages)
    assert [
        "long text split: 3499 characters split into 3 bubbles of at most 1600 for SMS"
    ] == _reasons(plan.degradations)


def test_an_effect_rides_on_the_first_bubble_of_a_split_message() -> None:
    message = OutgoingMessage.of_text(" ".join(["word"] * 700), effect=Effect.screen("confetti"))

    plan = plan_message(message, Service.IMESSAGE)

    assert Effect.screen("confetti") == plan.messages[0].effect


def test_media_after_split_text_is_sent_after_the_last_bubble() -> None:
    photo = MediaPart(url="https://example.org/rash.jpg")
    message = OutgoingMessage((TextPart(" ".join(["word"] * 500)), photo))

    plan = plan_message(message, Service.SMS)

    assert [1, 1, 1] == [len(m.parts) for m in plan.messages]
    assert (photo,) == plan.messages[-1].parts


def test_text_at_the_sms_limit_is_not_split() -> None:
    message = OutgoingMessage.of_text("x" * 1_600)

    assert (message,) == plan_message(message, Service.SMS).messages


def test_a_fail_rule_for_effects_raises_naming_feature_and_service() -> None:
    message = OutgoingMessage.of_text("Hi", effect=Effect.screen("hearts"))
    policy = FallbackPolicy(effects=OnUnsupported.FAIL)

    with pytest.raises(UnsupportedError) as caught:
        plan_message(message, Service.SMS, policy)

    assert ("effect", "sms") == (caught.value.feature, caught.value.service)
    assert "effect: SMS has no effects" == str(caught.value)


def test_a_fail_rule_for_reply_threads_raises() -> None:
    message = OutgoingMessage.of_text("Hi", reply_to=ReplyTo("msg-1"))
    policy = FallbackPolicy(reply_threads=OnUnsupported.FAIL)

    with pytest.raises(UnsupportedError) as caught:
        plan_message(message, Service.RCS, policy)

    assert ("reply thread", "rcs") == (caught.value.feature, caught.value.service)


def test_a_fail_rule_for_long_text_raises_naming_the_limit() -> None:
    policy = FallbackPolicy(long_text=LongTextFallback.FAIL)

    with pytest.raises(UnsupportedError) as caught:
        plan_message(OutgoingMessage.of_text("x" * 1_601), Service.SMS, policy)

    assert "long text" == caught.value.feature
    assert "text of 1601 characters is over SMS's 1600" == str(caught.value)


def test_fail_rules_do_not_fire_on_a_service_that_carries_the_feature() -> None:
    policy = FallbackPolicy(effects=OnUnsupported.FAIL, reply_threads=OnUnsupported.FAIL)
    message = OutgoingMessage.of_text(
        "Hi", effect=Effect.screen("hearts"), reply_to=ReplyTo("msg-1")
    )

    assert (message,) == plan_message(message, Service.IMESSAGE, policy).messages


def test_auto_prefers_imessage_when_unknown() -> None:
    assert Service.IMESSAGE is choose_service([HandleCapabilities(PHONE)], ServicePreference.AUTO)


def test_auto_falls_back_to_rcs_then_sms() -> None:
    rcs_only = HandleCapabilities(PHONE, imessage=UNAVAILABLE, rcs=AVAILABLE)
    sms_only = HandleCapabilities(PHONE, imessage=UNAVAILABLE, rcs=UNAVAILABLE)

    assert Service.RCS is choose_service([rcs_only], ServicePreference.AUTO)
    assert Service.SMS is choose_service([sms_only], ServicePreference.AUTO)


def test_auto_picks_the_service_every_group_member_can_use() -> None:
    imessage = HandleCapabilities(PHONE, imessage=AVAILABLE, rcs=UNAVAILABLE)
    sms_only = HandleCapabilities(Handle("+16517037982"), imessage=UNAVAILABLE, rcs=UNAVAILABLE)

    assert Service.SMS is choose_service([imessage, sms_only], ServicePreference.AUTO)


def test_an_email_that_is_not_on_imessage_cannot_be_reached() -> None:
    email = HandleCapabilities(EMAIL, imessage=UNAVAILABLE, rcs=UNAVAILABLE)

    with pytest.raises(UnsupportedError) as caught:
        choose_service([email], ServicePreference.AUTO)

    assert "no service reaches every recipient: grandma@example.org" == str(caught.value)


def test_a_pinned_service_the_recipient_lacks_raises_instead_of_falling_back() -> None:
    sms_only = HandleCapabilities(PHONE, imessage=UNAVAILABLE, rcs=UNAVAILABLE)

    with pytest.raises(UnsupportedError) as caught:
        choose_service([sms_only], ServicePreference.IMESSAGE)

    assert "iMessage was pinned but +16517037981 cannot use it" == str(caught.value)


@pytest.mark.parametrize(
    ("service", "after"),
    [(Service.IMESSAGE, Service.RCS), (Service.RCS, Service.SMS), (Service.SMS, None)],
)
def test_next_service_follows_the_fallback_order(service: Service, after: Service | None) -> None:
    assert after is next_service(service)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ReactionKind.LOVE, 'Loved "See you at 3"'),
        (ReactionKind.LIKE, 'Liked "See you at 3"'),
        (ReactionKind.DISLIKE, 'Disliked "See you at 3"'),
        (ReactionKind.LAUGH, 'Laughed at "See you at 3"'),
        (ReactionKind.EMPHASIZE, 'Emphasized "See you at 3"'),
        (ReactionKind.QUESTION, 'Questioned "See you at 3"'),
    ],
)
def test_a_tapback_on_sms_becomes_the_text_phones_show(kind: ReactionKind, expected: str) -> None:
    plan = plan_reaction(Reaction(kind), Service.SMS, "See you at 3")

    assert (None, expected) == (plan.reaction, plan.text)
    assert ["tapback converted: sent as text: SMS has no tapbacks"] == _reasons(plan.degradations)


def test_a_custom_reaction_on_sms_names_its_emoji() -> None:
    plan = plan_reaction(Reaction(ReactionKind.CUSTOM, "🙏"), Service.SMS, "Pills taken")

    assert 'Reacted 🙏 to "Pills taken"' == plan.text


def test_a_tapback_on_sms_skips_when_the_policy_says_skip() -> None:
    plan = plan_reaction(LOVE, Service.SMS, "Hi", FallbackPolicy(tapbacks=TapbackFallback.SKIP))

    assert (None, None) == (plan.reaction, plan.text)
    assert ["tapback skipped: SMS has no tapbacks"] == _reasons(plan.degradations)


def test_a_tapback_on_sms_raises_when_the_policy_says_fail() -> None:
    with pytest.raises(UnsupportedError) as caught:
        plan_reaction(LOVE, Service.SMS, "Hi", FallbackPolicy(tapbacks=TapbackFallback.FAIL))

    assert ("tapback", "sms") == (caught.value.feature, caught.value.service)


def test_removing_a_tapback_on_sms_is_skipped_not_sent_as_text() -> None:
    plan = plan_reaction(LOVE, Service.SMS, "Hi", removing=True)

    assert (None, None) == (plan.reaction, plan.text)
    assert ["tapback skipped: SMS has no tapbacks"] == _reasons(plan.degradations)


@pytest.mark.parametrize("service", [Service.IMESSAGE, Service.RCS])
def test_a_tapback_goes_as_is_where_the_service_has_tapbacks(service: Service) -> None:
    plan = plan_reaction(LOVE, service, "Hi", FallbackPolicy(tapbacks=TapbackFallback.FAIL))

    assert (LOVE, None, ()) == (plan.reaction, plan.text, plan.degradations)


def test_a_sticker_cannot_be_planned_for_sending() -> None:
    with pytest.raises(ValidationError):
        plan_reaction(Reaction(ReactionKind.STICKER), Service.IMESSAGE, "Hi")


def test_tapback_text_shortens_a_long_quote_to_60_characters() -> None:
    text = tapback_text(LOVE, "word " * 40)

    quoted = text.removeprefix('Loved "').removesuffix('"')
    assert len(quoted) <= 60
    assert quoted.endswith("…")
    assert quoted.startswith("word word")


def test_tapback_text_collapses_whitespace_in_the_quote() -> None:
    assert 'Liked "See you at 3"' == tapback_text(Reaction(ReactionKind.LIKE), "See you\n\tat 3")


@pytest.mark.parametrize(
    ("reaction", "expected"),
    [
        (LOVE, "Loved"),
        (Reaction(ReactionKind.LAUGH), "Laughed"),
        (Reaction(ReactionKind.CUSTOM, "👍"), "Reacted 👍"),
    ],
)
def test_tapback_text_on_an_empty_quote_reads_naturally(reaction: Reaction, expected: str) -> None:
    assert expected == tapback_text(reaction, "  ")


def test_a_voice_memo_goes_as_a_memo_on_imessage() -> None:
    assert (None, ()) == plan_voice_memo(MEMO, Service.IMESSAGE)


@pytest.mark.parametrize("service", [Service.RCS, Service.SMS])
def test_a_voice_memo_becomes_a_media_attachment_elsewhere(service: Service) -> None:
    media, degradations = plan_voice_memo(MEMO, service)

    assert MEMO.audio == media
    assert [
        f"voice memo converted: sent as a media attachment: {service.label} has no voice memos"
    ] == _reasons(degradations)


def test_a_voice_memo_raises_when_the_policy_says_fail() -> None:
    policy = FallbackPolicy(voice_memos=VoiceMemoFallback.FAIL)

    with pytest.raises(UnsupportedError) as caught:
        plan_voice_memo(MEMO, Service.SMS, policy)

    assert ("voice memo", "sms") == (caught.value.feature, caught.value.service)


def test_typing_in_a_one_to_one_imessage_chat_is_performed() -> None:
    assert plan_action(Feature.TYPING, Service.IMESSAGE) is None


def test_typing_in_an_imessage_group_is_skipped_and_says_why() -> None:
    degradation = plan_action(Feature.TYPING, Service.IMESSAGE, is_group=True)

    assert degradation is not None
    assert "typing indicator skipped: iMessage group chats have no typing indicators" == str(
        degradation
    )


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        (Feature.TYPING, "typing indicator skipped: SMS has no typing indicators"),
        (Feature.READ_RECEIPT, "read receipt skipped: SMS has no read receipts"),
        (Feature.CONTACT_CARD, "contact card skipped: SMS has no contact cards"),
    ],
)
def test_contentless_actions_on_sms_are_skipped_and_reported(
    feature: Feature, expected: str
) -> None:
    degradation = plan_action(feature, Service.SMS)

    assert degradation is not None
    assert DegradationAction.SKIPPED is degradation.action
    assert expected == str(degradation)


def test_read_receipts_work_on_rcs_but_typing_does_not() -> None:
    assert plan_action(Feature.READ_RECEIPT, Service.RCS) is None
    assert plan_action(Feature.TYPING, Service.RCS) is not None


def test_an_action_on_an_unknown_service_is_treated_as_imessage() -> None:
    assert plan_action(Feature.TYPING, None) is None
    assert plan_action(Feature.TYPING, None, is_group=True) is not None
