"""The account: phone numbers, capability checks, contact cards (``/v3/contact_card``)."""

from __future__ import annotations

from typing import Any

from adapters.linq._words import service_word
from adapters.linq.simulator._errors import (
    CONTACT_CARD_EXISTS,
    UPSTREAM_UNAVAILABLE,
    bad_request,
    conflict,
    not_found,
)
from adapters.linq.simulator._http import Response
from adapters.linq.simulator._parse import parse_from, parse_handle
from adapters.linq.simulator._routes_lines import line_json
from adapters.linq.simulator._routing import Call, Route
from adapters.linq.simulator.state import ContactCard
from caresupport_transport.capabilities import Availability, Service
from caresupport_transport.errors import ProviderError

__all__ = ["ACCOUNT_ROUTES"]


def list_phone_numbers(call: Call) -> Response:
    lines = [line_json(call.backend, n) for n in call.account.phone_numbers]
    return call.json(200, {"phone_numbers": lines})


def list_phone_numbers_deprecated(call: Call) -> Response:
    ids = call.backend.ids
    return call.json(
        200,
        {
            "phone_numbers": [
                {
                    "id": ids.stable("line", n),
                    "phone_number": n,
                    "type": "APPLE_ID",
                    **({"country_code": "US"} if n.startswith("+1") else {}),
                    "capabilities": {"sms": True, "mms": True, "voice": False},
                }
                for n in call.account.phone_numbers
            ]
        },
    )


def _check(call: Call, service: Service) -> Response:
    body = call.body()
    address = parse_handle(body.get("address"), "address")
    if body.get("from") is not None:
        parse_from(body["from"], call.account)
    if address in call.backend.capability_unknown:
        raise ProviderError(
            f"{service_word(service)} capability check is temporarily unavailable.",
            status=503,
            code=UPSTREAM_UNAVAILABLE,
        )
    caps = call.backend.primary.capabilities(address)
    availability = caps.imessage if service is Service.IMESSAGE else caps.rcs
    return call.json(
        200, {"address": address.value, "available": availability is Availability.AVAILABLE}
    )


def check_imessage(call: Call) -> Response:
    return _check(call, Service.IMESSAGE)


def check_rcs(call: Call) -> Response:
    return _check(call, Service.RCS)


def _card_json(card: ContactCard) -> dict[str, Any]:
    # The published schema types last_name and image_url as strings: absent, never null.
    optional = {"last_name": card.last_name, "image_url": card.image_url}
    return {
        "phone_number": card.phone_number,
        "first_name": card.first_name,
        **{key: value for key, value in optional.items() if value is not None},
        "is_active": card.is_active,
    }


def _card_fields(body: dict[str, Any], *, partial: bool) -> dict[str, str | None]:
    fields: dict[str, str | None] = {}
    for key in ("first_name", "last_name", "image_url"):
        if key not in body:
            continue
        value = body[key]
        if value is not None and not isinstance(value, str):
            raise bad_request(f"{key} must be a string")
        fields[key] = value
    if not partial and not fields.get("first_name"):
        raise bad_request("first_name is required")
    image = fields.get("image_url")
    if image is not None and not image.startswith("https://"):
        raise bad_request("image_url must be an https:// URL")
    return fields


def list_cards(call: Call) -> Response:
    wanted = call.request.query_one("phone_number")
    if wanted is not None:
        parse_from(wanted, call.account, "phone_number")
    cards = [
        _card_json(card)
        for number, card in call.backend.contact_cards.items()
        if call.account.owns(number) and (wanted is None or number == wanted)
    ]
    return call.json(200, {"contact_cards": cards})


def create_card(call: Call) -> Response:
    body = call.body()
    number = parse_from(body.get("phone_number"), call.account, "phone_number")
    fields = _card_fields(body, partial=False)
    cards = call.backend.contact_cards
    if number in cards:
        raise conflict(
            f"A contact card already exists for {number}; update it with PATCH",
            CONTACT_CARD_EXISTS,
        )
    cards[number] = ContactCard(
        number,
        fields["first_name"] or "",
        last_name=fields.get("last_name"),
        image_url=fields.get("image_url"),
    )
    return call.json(200, _card_json(cards[number]))


def update_card(call: Call) -> Response:
    # The line is a query parameter (PATCH /v3/contact_card?phone_number=...), as
    # Linq's SDK and LinqClient.update_contact_card send it; the body holds the fields.
    wanted = call.request.query_one("phone_number")
    if not wanted:
        raise bad_request("phone_number is required as a query parameter")
    number = parse_from(wanted, call.account, "phone_number")
    body = call.body()
    card = call.backend.contact_cards.get(number)
    if card is None:
        raise not_found("Contact card")
    fields = _card_fields(body, partial=True)
    if "first_name" in fields:
        if not fields["first_name"]:
            raise bad_request("first_name must not be empty")
        card.first_name = fields["first_name"]
    if "last_name" in fields:
        card.last_name = fields["last_name"]
    if "image_url" in fields:
        card.image_url = fields["image_url"]
    return call.json(200, _card_json(card))


ACCOUNT_ROUTES = (
    Route("GET", "/v3/phone_numbers", list_phone_numbers),
    Route("GET", "/v3/phonenumbers", list_phone_numbers_deprecated),
    Route("POST", "/v3/capability/check_imessage", check_imessage),
    Route("POST", "/v3/capability/check_rcs", check_rcs),
    Route("GET", "/v3/contact_card", list_cards),
    Route("POST", "/v3/contact_card", create_card),
    Route("PATCH", "/v3/contact_card", update_card),
)
