"""Matching files against hash sets: exact, PDQ near-duplicates (dihedral, windows), categories,
idempotent re-matching, and matching inside an ingest flush. SQLite and PostgreSQL."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select, update

from tests.pipeline.test_ingest import NullProgress
from tests.store.conftest import _record
from vigil.config import Limits, Settings
from vigil.errors import ConfigError
from vigil.hashing.conventions import pdq_version
from vigil.hashing.pdq import pdq_hash
from vigil.index import PdqIndex, codes_to_hex, hex_to_codes
from vigil.index.codec import flip_bits
from vigil.media.image import decode_for_hashing
from vigil.model import FileRecord
from vigil.pipeline import ingest as ingest_module
from vigil.pipeline.categorise import decide_category, resolve_all_categories
from vigil.pipeline.executor import InlineExecutor
from vigil.pipeline.match_rules import CRYPTO_VERSION
from vigil.pipeline.matcher import Matcher, match_case, matches_for
from vigil.store import CaseStore, RecordWriter, iter_files
from vigil.store.case import now_iso
from vigil.store.schema import files, hash_entries, hashsets, matches
from vigil.synthetic.images import encode, scene

VARIANTS = 16  # index_id = entry_id * 16 + variant, as store.hashsets packs it
NP = 0  # Project VIC non-pertinent
rng = np.random.default_rng(7)
ENTRY_FIELDS = ("md5", "sha1", "sha256", "pdq", "pdq_quality", "category", "name")


@pytest.fixture
def store(tmp_path, db_url):
    with CaseStore.create(tmp_path / "case", name="match test", db_url=db_url) as opened:
        yield opened


def random_hex(n: int = 1, seed: int | None = None) -> list[str]:
    gen = np.random.default_rng(seed) if seed is not None else rng
    return codes_to_hex(gen.integers(0, 256, (n, 32), dtype=np.uint8))


def near(hexa: str, bits: int) -> str:
    return codes_to_hex(flip_bits(hex_to_codes([hexa]), bits, rng))[0]


def add_set(
    store: CaseStore,
    name: str,
    entries: list[dict],
    *,
    kind: str = "alert",
    category: int | None = 1,
    version: int = 1,
    active: bool = True,
    windows: dict[int, list[tuple[int, str]]] | None = None,
) -> tuple[int, list[int]]:
    """Insert a set version and its entries as the importer would, and save its PDQ index
    (windows: entry position → [(variant, hex)]). Returns (set id, entry ids)."""
    with store.engine.begin() as conn:
        set_id = conn.execute(
            hashsets.insert().returning(hashsets.c.id),
            {
                "name": name,
                "version": version,
                "active": active,
                "kind": kind,
                "category": category,
                "format": "test",
                "format_version": "1",
                "source_file": f"{name}.txt",
                "source_sha256": "0" * 64,
                "entries": len(entries),
                "pdq_entries": sum(1 for e in entries if e.get("pdq")),
                "imported_at": now_iso(),
            },
        ).scalar_one()
        if entries:
            rows = [
                {"hashset_id": set_id, "list_category": e.get("category")}
                | {f: e.get(f) for f in ENTRY_FIELDS}
                for e in entries
            ]
            conn.execute(hash_entries.insert(), rows)
        entry_ids = list(
            conn.execute(
                select(hash_entries.c.id)
                .where(hash_entries.c.hashset_id == set_id)
                .order_by(hash_entries.c.id)
            ).scalars()
        )
    ids, hexes = [], []
    for pos, (entry_id, e) in enumerate(zip(entry_ids, entries, strict=True)):
        if e.get("pdq"):
            ids.append(entry_id * VARIANTS)
            hexes.append(e["pdq"])
        for variant, hexa in (windows or {}).get(pos, []):
            ids.append(entry_id * VARIANTS + variant)
            hexes.append(hexa)
    if ids:
        PdqIndex.build(np.array(ids), hex_to_codes(hexes)).save(store.index_dir(set_id))
    return set_id, entry_ids


def add_files(store: CaseStore, records: list[FileRecord]) -> list[int]:
    with RecordWriter(store) as writer:
        source = writer.source_id("/evidence", "/evidence", single_file=False)
        for rec in records:
            writer.add(source, rec.locator.relpath, [rec])
    with store.engine.connect() as conn:
        by_path = dict(conn.execute(select(files.c.path, files.c.id)).all())
    return [by_path[rec.path] for rec in records]


def match(store: CaseStore, file_ids: list[int], **settings) -> int:
    with Matcher(store, Settings(**settings)) as matcher, store.engine.begin() as conn:
        return matcher.match_files(conn, file_ids)


def rows_of(store: CaseStore, file_id: int) -> list:
    with store.engine.connect() as conn:
        return conn.execute(
            select(matches).where(matches.c.file_id == file_id).order_by(matches.c.id)
        ).all()


def category_of(store: CaseStore, file_id: int) -> int | None:
    with store.engine.connect() as conn:
        return conn.execute(select(files.c.category).where(files.c.id == file_id)).scalar()


def hashed(img: Image.Image):
    return pdq_hash(decode_for_hashing(encode(img, "PNG"), limits=Limits()).image)


def image_record(name: str, img: Image.Image) -> FileRecord:
    result = hashed(img)
    rec = _record(name, pdq=result.hash, pdq_quality=result.quality, pdq_dihedral=result.dihedral)
    rec.pdq_version = pdq_version(Limits())
    return rec


# -- exact ------------------------------------------------------------------------------------


def test_exact_md5_sha1_sha256(store):
    recs = [_record(f"f{i}.jpg") for i in range(5)]
    ids = add_files(store, recs)
    set_id, entries = add_set(
        store,
        "known",
        [
            {"md5": recs[0].md5},
            {"sha1": recs[1].sha1},
            {"sha256": recs[2].sha256},
            {"md5": recs[3].md5, "sha1": recs[3].sha1, "sha256": recs[3].sha256},
            {"md5": "f" * 32},
        ],
    )
    assert match(store, ids) == 6
    by_file = {fid: rows_of(store, fid) for fid in ids}
    assert [r.algorithm for r in by_file[ids[0]]] == ["md5"]
    assert [r.algorithm for r in by_file[ids[1]]] == ["sha1"]
    assert [r.algorithm for r in by_file[ids[2]]] == ["sha256"]
    assert sorted(r.algorithm for r in by_file[ids[3]]) == ["md5", "sha1", "sha256"]
    assert by_file[ids[4]] == []
    row = by_file[ids[0]][0]
    assert (row.hashset_id, row.entry_id, row.algorithm_version) == (
        set_id,
        entries[0],
        CRYPTO_VERSION,
    )
    assert (row.distance, row.threshold, row.transform, row.category) == (0, 0, "original", 1)
    assert match(store, ids) == 0  # idempotent


def test_null_hashes_never_match(store):
    (fid,) = add_files(store, [_record("err.jpg", md5=None, sha1=None, sha256=None, pdq=None)])
    add_set(store, "known", [{"md5": None, "sha1": None, "sha256": None, "name": "x"}])
    assert match(store, [fid]) == 0


# -- PDQ ------------------------------------------------------------------------------------

T = Image.Transpose
TRANSFORMS = {
    "original": None,
    "mirror": T.FLIP_LEFT_RIGHT,
    "flip": T.FLIP_TOP_BOTTOM,
    "rot90": T.ROTATE_90,
    "rot180": T.ROTATE_180,
    "rot270": T.ROTATE_270,
    "transpose": T.TRANSPOSE,
    "transverse": T.TRANSVERSE,
}


def test_mirrored_and_rotated_copies_match_with_their_transform(store):
    img = scene(11, 320, 240)
    original = hashed(img)
    assert original.quality >= 50
    recs = [
        image_record(f"{name}.png", img if t is None else img.transpose(t))
        for name, t in TRANSFORMS.items()
    ]
    ids = add_files(store, recs)
    unrelated = add_files(store, [image_record("other.png", scene(12, 320, 240))])
    add_set(store, "pdq-only", [{"pdq": original.hash, "pdq_quality": original.quality}])
    assert match(store, ids + unrelated) == len(TRANSFORMS)
    for name, fid in zip(TRANSFORMS, ids, strict=True):
        (row,) = rows_of(store, fid)
        assert (row.algorithm, row.transform) == ("pdq", name), name
        assert row.algorithm_version == pdq_version(Limits()) and row.threshold == 31
        assert row.distance <= 31
    assert rows_of(store, unrelated[0]) == []


def test_flat_image_is_exact_matched_and_only_weakly_near_matched(store):
    flat = hashed(Image.new("RGB", (200, 200), (120, 120, 120)))
    assert flat.quality < 50
    rec = _record("flat.png", pdq=flat.hash, pdq_quality=flat.quality, pdq_dihedral=flat.dihedral)
    (fid,) = add_files(store, [rec])
    add_set(store, "known", [{"md5": rec.md5}, {"pdq": flat.hash}], category=1)
    assert match(store, [fid]) == 2
    rows = [(r.algorithm, r.strength, r.category) for r in rows_of(store, fid)]
    assert sorted(rows) == [("md5", "strong", 1), ("pdq", "weak", None)]
    assert category_of(store, fid) == 1  # the exact match decides; the weak one never does


def test_threshold_is_respected(store):
    known = random_hex()[0]
    (fid,) = add_files(store, [_record("n.jpg", pdq=near(known, 32))])
    add_set(store, "known", [{"pdq": known}])
    assert match(store, [fid], pdq_threshold=31, weak_pdq_distance=0) == 0
    assert match(store, [fid], pdq_threshold=32) == 1
    (row,) = rows_of(store, fid)
    assert (row.distance, row.threshold, row.transform) == (32, 32, "original")
    assert row.strength == "strong"
    with pytest.raises(ConfigError):
        Matcher(store, Settings(pdq_threshold=300))


def test_best_hit_per_entry_is_kept(store):
    known = random_hex()[0]
    # the file's own hash is 20 bits off, its "mirror" dihedral hash 3 bits off
    dihedral = (near(known, 20), *random_hex(4), near(known, 3), *random_hex(2))
    rec = _record("d.jpg", pdq=dihedral[0], pdq_dihedral=dihedral)
    (fid,) = add_files(store, [rec])
    add_set(store, "known", [{"pdq": known}])
    assert match(store, [fid]) == 1
    (row,) = rows_of(store, fid)
    assert (row.distance, row.transform) == (3, "mirror")


def test_window_hashes_match_as_crops(store):
    known_full, known_window, case_window = random_hex(3)
    recs = [_record("a.jpg"), _record("b.jpg", pdq=near(known_window, 2))]
    ids = add_files(store, recs)
    with store.engine.begin() as conn:
        conn.execute(
            update(files)
            .where(files.c.id == ids[0])
            .values(pdq_windows=f"0.80:{near(known_full, 1)},0.6:{case_window}")
        )
    add_set(store, "known", [{"pdq": known_full}, {"pdq": random_hex()[0]}],
            windows={1: [(1, known_window)]})  # fmt: skip
    assert match(store, ids) == 2
    (a,) = rows_of(store, ids[0])
    (b,) = rows_of(store, ids[1])
    assert (a.transform, a.distance) == ("crop:0.8", 1)
    assert b.transform.startswith("crop:known-") and b.distance == 2


def test_a_case_window_matches_a_known_window(store):
    known_full, known_window = random_hex(2)
    (fid,) = add_files(store, [_record("c.jpg")])
    with store.engine.begin() as conn:
        conn.execute(
            update(files)
            .where(files.c.id == fid)
            .values(pdq_windows=f"0.91:{near(known_window, 3)}")
        )
    add_set(store, "known", [{"pdq": known_full}], windows={0: [(1, known_window)]})
    assert match(store, [fid]) == 1
    (row,) = rows_of(store, fid)
    assert row.distance == 3
    assert row.transform == "crop:0.91+crop:known-0.97"


# -- categories -----------------------------------------------------------------------------


def test_ignorable_only_is_non_pertinent_and_reference_sets_never_categorise(store):
    recs = [_record(f"f{i}.jpg") for i in range(3)]
    ids = add_files(store, recs)
    add_set(store, "nsrl", [{"md5": recs[0].md5}, {"md5": recs[2].md5}], kind="ignorable",
            category=None)  # fmt: skip
    add_set(store, "ref", [{"md5": recs[1].md5, "category": 1}], kind="reference", category=1)
    add_set(store, "alert", [{"md5": recs[2].md5}], category=2)
    match(store, ids)
    assert [category_of(store, fid) for fid in ids] == [NP, None, 2]
    assert rows_of(store, ids[0])[0].category == NP
    assert rows_of(store, ids[1])[0].category is None


def test_alert_category_entry_own_and_most_severe(store):
    recs = [_record(f"f{i}.jpg") for i in range(3)]
    ids = add_files(store, recs)
    add_set(
        store,
        "vics",
        [{"md5": recs[0].md5}, {"md5": recs[1].md5, "category": 3}, {"md5": recs[2].md5}],
        category=2,
    )
    add_set(store, "other", [{"sha1": recs[2].sha1, "category": 1}], category=None)
    match(store, ids)
    assert [category_of(store, fid) for fid in ids] == [2, 3, 1]


def test_decide_category_rule():
    from vigil.categories import PROJECT_VIC as S

    assert decide_category(S, []) is None
    assert decide_category(S, [("ignorable", 0)]) == 0
    assert decide_category(S, [("reference", None), ("reference", 1)]) is None
    assert decide_category(S, [("alert", 4), ("alert", 2), ("ignorable", 0)]) == 2
    assert decide_category(S, [("alert", 0), ("alert", 1)]) == 1
    assert decide_category(S, [("alert", None), ("ignorable", 0)]) is None  # needs a human
    assert decide_category(S, [("alert", 9)]) == 9  # unknown codes are kept, not dropped


# -- whole case -----------------------------------------------------------------------------


def test_match_case_is_idempotent_and_rematch_drops_what_no_longer_holds(store):
    known = random_hex(2)
    recs = [
        _record("exact.jpg"),
        _record("near25.jpg", pdq=near(known[0], 25)),
        _record("near5.jpg", pdq=near(known[1], 5)),
        _record("none.jpg"),
    ]
    ids = add_files(store, recs)
    add_set(store, "known", [{"md5": recs[0].md5}, {"pdq": known[0]}, {"pdq": known[1]}])
    progress: list[int] = []
    first = match_case(store, on_progress=progress.append)
    assert (first.files, first.added, first.removed) == (4, 3, 0)
    assert sum(progress) == 4
    assert first.found == {("known v1", "md5"): 1, ("known v1", "pdq"): 2}
    assert first.categorised == {1: 3}
    again = match_case(store)
    assert (again.added, again.removed) == (0, 0)
    lower = match_case(store, Settings(pdq_threshold=20, weak_pdq_distance=24))
    assert (lower.added, lower.removed) == (0, 1)
    assert rows_of(store, ids[1]) == [] and category_of(store, ids[1]) is None
    weak = match_case(store, Settings(pdq_threshold=20))  # 25 bits: now a weak match
    assert (weak.added, weak.removed) == (1, 0)
    ((strength, threshold, category),) = [
        (r.strength, r.threshold, r.category) for r in rows_of(store, ids[1])
    ]
    assert (strength, threshold, category) == ("weak", 40, None)
    assert [category_of(store, fid) for fid in ids] == [1, None, 1, None]


def test_new_version_replaces_the_old_one(store):
    recs = [_record("a.jpg"), _record("b.jpg")]
    ids = add_files(store, recs)
    v1, _ = add_set(store, "vics", [{"md5": recs[0].md5}, {"md5": recs[1].md5}], category=1)
    match_case(store)
    assert [category_of(store, f) for f in ids] == [1, 1]
    # the importer's way: v2 in, then v1 inactive, its entries dropped, its matches kept
    v2, _ = add_set(store, "vics", [{"md5": recs[0].md5, "category": 2}], version=2)
    with store.engine.begin() as conn:
        conn.execute(update(hashsets).where(hashsets.c.id == v1).values(active=False))
        conn.execute(hash_entries.delete().where(hash_entries.c.hashset_id == v1))
    with pytest.raises(ConfigError):
        match_case(store, hashset_ids=[v1])
    summary = match_case(store, hashset_ids=[v2])
    assert (summary.added, summary.removed) == (1, 0)
    assert [category_of(store, f) for f in ids] == [2, None]
    with store.engine.connect() as conn:
        shown = matches_for(conn, ids)
        history = matches_for(conn, ids, include_replaced=True)
    assert shown == {
        ids[0]: [
            {
                "hashset": "vics",
                "hashset_version": 2,
                "kind": "alert",
                "algorithm": "md5",
                "distance": 0,
                "transform": "original",
                "category": 2,
                "strength": "strong",
                "list_category": 2,
            }
        ]
    }
    assert len(history[ids[0]]) == 2 and history[ids[1]][0]["hashset_version"] == 1


def test_resolve_all_categories_after_a_set_is_gone(store):
    recs = [_record("a.jpg")]
    ids = add_files(store, recs)
    set_id, _ = add_set(store, "vics", [{"md5": recs[0].md5}], category=1)
    match_case(store)
    with store.engine.begin() as conn:
        conn.execute(update(hashsets).where(hashsets.c.id == set_id).values(active=False))
    resolve_all_categories(store, ids)
    assert category_of(store, ids[0]) is None


def test_iter_files_shows_matches_and_category(store):
    img = scene(21, 320, 240)
    rec = image_record("m.png", img.transpose(T.FLIP_LEFT_RIGHT))
    add_files(store, [rec, _record("x.jpg")])
    add_set(store, "nsrl", [{"pdq": hashed(img).hash}], kind="ignorable", category=None)
    match_case(store)
    rows = {r["path"]: r for r in iter_files(store, matches=matches_for)}
    (m,) = rows["m.png"]["matches"]
    assert (m["hashset"], m["kind"], m["algorithm"], m["transform"]) == (
        "nsrl",
        "ignorable",
        "pdq",
        "mirror",
    )
    assert rows["m.png"]["category"] == NP
    assert rows["x.jpg"]["matches"] == [] and rows["x.jpg"]["category"] is None


# -- inside ingest ---------------------------------------------------------------------------


def test_matching_inside_the_writer_flush(store):
    recs = [_record(f"f{i}.jpg") for i in range(5)]
    add_set(store, "known", [{"md5": recs[1].md5}, {"sha256": recs[3].sha256}])
    with Matcher(store) as matcher, RecordWriter(store, batch_size=2) as writer:
        writer.on_flush = matcher.match_files
        source = writer.source_id("/e", "/e", single_file=False)
        for rec in recs:
            writer.add(source, rec.locator.relpath, [rec])
            writer.add(source, rec.locator.relpath, [rec])  # a replay inserts nothing twice
    found = {r["path"]: r for r in iter_files(store, matches=matches_for)}
    assert [len(found[r.path]["matches"]) for r in recs] == [0, 1, 0, 1, 0]
    assert found["f1.jpg"]["category"] == 1


def test_ingest_matches_as_it_goes(tmp_path, store):
    """ingest() wires the matcher into its writer's flush itself: nothing patched here."""
    src = tmp_path / "evidence"
    src.mkdir()
    img = scene(5, 320, 240)
    (src / "orig.png").write_bytes(encode(img, "PNG"))
    (src / "rot.png").write_bytes(encode(img.transpose(T.ROTATE_90), "PNG"))
    (src / "other.png").write_bytes(encode(scene(6, 320, 240), "PNG"))
    add_set(store, "known", [{"pdq": hashed(img).hash}], category=2)

    ingest_module.ingest(
        store, [str(src)], Settings(), progress=NullProgress(), executor=InlineExecutor()
    )
    found = {r["path"]: r for r in iter_files(store, matches=matches_for)}
    assert [m["transform"] for m in found["orig.png"]["matches"]] == ["original"]
    assert [m["transform"] for m in found["rot.png"]["matches"]] == ["rot90"]
    assert found["other.png"]["matches"] == [] and found["other.png"]["category"] is None
    assert found["rot.png"]["category"] == 2


# -- performance sanity ----------------------------------------------------------------------


@pytest.mark.slow
def test_performance_2000_files_against_100k_entries(store, capsys):
    n_files, n_entries = 2000, 100_000
    gen = np.random.default_rng(1)
    file_codes = gen.integers(0, 256, (n_files * 8, 32), dtype=np.uint8)
    file_hex = codes_to_hex(file_codes)
    recs = []
    for i in range(n_files):
        dihedral = tuple(file_hex[i * 8 : i * 8 + 8])
        recs.append(_record(f"p/{i}.jpg", pdq=dihedral[0], pdq_dihedral=dihedral))
    ids = add_files(store, recs)
    entry_hex = codes_to_hex(gen.integers(0, 256, (n_entries, 32), dtype=np.uint8))
    md5s = [f"{i:032x}" for i in range(n_entries)]
    for i in range(0, 1000):  # 1000 exact and 1000 near hits among the entries
        md5s[i * 50] = recs[i].md5
        entry_hex[i * 50 + 1] = near(recs[1000 + i].pdq_dihedral[i % 8], 10)
    add_set(store, "crypto", [{"md5": m} for m in md5s])
    add_set(store, "both", [{"md5": m, "pdq": h} for m, h in zip(md5s, entry_hex, strict=True)])
    timings = {}
    for label in ("crypto", "all"):
        with Matcher(store) as m:
            if label == "crypto":
                m._indexes.clear()  # exact only
            started = time.perf_counter()
            with store.engine.begin() as conn:
                added = m.match_files(conn, ids)
            timings[label] = (time.perf_counter() - started, added)
        with store.engine.begin() as conn:
            conn.execute(matches.delete())
    with capsys.disabled():
        for label, (secs, added) in timings.items():
            print(
                f"\n[{store.engine.dialect.name}] {label}: {n_files} files in {secs:.2f} s "
                f"({n_files / secs:,.0f} files/s), {added} matches"
            )
    assert timings["crypto"][1] == 2000  # md5 in both sets
    assert timings["all"][1] == 3000
