"""``NoSleep``: returns at once, records each pause, moves a World's clock on, lets others run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from adapters.memory import InMemoryTransport, NoSleep, RecipientKind, World
from caresupport_transport import DeliveryStatus, Handle, OutgoingMessage


async def test_pauses_are_recorded_in_order_without_a_world() -> None:
    no_sleep = NoSleep()
    await no_sleep(1.2)
    await no_sleep(0)
    assert [1.2, 0] == no_sleep.slept


async def test_each_pause_moves_the_worlds_clock_on_by_its_length() -> None:
    world = World(seed=3)
    start = world.now
    no_sleep = NoSleep(world)
    await no_sleep(1.5)
    await no_sleep(0)
    await no_sleep(-1)  # asyncio.sleep accepts it (no wait); the clock never goes back
    assert timedelta(seconds=1.5) == world.now - start
    assert [1.5, 0, -1] == no_sleep.slept


async def test_a_pause_lets_delivery_statuses_fall_due() -> None:
    world = World(seed=3)
    son = world.add_recipient(Handle("+16515550102"), RecipientKind.IMESSAGE)
    transport = InMemoryTransport(world)
    chat = await transport.conversation_for(son)
    receipt = await transport.send_message(chat.id, OutgoingMessage.of_text("On my way"))
    before = world.message(receipt.message_id).status
    await NoSleep(world)(3600)
    after = world.message(receipt.message_id).status
    assert (DeliveryStatus.PENDING, True) == (before, after is not DeliveryStatus.PENDING)


async def test_a_pause_lets_other_tasks_run_as_a_real_one_would() -> None:
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    await NoSleep()(10)
    assert ["other"] == ran
    await task
