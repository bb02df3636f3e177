"""PDQ window hashes: geometry, the stored text form, the quality floor, and that the default
windows find a captioned / cropped / bordered copy of a generated scene and nothing else."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from vigil.hashing.pdq import pdq_hash
from vigil.hashing.windows import (
    FULL,
    MIN_QUALITY,
    WINDOW_SCALES,
    closest_pair,
    format_windows,
    parse_windows,
    window_box,
    window_hashes,
    window_label,
)
from vigil.synthetic.images import caption_bar, crop, encode, scene

THRESHOLD = 31


def all_hashes(img: Image.Image) -> dict[str, str]:
    """Label → hash of the full picture and of its default windows, as stored (quality ≥ 50)."""
    full = pdq_hash(img)
    out = {FULL: full.hash} if full.quality >= MIN_QUALITY else {}
    return out | {window_label(w): h for w, h in parse_windows(format_windows(window_hashes(img)))}


@pytest.fixture(scope="module")
def known() -> Image.Image:
    return scene(12, 640, 480)


@pytest.fixture(scope="module")
def known_hashes(known: Image.Image) -> dict[str, str]:
    return all_hashes(known)


def test_window_boxes() -> None:
    assert window_box(0.9, 1000, 500) == (50, 25, 950, 475)
    assert window_box("0.5", 100, 100) == (25, 25, 75, 75)
    assert window_box("t0.8", 100, 50) == (0, 0, 100, 40)
    assert window_box("b0.8", 100, 50) == (0, 10, 100, 50)
    assert window_box("l0.75", 100, 50) == (0, 0, 75, 50)
    assert window_box("r0.75", 100, 50) == (25, 0, 100, 50)
    for bad in ("1.0", "0", "x0.9", "t", "", "0.9x"):
        with pytest.raises(ValueError):
            window_box(bad, 100, 100)


def test_labels_are_canonical() -> None:
    assert [window_label(w) for w in (0.9, "0.90", "t0.850", 0.97)] == [
        "0.9",
        "0.9",
        "t0.85",
        "0.97",
    ]
    assert len(set(map(window_label, WINDOW_SCALES))) == len(WINDOW_SCALES)


def test_one_window_per_scale_in_order(known: Image.Image) -> None:
    windows = window_hashes(known)
    assert [w for w, _, _ in windows] == list(WINDOW_SCALES)
    assert all(len(h) == 64 and q >= MIN_QUALITY for _, h, q in windows)
    assert len({h for _, h, _ in windows}) == len(windows)
    # 640×480 is halved (short side 240 < WINDOW_REDUCE_BELOW) before the window is cut.
    half = known.reduce(2)
    assert window_hashes(known, (0.8,))[0][1] == pdq_hash(half.crop(window_box(0.8, 320, 240))).hash
    small = known.resize((320, 200))
    assert (
        window_hashes(small, (0.8,))[0][1] == pdq_hash(small.crop(window_box(0.8, 320, 200))).hash
    )


def test_text_form_round_trips(known: Image.Image) -> None:
    windows = window_hashes(known)
    text = format_windows(windows)
    assert text.count(",") == len(windows) - 1
    assert text.startswith(f"0.97:{windows[0][1]}")
    assert parse_windows(text) == [(w, h) for w, h, _ in windows]
    assert parse_windows(format_windows([(0.9, "ab" * 32, 80), ("t0.85", "CD" * 32, 90)])) == [
        (0.9, "ab" * 32),
        ("t0.85", "cd" * 32),
    ]
    assert parse_windows("") == []


@pytest.mark.parametrize(
    "text", ["0.9", "0.9:abc", "0.9:" + "zz" * 32, "1.5:" + "00" * 32, "q0.9:" + "00" * 32]
)
def test_malformed_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_windows(text)


def test_low_quality_windows_are_omitted() -> None:
    assert format_windows([(0.9, "00" * 32, MIN_QUALITY - 1), (0.8, "11" * 32, MIN_QUALITY)]) == (
        "0.8:" + "11" * 32
    )
    # A flat sky above a scene: the top window sees only flat pixels, the bottom one the scene.
    img = Image.new("RGB", (400, 400), (90, 140, 210))
    img.paste(scene(5, 400, 200), (0, 200))
    (_, _, top_q), (_, _, bottom_q) = window_hashes(img, ("t0.45", "b0.45"))
    assert top_q < MIN_QUALITY <= bottom_q
    assert [
        w for w, _ in parse_windows(format_windows(window_hashes(img, ("t0.45", "b0.45"))))
    ] == ["b0.45"]
    flat = Image.new("RGB", (300, 200), (128, 128, 128))
    assert format_windows(window_hashes(flat)) == ""


@pytest.mark.parametrize(
    "edit",
    [
        lambda img: caption_bar(img, 0.15, seed=3),
        lambda img: crop(img, 0.08),
        lambda img: crop(img, 0.16),
        lambda img: _bordered(img, 0.05),
    ],
    ids=["caption 15%", "crop 8%", "crop 16%", "border 5%"],
)
def test_edited_copy_matches_through_windows(
    known: Image.Image, known_hashes: dict[str, str], edit
) -> None:
    copy = _jpeg(edit(known))
    full = pdq_hash(copy).hash
    assert closest_pair({FULL: full}, {FULL: known_hashes[FULL]})[0] > THRESHOLD  # plain PDQ misses
    distance, _, _ = closest_pair(all_hashes(copy), known_hashes)
    assert distance <= THRESHOLD


def test_different_scenes_do_not_match(known_hashes: dict[str, str]) -> None:
    for seed in (21, 22, 23):
        other = scene(seed, 640, 480)
        for img in (other, caption_bar(other, 0.15, seed), crop(other, 0.1)):
            assert closest_pair(all_hashes(img), known_hashes)[0] > THRESHOLD


def test_closest_pair_reports_labels() -> None:
    a, b = "00" * 32, "ff" * 32
    assert closest_pair({FULL: a, "0.9": b}, {FULL: b}) == (0, "0.9", FULL)
    with pytest.raises(ValueError):
        closest_pair({}, {FULL: a})


def _bordered(img: Image.Image, fraction: float) -> Image.Image:
    w, h = img.size
    pad = round(min(w, h) * fraction)
    out = Image.new("RGB", (w + 2 * pad, h + 2 * pad), (30, 30, 30))
    out.paste(img, (pad, pad))
    return out


def _jpeg(img: Image.Image) -> Image.Image:
    """`img` as a messaging app passes it on: saved as a JPEG of quality 80 and decoded."""
    with Image.open(io.BytesIO(encode(img, "JPEG", quality=80))) as out:
        return out.convert("RGB")
