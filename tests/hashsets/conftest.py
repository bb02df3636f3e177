"""Fixtures for hash-set reader tests: files are built in the test from invented, benign
records (digests of `benign-sample-N` strings, random hex, made-up names)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"


def digests(i: int) -> dict[str, str]:
    """md5/sha1/sha256 of `benign-sample-<i>`, plus a synthetic 64-hex PDQ-shaped value."""
    data = f"benign-sample-{i}".encode()
    return {
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "pdq": hashlib.sha256(b"pdq-" + data).hexdigest(),
    }


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, text_or_bytes, encoding="utf-8") → path of the new file in tmp_path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write


@pytest.fixture
def vectors() -> Path:
    if not VECTORS.is_dir():
        pytest.skip("../shared/vectors not present")
    return VECTORS
