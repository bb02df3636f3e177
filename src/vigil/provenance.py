"""What produced a result: Vigil's version and the versions of the libraries that change
results (decoders, PDQ, the database), the host and the OS user. Recorded with every run,
printed by `vigil --version`, carried by exports: in forensic work the tool and settings
behind a result are part of the evidence.

Package versions come from installed metadata (no import); the decoder libraries' own versions
(libjpeg-turbo, libtiff, libheif) need their bindings imported, which `versions()` does only
when asked for them.
"""

from __future__ import annotations

import getpass
import platform
import socket
import sqlite3
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# Distributions whose version changes what Vigil computes or how it stores it, in display order.
PACKAGES = (
    "vigil",
    "pdqhash",
    "pillow",
    "pillow-heif",
    "numpy",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "py7zr",
    "ijson",
    "faiss-cpu",
    "exifread",
    "av",  # FFmpeg inside: video probing and vPDQ frames
    "pytsk3",  # disk images: volumes, file systems, deleted names
    "libewf-python",
    "libvmdk-python",
    "libvhdi-python",
    "libqcow-python",
    "libvsmbr-python",
    "libvsgpt-python",
)


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def decoder_versions() -> dict[str, str]:
    """The C libraries inside the image wheels: the same Pillow can bundle another libjpeg."""
    out: dict[str, str] = {}
    try:
        from PIL import features

        for key, feature in (("libjpeg-turbo", "libjpeg_turbo"), ("libtiff", "libtiff")):
            out[key] = features.version(feature) or "absent"
    except ImportError:
        out["libjpeg-turbo"] = out["libtiff"] = "Pillow not importable"
    try:
        import pillow_heif

        out["libheif"] = str(pillow_heif.libheif_version())
    except ImportError:
        out["libheif"] = "pillow-heif not importable"
    return out


def versions(*, decoders: bool = True) -> dict[str, str]:
    """Python and every result-changing package, the SQLite library that holds an embedded case
    (not the `sqlite3` module's version: the library is what reads and writes the file), and,
    with `decoders`, the decoder libraries."""
    out = {"python": platform.python_version()}
    out.update({name: package_version(name) for name in PACKAGES})
    out["sqlite"] = sqlite3.sqlite_version
    if decoders:
        out.update(decoder_versions())
    return out


def host_and_user() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        user = "unknown"
    return {"host": socket.gethostname(), "user": user, "platform": platform.platform()}


def run_provenance(settings: Any, store_url: str, database: str | None) -> dict[str, Any]:
    """The provenance of one run: versions, host, user, the case store (never a password:
    case URLs refuse one) and its server version, and every setting in effect."""
    import dataclasses

    return {
        "versions": versions(),
        **host_and_user(),
        "store": store_url,
        "database": database,
        "settings": dataclasses.asdict(settings),
    }
