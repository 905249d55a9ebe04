"""Rules for redrawing an app card and moving a sticker, checked once for client and simulator."""

from __future__ import annotations

import math
from collections.abc import Mapping

from adapters.linq._bodies import PlacementBody
from caresupport_transport.errors import ValidationError

__all__ = ["LAYOUT_FIELDS", "MAX_SCALE", "MIN_SCALE", "card_layout", "placement"]

LAYOUT_FIELDS = (
    "caption",
    "subcaption",
    "trailing_caption",
    "trailing_subcaption",
    "image_url",
    "image_title",
    "image_subtitle",
)
_SHOWN = ("caption", "subcaption", "trailing_caption", "trailing_subcaption", "image_url")
MIN_SCALE = 0.05
MAX_SCALE = 2.5


def card_layout(layout: Mapping[str, object]) -> dict[str, str]:
    """A card layout: known fields, strings, something shown, image captions with an image.

    Raises:
        ValidationError: naming ``layout`` or ``layout.<field>`` and the rule.
    """
    if not isinstance(layout, Mapping):
        raise ValidationError("layout", "must be a mapping of layout fields")
    unknown = sorted(str(k) for k in layout if k not in LAYOUT_FIELDS)
    if unknown:
        raise ValidationError("layout", f"unknown fields {unknown}; known: {list(LAYOUT_FIELDS)}")
    checked: dict[str, str] = {}
    for key, value in layout.items():
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"layout.{key}", "must be a non-blank string")
        checked[str(key)] = value
    if not any(key in checked for key in _SHOWN):
        raise ValidationError("layout", f"needs at least one of {', '.join(_SHOWN)}")
    if ("image_title" in checked or "image_subtitle" in checked) and "image_url" not in checked:
        raise ValidationError("layout.image_url", "image_title and image_subtitle need image_url")
    image = checked.get("image_url")
    if image is not None and not image.startswith("https://"):
        raise ValidationError("layout.image_url", "must be an https:// URL")
    return checked


def placement(
    x: float | None, y: float | None, scale: float | None, rotation: float | None
) -> PlacementBody:
    """Where a sticker sits: ``x``/``y`` from -1 to 1 (0 is the centre), a scale, degrees.

    Raises:
        ValidationError: nothing given, a non-number, or a value out of range.
    """
    if x is None and y is None and scale is None and rotation is None:
        raise ValidationError("placement", "give x, y, scale or rotation")
    for name, value in (("x", x), ("y", y), ("scale", scale), ("rotation", rotation)):
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValidationError(name, "must be a finite number")
    for name, value in (("x", x), ("y", y)):
        if value is not None and not -1 <= value <= 1:
            raise ValidationError(name, "must be from -1 to 1 (0 is the centre)")
    if scale is not None and not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValidationError("scale", f"must be from {MIN_SCALE} to {MAX_SCALE}")
    return PlacementBody(
        x=None if x is None else float(x),
        y=None if y is None else float(y),
        scale=None if scale is None else float(scale),
        rotation=None if rotation is None else float(rotation),
    )
