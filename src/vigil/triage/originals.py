"""Camera originals: pictures whose EXIF says a camera made them and that no editor touched.

Such a picture is most likely the offender's own, straight off a device, which is why the
queue weighs it. The test is on what the file says, so it is evidence, not proof: EXIF can be
written by anyone. A picture counts as a camera original when it names a camera (make and
model) and its Software tag is absent or is not a known editor's (cameras and phones write
their firmware there: "Ver.1.01", "HDR+ 1.0.5", "17.1").

An embedded EXIF thumbnail whose PDQ is far from the picture's own shows another picture: the
main picture was edited or cropped after the camera wrote both, or replaced.
"""

from __future__ import annotations

import re
from typing import Any

from vigil.hashing.pdq import hamming

# Editors and converters as they name themselves in the Software tag, matched at a word start.
_EDITORS = re.compile(
    r"\b(adobe|photoshop|lightroom|gimp|paint\.net|snapseed|picasa|acdsee|affinity|"
    r"darktable|rawtherapee|capture one|imagemagick|graphicsmagick|pixelmator|luminar|"
    r"photoscape|irfanview|xnview|faststone|windows photo|microsoft photos|photos \d|"
    r"facetune|picsart|vsco|canva|fotor|polarr|meitu|instagram|whatsapp|telegram|exiftool)",
    re.IGNORECASE,
)


def is_camera_original(exif: dict[str, Any]) -> bool:
    if not (exif.get("make") and exif.get("model")):
        return False
    software = exif.get("software")
    return not (isinstance(software, str) and _EDITORS.search(software))


def editor_named(exif: dict[str, Any]) -> str | None:
    software = exif.get("software")
    return software if isinstance(software, str) and _EDITORS.search(software) else None


def thumbnail_differs(exif: dict[str, Any], pdq: str | None, threshold: int) -> bool:
    """Whether the embedded thumbnail's PDQ is more than `threshold` from the picture's."""
    thumb = exif.get("thumbnail")
    other = thumb.get("pdq") if isinstance(thumb, dict) else None
    if not (isinstance(other, str) and pdq):
        return False
    try:
        return hamming(pdq, other) > threshold
    except ValueError:
        return False
