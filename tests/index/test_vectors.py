"""PDQ's own regression lists (needles / haystack, one hex hash a line) through both indexes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import SHARED
from vigil.index import BruteForceIndex, Layout, PdqIndex, codes_to_hex, hex_to_codes

DATA = SHARED / "vectors" / "pdq" / "pdq" / "data" / "reg-test-input"

pytestmark = pytest.mark.skipif(not (DATA / "needles.txt").exists(), reason="no PDQ vectors")


def read_hashes(name: str) -> list[str]:
    return [line.strip() for line in (DATA / name).read_text().splitlines() if line.strip()]


def test_layout_of_the_lists() -> None:
    needles, haystack = read_hashes("needles.txt"), read_hashes("haystack.txt")
    assert (len(needles), len(haystack)) == (100, 1350)
    assert codes_to_hex(hex_to_codes(haystack)) == [h.lower() for h in haystack]


@pytest.mark.parametrize("threshold", [0, 10, 31, 32, 63])
def test_needles_in_haystack_match_brute_force(threshold: int) -> None:
    needles = hex_to_codes(read_hashes("needles.txt"))
    haystack = hex_to_codes(read_hashes("haystack.txt"))
    ids = np.arange(len(haystack))
    want = BruteForceIndex.build(ids, haystack).search(needles, threshold=threshold)
    for layout in (None, Layout(11, 12), Layout(16, 16)):
        index = PdqIndex.build(ids, haystack, layout=layout)
        assert np.array_equal(index.search(needles, threshold=threshold), want)
        if threshold <= 40:
            got = index.search(needles, threshold=threshold, method="probe")
            assert np.array_equal(got, want)
    if threshold == 31:  # the lists are built around near-duplicates: there is work to do
        assert len(want) > len(needles)
