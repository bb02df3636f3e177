"""vPDQ: conformance with Meta's sample hashes (../shared/vectors/vpdq), the reference binding
as an oracle where it is installed, the algorithm seam, and comparisons of generated videos
(a clip of a longer one, a lower-resolution copy, a mirror, a logo bar, something else)."""

from __future__ import annotations

import importlib.util
import io
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import SHARED
from vigil.hashing.pdq import hamming
from vigil.hashing.vpdq import FrameHash, VpdqAlgorithm
from vigil.hashing.vpdq_match import (
    PYTX_INDEX_CONVENTION,
    README_CONVENTION,
    Retained,
    TimeRange,
    VpdqComparison,
    _cross_match,
    prune,
)
from vigil.media.contact_sheet import ContactSheet
from vigil.synthetic import videos as sv

VECTORS = SHARED / "vectors" / "vpdq"
VIDEOS = VECTORS / "tmk" / "sample-videos"
HASHES = VECTORS / "vpdq" / "sample-hashes"
NAMES = sorted(p.stem for p in VIDEOS.glob("*.mp4")) if VIDEOS.is_dir() else []
HAVE_ORACLE = importlib.util.find_spec("vpdq") is not None
ORACLE_WHY = (
    "the reference binding `vpdq` is not installed (pip install vpdq needs FFmpeg's "
    "development files: apt-get install libavcodec-dev libavformat-dev libavutil-dev "
    "libswscale-dev libavdevice-dev libavfilter-dev libswresample-dev)"
)


def read_reference(path: Path) -> list[FrameHash]:
    frames = []
    for line in path.read_text().splitlines():
        number, quality, hex_hash, stamp = line.split(",")
        frames.append(FrameHash(int(number), int(quality), hex_hash, float(stamp)))
    return frames


def hash_file(path: Path, **kw) -> list[FrameHash]:
    with open(path, "rb") as fh:
        result = VpdqAlgorithm(**kw).hash_stream(fh)
    assert result.reason is None, result.outcome
    return list(result.frames)


def assert_conforms(ours: list[FrameHash], theirs: list[FrameHash]) -> None:
    """The reference's own check (vpdq/python/tests, cpp/regtest.py): the same frames, and
    for frames both of quality >= 50 a distance below 31."""
    assert [f.frame_number for f in ours] == [f.frame_number for f in theirs]
    far = [
        (a.frame_number, hamming(a.pdq, b.pdq))
        for a, b in zip(ours, theirs, strict=True)
        if a.quality >= 50 and b.quality >= 50 and hamming(a.pdq, b.pdq) >= 31
    ]
    assert not far, far


@pytest.fixture(scope="module")
def vectors() -> Path:
    if not NAMES:
        pytest.skip(f"vPDQ sample videos not found at {VIDEOS} (see shared/vectors/vpdq)")
    return VECTORS


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_frame_native_conforms_to_the_sample_hashes(vectors, name):
    ours = hash_file(VIDEOS / f"{name}.mp4", seconds_per_hash=0)
    theirs = read_reference(HASHES / f"{name}.txt")
    assert_conforms(ours, theirs)
    assert [f"{f.timestamp:.3f}" for f in ours] == [f"{f.timestamp:.3f}" for f in theirs]


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if n != "test-padded-dimensions"])
def test_every_frame_128x128_conforms_to_the_sample_hashes(vectors, name):
    ours = hash_file(VIDEOS / f"{name}.mp4", seconds_per_hash=0, downsample=(128, 128))
    assert_conforms(ours, read_reference(HASHES / f"{name}-128x128.txt"))


@cache
def oracle(path: Path, seconds: float, width: int = 0, height: int = 0) -> list[FrameHash]:
    import vpdq

    return [
        FrameHash(f.frame_number, f.quality, f.hex, f.timestamp)
        for f in vpdq.computeHash(
            str(path), seconds_per_hash=seconds, downsample_width=width, downsample_height=height
        )
    ]


@pytest.mark.skipif(not HAVE_ORACLE, reason=ORACLE_WHY)
@pytest.mark.parametrize("seconds", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("name", ["chair-19-sd-bar", "doorknob-hd-no-bar", "pattern-hd-no-bar"])
def test_sampled_frames_are_the_reference_bindings(vectors, name, seconds):
    path = VIDEOS / f"{name}.mp4"
    ours, theirs = hash_file(path, seconds_per_hash=seconds), oracle(path, seconds)
    assert_conforms(ours, theirs)
    assert [f"{f.timestamp:.3f}" for f in ours] == [f"{f.timestamp:.3f}" for f in theirs]
    # measured: bit-identical when both use the same swscale conversion (the oracle built
    # against Debian 12's FFmpeg 5.1, PyAV's wheel FFmpeg 8)
    exact = sum(a.pdq == b.pdq for a, b in zip(ours, theirs, strict=True))
    assert exact >= 0.9 * len(ours)


@pytest.mark.skipif(not HAVE_ORACLE, reason=ORACLE_WHY)
def test_generated_videos_hash_as_the_reference_binding(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(sv.video(8, 320, 240, 6, 24, options={"preset": "veryfast", "bf": "3"}))
    for seconds in (0.0, 1.0):
        assert_conforms(hash_file(path, seconds_per_hash=seconds), oracle(path, seconds))
    assert_conforms(
        hash_file(path, seconds_per_hash=1.0, downsample=(128, 96)), oracle(path, 1.0, 128, 96)
    )


# --- the algorithm seam ----------------------------------------------------------------


def test_algorithm_names_its_version_and_the_settings_that_change_its_output():
    alg = VpdqAlgorithm()
    assert alg.name == "vpdq"
    assert alg.version.startswith("vigil-vpdq-1/pdqhash-0.2.8/libavcodec-")
    assert dict(alg.settings) == {"downsample": "native", "mirror": "no", "seconds_per_hash": "1"}
    other = VpdqAlgorithm(seconds_per_hash=0.5, downsample=(128, 128), mirror=True)
    assert dict(other.settings) == {
        "downsample": "128x128",
        "mirror": "yes",
        "seconds_per_hash": "0.5",
    }
    assert alg.every(29.97) == 29 and alg.every(0.5) == 1
    assert VpdqAlgorithm(seconds_per_hash=0).every(30) == 1
    for bad in ({"seconds_per_hash": -1}, {"downsample": (3, 3)}):
        with pytest.raises(ValueError):
            VpdqAlgorithm(**bad)


def test_frame_line_is_the_reference_text_form():
    frame = FrameHash(30, 97, "c0" * 32, 1.0)
    assert frame.line() == f"30,97,{'c0' * 32},1.000"


# --- comparisons of generated videos ----------------------------------------------------

FPS = 15
W, H, SECONDS = 320, 240, 20


@cache
def made(kind: str) -> bytes:
    frames = sv.moving_frames(1, W, H, SECONDS, FPS)
    edits = {
        "long": lambda f: f,
        "clip": lambda f: sv.cut(f, FPS, 6, 13),
        "clip-offset": lambda f: sv.cut(f, FPS, 6.4, 13.4),
        "low": lambda f: sv.rescale(f, 160, 120),
        "mirror": sv.mirror,
        "logo": lambda f: sv.logo_bar(f, 0.04),
        "big-bar": lambda f: sv.logo_bar(f, 0.15),
    }
    if kind == "other":
        return sv.encode(sv.moving_frames(2, W, H, SECONDS, FPS), fps=FPS)
    return sv.encode(edits[kind](frames), fps=FPS)


@cache
def hashed(kind: str, mirror: bool = False) -> tuple[FrameHash, ...]:
    result = VpdqAlgorithm(mirror=mirror).hash_stream(io.BytesIO(made(kind)))
    assert result.reason is None
    return result.frames


COMPARE = VpdqComparison()


def test_a_video_matches_itself_fully():
    match = COMPARE.compare(hashed("long"), hashed("long"))
    assert (match.query_percent, match.compared_percent, match.is_match) == (100, 100, True)
    assert match.query_ranges == match.compared_ranges == (TimeRange(0.0, 19.0),)


def test_a_clip_is_found_in_the_longer_video_with_its_time_range():
    match = COMPARE.compare(hashed("clip"), hashed("long"))
    assert match.query_percent == 100
    assert 30 <= match.compared_percent <= 40  # 7 of 20 seconds
    assert match.is_match
    assert match.query_ranges == (TimeRange(0.0, 6.0),)
    assert match.compared_ranges == (TimeRange(6.0, 12.0),)
    assert match.summary() == f"100%[{match.compared_percent:.0f}%]"


def test_the_longer_video_is_found_from_the_clip_the_other_way_round():
    match = COMPARE.compare(hashed("long"), hashed("clip"))
    assert match.compared_percent == 100 and match.query_percent < 40
    assert match.is_match
    assert match.query_ranges == (TimeRange(6.0, 12.0),)


def test_a_clip_cut_between_sampled_frames_needs_one_side_hashed_densely():
    """Sampling at 1 frame/s, a clip starting 0.4 s off the grid shares no frame with its
    source: on this moving content that is 40-90 bits away (the reference behaves the same).
    Against the source hashed every frame, each sampled frame of the clip is found."""
    assert COMPARE.compare(hashed("clip-offset"), hashed("long")).query_percent < 30
    dense = VpdqAlgorithm(seconds_per_hash=0).hash_stream(io.BytesIO(made("long"))).frames
    match = COMPARE.compare(hashed("clip-offset"), dense)
    assert match.query_percent == 100 and match.is_match
    assert 6.2 <= match.compared_ranges[0].start <= 6.6
    assert 12.2 <= match.compared_ranges[-1].end <= 12.6


def test_the_reference_conventions_each_find_one_direction():
    clip, long = hashed("clip"), hashed("long")
    # README: 80% of the compared video must be found in the query
    assert README_CONVENTION.compare(long, clip).is_match
    assert not README_CONVENTION.compare(clip, long).is_match
    # python-threatexchange's index: 80% of the query must be found
    assert PYTX_INDEX_CONVENTION.compare(clip, long).is_match
    assert not PYTX_INDEX_CONVENTION.compare(long, clip).is_match


def test_a_lower_resolution_re_encode_matches():
    match = COMPARE.compare(hashed("low"), hashed("long"))
    assert match.query_percent >= 95 and match.compared_percent >= 95 and match.is_match


def test_a_mirrored_copy_matches_only_when_hashed_mirrored():
    assert COMPARE.compare(hashed("mirror"), hashed("long")).query_percent < 10
    match = COMPARE.compare(hashed("mirror", mirror=True), hashed("long"))
    assert match.query_percent >= 95 and match.is_match


def test_a_logo_bar_is_a_weak_match_and_a_big_bar_none():
    # PDQ moves ~20 bits under a 4% bar, ~50 under 15% (the reference's own large-logo
    # sample matches its original at about 10%)
    logo = COMPARE.compare(hashed("logo"), hashed("long"))
    assert 50 <= logo.query_percent < 80 and not logo.is_match and logo.is_weak
    assert logo.query_ranges  # where it did match is still reported
    big = COMPARE.compare(hashed("big-bar"), hashed("long"))
    assert big.query_percent < 50 and not big.is_match and not big.is_weak


def test_an_unrelated_video_does_not_match():
    match = COMPARE.compare(hashed("other"), hashed("long"))
    assert match.query_percent == match.compared_percent == 0
    assert not match.is_match and not match.is_weak
    assert match.query_ranges == match.compared_ranges == ()


def test_hashing_all_packets_or_only_the_needed_ones_gives_the_same_hashes():
    alg = VpdqAlgorithm(seconds_per_hash=2)
    data = made("long")
    assert (
        alg.hash_stream(io.BytesIO(data)).frames
        == alg.hash_stream(io.BytesIO(data), decode_all=True).frames
    )


def test_the_frame_hook_sees_every_hashed_frame_for_a_contact_sheet_in_the_same_pass():
    sheet = ContactSheet(float(SECONDS), cell_width=48)
    seen = []

    def hook(sampled, feature):
        seen.append(feature)
        sheet.offer(sampled.timestamp, sampled.image)

    result = VpdqAlgorithm().hash_stream(io.BytesIO(made("long")), on_frame=hook)
    assert tuple(seen) == result.frames
    assert sheet.render()[:3] == b"\xff\xd8\xff"


# --- the comparison rules ----------------------------------------------------------------


def _frames(hexes: list[str], quality: int = 100) -> list[FrameHash]:
    return [FrameHash(i, quality, h, float(i)) for i, h in enumerate(hexes)]


def _flip(hex_hash: str, bits: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    value = int(hex_hash, 16)
    for bit in rng.choice(256, bits, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


def _random_hex(rng: np.random.Generator) -> str:
    return rng.bytes(32).hex()


def test_low_quality_frames_are_dropped_and_an_empty_side_is_no_match():
    rng = np.random.default_rng(1)
    hexes = [_random_hex(rng) for _ in range(5)]
    match = COMPARE.compare(_frames(hexes, quality=49), _frames(hexes))
    assert (match.query_frames, match.query_percent, match.is_match) == (0, 0.0, False)
    assert COMPARE.compare([], _frames(hexes)).compared_percent == 0.0


def test_duplicates_count_once_as_in_the_reference():
    rng = np.random.default_rng(2)
    a, b, c = (_random_hex(rng) for _ in range(3))
    match = COMPARE.compare(_frames([a, a, a, b]), _frames([a, c]))
    assert (match.query_frames, match.query_matched) == (2, 1)
    assert match.query_percent == 50.0 and match.compared_percent == 50.0


def test_distance_31_matches_and_32_does_not():
    rng = np.random.default_rng(3)
    base = _random_hex(rng)
    near, far = _flip(base, 31, 1), _flip(base, 32, 2)
    assert COMPARE.compare(_frames([near]), _frames([base])).query_percent == 100
    assert COMPARE.compare(_frames([far]), _frames([base])).query_percent == 0


def test_pruning_folds_consecutive_near_identical_frames_and_keeps_the_count():
    rng = np.random.default_rng(4)
    a, b = _random_hex(rng), _random_hex(rng)
    frames = _frames([a, _flip(a, 2, 1), _flip(a, 1, 2), b, b, a])
    runs = prune(frames, 2)
    assert [(r.frame.frame_number, r.count, r.end) for r in runs] == [
        (0, 3, 2.0),
        (3, 2, 4.0),
        (5, 1, 5.0),
    ]
    assert [r.count for r in prune(frames, 0)] == [1, 1, 1, 2, 1]
    assert len(prune(frames, -1)) == 6
    # pruned runs compare like frames, and their spans widen the time ranges
    match = COMPARE.compare(runs, [Retained(f, 1, f.timestamp) for f in _frames([a])])
    assert match.query_ranges[0] == TimeRange(0.0, 2.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 40), st.integers(1, 40), st.integers(0, 40))
def test_vectorised_cross_match_agrees_with_brute_force(seed, nq, nc, bits):
    rng = np.random.default_rng(seed)
    compared = [_random_hex(rng) for _ in range(nc)]
    query = [
        _flip(compared[i % nc], bits, seed + i) if i % 2 else _random_hex(rng) for i in range(nq)
    ]
    q_hit, c_hit = _cross_match(query, compared, 31)
    assert list(q_hit) == [any(hamming(q, c) <= 31 for c in compared) for q in query]
    assert list(c_hit) == [any(hamming(q, c) <= 31 for q in query) for c in compared]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 12), st.integers(1, 12))
def test_swapping_query_and_compared_swaps_the_percentages(seed, nq, nc):
    rng = np.random.default_rng(seed)
    pool = [_random_hex(rng) for _ in range(6)]
    q = _frames([pool[int(i)] for i in rng.integers(0, 6, nq)])
    c = _frames([pool[int(i)] for i in rng.integers(0, 6, nc)])
    one, other = COMPARE.compare(q, c), COMPARE.compare(c, q)
    assert (one.query_percent, one.compared_percent) == (
        other.compared_percent,
        other.query_percent,
    )
    assert one.is_match == other.is_match  # the default rule (either side) is symmetric


def test_comparison_settings_are_checked():
    for bad in ({"distance": 300}, {"query_percent": 101}, {"weak_percent": -1}):
        with pytest.raises(ValueError):
            VpdqComparison(**bad)
