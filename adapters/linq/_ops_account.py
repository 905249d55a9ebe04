"""Account operations: lines, webhook subscriptions, capability checks, contact cards."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.linq import _validate as check
from adapters.linq._bodies import (
    CardBody,
    CardUpdateBody,
    CreateWebhookSubscriptionBody,
    HandleCheckBody,
    UpdateWebhookSubscriptionBody,
)
from adapters.linq._ops import Operations
from adapters.linq._retry import Replay
from adapters.linq.wire_account import (
    ContactCard,
    ContactCardList,
    CreatedWebhookSubscription,
    HandleCheck,
    MyCardList,
    PhoneNumber,
    PhoneNumberList,
    WebhookEventTypes,
    WebhookSubscription,
    WebhookSubscriptionList,
)
from caresupport_transport.errors import ValidationError
from caresupport_transport.handles import Handle


class AccountOperations(Operations):
    async def list_phone_numbers(self) -> tuple[PhoneNumber, ...]:
        """The partner's lines (``GET /v3/phone_numbers``)."""
        result = await self._fetch(
            PhoneNumberList, "list_phone_numbers", "GET", "/v3/phone_numbers"
        )
        return result.phone_numbers

    async def list_phone_numbers_legacy(self) -> tuple[PhoneNumber, ...]:
        """The partner's lines with type and capabilities (``GET /v3/phonenumbers``, deprecated)."""
        result = await self._fetch(
            PhoneNumberList, "list_phone_numbers_legacy", "GET", "/v3/phonenumbers"
        )
        return result.phone_numbers

    async def list_webhook_event_types(self) -> tuple[str, ...]:
        """The event types a subscription may name (``GET /v3/webhook-events``)."""
        result = await self._fetch(
            WebhookEventTypes, "list_webhook_event_types", "GET", "/v3/webhook-events"
        )
        return result.events

    async def create_webhook_subscription(
        self, target_url: str, events: Sequence[str]
    ) -> CreatedWebhookSubscription:
        """Subscribe a URL to events (``POST /v3/webhook-subscriptions``).

        The answer holds the signing secret, shown only this once. Not repeated
        after an unknown outcome: a second subscription would deliver every
        event twice.

        Args:
            target_url: an absolute http(s) URL (``?version=2026-02-03`` picks the
                payload version).
            events: event types such as ``message.received``, at least one.
        """
        body = CreateWebhookSubscriptionBody(
            target_url=check.web_url("target_url", target_url),
            subscribed_events=check.event_names("events", events),
        )
        return await self._fetch(
            CreatedWebhookSubscription,
            "create_webhook_subscription",
            "POST",
            "/v3/webhook-subscriptions",
            body=body,
            replay=Replay.IF_UNSENT,
        )

    async def list_webhook_subscriptions(self) -> tuple[WebhookSubscription, ...]:
        """Every subscription, active or not (``GET /v3/webhook-subscriptions``)."""
        result = await self._fetch(
            WebhookSubscriptionList,
            "list_webhook_subscriptions",
            "GET",
            "/v3/webhook-subscriptions",
        )
        return result.subscriptions

    async def get_webhook_subscription(self, subscription_id: str) -> WebhookSubscription:
        """One subscription (``GET /v3/webhook-subscriptions/{subscriptionId}``)."""
        path = f"/v3/webhook-subscriptions/{check.path_id('subscription_id', subscription_id)}"
        return await self._fetch(WebhookSubscription, "get_webhook_subscription", "GET", path)

    async def update_webhook_subscription(
        self,
        subscription_id: str,
        *,
        target_url: str | None = None,
        events: Sequence[str] | None = None,
        is_active: bool | None = None,
    ) -> WebhookSubscription:
        """Change a subscription's URL, events or state (``PUT``; the secret stays).

        Raises:
            ValidationError: nothing to change, or a bad URL or event type.
        """
        path = f"/v3/webhook-subscriptions/{check.path_id('subscription_id', subscription_id)}"
        if target_url is None and events is None and is_active is None:
            raise ValidationError(
                "update_webhook_subscription", "give target_url, events or is_active"
            )
        if is_active is not None and not isinstance(is_active, bool):
            raise ValidationError("is_active", "must be True or False")
        body = UpdateWebhookSubscriptionBody(
            target_url=check.web_url("target_url", target_url) if target_url is not None else None,
            subscribed_events=check.event_names("events", events) if events is not None else None,
            is_active=is_active,
        )
        return await self._fetch(
            WebhookSubscription, "update_webhook_subscription", "PUT", path, body=body
        )

    async def delete_webhook_subscription(self, subscription_id: str) -> None:
        """Delete a subscription (``DELETE /v3/webhook-subscriptions/{subscriptionId}``)."""
        path = f"/v3/webhook-subscriptions/{check.path_id('subscription_id', subscription_id)}"
        await self._reply("delete_webhook_subscription", "DELETE", path)

    async def check_imessage(
        self, address: Handle | str, *, from_: Handle | str | None = None
    ) -> HandleCheck:
        """Whether ``address`` (phone or email) has iMessage (``POST .../check_imessage``).

        A ``ProviderError`` whose ``code`` is in ``codes.UPSTREAM_UNAVAILABLE``
        means *unknown*, not unavailable.
        """
        return await self._check("check_imessage", check.handle("address", address), from_)

    async def check_rcs(
        self, address: Handle | str, *, from_: Handle | str | None = None
    ) -> HandleCheck:
        """Whether phone ``address`` has RCS (``POST /v3/capability/check_rcs``).

        A 503 (``codes.UPSTREAM_UNAVAILABLE``) means *unknown*, not unavailable.
        """
        return await self._check("check_rcs", check.phone("address", address), from_)

    async def _check(self, what: str, address: Handle, from_: Handle | str | None) -> HandleCheck:
        sender = check.optional_sender(from_, self._config.phone_number)
        body = HandleCheckBody(address=address.value, from_=sender)
        return await self._fetch(HandleCheck, what, "POST", f"/v3/capability/{what}", body=body)

    async def list_my_cards(
        self, *, phone_number: Handle | str | None = None
    ) -> tuple[ContactCard, ...]:
        """The contact card of a line, or of every line (``GET /v3/my_cards``)."""
        query = (
            (("phone_number", check.phone("phone_number", phone_number).value),)
            if phone_number is not None
            else ()
        )
        result = await self._fetch(MyCardList, "list_my_cards", "GET", "/v3/my_cards", query=query)
        return result.my_cards

    async def setup_my_card(
        self,
        *,
        first_name: str,
        phone_number: Handle | str | None = None,
        last_name: str | None = None,
        image_url: str | None = None,
    ) -> ContactCard:
        """Create or replace a line's contact card (``POST /v3/my_cards``).

        Not repeated after an unknown outcome: Linq rate-limits card writes
        tightly and a retry extends the limit.
        """
        body = self._card(phone_number, first_name, last_name, image_url)
        return await self._fetch(
            ContactCard, "setup_my_card", "POST", "/v3/my_cards", body=body, replay=Replay.IF_UNSENT
        )

    async def share_my_card(self, chat_id: str) -> None:
        """Share the line's contact card with a chat (``POST /v3/my_cards/{chatId}/share``)."""
        path = f"/v3/my_cards/{check.path_id('chat_id', chat_id)}/share"
        await self._reply("share_my_card", "POST", path, replay=Replay.IF_UNSENT)

    async def get_contact_cards(
        self, *, phone_number: Handle | str | None = None
    ) -> tuple[ContactCard, ...]:
        """Active contact cards, of one line or all (``GET /v3/contact_card``; newer)."""
        query = (
            (("phone_number", check.phone("phone_number", phone_number).value),)
            if phone_number is not None
            else ()
        )
        result = await self._fetch(
            ContactCardList, "get_contact_cards", "GET", "/v3/contact_card", query=query
        )
        return result.contact_cards

    async def create_contact_card(
        self,
        *,
        first_name: str,
        phone_number: Handle | str | None = None,
        last_name: str | None = None,
        image_url: str | None = None,
    ) -> ContactCard:
        """Set up a line's contact card once (``POST /v3/contact_card``; newer).

        An active card answers ``ConflictError`` (use :meth:`update_contact_card`).
        Linq allows 3 card writes per 10 minutes per line and each retry of its
        503 extends that, so this is never repeated after an unknown outcome.
        """
        body = self._card(phone_number, first_name, last_name, image_url)
        return await self._fetch(
            ContactCard,
            "create_contact_card",
            "POST",
            "/v3/contact_card",
            body=body,
            replay=Replay.IF_UNSENT,
        )

    async def update_contact_card(
        self,
        *,
        phone_number: Handle | str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        image_url: str | None = None,
    ) -> ContactCard:
        """Change fields of a line's active card (``PATCH /v3/contact_card?phone_number=``).

        Omitted fields keep their value. Never repeated after an unknown outcome.
        """
        line = check.sender(phone_number, self._config.phone_number, field="phone_number")
        if first_name is None and last_name is None and image_url is None:
            raise ValidationError("update_contact_card", "give first_name, last_name or image_url")
        body = CardUpdateBody(
            first_name=check.name("first_name", first_name),
            last_name=check.name("last_name", last_name),
            image_url=check.https_url("image_url", image_url) if image_url is not None else None,
        )
        return await self._fetch(
            ContactCard,
            "update_contact_card",
            "PATCH",
            "/v3/contact_card",
            query=(("phone_number", line),),
            body=body,
            replay=Replay.IF_UNSENT,
        )

    def _card(
        self,
        phone_number: Handle | str | None,
        first_name: str,
        last_name: str | None,
        image_url: str | None,
    ) -> CardBody:
        return CardBody(
            phone_number=check.sender(
                phone_number, self._config.phone_number, field="phone_number"
            ),
            first_name=check.name("first_name", first_name, required=True),
            last_name=check.name("last_name", last_name),
            image_url=check.https_url("image_url", image_url) if image_url is not None else None,
        )
