"""The Linq Partner API V3 on localhost, backed by the in-memory ``World``.

``Simulator`` bundles the World, the ASGI app, counters, fault injection and
webhook delivery; see ``docs/simulator.md``.
"""

from adapters.linq.simulator.app import BASE_PATH, SimulatorApp
from adapters.linq.simulator.counters import Counters, RequestRecord
from adapters.linq.simulator.deliveries import (
    RETRY_DELAYS,
    Delivery,
    DeliveryOutcome,
    SigningScheme,
    WebhookDeliverer,
)
from adapters.linq.simulator.faults import (
    FaultInjector,
    FaultKind,
    Faults,
    FaultTiming,
    InjectedFault,
)
from adapters.linq.simulator.routes import ROUTES, route_keys
from adapters.linq.simulator.simulator import (
    DEFAULT_PHONE,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    Simulator,
)
from adapters.linq.simulator.state import Subscription

__all__ = [
    "BASE_PATH",
    "DEFAULT_PHONE",
    "DEFAULT_TOKEN",
    "IN_PROCESS_BASE_URL",
    "RETRY_DELAYS",
    "ROUTES",
    "Counters",
    "Delivery",
    "DeliveryOutcome",
    "FaultInjector",
    "FaultKind",
    "FaultTiming",
    "Faults",
    "InjectedFault",
    "RequestRecord",
    "SigningScheme",
    "Simulator",
    "SimulatorApp",
    "Subscription",
    "WebhookDeliverer",
    "route_keys",
]
