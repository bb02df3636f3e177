"""Decisions apart from matches, the three review states, and weak matches (issue 8), through
real ingests of generated benign pictures and the CLI."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import ImageEnhance, ImageFilter
from typer.testing import CliRunner

from tests.helpers import gradient_image, image_bytes
from vigil.categories import PROJECT_VIC
from vigil.cli.app import app
from vigil.hashing.pdq import hamming, pdq_hash
from vigil.pipeline.categorise import Found, file_verdict
from vigil.store import CaseStore
from vigil.triage.decisions import decide, history

runner = CliRunner()


def vigil(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def records(case: Path) -> dict[str, dict]:
    return {r["path"]: r for r in map(json.loads, vigil("files", case).splitlines())}


def low_detail():
    """A soft, low-contrast picture whose PDQ quality is 34, and its greyscale copy 4 bits
    away: the issue's measured case of a known picture left silently unmatched."""
    return ImageEnhance.Contrast(
        gradient_image(0, (400, 300)).filter(ImageFilter.GaussianBlur(14))
    ).enhance(0.5)


@pytest.fixture
def case(tmp_path: Path) -> Path:
    """Evidence: a known picture (exact), its copy in a zip, a low-detail picture's
    greyscale copy (weak), a picture an alert list holds without a category, and an unknown
    picture. Lists: an alert VICS-less md5 list with category 1, a PDQ list with the
    low-detail original, an md5 list with no category."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    known = image_bytes(gradient_image(1), "JPEG", quality=90)
    uncategorised = image_bytes(gradient_image(2), "PNG")
    (evidence / "known.jpg").write_bytes(known)
    member = io.BytesIO()
    with zipfile.ZipFile(member, "w") as zf:
        zf.writestr("inner/known-copy.jpg", known)
    (evidence / "copies.zip").write_bytes(member.getvalue())
    original = low_detail()
    (evidence / "grey.png").write_bytes(image_bytes(original.convert("L").convert("RGB"), "PNG"))
    (evidence / "listed.png").write_bytes(uncategorised)
    (evidence / "unknown.png").write_bytes(image_bytes(gradient_image(3), "PNG"))
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "known.md5").write_text(f"{hashlib.md5(known).hexdigest()}  known.jpg\n")
    (lists / "nocat.md5").write_text(f"{hashlib.md5(uncategorised).hexdigest()}  listed.png\n")
    first = pdq_hash(original)
    assert first.quality < 50
    (lists / "low.pdq").write_text(f"{first.hash},{first.quality}\n")
    c = tmp_path / "case"
    vigil("case", "create", c)
    vigil("hashset", "import", c, lists / "known.md5", "--kind", "alert", "--category", "1")
    vigil("hashset", "import", c, lists / "nocat.md5", "--kind", "alert")
    vigil("hashset", "import", c, lists / "low.pdq", "--kind", "alert", "--category", "1")
    vigil("ingest", c, evidence, "--workers", "1")
    return c


def test_the_three_states_are_told_apart_in_the_store_and_in_vigil_files(case: Path) -> None:
    rows = records(case)
    state = {p: (r["state"], r["category"], r["category_source"]) for p, r in rows.items()}
    assert state["known.jpg"] == ("matched", 1, "match")
    assert state["copies.zip!inner/known-copy.jpg"] == ("matched", 1, "match")
    assert state["listed.png"] == ("review", None, None)
    assert rows["listed.png"]["review_reason"].startswith("alert match without a category")
    assert state["unknown.png"] == ("review", None, None)
    assert rows["unknown.png"]["review_reason"] == "no match in any hash set"


def test_a_low_quality_near_copy_is_a_weak_match_that_never_categorises(case: Path) -> None:
    grey = records(case)["grey.png"]
    assert grey["pdq_quality"] < 50
    (match,) = [m for m in grey["matches"] if m["algorithm"] == "pdq"]
    assert match["strength"] == "weak" and match["category"] is None and match["distance"] <= 10
    assert hamming(grey["pdq"], pdq_hash(low_detail()).hash) == match["distance"]
    assert (grey["state"], grey["category"]) == ("review", None)
    assert grey["review_reason"].startswith("weak match: low")


def test_one_decision_covers_every_copy_is_recorded_once_and_survives_a_rematch(
    case: Path,
) -> None:
    sha = records(case)["known.jpg"]["sha256"]
    out = vigil(
        "decide", case, "--sha256", sha, "--category", "2", "--note", "checked", "--by", "ana"
    )
    assert "1 content(s) decided, covering 2 file(s)" in " ".join(out.split())
    vigil("match", case)  # matches say 1; the person said 2, and the person wins
    rows = records(case)
    for path in ("known.jpg", "copies.zip!inner/known-copy.jpg"):
        assert (rows[path]["state"], rows[path]["category"], rows[path]["category_source"]) == (
            "decided",
            2,
            "decision",
        )
        assert rows[path]["matches"][0]["category"] == 1  # the match row still says what it found
    with CaseStore.open(case) as store:
        decide(store, 4, sha256=sha, by="ben")
        (decided,) = {r["category"] for r in records(case).values() if r["sha256"] == sha}
        assert decided == 4  # the latest decision counts
        trail = history(store, sha)
    assert [(d["category"], d["decided_by"], d["note"]) for d in trail] == [
        (2, "ana", "checked"),
        (4, "ben", None),
    ]


def test_a_group_decision_reaches_every_content_of_the_group(case: Path) -> None:
    rows = records(case)
    label = rows["unknown.png"]["group"]
    assert label.startswith("f")
    vigil("decide", case, "--group", label, "--category", "0", "--by", "ana")
    assert records(case)["unknown.png"]["state"] == "decided"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("--sha256", "ab" * 32, "--category", "1"), "no file in this case"),
        (("--sha256", "xyz", "--category", "1"), "not a SHA-256"),
        (("--group", "s9999", "--category", "1"), "no group s9999"),
        (("--group", "bad", "--category", "1"), "not a group label"),
        (("--group", "f1", "--category", "77"), "not in the projectvic scheme"),
        (("--category", "1"), "exactly one of"),
    ],
)
def test_bad_decisions_are_refused_with_a_clear_message(case: Path, args, text) -> None:
    result = runner.invoke(app, ["decide", str(case), *args, "--by", "ana"])
    assert result.exit_code == 2 and text in result.output
    assert "Traceback" not in result.output


def test_the_verdict_rule() -> None:
    S = PROJECT_VIC
    assert file_verdict(S, []).reason == "no match in any hash set"
    assert file_verdict(S, [Found("ignorable", 0)]).state == "matched"
    weak = Found("alert", None, "weak", "known", 35)
    assert file_verdict(S, [Found("ignorable", 0), weak]).state == "review"  # not cleared
    assert file_verdict(S, [Found("alert", 1), weak]).category == 1
    assert file_verdict(S, [weak], decision=0).state == "decided"
    assert file_verdict(S, [Found("reference", None, "weak", "ref", 3)]).reason == (
        "no match in any hash set"  # only an alert list's weak match asks for a look
    )
