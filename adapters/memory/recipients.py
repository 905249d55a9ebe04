"""Who can be reached, and on what: the recipient kinds of the in-memory world."""

from __future__ import annotations

import enum

from caresupport_transport.capabilities import (
    FALLBACK_ORDER,
    Availability,
    HandleCapabilities,
    Service,
)
from caresupport_transport.handles import Handle

__all__ = ["RecipientKind", "capabilities_for", "services_for"]


class RecipientKind(enum.Enum):
    """How a recipient can be reached.

    ``IMESSAGE``: iMessage and SMS. ``RCS``: RCS and SMS. ``SMS_ONLY``: SMS.
    ``UNREACHABLE``: looks like a valid phone (so SMS is assumed, as a provider
    must) but every delivery fails.
    """

    IMESSAGE = "imessage"
    RCS = "rcs"
    SMS_ONLY = "sms_only"
    UNREACHABLE = "unreachable"


_KIND_SERVICES: dict[RecipientKind, frozenset[Service]] = {
    RecipientKind.IMESSAGE: frozenset({Service.IMESSAGE, Service.SMS}),
    RecipientKind.RCS: frozenset({Service.RCS, Service.SMS}),
    RecipientKind.SMS_ONLY: frozenset({Service.SMS}),
    RecipientKind.UNREACHABLE: frozenset({Service.SMS}),
}


def services_for(handle: Handle, kind: RecipientKind) -> tuple[Service, ...]:
    """The services ``handle`` appears reachable on, in fallback order.

    Email addresses only have iMessage: RCS and SMS need a phone number.
    """
    offered = _KIND_SERVICES[kind]
    if handle.is_email:
        offered = offered & {Service.IMESSAGE}
    return tuple(s for s in FALLBACK_ORDER if s in offered)


def capabilities_for(handle: Handle, kind: RecipientKind) -> HandleCapabilities:
    """What a capability lookup reports: the world knows every recipient exactly."""
    services = services_for(handle, kind)

    def availability(service: Service) -> Availability:
        return Availability.AVAILABLE if service in services else Availability.UNAVAILABLE

    return HandleCapabilities(
        handle,
        imessage=availability(Service.IMESSAGE),
        rcs=availability(Service.RCS),
        sms=availability(Service.SMS),
    )
