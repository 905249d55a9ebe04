"""Properties of the World's delivery clock, over arbitrary sends and clock steps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.memory import RecipientKind, World
from caresupport_transport import (
    DeliveryStatus,
    Handle,
    MessageStatusChanged,
    ServicePreference,
    TextPart,
)

PEOPLE = [Handle(f"+1555666000{n}") for n in range(len(RecipientKind))]
FINAL = {
    RecipientKind.IMESSAGE: DeliveryStatus.READ,
    RecipientKind.RCS: DeliveryStatus.READ,
    RecipientKind.SMS_ONLY: DeliveryStatus.DELIVERED,
    RecipientKind.UNREACHABLE: DeliveryStatus.FAILED,
}

sends = st.lists(
    st.tuples(st.sampled_from(list(RecipientKind)), st.floats(0, 90, allow_nan=False)),
    min_size=1,
    max_size=12,
)


@given(sends)
def test_statuses_only_move_forward_and_settle_by_recipient_kind(
    plan: list[tuple[RecipientKind, float]],
) -> None:
    world = World()
    kinds = dict(zip(PEOPLE, RecipientKind, strict=True))
    for person, kind in kinds.items():
        world.add_recipient(person, kind)
    by_kind = {kind: world.create_conversation([p]).id for p, kind in kinds.items()}
    sent: dict[str, RecipientKind] = {}
    for kind, pause in plan:
        message = world.send(by_kind[kind], (TextPart("hi"),), preference=ServicePreference.AUTO)
        sent[message.id] = kind
        world.advance(pause)
    world.advance(3600)
    seen: dict[str, list[DeliveryStatus]] = {}
    last_time = None
    for event in world.drain():
        if isinstance(event, MessageStatusChanged):
            seen.setdefault(event.message_id, []).append(event.status)
            assert last_time is None or last_time <= event.occurred_at
            last_time = event.occurred_at
    for message_id, kind in sent.items():
        ranks = [s.rank for s in seen[message_id]]
        assert sorted(set(ranks)) == ranks
        assert world.messages[message_id].status == FINAL[kind]
        assert seen[message_id][-1] == FINAL[kind]
