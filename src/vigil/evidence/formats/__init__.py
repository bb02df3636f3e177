"""The built-in archive formats and the registry that holds them.

Registered here, explicitly, the same way a third-party format would be; the format modules
themselves register nothing when imported.
"""

from __future__ import annotations

from vigil.evidence.archive import ArchiveFormat
from vigil.evidence.formats.compressed import BZIP2, GZIP, XZ
from vigil.evidence.formats.sevenzip import SevenZipFormat
from vigil.evidence.formats.tar import TarFormat
from vigil.evidence.formats.zip import ZipFormat
from vigil.plugins import Registry


def register_builtin_formats(registry: Registry[ArchiveFormat]) -> Registry[ArchiveFormat]:
    for fmt in (ZipFormat(), TarFormat(), SevenZipFormat(), GZIP, BZIP2, XZ):
        registry.register(fmt.name, fmt)
    return registry


FORMATS: Registry[ArchiveFormat] = register_builtin_formats(Registry("archive format"))

__all__ = ["FORMATS", "register_builtin_formats"]
