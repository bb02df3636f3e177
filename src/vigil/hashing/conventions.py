"""The names of the hashing conventions in force, stored with every file's hashes and every
match: two PDQ hashes are comparable only when made the same way (the same `pdqhash` build,
the same decode reduction, the same dihedral method), and window hashes only with the same
window geometry. Derived from what is installed and from the settings, never a constant.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

from vigil.config import Limits
from vigil.hashing.windows import WINDOW_VERSION

# How the seven transformed hashes are made (`vigil.hashing.pdq.pdq_hash`).
DIHEDRAL_METHOD = "dihedral-exact"


@cache
def installed_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def pdq_version(limits: Limits) -> str:
    """E.g. "pdqhash-0.2.8/rgb-pow2-512/dihedral-dct"; "rgb-full" when no reduction."""
    size = limits.pdq_decode_size
    reduction = f"rgb-pow2-{size}" if size else "rgb-full"
    return f"pdqhash-{installed_version('pdqhash')}/{reduction}/{DIHEDRAL_METHOD}"


def windows_version(limits: Limits) -> str | None:
    """The window convention, or None when window hashes are off."""
    return WINDOW_VERSION if limits.pdq_windows else None
