"""Hypothesis properties of the fallback policy: nothing the service lacks, nothing lost."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caresupport_transport import (
    Availability,
    DegradationAction,
    FallbackPolicy,
    Feature,
    HandleCapabilities,
    LongTextFallback,
    MediaPart,
    OnUnsupported,
    OutgoingMessage,
    Service,
    ServicePreference,
    TextPart,
    UnsupportedError,
)
from caresupport_transport.capabilities import FALLBACK_ORDER, capabilities_of
from caresupport_transport.content import Part
from caresupport_transport.policy import MessagePlan, choose_service, plan_message

from .strategies import lenient_policies, messages, policies, recipient_lists, services


def _squash(text: str) -> str:
    return "".join(text.split())


def _runs(parts: Sequence[Part]) -> list[Part | list[TextPart]]:
    """Media parts as they are; each run of consecutive text parts as one list."""
    runs: list[Part | list[TextPart]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if runs and isinstance(runs[-1], list):
                runs[-1].append(part)
            else:
                runs.append([part])
        else:
            runs.append(part)
    return runs


def _plan_parts(plan: MessagePlan) -> list[Part]:
    return [part for message in plan.messages for part in message.parts]


def _kinds(plan: MessagePlan) -> list[tuple[Feature, DegradationAction]]:
    return [(d.feature, d.action) for d in plan.degradations]


def _would_fail(message: OutgoingMessage, service: Service, policy: FallbackPolicy) -> set[str]:
    caps = capabilities_of(service)
    failing = set()
    if message.effect and not caps.effects and policy.effects is OnUnsupported.FAIL:
        failing.add(Feature.EFFECT.value)
    if message.reply_to and not caps.reply_threads and policy.reply_threads is OnUnsupported.FAIL:
        failing.add(Feature.REPLY_THREAD.value)
    too_long = any(
        isinstance(p, TextPart) and len(p.text) > caps.max_text_chars for p in message.parts
    )
    if too_long and policy.long_text is LongTextFallback.FAIL:
        failing.add(Feature.LONG_TEXT.value)
    return failing


@settings(max_examples=300)
@given(recipient_lists, st.sampled_from(list(ServicePreference)), messages, policies)
def test_a_planned_message_never_carries_what_the_chosen_service_lacks(
    recipients: list[HandleCapabilities],
    preference: ServicePreference,
    message: OutgoingMessage,
    policy: FallbackPolicy,
) -> None:
    try:
        service = choose_service(recipients, preference)
        plan = plan_message(message, service, policy)
    except UnsupportedError:
        return
    caps = capabilities_of(service)

    assert service is plan.service
    assert plan.messages
    for planned in plan.messages:
        if not caps.effects:
            assert planned.effect is None
        if not caps.reply_threads:
            assert planned.reply_to is None
        for part in planned.parts:
            if isinstance(part, TextPart):
                assert len(part.text) <= caps.max_text_chars


@settings(max_examples=300)
@given(messages, services, lenient_policies)
def test_every_change_a_plan_makes_appears_in_its_degradations(
    message: OutgoingMessage, service: Service, policy: FallbackPolicy
) -> None:
    plan = plan_message(message, service, policy)
    caps = capabilities_of(service)
    kinds = _kinds(plan)

    first = plan.messages[0]
    assert all(m.effect is None and m.reply_to is None for m in plan.messages[1:])
    effect_dropped = message.effect is not None and first.effect is None
    assert effect_dropped == ((Feature.EFFECT, DegradationAction.DROPPED) in kinds)
    if not effect_dropped:
        assert message.effect == first.effect
    reply_dropped = message.reply_to is not None and first.reply_to is None
    assert reply_dropped == ((Feature.REPLY_THREAD, DegradationAction.DROPPED) in kinds)
    if not reply_dropped:
        assert message.reply_to == first.reply_to

    long_parts = [
        p for p in message.parts if isinstance(p, TextPart) and len(p.text) > caps.max_text_chars
    ]
    assert kinds.count((Feature.LONG_TEXT, DegradationAction.SPLIT)) == len(long_parts)
    if not long_parts:
        assert (message.parts,) == tuple(m.parts for m in plan.messages)
    # Only these three kinds of change exist for a message; each is reported once.
    assert effect_dropped + reply_dropped + len(long_parts) == len(kinds)
    for degradation in plan.degradations:
        assert service.label in degradation.reason


@settings(max_examples=300)
@given(messages, services, lenient_policies)
def test_a_plan_keeps_every_media_part_and_every_word_in_order(
    message: OutgoingMessage, service: Service, policy: FallbackPolicy
) -> None:
    plan = plan_message(message, service, policy)
    limit = capabilities_of(service).max_text_chars

    before = _runs(message.parts)
    after = _runs(_plan_parts(plan))
    assert len(before) == len(after)
    for original, planned in zip(before, after, strict=True):
        if isinstance(original, MediaPart):
            assert original == planned
            continue
        assert isinstance(original, list)
        assert isinstance(planned, list)
        [text] = [p.text for p in original]
        pieces = [p.text for p in planned]
        assert _squash(text) == _squash("".join(pieces))
        if all(len(word) <= limit for word in text.split()):
            assert text.split() == " ".join(pieces).split()
    assert _squash(message.text) == _squash(" ".join(m.text for m in plan.messages))


@settings(max_examples=200)
@given(recipient_lists, st.sampled_from([p for p in ServicePreference if p.service]))
def test_a_pinned_preference_never_falls_back(
    recipients: list[HandleCapabilities], preference: ServicePreference
) -> None:
    pinned = preference.service
    assert pinned is not None
    lacking = [c for c in recipients if c.availability(pinned) is Availability.UNAVAILABLE]

    if lacking:
        with pytest.raises(UnsupportedError) as caught:
            choose_service(recipients, preference)
        assert pinned.value == caught.value.service
        assert all(str(c.handle) in str(caught.value) for c in lacking)
    else:
        assert pinned is choose_service(recipients, preference)


@settings(max_examples=200)
@given(recipient_lists)
def test_auto_picks_the_first_service_no_recipient_lacks_in_fallback_order(
    recipients: list[HandleCapabilities],
) -> None:
    usable = [
        s
        for s in FALLBACK_ORDER
        if all(c.availability(s) is not Availability.UNAVAILABLE for c in recipients)
    ]

    if usable:
        assert usable[0] is choose_service(recipients, ServicePreference.AUTO)
    else:
        with pytest.raises(UnsupportedError) as caught:
            choose_service(recipients, ServicePreference.AUTO)
        assert caught.value.service is None


@settings(max_examples=300)
@given(messages, services, policies)
def test_fail_rules_raise_instead_of_dropping(
    message: OutgoingMessage, service: Service, policy: FallbackPolicy
) -> None:
    failing = _would_fail(message, service, policy)

    if failing:
        with pytest.raises(UnsupportedError) as caught:
            plan_message(message, service, policy)
        assert caught.value.feature in failing
        assert service.value == caught.value.service
    else:
        plan = plan_message(message, service, policy)
        assert service is plan.service


@given(messages)
def test_imessage_carries_any_valid_message_unchanged(message: OutgoingMessage) -> None:
    plan = plan_message(message, Service.IMESSAGE)

    assert (message,) == plan.messages
    assert () == plan.degradations
