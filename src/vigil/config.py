"""Every tunable limit, declared once with its default and help text.

Precedence: built-in default < the case's `vigil.toml` (`[limits]` table) < environment
(`VIGIL_<NAME>`) < command-line flag. The README's settings table is checked against
`SETTINGS` by a test, so a new setting cannot go undocumented.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.errors import ConfigError

MiB = 1024 * 1024
GiB = 1024 * MiB


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits that protect a run from hostile input. Picklable: workers receive a copy."""

    max_image_pixels: int = _setting(
        178_956_970, "Images declaring more pixels are recorded as decompression bombs."
    )
    max_image_bytes: int = _setting(
        256 * MiB, "Larger image files are hashed (md5/sha1/sha256) but not decoded."
    )
    pdq_decode_size: int = _setting(
        512,
        "Large images are reduced by a power of two (DCT-scaled for JPEG) keeping the short "
        "side at least this many pixels before PDQ; 0 hashes the full decode.",
    )
    pdq_windows: int = _setting(
        1,
        "1: also hash 8 sub-windows of each image at ingest, so crops, borders and caption "
        "bars of known pictures can match (about 12 ms a photo); 0: off.",
    )
    thumbnail_size: int = _setting(256, "Longest side of the review thumbnail, in pixels.")
    archive_max_depth: int = _setting(
        8, "Archives nested deeper than this are recorded but not opened."
    )
    archive_max_total_bytes: int = _setting(
        64 * GiB, "Stop unpacking one top-level archive after this many uncompressed bytes."
    )
    archive_max_ratio: int = _setting(
        200, "A member that expands more than this many times its compressed size is a bomb."
    )
    archive_max_members: int = _setting(
        1_000_000, "Stop listing one archive after this many members."
    )
    member_max_bytes: int = _setting(
        512 * MiB, "Larger archive members are streamed and hashed but not opened as media."
    )


@dataclass(frozen=True, slots=True)
class Settings:
    limits: Limits = field(default_factory=Limits)
    workers: int = _setting(0, "Worker processes for ingest; 0 means one per CPU core.")
    batch_size: int = _setting(500, "Records the writer commits per transaction.")
    pdq_threshold: int = _setting(
        31, "Largest PDQ Hamming distance (of 256 bits) that counts as a near-duplicate match."
    )
    pdq_min_quality: int = _setting(
        50,
        "Images whose PDQ quality is below this are matched exactly only (a flat or tiny "
        "picture's PDQ is noise).",
    )

    @property
    def effective_workers(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


def settings_table() -> list[tuple[str, Any, str]]:
    """(name, default, help) for every setting, for the README check and `--help` texts."""
    rows = []
    for cls in (Settings, Limits):
        for f in dataclasses.fields(cls):
            if "help" in f.metadata:
                rows.append((f.name, f.default, f.metadata["help"]))
    return rows


def _coerce(name: str, value: Any, default: Any) -> Any:
    try:
        return type(default)(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"setting {name}: {value!r} is not a valid {type(default).__name__}"
        ) from exc


def load_settings(
    case_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings for a run (see module docstring for precedence)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if case_dir is not None and (case_dir / "vigil.toml").is_file():
        try:
            doc = tomllib.loads((case_dir / "vigil.toml").read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{case_dir / 'vigil.toml'}: {exc}") from exc
        values.update(doc.get("limits", {}))
        values.update({k: v for k, v in doc.items() if not isinstance(v, dict)})
    known = {name: default for name, default, _ in settings_table()}
    for name in known:
        key = f"VIGIL_{name.upper()}"
        if key in env:
            values[name] = env[key]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    coerced = {k: _coerce(k, v, known[k]) for k, v in values.items()}
    for k, v in coerced.items():
        if v < 0:
            raise ConfigError(f"setting {k} must not be negative (got {v})")
    limit_names = {f.name for f in dataclasses.fields(Limits)}
    limits = Limits(**{k: v for k, v in coerced.items() if k in limit_names})
    return Settings(limits=limits, **{k: v for k, v in coerced.items() if k not in limit_names})
