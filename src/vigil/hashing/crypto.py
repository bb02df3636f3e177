"""MD5, SHA-1 and SHA-256 of one stream in one pass."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

NAME = "crypto"
VERSION = "1"


@dataclass(frozen=True, slots=True)
class Digests:
    md5: str
    sha1: str
    sha256: str


class CryptoHasher:
    """Feed chunks once; every digest is updated from the same buffer."""

    __slots__ = ("_md5", "_sha1", "_sha256", "size")

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._md5.update(chunk)
        self._sha1.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def digests(self) -> Digests:
        return Digests(self._md5.hexdigest(), self._sha1.hexdigest(), self._sha256.hexdigest())


def digest_bytes(data: bytes | Iterable[bytes]) -> Digests:
    hasher = CryptoHasher()
    for chunk in [data] if isinstance(data, bytes | bytearray | memoryview) else data:
        hasher.update(chunk)
    return hasher.digests()
