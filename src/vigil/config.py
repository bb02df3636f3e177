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


def _setting(
    default: int,
    help: str,
    *,
    minimum: int,
    maximum: int | None = None,
    off: int | None = None,
) -> Any:
    """A setting: its default, help text and allowed range, declared together so the range
    is checked (and documented) wherever the setting is. `off` is a value allowed below
    `minimum` that switches the feature off (e.g. 0 for "hash the full decode")."""
    return field(
        default=default,
        metadata={"help": help, "minimum": minimum, "maximum": maximum, "off": off},
    )


def _text_setting(default: str, help: str, *, parse: Any, forms: str) -> Any:
    """A setting written as text: `parse` raises ValueError on a value outside `forms` (the
    accepted forms, in words)."""
    return field(default=default, metadata={"help": help, "parse": parse, "forms": forms})


@dataclass(frozen=True, slots=True)
class SchedulerSpec:
    """Where ingest runs its workers: this machine's process pool (neither field), a Dask
    cluster started here with `workers` processes, or the Dask scheduler at `address`."""

    workers: int | None = None
    address: str | None = None


def parse_scheduler(text: str) -> SchedulerSpec:
    """`process`, `local:N` (N ≥ 1) or `tcp://HOST:PORT`; anything else is a ValueError."""
    spec = text.strip()
    if spec == "process":
        return SchedulerSpec()
    count = spec.removeprefix("local:")
    if count != spec and count.isdigit() and int(count) >= 1:
        return SchedulerSpec(workers=int(count))
    host, _, port = spec.removeprefix("tcp://").rpartition(":")
    tcp = spec.startswith("tcp://") and host and "/" not in host and port.isdigit()
    if tcp and 0 < int(port) < 65536:
        return SchedulerSpec(address=spec)
    raise ValueError(spec)


def allowed_range(f: dataclasses.Field) -> str:
    """The values a setting accepts, in words, for error messages and the README."""
    if "forms" in f.metadata:
        return f.metadata["forms"]
    low, high, off = f.metadata["minimum"], f.metadata["maximum"], f.metadata["off"]
    text = f"at least {low}" if high is None else f"{low} to {high}"
    return text if off is None else f"{off} (off) or {text}"


def check_range(f: dataclasses.Field, value: Any) -> None:
    """Refuse a value outside the setting's range: a zero batch size or thumbnail size must
    stop the command with one line, not fail every item or print a traceback mid-run."""
    if "parse" in f.metadata:
        try:
            f.metadata["parse"](value)
        except ValueError:
            raise ConfigError(
                f"setting {f.name} must be {allowed_range(f)} (got {value})"
            ) from None
        return
    low, high, off = f.metadata["minimum"], f.metadata["maximum"], f.metadata["off"]
    if value == off or (value >= low and (high is None or value <= high)):
        return
    raise ConfigError(f"setting {f.name} must be {allowed_range(f)} (got {value})")


def _check_fields(obj: Any) -> None:
    for f in dataclasses.fields(obj):
        if "help" in f.metadata:
            check_range(f, getattr(obj, f.name))


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits that protect a run from hostile input. Picklable: workers receive a copy."""

    max_image_pixels: int = _setting(
        178_956_970,
        "Images declaring more pixels are recorded as decompression bombs.",
        minimum=1,
    )
    max_image_bytes: int = _setting(
        256 * MiB, "Larger image files are hashed (md5/sha1/sha256) but not decoded.", minimum=1
    )
    pdq_decode_size: int = _setting(
        512,
        "Large images are reduced by a power of two (DCT-scaled for JPEG) keeping the short "
        "side at least this many pixels before PDQ; 0 hashes the full decode.",
        minimum=64,
        off=0,
    )
    pdq_windows: int = _setting(
        1,
        "1: also hash 8 sub-windows of each image at ingest, so crops, borders and caption "
        "bars of known pictures can match (about 12 ms a photo); 0: off.",
        minimum=0,
        maximum=1,
    )
    thumbnail_size: int = _setting(
        256, "Longest side of the review thumbnail, in pixels.", minimum=16, maximum=2048
    )
    archive_max_depth: int = _setting(
        8, "Archives nested deeper than this are recorded but not opened.", minimum=1
    )
    archive_max_total_bytes: int = _setting(
        64 * GiB,
        "Stop unpacking one top-level archive after this many uncompressed bytes.",
        minimum=1,
    )
    archive_max_ratio: int = _setting(
        200,
        "A member that expands more than this many times its compressed size is a bomb.",
        minimum=1,
    )
    archive_max_members: int = _setting(
        1_000_000, "Stop listing one archive after this many members.", minimum=1
    )
    member_max_bytes: int = _setting(
        512 * MiB,
        "Larger archive members are streamed and hashed but not opened as media.",
        minimum=1,
    )
    video_max_seconds: int = _setting(
        300,
        "Wall-clock seconds one video may take to open and decode; a video still decoding "
        "then keeps the frame hashes made so far and its record says `time budget`.",
        minimum=1,
        maximum=86_400,
    )
    video_max_frames: int = _setting(
        36_000,
        "Frames one video may have hashed (one a second: 36,000 is 10 hours); the rest of "
        "a longer video is not decoded and its record says `frame budget`.",
        minimum=1,
        maximum=10_000_000,
    )
    verify_image_hash: int = _setting(
        1,
        "1: check the acquisition hash an E01/Ex01 image stores by reading all its media once "
        "(a full extra pass over the image); 0: skip it on very large images (the image's "
        "record says it was not verified).",
        minimum=0,
        maximum=1,
    )

    def __post_init__(self) -> None:
        _check_fields(self)


@dataclass(frozen=True, slots=True)
class Settings:
    limits: Limits = field(default_factory=Limits)
    workers: int = _setting(0, "Worker processes for ingest; 0 means one per CPU core.", minimum=0)
    scheduler: str = _text_setting(
        "process",
        "Where ingest's workers run: `process`, a pool of `workers` processes here; `local:N`, a "
        "Dask cluster of N processes started here; `tcp://HOST:PORT`, the Dask scheduler of a "
        "cluster whose workers all see the evidence at the same paths.",
        parse=parse_scheduler,
        forms="process, local:N (N ≥ 1) or tcp://HOST:PORT",
    )
    batch_size: int = _setting(500, "Records the writer commits per transaction.", minimum=1)
    pdq_threshold: int = _setting(
        31,
        "Largest PDQ Hamming distance (of 256 bits) that counts as a near-duplicate match.",
        minimum=0,
        maximum=256,
    )
    pdq_min_quality: int = _setting(
        50,
        "Images whose PDQ quality is below this never near-match (a flat or tiny picture's "
        "PDQ is noise): exact matches only, and weak matches (weak_low_quality_distance).",
        minimum=0,
        maximum=100,
    )
    weak_pdq_distance: int = _setting(
        40,
        "PDQ hits past pdq_threshold up to this distance are kept as weak matches: never a "
        "category, but the file goes to review with that reason. At or below pdq_threshold: off.",
        minimum=0,
        maximum=256,
    )
    weak_low_quality_distance: int = _setting(
        10,
        "A picture whose PDQ quality is below pdq_min_quality is kept as a weak match of a "
        "known picture within this distance; 0 keeps only identical PDQ hashes.",
        minimum=0,
        maximum=256,
    )

    video_query_match_percent: int = _setting(
        80,
        "A case video matches a known video when at least this percent of its unique good "
        "vPDQ frames are in the known video (a clip cut from it, a copy); 0: this test off.",
        minimum=1,
        maximum=100,
        off=0,
    )
    video_compared_match_percent: int = _setting(
        80,
        "A case video also matches a known video when at least this percent of the known "
        "video's unique good frames are in it (known material inside a longer compilation); "
        "0: this test off.",
        minimum=1,
        maximum=100,
        off=0,
    )

    burst_seconds: int = _setting(
        10,
        "Pictures from one make and model in one folder or archive captured this many seconds "
        "apart or less are a burst: triage ties them into a series; 0: only identical times.",
        minimum=0,
        maximum=86_400,
    )

    # The review app (web/). A reviewer's stretch ends in an enforced break; the IWF's rule
    # of a 10-minute break every hour is the default.
    review_stretch_minutes: int = _setting(
        50,
        "Minutes of reviewing (requests no more than break_minutes apart) after which the "
        "review app enforces a break.",
        minimum=1,
        maximum=24 * 60,
    )
    break_minutes: int = _setting(
        10,
        "Length of the enforced break; any pause this long also starts a new stretch.",
        minimum=1,
        maximum=24 * 60,
    )
    reveal_seconds: int = _setting(
        5,
        "Seconds a revealed (undegraded) item stays on screen before it re-degrades.",
        minimum=1,
        maximum=600,
    )
    reveal_url_seconds: int = _setting(
        30,
        "Seconds a reveal URL stays valid; it is single-use either way.",
        minimum=1,
        maximum=600,
    )
    review_size: int = _setting(
        1024,
        "Longest side, in pixels, of a revealed picture (read again from the evidence).",
        minimum=64,
        maximum=4096,
    )
    daily_reveal_budget: int = _setting(
        0,
        "Reveals a user may make a day before the app warns (a user's own budget, set with "
        "`vigil user budget`, wins); 0: no budget.",
        minimum=1,
        off=0,
    )
    session_idle_minutes: int = _setting(
        30,
        "A review-app session without a request for this long ends (log in again).",
        minimum=1,
        maximum=24 * 60,
    )
    consensus_reviewers: int = _setting(
        1,
        "Reviewers who must agree on a category before it counts as a decision (UK CAID "
        "uses 3); disagreements get a queue of their own. 1: one decision counts.",
        minimum=1,
        maximum=9,
    )

    def __post_init__(self) -> None:
        _check_fields(self)

    @property
    def effective_workers(self) -> int:
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


def setting_fields() -> list[dataclasses.Field]:
    """Every setting's field, Settings' own first, then the limits."""
    return [
        f for cls in (Settings, Limits) for f in dataclasses.fields(cls) if "help" in f.metadata
    ]


def settings_table() -> list[tuple[str, Any, str]]:
    """(name, default, help) for every setting, for the README check and `--help` texts."""
    return [(f.name, f.default, f.metadata["help"]) for f in setting_fields()]


def _parse(f: dataclasses.Field, value: Any, origin: str) -> Any:
    """An integer from a vigil.toml value (a TOML integer, nothing else: `true` or "500" there
    is a mistake worth stopping for), an environment string, or a flag; text for a text
    setting."""
    name = f.name
    if "parse" in f.metadata:
        if isinstance(value, str):
            return value.strip()
        raise ConfigError(f"setting {name} ({origin}): {value!r} is not text")
    if isinstance(value, str) and origin.startswith("VIGIL_"):
        try:
            return int(value.strip())
        except ValueError:
            pass
    elif isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ConfigError(f"setting {name} ({origin}): {value!r} is not an integer")


def _toml_values(path: Path) -> dict[str, tuple[Any, str]]:
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read: {exc.strerror}") from exc
    table = doc.get("limits", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: limits must be a table ([limits]), not {table!r}")
    # [triage] holds the queue's weights, read by `vigil.triage.weights`
    found = {**table, **{k: v for k, v in doc.items() if k not in ("limits", "triage")}}
    return {k: (v, str(path)) for k, v in found.items()}


def load_settings(
    case_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings for a run (see module docstring for precedence). Every
    value is checked here, so a bad one stops the command before any work, naming the
    setting, where it came from and what it allows."""
    env = os.environ if env is None else env
    fields = {f.name: f for f in setting_fields()}
    values: dict[str, tuple[Any, str]] = {}
    if case_dir is not None and (case_dir / "vigil.toml").is_file():
        values.update(_toml_values(case_dir / "vigil.toml"))
    for name in fields:
        key = f"VIGIL_{name.upper()}"
        if key in env:
            values[name] = (env[key], key)
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = (value, f"--{name.replace('_', '-')}")
    unknown = set(values) - set(fields)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    parsed = {}
    for name, (value, origin) in values.items():
        parsed[name] = _parse(fields[name], value, origin)
        try:
            check_range(fields[name], parsed[name])
        except ConfigError as exc:
            raise ConfigError(f"{exc} ({origin})") from None
    limit_names = {f.name for f in dataclasses.fields(Limits)}
    limits = Limits(**{k: v for k, v in parsed.items() if k in limit_names})
    return Settings(limits=limits, **{k: v for k, v in parsed.items() if k not in limit_names})
