"""The capabilities table, handle capability lookups and the model's small rules."""

from __future__ import annotations

import pytest

from caresupport_transport import (
    SERVICE_CAPABILITIES,
    Availability,
    Degradation,
    DegradationAction,
    DeliveryStatus,
    Feature,
    Handle,
    HandleCapabilities,
    SendReceipt,
    Service,
    ServicePreference,
    ValidationError,
)
from caresupport_transport.capabilities import capabilities_of

PHONE = Handle("+16517037981")
EMAIL = Handle("care@example.org")


def test_the_table_covers_every_service() -> None:
    assert set(Service) == set(SERVICE_CAPABILITIES)


def test_only_imessage_has_effects_reply_threads_voice_memos_and_edits() -> None:
    for feature in (Feature.EFFECT, Feature.REPLY_THREAD, Feature.VOICE_MEMO, Feature.EDIT):
        supported = {s for s in Service if capabilities_of(s).supports(feature)}
        assert {Service.IMESSAGE} == supported, feature


def test_sms_has_no_tapbacks_typing_or_read_receipts() -> None:
    sms = capabilities_of(Service.SMS)

    assert not sms.supports(Feature.TAPBACK)
    assert not sms.supports(Feature.TYPING)
    assert not sms.supports(Feature.READ_RECEIPT)


def test_typing_indicators_are_one_to_one_only_even_on_imessage() -> None:
    imessage = capabilities_of(Service.IMESSAGE)

    assert imessage.supports(Feature.TYPING)
    assert not imessage.supports(Feature.TYPING, is_group=True)


def test_max_text_chars_shrinks_down_the_fallback_order() -> None:
    sizes = [capabilities_of(s).max_text_chars for s in Service]

    assert [10_000, 3_072, 1_600] == sizes


def test_every_service_carries_media_within_the_same_size_limits() -> None:
    for service in Service:
        caps = capabilities_of(service)
        assert caps.supports(Feature.MEDIA)
        assert (10 * 1024 * 1024, 100 * 1024 * 1024) == (
            caps.max_media_url_bytes,
            caps.max_media_upload_bytes,
        )


def test_service_labels_are_the_names_people_know() -> None:
    assert ["iMessage", "RCS", "SMS"] == [s.label for s in Service]


def test_auto_preference_pins_nothing_and_a_pinned_one_names_its_service() -> None:
    assert ServicePreference.AUTO.service is None
    for service in Service:
        assert service is ServicePreference.pin(service).service


def test_sms_is_assumed_available_for_a_phone_and_never_for_an_email() -> None:
    assert Availability.AVAILABLE is HandleCapabilities(PHONE).sms
    assert Availability.UNAVAILABLE is HandleCapabilities(EMAIL).sms


def test_imessage_and_rcs_are_unknown_until_checked() -> None:
    caps = HandleCapabilities(PHONE)

    assert (Availability.UNKNOWN, Availability.UNKNOWN) == (caps.imessage, caps.rcs)


def test_services_lists_only_known_available_ones_in_fallback_order() -> None:
    caps = HandleCapabilities(
        PHONE, imessage=Availability.UNKNOWN, rcs=Availability.AVAILABLE, sms=Availability.AVAILABLE
    )

    assert (Service.RCS, Service.SMS) == caps.services


@pytest.mark.parametrize("service", list(Service))
def test_availability_reads_the_field_for_each_service(service: Service) -> None:
    caps = HandleCapabilities(
        PHONE,
        imessage=Availability.AVAILABLE,
        rcs=Availability.UNAVAILABLE,
        sms=Availability.UNKNOWN,
    )
    expected = {
        Service.IMESSAGE: Availability.AVAILABLE,
        Service.RCS: Availability.UNAVAILABLE,
        Service.SMS: Availability.UNKNOWN,
    }[service]

    assert expected is caps.availability(service)


def test_delivery_status_ranks_progress_so_read_outranks_delivered() -> None:
    ordered = [
        DeliveryStatus.PENDING,
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
    ]

    assert ordered == sorted(ordered, key=lambda s: s.rank)
    assert DeliveryStatus.READ.rank < DeliveryStatus.FAILED.rank


def test_a_degradation_reads_feature_action_reason() -> None:
    degradation = Degradation(Feature.EFFECT, DegradationAction.DROPPED, "SMS has no effects")

    assert "effect dropped: SMS has no effects" == str(degradation)


def test_a_receipt_without_message_ids_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        SendReceipt((), "conv-1", Service.SMS, DeliveryStatus.SENT, "key-1")

    assert "message_ids" == caught.value.field


def test_a_receipt_message_id_is_the_first_message_created() -> None:
    receipt = SendReceipt(["m-1", "m-2"], "conv-1", Service.SMS, DeliveryStatus.SENT, "key-1")

    assert "m-1" == receipt.message_id
    assert ("m-1", "m-2") == receipt.message_ids
