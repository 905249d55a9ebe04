"""What the simulator saw and did, in plain counters a test can read."""

from __future__ import annotations

from collections import Counter

import attrs

__all__ = ["Counters", "RequestRecord"]


@attrs.frozen
class RequestRecord:
    """One API request: its route key, path, the status answered and any fault injected."""

    route: str
    path: str
    status: int | None
    fault: str | None = None


@attrs.define
class Counters:
    """Counts a test asserts on.

    Attributes:
        requests: requests per route key (``"POST /v3/chats/{chatId}/messages"``),
            unknown paths under ``"METHOD <unmatched>"``.
        requests_by_path: requests per concrete ``"METHOD /path"``.
        messages_by_idempotency_key: messages actually created per key (a retried
            send answered from the idempotency record does not count).
        messages_created: every message created through the API.
        deliveries_by_event_id: webhook POSTs made per event id (retries and
            duplicates count).
        features_dropped: sends whose effect or reply-to went out on a service
            that cannot carry it, per ``"effect:sms"``, ``"reply_to:rcs"``...
            (the message ids are in ``Backend.dropped_features``). An adapter
            that degrades keeps this empty.
        faults: injected faults per ``"kind:timing"``.
        opt_out_overrides: sends let through an opt-out by ``override_optout``
            (each is also in the World's ``opt_out_overrides``).
        log: every API request in order.
    """

    requests: Counter[str] = attrs.Factory(Counter)
    requests_by_path: Counter[str] = attrs.Factory(Counter)
    messages_by_idempotency_key: Counter[str] = attrs.Factory(Counter)
    messages_created: int = 0
    deliveries_by_event_id: Counter[str] = attrs.Factory(Counter)
    features_dropped: Counter[str] = attrs.Factory(Counter)
    faults: Counter[str] = attrs.Factory(Counter)
    log: list[RequestRecord] = attrs.Factory(list)
    opt_out_overrides: int = 0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def reset(self) -> None:
        self.requests.clear()
        self.requests_by_path.clear()
        self.messages_by_idempotency_key.clear()
        self.messages_created = 0
        self.deliveries_by_event_id.clear()
        self.features_dropped.clear()
        self.faults.clear()
        self.log.clear()
        self.opt_out_overrides = 0
