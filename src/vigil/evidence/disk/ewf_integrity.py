"""What libewf knows is wrong with an EWF image: a segment set that is incomplete (a last
segment truncated or without its end), and the chunks that failed their checksum on read.

libewf checks every chunk it reads (Adler-32 of an uncompressed chunk, zlib's own check of a
compressed one) and, on a failure, returns the chunk as zeros and notes its sectors. A
damaged chunk that held zeros therefore reads back exactly as acquired, and the media's MD5
still matches the stored one: hashing alone misses it (this is how a corrupted E02 once
verified); a damaged chunk of a file would give that file's record the hashes of zeros.
pyewf does not expose libewf's lists, but the extension exports libewf's C API, so they are
asked through ctypes, with the handle pointer pyewf keeps right after the object header
(`pyewf_handle_t`: PyObject_HEAD, `libewf_handle_t *handle`, the file IO pool).
"""

from __future__ import annotations

import ctypes
import functools
from types import ModuleType
from typing import Any

_PTR = ctypes.POINTER
_ERROR = _PTR(ctypes.c_void_p)  # libewf_error_t **, left NULL: its message is not needed
_LAYOUT = object.__basicsize__ + 2 * ctypes.sizeof(ctypes.c_void_p)


class IntegrityUnknown(Exception):
    """This pyewf build does not let Vigil ask libewf what it found wrong."""


@functools.cache
def _functions(pyewf: ModuleType) -> tuple[Any, Any, Any]:
    try:
        lib = ctypes.CDLL(pyewf.__file__)
        count = lib.libewf_handle_get_number_of_checksum_errors
        get = lib.libewf_handle_get_checksum_error
        corrupted = lib.libewf_handle_segment_files_corrupted
    except (OSError, AttributeError) as exc:
        raise IntegrityUnknown(f"libewf's error lists are not exported ({exc})") from exc
    corrupted.argtypes = [ctypes.c_void_p, _ERROR]
    count.argtypes = [ctypes.c_void_p, _PTR(ctypes.c_uint32), _ERROR]
    get.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        _PTR(ctypes.c_uint64),
        _PTR(ctypes.c_uint64),
        _ERROR,
    ]
    return count, get, corrupted


class EwfIntegrity:
    """libewf's own findings on one open `pyewf.handle`. Refused (`IntegrityUnknown`) rather
    than guessed at when the handle object is not laid out as expected."""

    def __init__(self, pyewf: ModuleType, handle: Any) -> None:
        if type(handle).__basicsize__ != _LAYOUT:
            raise IntegrityUnknown(
                f"pyewf.handle is {type(handle).__basicsize__} bytes, not the {_LAYOUT} expected"
            )
        self._count, self._get, self._corrupted = _functions(pyewf)
        self._handle = handle  # kept alive: libewf's handle is freed with it
        self._sector = handle.get_bytes_per_sector()
        if not self._pointer():
            raise IntegrityUnknown("the pyewf handle is not open")

    def _pointer(self) -> int | None:
        address = id(self._handle) + object.__basicsize__
        return ctypes.c_void_p.from_address(address).value

    def incomplete(self) -> bool:
        """Whether the opened segment set has no end (no `done` section: a truncated or
        missing last segment). Such an image opens, and may even have lost its stored
        hashes, so without this it would pass as one that stores none."""
        result = self._corrupted(self._pointer(), None)
        if result == -1:
            raise IntegrityUnknown("libewf cannot say whether its segments are corrupted")
        return bool(result)

    def damaged(self) -> list[tuple[int, int]]:
        """(offset, length) in bytes of every chunk that failed its checksum in what the
        handle has read so far (one range per run of adjacent chunks)."""
        pointer = self._pointer()
        n = ctypes.c_uint32()
        if self._count(pointer, ctypes.byref(n), None) != 1:
            raise OSError("libewf cannot count its checksum errors")
        found = []
        first, sectors = ctypes.c_uint64(), ctypes.c_uint64()
        for i in range(n.value):
            if self._get(pointer, i, ctypes.byref(first), ctypes.byref(sectors), None) != 1:
                raise OSError(f"libewf cannot give its checksum error {i}")
            found.append((first.value * self._sector, sectors.value * self._sector))
        return found
