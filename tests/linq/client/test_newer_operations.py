"""The operations Linq added by SDK 0.65: method, path, query and body, and refusals before I/O."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.linq import LinqClient, codes
from adapters.linq._backgrounds import COLOR_VARIANTS, DYNAMIC_VARIANTS, background
from adapters.linq._card_rules import card_layout, placement
from adapters.linq.wire_extras import (
    LocationFeature,
    LocationGeometry,
    LocationPoint,
    LocationProperties,
)
from adapters.linq.wire_lines import AvailableNumber, CallForwarding, LineReputation
from caresupport_transport import Service
from caresupport_transport.content import OutgoingMessage
from caresupport_transport.errors import (
    ConflictError,
    ProtocolError,
    RateLimitedError,
    ValidationError,
)

from .support import (
    CHAT_ID,
    LINE,
    MESSAGE_ID,
    WHEN,
    FakeLinq,
    body_of,
    error_json,
    path_of,
    query_of,
    sent_message_json,
)

LINE_ID = "9b2f3c1d-0000-4000-8000-000000000001"
AUDIT_ID = "a1b2c3d4-0000-4000-8000-000000000002"
REACTION_ID = "r1b2c3d4-0000-4000-8000-000000000003"
GRANDMA = "+16515550101"


def request_of(linq: FakeLinq) -> tuple[str, str, list[tuple[str, str]], Any]:
    last = linq.last
    return last.method, path_of(last), query_of(last), body_of(last)


# -- location ------------------------------------------------------------------------------


async def test_request_location_posts_with_no_body(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, {"success": True, "message": "Location request sent"})

    outcome = await client.request_location(CHAT_ID)

    assert ("POST", f"/v3/chats/{CHAT_ID}/location/request", [], None) == request_of(linq)
    assert (True, "Location request sent") == (outcome.success, outcome.message)


async def test_a_location_request_in_a_group_is_a_conflict_with_code_2016(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(409, error_json(409, codes.GROUP_CHAT_NOT_SUPPORTED, "group"))

    with pytest.raises(ConflictError) as caught:
        await client.request_location(CHAT_ID)

    assert (codes.GROUP_CHAT_NOT_SUPPORTED, 1) == (caught.value.code, len(linq.requests))


async def test_a_repeated_location_request_is_rate_limited_with_retry_after(
    linq: FakeLinq,
) -> None:
    client, http = linq.client(max_attempts=1)
    linq.answer(429, error_json(429, 4001, "slow"), headers={"Retry-After": "60"})

    async with http, client:
        with pytest.raises(RateLimitedError) as caught:
            await client.request_location(CHAT_ID)

    assert 60 == caught.value.retry_after


async def test_get_locations_reads_geojson_points_latitude_first(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(
        200,
        {
            "success": True,
            "data": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [-93.09, 44.95]},
                        "properties": {
                            "handle": GRANDMA,
                            "locality": "Saint Paul",
                            "updated_at": WHEN,
                            "future_key": 1,
                        },
                    }
                ],
            },
        },
    )

    points = await client.get_locations(CHAT_ID)

    assert ("GET", f"/v3/chats/{CHAT_ID}/location") == (linq.last.method, path_of(linq.last))
    assert "application/geo+json" == linq.last.headers["accept"]
    assert (GRANDMA, 44.95, -93.09, "Saint Paul") == (
        points[0].handle,
        points[0].latitude,
        points[0].longitude,
        points[0].locality,
    )


async def test_a_location_that_is_not_a_point_is_a_protocol_error(
    client: LinqClient, linq: FakeLinq
) -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [1.0, 2.0]},
        "properties": {"handle": GRANDMA},
    }
    linq.answer(
        200, {"success": True, "data": {"type": "FeatureCollection", "features": [feature]}}
    )

    with pytest.raises(ProtocolError):
        await client.get_locations(CHAT_ID)


async def test_stop_location_share_deletes_with_the_handle_in_the_body(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(202, {"success": True, "message": "stopping"})

    await client.stop_location_share(CHAT_ID, GRANDMA)

    assert ("DELETE", f"/v3/chats/{CHAT_ID}/location", [], {"handle": GRANDMA}) == request_of(linq)


# -- backgrounds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"type": "color", "variant": "mango"}, {"type": "color", "variant": "mango"}),
        (
            {"type": "color", "shades": ["#F2C4E1", "#F5A623"]},
            {"type": "color", "shades": ["#F2C4E1", "#F5A623"]},
        ),
        (
            {"type": "dynamic", "style": "aurora", "variant": "pink"},
            {"type": "dynamic", "style": "aurora", "variant": "pink"},
        ),
        (
            {"type": "photo", "image_url": "https://cdn.example.org/garden.jpg"},
            {"type": "photo", "image_url": "https://cdn.example.org/garden.jpg"},
        ),
    ],
)
async def test_set_chat_background_posts_each_kind(
    client: LinqClient, linq: FakeLinq, kwargs: dict[str, Any], body: dict[str, Any]
) -> None:
    linq.answer(202)

    await client.set_chat_background(CHAT_ID, **kwargs)

    assert ("POST", f"/v3/chats/{CHAT_ID}/background", [], body) == request_of(linq)


async def test_reset_chat_background_deletes(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(204)

    await client.reset_chat_background(CHAT_ID)

    assert ("DELETE", f"/v3/chats/{CHAT_ID}/background", [], None) == request_of(linq)


@given(
    kind=st.sampled_from(["color", "dynamic", "photo", "gradient", ""]),
    variant=st.one_of(st.none(), st.sampled_from([*COLOR_VARIANTS, "dusk", "pink", "x"])),
    style=st.one_of(st.none(), st.sampled_from([*DYNAMIC_VARIANTS, "glitter"])),
    shades=st.one_of(st.none(), st.lists(st.sampled_from(["#F2C4E1", "#fff", "red"]), max_size=3)),
    image_url=st.one_of(
        st.none(), st.sampled_from(["https://x.org/a.png", "http://x.org/a.png", "https://x.org/a"])
    ),
)
def test_a_background_is_accepted_exactly_when_it_fits_one_kind(
    kind: str,
    variant: str | None,
    style: str | None,
    shades: list[str] | None,
    image_url: str | None,
) -> None:
    def fits() -> bool:
        if kind == "color":
            if style is not None or image_url is not None:
                return False
            if variant in (None, "custom"):
                return shades is not None and len(shades) == 2 and all(len(s) == 7 for s in shades)
            return variant in COLOR_VARIANTS and shades is None
        if kind == "dynamic":
            return (
                shades is None
                and image_url is None
                and style in DYNAMIC_VARIANTS
                and variant in DYNAMIC_VARIANTS[style]
            )
        if kind == "photo":
            return (
                variant is None
                and style is None
                and shades is None
                and image_url == "https://x.org/a.png"
            )
        return False

    try:
        body = background(kind, variant=variant, shades=shades, style=style, image_url=image_url)
    except ValidationError:
        assert not fits()
    else:
        assert fits()
        assert kind == body.type


# -- lines ---------------------------------------------------------------------------------


async def test_set_call_forwarding_puts_the_number(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, {"id": LINE_ID, "phone_number": LINE, "forwarding_number": GRANDMA})

    forwarding = await client.set_call_forwarding(LINE_ID, GRANDMA)

    assert ("PUT", f"/v3/phone_numbers/{LINE_ID}", [], {"forwarding_number": GRANDMA}) == (
        request_of(linq)
    )
    assert CallForwarding(LINE_ID, LINE, GRANDMA) == forwarding


async def test_clearing_call_forwarding_sends_null(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(200, {"id": LINE_ID, "phone_number": LINE, "forwarding_number": None})

    await client.set_call_forwarding(LINE_ID, None)

    assert {"forwarding_number": None} == body_of(linq.last)


async def test_start_reputation_audit_posts_to_the_encoded_line(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(202, {"audit_id": AUDIT_ID, "status": "pending"})

    started = await client.start_reputation_audit(LINE)

    assert (
        "/api/partner/v3/phone_numbers/%2B15550001111/reputation_audit"
        == linq.last.url.raw_path.decode()
    )
    assert ("POST", AUDIT_ID, "pending") == (linq.last.method, started.audit_id, started.status)


async def test_get_reputation_audit_reads_the_report(client: LinqClient, linq: FakeLinq) -> None:
    linq.answer(
        200,
        {
            "audit_id": AUDIT_ID,
            "status": "complete",
            "generated_at": WHEN,
            "phone": LINE,
            "report": {
                "severity": "AT_RISK",
                "primary_driver": "opt_out_handling",
                "drivers": [
                    {"key": "opt_out_handling", "metric": "3", "summary": "sent after stop"}
                ],
                "action_items": [
                    {"priority": 1, "title": "Honour stops", "expected_impact": "high"}
                ],
                "evidence": {"opt_out_chats": [{"chat_id": CHAT_ID, "messages_after_stop": 3}]},
                "summary_markdown": "**At risk**",
            },
        },
    )

    audit = await client.get_reputation_audit(LINE, AUDIT_ID)

    assert f"/v3/phone_numbers/{LINE}/reputation_audit/{AUDIT_ID}" == path_of(linq.last)
    assert audit.report is not None
    assert audit.report.evidence is not None
    assert audit.report.evidence.opt_out_chats is not None
    assert ("AT_RISK", 3) == (
        audit.report.severity,
        audit.report.evidence.opt_out_chats[0].messages_after_stop,
    )


async def test_get_available_number_repeats_query_parameters(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, {"phone_number": LINE, "vcf_url": "https://cdn.example.org/line.vcf"})

    chosen = await client.get_available_number(
        to=[GRANDMA, "daughter@example.org"],
        exclude_from=["+15550002222", "+15550003333"],
        type=Service.IMESSAGE,
    )

    assert [
        ("to", GRANDMA),
        ("to", "daughter@example.org"),
        ("exclude_from", "+15550002222"),
        ("exclude_from", "+15550003333"),
        ("type", "iMessage"),
    ] == query_of(linq.last)
    assert AvailableNumber(LINE, "https://cdn.example.org/line.vcf") == chosen


async def test_phone_numbers_read_reputation_forwarding_and_line_type(
    client: LinqClient, linq: FakeLinq
) -> None:
    line = {
        "id": LINE_ID,
        "phone_number": LINE,
        "reputation": {"status": "HEALTHY", "doc_url": "https://docs.example.org/rep"},
        "forwarding_number": GRANDMA,
        "line_type": "iMessage",
    }
    linq.answer(200, {"phone_numbers": [line]})

    (listed,) = await client.list_phone_numbers()

    assert (LineReputation("HEALTHY", "https://docs.example.org/rep"), GRANDMA, "iMessage") == (
        listed.reputation,
        listed.forwarding_number,
        listed.line_type,
    )


# -- experiences ---------------------------------------------------------------------------


async def test_experiences_are_listed_and_read_one_by_one(
    client: LinqClient, linq: FakeLinq
) -> None:
    link = {
        "experience": "link",
        "display_name": "Link",
        "actions": [{"name": "open", "fields": {"url": {"type": "url", "required": True}}}],
    }
    linq.answer(200, {"experiences": [link]})
    linq.answer(200, link)

    listed = await client.list_experiences()
    one = await client.get_experience("link")

    assert ["/v3/experiences", "/v3/experiences/link"] == [path_of(r) for r in linq.requests]
    assert (listed[0], "url") == (one, one.actions[0].fields["url"].type)  # type: ignore[index]


# -- message and reaction updates ----------------------------------------------------------


async def test_update_message_card_answers_a_new_message_id(
    client: LinqClient, linq: FakeLinq
) -> None:
    new_id = "11111111-2222-4333-8444-555555555555"
    linq.answer(200, {"chat_id": CHAT_ID, "message": sent_message_json(id=new_id)})

    updated = await client.update_message_card(
        MESSAGE_ID,
        {"caption": "Ride confirmed", "image_url": "https://cdn.example.org/car.png"},
        fallback_text="Ride confirmed",
        interactive=False,
    )

    assert (
        "POST",
        f"/v3/messages/{MESSAGE_ID}/update",
        [],
        {
            "layout": {"caption": "Ride confirmed", "image_url": "https://cdn.example.org/car.png"},
            "fallback_text": "Ride confirmed",
            "interactive": False,
        },
    ) == request_of(linq)
    assert (CHAT_ID, new_id) == (updated.chat_id, updated.message.id)


async def test_update_sticker_placement_patches_the_reaction(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(200, {"status": "accepted", "success": True, "trace_id": "t"})

    placed = await client.update_sticker_placement(
        MESSAGE_ID, REACTION_ID, x=0.25, y=-0.5, scale=1.5, rotation=30
    )

    assert (
        "PATCH",
        f"/v3/messages/{MESSAGE_ID}/reactions/{REACTION_ID}",
        [],
        {"placement": {"x": 0.25, "y": -0.5, "scale": 1.5, "rotation": 30.0}},
    ) == request_of(linq)
    assert placed.success is True


# -- changed shapes ------------------------------------------------------------------------


async def test_send_to_handles_sends_exclude_from_and_a_continuation(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(
        202,
        {
            "chat_id": CHAT_ID,
            "created_new_chat": True,
            "from": "+15550009999",
            "from_selection": {"reason": "failover_flagged", "reused_existing_chat": False},
            "previous_chat_id": "old-chat",
            "handles": [],
            "is_group": False,
            "service": "iMessage",
            "message": sent_message_json(),
        },
    )

    sent = await client.send_to_handles(
        [GRANDMA],
        OutgoingMessage.of_text("Ride at 3"),
        exclude_from=["+15550002222"],
        continuation_text="Continuing our chat from a new number",
    )

    body = body_of(linq.last)
    assert (["+15550002222"], {"text": "Continuing our chat from a new number"}) == (
        body["exclude_from"],
        body["continuation_message"],
    )
    assert ("+15550009999", "failover_flagged", "old-chat") == (
        sent.from_,
        sent.from_selection.reason if sent.from_selection else None,
        sent.previous_chat_id,
    )


async def test_webhook_subscriptions_send_line_filters_and_routing_headers(
    client: LinqClient, linq: FakeLinq
) -> None:
    linq.answer(
        201,
        {
            "id": "sub-1",
            "target_url": "https://care.example.org/hooks",
            "signing_secret": "whsec_abc",
            "subscribed_events": ["message.received"],
            "is_active": True,
            "phone_numbers": [LINE],
            "routing_key_header": "X-Route",
        },
    )

    created = await client.create_webhook_subscription(
        "https://care.example.org/hooks",
        ["message.received"],
        phone_numbers=[LINE],
        routing_key_header="X-Route",
    )

    assert {
        "target_url": "https://care.example.org/hooks",
        "subscribed_events": ["message.received"],
        "phone_numbers": [LINE],
        "routing_key_header": "X-Route",
    } == body_of(linq.last)
    assert ((LINE,), "X-Route") == (created.phone_numbers, created.routing_key_header)


# -- refusals before any request -----------------------------------------------------------

Call = Callable[[LinqClient], Awaitable[Any]]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.request_location("a/b"), "chat_id"),
        (lambda c: c.get_locations(""), "chat_id"),
        (lambda c: c.stop_location_share(CHAT_ID, "nobody"), "handle"),
        (lambda c: c.set_chat_background(CHAT_ID, "gradient"), "type"),
        (lambda c: c.set_chat_background(CHAT_ID, "color", variant="teal"), "variant"),
        (lambda c: c.set_chat_background(CHAT_ID, "color"), "shades"),
        (lambda c: c.set_chat_background(CHAT_ID, "color", shades=["#fff", "#000"]), "shades"),
        (lambda c: c.set_chat_background(CHAT_ID, "dynamic", style="sky"), "variant"),
        (
            lambda c: c.set_chat_background(CHAT_ID, "dynamic", style="water", variant="pink"),
            "variant",
        ),
        (
            lambda c: c.set_chat_background(CHAT_ID, "photo", image_url="http://x.org/a.jpg"),
            "image_url",
        ),
        (
            lambda c: c.set_chat_background(CHAT_ID, "photo", image_url="https://x.org/a.gif"),
            "image_url",
        ),
        (
            lambda c: c.set_chat_background(
                CHAT_ID, "photo", image_url="https://x.org/a.jpg", style="sky"
            ),
            "style",
        ),
        (lambda c: c.set_call_forwarding(LINE_ID, "555-0101"), "forwarding_number"),
        (lambda c: c.set_call_forwarding("", GRANDMA), "phone_number_id"),
        (lambda c: c.start_reputation_audit("care@example.org"), "phone"),
        (lambda c: c.get_reputation_audit(LINE, ""), "audit_id"),
        (lambda c: c.get_available_number(to=GRANDMA), "to"),
        (lambda c: c.get_available_number(exclude_from=["4155551234"]), "exclude_from[0]"),
        (lambda c: c.get_available_number(type=Service.SMS), "type"),
        (lambda c: c.get_experience(""), "experience"),
        (lambda c: c.update_message_card(MESSAGE_ID, {}), "layout"),
        (lambda c: c.update_message_card(MESSAGE_ID, {"title": "x"}), "layout"),
        (
            lambda c: c.update_message_card(MESSAGE_ID, {"image_title": "x", "caption": "y"}),
            "layout.image_url",
        ),
        (lambda c: c.update_message_card(MESSAGE_ID, {"caption": " "}), "layout.caption"),
        (
            lambda c: c.update_message_card(MESSAGE_ID, {"caption": "y"}, app={"name": "x"}),
            "app.bundle_id",
        ),
        (
            lambda c: c.update_message_card(
                MESSAGE_ID, {"caption": "y"}, experience={"name": "link"}
            ),
            "experience.action",
        ),
        (lambda c: c.update_message_card(MESSAGE_ID, {"caption": "y"}, url="http://x.org"), "url"),
        (lambda c: c.update_sticker_placement(MESSAGE_ID, REACTION_ID), "placement"),
        (lambda c: c.update_sticker_placement(MESSAGE_ID, REACTION_ID, x=1.5), "x"),
        (lambda c: c.update_sticker_placement(MESSAGE_ID, REACTION_ID, scale=3), "scale"),
        (
            lambda c: c.update_sticker_placement(MESSAGE_ID, REACTION_ID, rotation=float("nan")),
            "rotation",
        ),
        (lambda c: c.update_sticker_placement(MESSAGE_ID, "", x=0), "reaction_id"),
        (
            lambda c: c.create_webhook_subscription(
                "https://x.org", ["message.received"], phone_numbers=LINE
            ),
            "phone_numbers",
        ),
        (
            lambda c: c.create_webhook_subscription(
                "https://x.org", ["message.received"], routing_key_header="X Route"
            ),
            "routing_key_header",
        ),
    ],
)
async def test_newer_operations_refuse_bad_input_before_any_request(
    client: LinqClient, linq: FakeLinq, call: Call, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await call(client)

    assert (field, []) == (caught.value.field, linq.requests)


@given(
    x=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    y=st.one_of(st.none(), st.floats(min_value=-2, max_value=2)),
    scale=st.one_of(st.none(), st.floats(min_value=0, max_value=3)),
    rotation=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_a_placement_is_accepted_exactly_within_its_ranges(
    x: float | None, y: float | None, scale: float | None, rotation: float | None
) -> None:
    given_values = [v for v in (x, y, scale, rotation) if v is not None]
    fits = (
        bool(given_values)
        and all(math.isfinite(v) for v in given_values)
        and all(-1 <= v <= 1 for v in (x, y) if v is not None)
        and (scale is None or 0.05 <= scale <= 2.5)
    )
    try:
        placement(x, y, scale, rotation)
    except ValidationError:
        assert not fits
    else:
        assert fits


@given(
    layout=st.dictionaries(
        st.sampled_from(["caption", "subcaption", "image_url", "image_title", "icon"]),
        st.sampled_from(["Ride", " ", "https://x.org/i.png"]),
        max_size=4,
    )
)
def test_a_card_layout_is_accepted_exactly_when_it_follows_the_rules(
    layout: dict[str, str],
) -> None:
    fits = (
        "icon" not in layout
        and all(v.strip() for v in layout.values())
        and any(k in layout for k in ("caption", "subcaption", "image_url"))
        and ("image_title" not in layout or "image_url" in layout)
        and layout.get("image_url", "https://").startswith("https://")
    )
    try:
        assert layout == card_layout(layout)
    except ValidationError:
        assert not fits
    else:
        assert fits


def test_a_location_point_reads_longitude_then_latitude() -> None:
    feature = LocationFeature(
        "Feature", LocationGeometry("Point", (-93.09, 44.95)), LocationProperties(GRANDMA)
    )

    assert (44.95, -93.09) == (
        LocationPoint.from_feature(feature).latitude,
        LocationPoint.from_feature(feature).longitude,
    )


async def test_a_line_in_a_path_never_reaches_the_logs(
    client: LinqClient, linq: FakeLinq, caplog: pytest.LogCaptureFixture
) -> None:
    linq.answer(202, {"audit_id": AUDIT_ID, "status": "pending"})
    linq.answer(200, {"audit_id": AUDIT_ID, "status": "pending"})

    with caplog.at_level(logging.DEBUG):
        await client.start_reputation_audit(LINE)
        await client.get_reputation_audit(LINE, AUDIT_ID)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/v3/phone_numbers/[phone]/reputation_audit" in logged
    assert LINE.removeprefix("+") not in logged
