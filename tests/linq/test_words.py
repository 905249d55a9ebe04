"""The one table of Linq's words: every reader and writer of the adapter spells them alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.linq import _words
from adapters.linq._convert import converter, decode
from adapters.linq._to_domain import lenient_status, service_from_wire, status_from_wire
from adapters.linq.simulator import _wire
from adapters.linq.wire_chats import ChatHandle, HandleStatus, SentMessage
from caresupport_transport.capabilities import Service
from caresupport_transport.errors import ProtocolError
from caresupport_transport.model import DeliveryStatus, Direction


@pytest.mark.parametrize("service", list(Service))
def test_a_service_word_reads_back_as_its_service(service: Service) -> None:
    assert service is _words.service_from_word(_words.service_word(service))
    assert service.label == _words.service_word(service)


@pytest.mark.parametrize("status", list(DeliveryStatus))
@pytest.mark.parametrize("direction", list(Direction))
def test_a_status_word_reads_back_as_its_status(
    status: DeliveryStatus, direction: Direction
) -> None:
    assert status is _words.status_from_word(_words.status_word(status, direction))


def test_an_inbound_delivered_message_is_received_and_reads_as_delivered() -> None:
    assert "received" == _words.status_word(DeliveryStatus.DELIVERED, Direction.INBOUND)
    assert "delivered" == _words.status_word(DeliveryStatus.DELIVERED)
    assert DeliveryStatus.DELIVERED is _words.status_from_word("Received")


@pytest.mark.parametrize("direction", list(Direction))
def test_a_direction_word_reads_back_as_its_direction(direction: Direction) -> None:
    assert direction is _words.direction_from_word(_words.direction_word(direction))


_KNOWN = {
    word.casefold()
    for word in (
        *_words.SERVICE_WORDS.values(),
        *_words.STATUS_WORDS.values(),
        *_words.DIRECTION_WORDS.values(),
        "received",
    )
}


@given(st.one_of(st.none(), st.integers(), st.text().filter(lambda w: w.casefold() not in _KNOWN)))
def test_a_word_the_table_does_not_know_reads_as_none(word: object) -> None:
    assert (None, None, None) == (
        _words.service_from_word(word),
        _words.status_from_word(word),
        _words.direction_from_word(word),
    )


def test_the_converter_reader_and_simulator_write_and_read_the_same_words() -> None:
    for service in Service:
        word = _wire.service_label(service)
        assert word == converter().unstructure(service)
        assert service is converter().structure(word, Service)
        assert service is service_from_wire(word)
    for status in DeliveryStatus:
        word = _wire.status_label(status)
        assert word == converter().unstructure(status)
        assert status is converter().structure(word, DeliveryStatus)
        assert status is status_from_wire(word)
        assert status is lenient_status(word, DeliveryStatus.PENDING)
    assert [w.value for w in HandleStatus] == ["active", "left", "removed"]
    assert [HandleStatus.LEFT, HandleStatus.REMOVED] == [s for s in HandleStatus if s.gone]


def test_the_client_reads_an_unknown_service_as_none_and_refuses_an_unknown_status() -> None:
    handle = converter().structure(
        {"id": "h1", "handle": "+15557654321", "service": "WhatsApp"}, ChatHandle
    )
    assert handle.service is None
    answer = {
        "id": "m1",
        "parts": [],
        "sent_at": "2026-03-01T12:00:00Z",
        "delivery_status": "teleported",
        "is_read": False,
    }
    with pytest.raises(ProtocolError, match="delivery_status"):
        decode(answer, SentMessage, what="send_message", status=200, trace_id=None)


def test_an_unknown_status_is_the_default_for_lenient_status() -> None:
    assert DeliveryStatus.QUEUED is lenient_status("teleported", DeliveryStatus.QUEUED)
    assert DeliveryStatus.QUEUED is lenient_status(None, DeliveryStatus.QUEUED)
