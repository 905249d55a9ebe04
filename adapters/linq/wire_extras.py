"""What Linq answers about locations, experiences, sticker placement and simple acks.

Same rules as :mod:`adapters.linq.wire_chats`. A location is a GeoJSON
``Feature`` with a ``Point``; GeoJSON orders coordinates longitude first, and
:class:`LocationPoint` names them so nobody has to remember that.
"""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = [
    "Experience",
    "ExperienceAction",
    "ExperienceField",
    "ExperienceList",
    "LocationCollection",
    "LocationFeature",
    "LocationGeometry",
    "LocationPoint",
    "LocationProperties",
    "Locations",
    "Outcome",
    "StickerPlaced",
]


@attrs.frozen
class Outcome:
    """``{success, message}``: what location requests and stops answer."""

    success: bool
    message: str | None = None


@attrs.frozen
class LocationGeometry:
    type: str
    coordinates: tuple[float, ...]


@attrs.frozen
class LocationProperties:
    handle: str
    address: str | None = None
    locality: str | None = None
    updated_at: datetime | None = None


@attrs.frozen
class LocationFeature:
    """One person's last known position, as GeoJSON gives it."""

    type: str
    geometry: LocationGeometry
    properties: LocationProperties


@attrs.frozen
class LocationCollection:
    type: str
    features: tuple[LocationFeature, ...]


@attrs.frozen
class Locations:
    """The envelope of ``GET /v3/chats/{chatId}/location``."""

    success: bool
    data: LocationCollection


@attrs.frozen
class LocationPoint:
    """A sharer's position: who, where (degrees), and what Linq knows of the place."""

    handle: str
    latitude: float
    longitude: float
    address: str | None = None
    locality: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_feature(cls, feature: LocationFeature) -> LocationPoint:
        """Read a GeoJSON ``Point`` feature (``[longitude, latitude]``).

        Raises:
            ValueError: not a ``Point`` of two coordinates.
        """
        geometry = feature.geometry
        if geometry.type != "Point" or len(geometry.coordinates) < 2:
            raise ValueError(f"a location must be a GeoJSON Point, got {geometry.type!r}")
        longitude, latitude = geometry.coordinates[0], geometry.coordinates[1]
        return cls(
            handle=feature.properties.handle,
            latitude=latitude,
            longitude=longitude,
            address=feature.properties.address,
            locality=feature.properties.locality,
            updated_at=feature.properties.updated_at,
        )


@attrs.frozen
class ExperienceField:
    """One parameter of an action: ``type`` is ``string``, ``cents``, ``int`` or ``url``."""

    type: str | None = None
    required: bool | None = None
    max: int | None = None


@attrs.frozen
class ExperienceAction:
    name: str | None = None
    summary: str | None = None
    fields: dict[str, ExperienceField] | None = None


@attrs.frozen
class Experience:
    """A native card of Linq's iMessage app (``agentpay``, ``link``, ...) and its actions."""

    experience: str | None = None
    display_name: str | None = None
    actions: tuple[ExperienceAction, ...] | None = None


@attrs.frozen
class ExperienceList:
    experiences: tuple[Experience, ...] | None = None


@attrs.frozen
class StickerPlaced:
    """What moving a sticker answers."""

    status: str | None = None
    success: bool | None = None
    trace_id: str | None = None
