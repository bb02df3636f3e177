"""The priority queue's scoring table: what each reason adds to a group's score.

Defaults below; a case overrides any of them in `vigil.toml`:

    [triage.weights]
    unmatched = 10
    device_with_matched = 8

The order of the defaults is the order a victim-identification specialist asked for: material
no hash set knows first (it may show a child nobody has identified), then what ties it to
known material (a camera that also made matched pictures), then what says "made by this
person" (camera originals), then weak matches, and last what only refines the order.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from vigil.errors import ConfigError

RECENT_DAYS = 730  # "recent" capture: within two years before the queue is built


@dataclass(frozen=True, slots=True)
class Weights:
    unmatched: float = 10.0  # per group: a member matches no hash set at all
    device_with_matched: float = 8.0  # its camera body also made matched alert material
    camera_original: float = 5.0  # EXIF says a camera made it and no editor touched it
    weak_match: float = 6.0  # a near-miss of a known picture (`weak` match)
    alert_uncategorised: float = 4.0  # an alert list holds it without a category
    thumbnail_differs: float = 3.0  # its EXIF thumbnail shows another picture
    series: float = 2.0  # tied to other groups by camera body, burst or thumbnail
    gps: float = 2.0  # a member carries a GPS position
    recent: float = 3.0  # captured within RECENT_DAYS
    size: float = 1.0  # times log2(1 + files in the group)

    def size_score(self, files: int) -> float:
        return self.size * math.log2(1 + files)


def load_weights(case_dir: Path | None) -> Weights:
    """The case's weights: the defaults with `[triage.weights]` of its vigil.toml on top."""
    path = case_dir / "vigil.toml" if case_dir is not None else None
    if path is None or not path.is_file():
        return Weights()
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    table = doc.get("triage", {}).get("weights", {}) if isinstance(doc.get("triage"), dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: triage.weights must be a table ([triage.weights])")
    names = {f.name for f in fields(Weights)}
    unknown = sorted(set(table) - names)
    if unknown:
        raise ConfigError(
            f"{path}: unknown triage weight(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(names))})"
        )
    for name, value in table.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise ConfigError(f"{path}: triage weight {name} must be a number, not {value!r}")
    return Weights(**{k: float(v) for k, v in table.items()})
