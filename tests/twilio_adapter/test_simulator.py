"""The Twilio simulator answers as Twilio's Messages resource does (what the adapter relies on)."""

from __future__ import annotations

import pytest

from adapters.linq.config import Secret
from adapters.twilio import TwilioClient, TwilioConfig
from caresupport_transport import NotFoundError, ProviderError

from .support import GRANDSON, rig


async def test_listing_pages_newest_first_through_next_page_uri() -> None:
    async with rig() as r:
        for text in ("one", "two", "three"):
            await r.client.create_message(GRANDSON.value, text)
        listed = [m.body async for m in r.client.list_messages(to=GRANDSON.value, page_size=1)]
        assert ["three", "two", "one"] == listed
        assert 3 + 3 == r.simulator.requests  # three creates, three pages


async def test_date_sent_filters_out_a_text_still_queued() -> None:
    async with rig() as r:
        made = await r.client.create_message(GRANDSON.value, "queued")
        today = r.world.now
        queued = [m.sid async for m in r.client.list_messages(date_sent_after=today)]
        r.world.advance(600)
        sent = [m.sid async for m in r.client.list_messages(date_sent_after=today)]
        assert ([], [made.sid]) == (queued, sent)


async def test_a_deleted_message_is_20404_and_a_wrong_token_is_20003() -> None:
    async with rig() as r:
        made = await r.client.create_message(GRANDSON.value, "gone soon")
        r.world.delete_message(r.simulator.sids[made.sid])
        with pytest.raises(NotFoundError) as missing:
            await r.client.fetch_message(made.sid)
        wrong = TwilioClient(
            TwilioConfig(
                account_sid=r.simulator.account_sid,
                auth_token=Secret("wrong"),
                from_number=r.simulator.phone,
                base_url=r.client.config.base_url,
            ),
            http=r.client._http,
        )
        with pytest.raises(ProviderError) as refused:
            await wrong.fetch_message(made.sid)
        assert (20404, 401, 20003) == (missing.value.code, refused.value.status, refused.value.code)
        assert refused.value.more_info == "https://www.twilio.com/docs/errors/20003"
