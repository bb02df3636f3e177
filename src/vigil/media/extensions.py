"""What a file name *claims* to be. Never used to type a file — only to flag a name whose
content does not back it up (random bytes called `photo.jpg` may be an encrypted container)."""

from __future__ import annotations

import os

from vigil.model import Kind

_CLAIMS = {
    Kind.IMAGE: "jpg jpeg jpe jfif png gif webp bmp dib tif tiff heic heif avif "
    "jp2 j2k j2c jpc jpf jpx ico cur icns pbm pgm ppm pnm pfm qoi sgi dds xbm xpm psd "
    "blp dcx ras pcx",
    Kind.VIDEO: "mp4 m4v mov avi mkv webm wmv asf flv 3gp mpg mpeg ts",
    Kind.ARCHIVE: "zip 7z tar gz tgz bz2 tbz2 xz txz rar zst",
}
_BY_EXTENSION = {ext: kind for kind, exts in _CLAIMS.items() for ext in exts.split()}


def claimed_kind(name: bytes) -> Kind | None:
    ext = os.path.splitext(name)[1][1:].lower()
    return _BY_EXTENSION.get(ext.decode("ascii", "replace"))
