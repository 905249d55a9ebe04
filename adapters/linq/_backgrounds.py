"""Linq's chat backgrounds and their rules, checked once for the client and the simulator.

A background is a ``color`` (a named swatch, or ``custom`` with two hex
``shades``; no variant means ``custom``), a ``dynamic`` animation (a ``style``
and one of its variants) or a ``photo`` (an https image URL).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from adapters.linq._bodies import BackgroundBody
from caresupport_transport.errors import ValidationError

__all__ = [
    "BACKGROUND_TYPES",
    "COLOR_VARIANTS",
    "DYNAMIC_VARIANTS",
    "PHOTO_SUFFIXES",
    "background",
]

BACKGROUND_TYPES = ("color", "dynamic", "photo")
COLOR_VARIANTS = (
    "mango",
    "ice",
    "plum",
    "deep_sea",
    "green_apple",
    "cherry",
    "bubblegum",
    "tangerine",
    "magenta",
    "lime",
    "silver",
    "carbon",
    "stone",
    "custom",
)
DYNAMIC_VARIANTS = {
    "sky": ("dusk", "haze", "sunset", "clear", "sunrise", "dawn"),
    "water": ("light", "dark"),
    "aurora": ("green", "purple", "pink"),
}
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".heic", ".webp")
_HEX = re.compile(r"#[0-9A-Fa-f]{6}")


def background(
    kind: str,
    *,
    variant: str | None = None,
    shades: Sequence[str] | None = None,
    style: str | None = None,
    image_url: str | None = None,
) -> BackgroundBody:
    """The request body of one background, or the first rule it breaks.

    Raises:
        ValidationError: an unknown type, variant or style; a custom color without
            two ``#RRGGBB`` shades; a photo URL that is not https to an image; or a
            field that does not belong to the type.
    """
    if kind not in BACKGROUND_TYPES:
        raise ValidationError("type", f"must be one of {', '.join(BACKGROUND_TYPES)}")
    if kind == "color":
        _absent(kind, style=style, image_url=image_url)
        if variant is not None and variant not in COLOR_VARIANTS:
            raise ValidationError("variant", f"a color is one of {', '.join(COLOR_VARIANTS)}")
        if variant in (None, "custom"):
            return BackgroundBody(kind, variant=variant, shades=_shades(shades))
        if shades is not None:
            raise ValidationError("shades", "only a custom color takes shades")
        return BackgroundBody(kind, variant=variant)
    if kind == "dynamic":
        _absent(kind, shades=shades, image_url=image_url)
        if style not in DYNAMIC_VARIANTS:
            raise ValidationError("style", f"must be one of {', '.join(DYNAMIC_VARIANTS)}")
        allowed = DYNAMIC_VARIANTS[style]
        if variant not in allowed:
            raise ValidationError("variant", f"a {style} background is one of {', '.join(allowed)}")
        return BackgroundBody(kind, variant=variant, style=style)
    _absent(kind, variant=variant, shades=shades, style=style)
    return BackgroundBody(kind, image_url=_photo_url(image_url))


def _absent(kind: str, **fields: object) -> None:
    for name, value in fields.items():
        if value is not None:
            raise ValidationError(name, f"does not apply to a {kind} background")


def _shades(shades: Sequence[str] | None) -> tuple[str, ...]:
    if shades is None or isinstance(shades, str):
        raise ValidationError("shades", "a custom color needs two hex colors like '#F2C4E1'")
    stops = tuple(shades)
    if len(stops) != 2 or not all(isinstance(s, str) and _HEX.fullmatch(s) for s in stops):
        raise ValidationError("shades", "a custom color needs two hex colors like '#F2C4E1'")
    return stops


def _photo_url(value: str | None) -> str:
    if not isinstance(value, str):
        raise ValidationError("image_url", "a photo background needs an https:// image URL")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValidationError("image_url", "a photo background needs an https:// image URL")
    if not parts.path.lower().endswith(PHOTO_SUFFIXES):
        raise ValidationError("image_url", f"must end in one of {', '.join(PHOTO_SUFFIXES)}")
    return value
