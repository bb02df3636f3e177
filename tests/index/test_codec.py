"""Hex ↔ packed codes, bit order, and the near-duplicate generator."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.errors import ConfigError
from vigil.index.codec import (
    check_threshold,
    codes_to_hex,
    flip_bits,
    hex_to_codes,
)

hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(st.lists(hex64, max_size=20))
def test_hex_round_trip(hashes: list[str]) -> None:
    codes = hex_to_codes(hashes)
    assert codes.shape == (len(hashes), 32)
    assert codes.dtype == np.uint8
    assert codes_to_hex(codes) == hashes


def test_bit_order_is_pdq_text_order() -> None:
    codes = hex_to_codes(["8" + "0" * 62 + "1", "F" * 64])
    assert codes[0, 0] == 0x80 and codes[0, 31] == 0x01 and codes[0, 1:31].sum() == 0
    assert (codes[1] == 255).all()
    assert codes_to_hex(codes) == ["8" + "0" * 62 + "1", "f" * 64]
    # faiss reads the same bytes: the distance between the two is 254.
    flat = faiss.IndexBinaryFlat(256)
    flat.add(codes[1:])
    distances, _ = flat.search(codes[:1], 1)
    assert distances[0, 0] == 254


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "0" * 65, "é" * 64])
def test_bad_hex_names_the_row(bad: str) -> None:
    with pytest.raises(ValueError, match="row 1"):
        hex_to_codes(["0" * 64, bad])


def test_empty() -> None:
    assert hex_to_codes([]).shape == (0, 32)
    assert codes_to_hex(np.zeros((0, 32), np.uint8)) == []


@pytest.mark.parametrize("bad", [np.zeros((3, 31), np.uint8), np.zeros((3, 32), np.int8)])
def test_codes_shape_checked(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        codes_to_hex(bad)


def test_flip_bits_flips_exactly_k() -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    k = np.arange(300) % 257
    flipped = flip_bits(codes, k, rng)
    dist = np.unpackbits(codes ^ flipped, axis=1).sum(axis=1)
    assert (dist == k).all()


@pytest.mark.parametrize("bad", [-1, 257, "31", 31.0, True, None])
def test_threshold_validation(bad: object) -> None:
    with pytest.raises(ConfigError):
        check_threshold(bad)


def test_threshold_accepts_numpy_ints() -> None:
    assert check_threshold(np.int64(31)) == 31
