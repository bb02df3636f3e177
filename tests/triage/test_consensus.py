"""Consensus: votes that become a decision once enough reviewers agree, and the queue of
contents whose reviewers disagree, on a real case (a known picture matched by an md5 list
and copied into a zip, two near-copies of it clustered with it, three unrelated pictures)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from tests.helpers import image_bytes
from vigil.cli.app import app
from vigil.errors import ConfigError
from vigil.store import CaseStore
from vigil.store.audit import verify
from vigil.store.case import now_iso
from vigil.store.schema import audit, decisions, files, votes
from vigil.synthetic.images import crop, scene
from vigil.triage import consensus
from vigil.triage.consensus import VoteOutcome, disagreements, pending, vote
from vigil.triage.decisions import decide, history

runner = CliRunner()


def vigil(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def records(case: Path) -> dict[str, dict]:
    return {r["path"]: r for r in map(json.loads, vigil("files", case).splitlines())}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("consensus")
    evidence = tmp / "evidence"
    evidence.mkdir()
    original = scene(10, 640, 480)
    known = image_bytes(original, "JPEG", quality=90)
    (evidence / "known.jpg").write_bytes(known)
    member = io.BytesIO()
    with zipfile.ZipFile(member, "w") as zf:
        zf.writestr("inner/copy.jpg", known)
    (evidence / "copies.zip").write_bytes(member.getvalue())
    (evidence / "smaller.jpg").write_bytes(image_bytes(original.resize((400, 300)), "JPEG"))
    (evidence / "cropped.jpg").write_bytes(image_bytes(crop(original, 0.1), "JPEG"))
    for seed in (11, 12, 13):
        (evidence / f"other{seed}.png").write_bytes(image_bytes(scene(seed, 320, 240), "PNG"))
    listed = tmp / "known.md5"
    listed.write_text(f"{hashlib.md5(known).hexdigest()}  known.jpg\n")
    case = tmp / "case"
    vigil("case", "create", case)
    vigil("hashset", "import", case, listed, "--kind", "alert", "--category", "1")
    vigil("ingest", case, evidence, "--workers", "1")
    return case


@pytest.fixture
def case(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built case for each test: votes change it."""
    return Path(shutil.copytree(built, tmp_path / "case"))


def sha(case: Path, path: str = "known.jpg") -> str:
    return records(case)[path]["sha256"]


def verdicts(case: Path, sha256: str) -> set[tuple]:
    return {
        (r["state"], r["category"], r["category_source"])
        for r in records(case).values()
        if r["sha256"] == sha256
    }


def test_three_agreeing_votes_make_a_decision_that_every_copy_takes(case: Path) -> None:
    known = sha(case)
    assert verdicts(case, known) == {("matched", 1, "match")}
    with CaseStore.open(case) as store:
        first = vote(store, 2, sha256=known, by="cy", note="looked twice", needed=3)
        second = vote(store, 2, sha256=known, by="ana", needed=3)
        assert (first.decided, second.decided) == (0, 0) and history(store, known) == []
        assert [v["voted_by"] for v in pending(store, known)] == ["cy", "ana"]
        assert verdicts(case, known) == {("matched", 1, "match")}  # two of three: no change
        third = vote(store, 2, sha256=known, by="ben", needed=3)
        (decision,) = history(store, known)
    assert third == VoteOutcome(1, 1, 0, 2, third.label)
    assert (decision["category"], decision["decided_by"], decision["note"]) == (
        2,
        "consensus:ana+ben+cy",
        "consensus of 3 agreeing votes",
    )
    assert verdicts(case, known) == {("decided", 2, "decision")}  # the zip member too
    assert len(records(case)) == 8


def test_two_agreeing_and_one_dissenting_vote_wait_in_the_disagreements(case: Path) -> None:
    known = sha(case)
    with CaseStore.open(case) as store:
        vote(store, 2, sha256=known, by="ana", needed=3)
        vote(store, 2, sha256=known, by="ben", needed=3)
        dissent = vote(store, 3, sha256=known, by="cy", note="not sure", needed=3)
        assert (dissent.decided, dissent.disagreements) == (0, 1)
        assert history(store, known) == []
        (queued,) = disagreements(store)
        with store.engine.connect() as conn:
            held = conn.execute(select(files.c.id).where(files.c.sha256 == known)).scalars()
            first = min(held)
    assert (queued["sha256"], queued["file_count"], queued["first_file_id"]) == (known, 2, first)
    assert [(v["voted_by"], v["category"], v["note"]) for v in queued["votes"]] == [
        ("ana", 2, None),
        ("ben", 2, None),
        ("cy", 3, "not sure"),
    ]
    assert verdicts(case, known) == {("matched", 1, "match")}


def test_a_reviewer_voting_twice_counts_once(case: Path) -> None:
    known = sha(case)
    with CaseStore.open(case) as store:
        vote(store, 2, sha256=known, by="ana", needed=3)
        again = vote(store, 2, sha256=known, by="ana", needed=3)
        last = vote(store, 2, sha256=known, by="ben", needed=3)
        assert (again.decided, last.decided) == (0, 0) and history(store, known) == []
        assert [v["voted_by"] for v in pending(store, known)] == ["ana", "ben"]
        with store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(votes)).scalar() == 3


def test_a_changed_vote_replaces_the_earlier_one_and_settles_the_disagreement(
    case: Path,
) -> None:
    known, other = sha(case), sha(case, "other11.png")
    with CaseStore.open(case) as store:
        for who, category in (("ana", 2), ("ben", 2), ("cy", 3)):
            vote(store, category, sha256=known, by=who, needed=3)
        vote(store, 4, sha256=other, by="ana", needed=3)
        vote(store, 0, sha256=other, by="ben", needed=3)
        assert {d["sha256"] for d in disagreements(store)} == {known, other}
        changed = vote(store, 2, sha256=known, by="cy", needed=3)
        assert (changed.decided, changed.disagreements) == (1, 0)
        assert [d["decided_by"] for d in history(store, known)] == ["consensus:ana+ben+cy"]
        vote(store, 4, sha256=other, by="ben", needed=3)  # two agree now, and no one dissents
        assert disagreements(store) == []
        assert history(store, other) == []
        assert [(v["voted_by"], v["category"]) for v in pending(store, other)] == [
            ("ana", 4),
            ("ben", 4),
        ]


def test_a_group_vote_reaches_every_content_of_the_group(case: Path) -> None:
    rows = records(case)
    label = rows["known.jpg"]["group"]
    members = {r["sha256"] for r in rows.values() if r["group"] == label}
    assert label.startswith("c") and len(members) == 3
    with CaseStore.open(case) as store:
        for who in ("ana", "ben"):
            assert vote(store, 3, group=label, by=who, needed=3).decided == 0
        done = vote(store, 3, group=label, by="cy", needed=3)
        assert (done.contents, done.decided) == (3, 3)
        for h in members:
            (decision,) = history(store, h)
            assert (decision["decided_by"], decision["via_group"]) == (
                "consensus:ana+ben+cy",
                label,
            )
    assert {v for h in members for v in verdicts(case, h)} == {("decided", 3, "decision")}


def test_with_one_reviewer_needed_a_vote_is_a_decision(case: Path, built: Path) -> None:
    known = sha(case)
    twin = Path(shutil.copytree(built, case.parent / "twin"))
    with CaseStore.open(case) as store:
        voted = vote(store, 2, sha256=known, by="ana", note="clear", needed=1)
        assert pending(store, known) == []  # no vote kept: it was decided at once
        trail = history(store, known)
    with CaseStore.open(twin) as store:
        decided = decide(store, 2, sha256=known, by="ana", note="clear")
        expected = history(store, known)
    assert voted == VoteOutcome(decided.contents, decided.contents, 0, 2, decided.label)
    strip = [{k: v for k, v in d.items() if k not in ("id", "decided_at")} for d in trail]
    assert strip == [
        {k: v for k, v in d.items() if k not in ("id", "decided_at")} for d in expected
    ]
    assert records(case) == records(twin)
    assert actions(case) == actions(twin)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"category": 77, "sha256": "KNOWN"}, "not in the projectvic scheme"),
        ({"category": 2, "sha256": "ab" * 32}, "no file in this case"),
        ({"category": 2, "sha256": "xyz"}, "not a SHA-256"),
        ({"category": 2}, "exactly one of"),
        ({"category": 2, "sha256": "KNOWN", "by": "ana+ben"}, "not a reviewer name"),
        ({"category": 2, "sha256": "KNOWN", "by": " "}, "needs the name"),
        ({"category": 2, "sha256": "KNOWN", "needed": 0}, "at least one reviewer"),
    ],
)
def test_bad_votes_are_refused_and_leave_no_trace(case: Path, kwargs: dict, text: str) -> None:
    args = {"by": "ana", "needed": 3} | kwargs
    if args.get("sha256") == "KNOWN":
        args["sha256"] = sha(case)
    category = args.pop("category")
    with CaseStore.open(case) as store:
        with pytest.raises(ConfigError, match=text):
            vote(store, category, **args)
        with store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(votes)).scalar() == 0
    assert "vote" not in actions(case)


def test_every_vote_and_consensus_decision_is_in_an_audit_chain_that_verifies(
    case: Path,
) -> None:
    known = sha(case)
    with CaseStore.open(case) as store:
        for who in ("ana", "ben", "cy"):
            vote(store, 2, sha256=known, by=who, needed=3)
        assert verify(store).ok
        with store.engine.connect() as conn:
            trail = conn.execute(
                select(audit.c.actor, audit.c.action, audit.c.subject, audit.c.detail)
                .where(audit.c.action.in_(("vote", "decision")))
                .order_by(audit.c.id)
            ).all()
    assert [(a, act, subject) for a, act, subject, _ in trail] == [
        ("ana", "vote", known),
        ("ben", "vote", known),
        ("cy", "vote", known),
        ("consensus:ana+ben+cy", "decision", known),
    ]
    assert json.loads(trail[2].detail)["decided"] == 1


def test_a_vote_never_revives_an_agreement_a_later_decision_set_aside(case: Path) -> None:
    known = sha(case)
    with CaseStore.open(case) as store:
        for who in ("ana", "ben", "cy"):
            vote(store, 2, sha256=known, by=who, needed=3)
        decide(store, 4, sha256=known, by="lead")
        late = vote(store, 3, sha256=known, by="dan", needed=3)
        assert late.decided == 0
        assert [d["category"] for d in history(store, known)] == [2, 4]
        assert [d["sha256"] for d in disagreements(store)] == [known]  # dan's vote is newer
        decide(store, 4, sha256=known, by="lead")
        assert disagreements(store) == []  # a decision newer than every vote settles it


def test_agreement_on_the_category_already_decided_records_nothing_new(case: Path) -> None:
    known = sha(case)
    with CaseStore.open(case) as store:
        for who in ("ana", "ben", "cy"):
            vote(store, 2, sha256=known, by=who, needed=3)
        fourth = vote(store, 2, sha256=known, by="dan", needed=3)
        assert (fourth.decided, fourth.disagreements) == (0, 0)
        assert len(history(store, known)) == 1


def test_an_undone_decision_sends_a_disagreement_back_to_the_queue(case: Path) -> None:
    known = sha(case)
    with CaseStore.open(case) as store:
        vote(store, 2, sha256=known, by="ana", needed=3)
        vote(store, 3, sha256=known, by="ben", needed=3)
        decide(store, 2, sha256=known, by="lead")
        assert disagreements(store) == []
        with store.engine.begin() as conn:  # an undo: a decision without a category
            conn.execute(
                insert(decisions).values(
                    sha256=known,
                    category=None,
                    scheme=store.scheme.name,
                    decided_by="lead",
                    decided_at=now_iso(),
                )
            )
        assert [d["sha256"] for d in disagreements(store)] == [known]


def test_the_disagreements_page_by_sha256_without_reading_all_votes_at_once(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = records(case)
    hashes = sorted({r["sha256"] for r in rows.values()})
    split, agreed = hashes[::2], hashes[1::2]
    with CaseStore.open(case) as store:
        for h in split:
            vote(store, 2, sha256=h, by="ana", needed=3)
            vote(store, 3, sha256=h, by="ben", needed=3)
        for h in agreed:
            vote(store, 2, sha256=h, by="ana", needed=3)
            vote(store, 2, sha256=h, by="ben", needed=3)
        assert [d["sha256"] for d in disagreements(store, limit=1)] == split[:1]
        monkeypatch.setattr(consensus, "_PAGE", 2)  # several pages, some without a match
        seen, after = [], None
        while page := disagreements(store, limit=2, after=after):
            assert len(page) <= 2
            seen += [d["sha256"] for d in page]
            after = page[-1]["sha256"]
        assert seen == split
        assert [d["sha256"] for d in disagreements(store, limit=100)] == split
        with pytest.raises(ConfigError):
            disagreements(store, limit=0)


def actions(case: Path) -> list[tuple]:
    with CaseStore.open(case) as store, store.engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(audit.c.actor, audit.c.action, audit.c.subject).order_by(audit.c.id)
            )
        ]
