"""Visual clusters: the batched, indexed engine against a one-at-a-time brute force, and the
rule's promises (no chaining, ties to the older cluster, crops and mirrors join, incremental
runs equal one run)."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.index.codec import flip_bits
from vigil.triage.anchors import FIRST_WINDOW, FULL, NO_CLUSTER, Anchors, Assignment, Contents
from vigil.triage.clusters import Clusterer, cluster, search_layout

Hashes = list[tuple[int, np.ndarray]]  # (variant, code) of one content


def contents_of(items: list[Hashes], quality: list[int] | np.ndarray | None = None) -> Contents:
    """Contents keyed 100, 101, … in list order from per-content (variant, code) lists."""
    keys = np.arange(100, 100 + len(items), dtype=np.int64)
    rows = [(keys[i], v, c) for i, hashes in enumerate(items) for v, c in hashes]
    return Contents(
        keys=keys,
        quality=np.array([90] * len(items) if quality is None else quality),
        codes=np.array([c for _, _, c in rows], dtype=np.uint8).reshape(-1, 32),
        owner=np.array([k for k, _, _ in rows], dtype=np.int64),
        variant=np.array([v for _, v, _ in rows], dtype=np.int8),
    )


def flip(code: np.ndarray, bits: list[int] | range) -> np.ndarray:
    """`code` with exactly the given bit positions flipped."""
    mask = np.zeros(256, dtype=bool)
    mask[list(bits)] = True
    return code ^ np.packbits(mask)


def planted(seed: int, n: int = 240) -> Contents:
    """Random contents, most derived from an earlier one (so chains and stars occur) at 0–44
    bits through one relation: whole picture, mirror (a dihedral hash), crop (full hash near
    the other's window), caption (a window near the other's full hash); or a twin, exactly 40
    bits from a fresh content, and later one halfway between the two (a tie). Some have low
    quality or no PDQ; keys are shuffled so that order, not key, must decide."""
    rng = np.random.default_rng(seed)
    items: list[Hashes] = []
    twins: list[tuple[np.ndarray, np.ndarray]] = []
    for i in range(n):
        fresh = rng.integers(0, 256, (8 + int(rng.integers(0, 4)), 32), dtype=np.uint8)
        hashes = list(enumerate(fresh))  # variant = row: full, 7 dihedral, 0-3 windows
        kind = rng.choice(["full", "mirror", "crop", "caption", "twin", "between", "fresh"])
        base = dict(items[int(rng.integers(max(0, i - 40), i))]) if i else {}
        src = base.get(FULL, fresh[0])
        windows = [v for v in base if v >= FIRST_WINDOW]
        if kind == "crop" and windows:
            src = base[windows[int(rng.integers(0, len(windows)))]]
        near = flip_bits(src[None], int(rng.integers(0, 45)), rng)[0]
        if kind == "between" and twins:
            a, b = twins[int(rng.integers(0, len(twins)))]
            near = flip(a, np.flatnonzero(np.unpackbits(a ^ b))[:20].tolist())
        slot = {"mirror": int(rng.integers(1, 8)), "caption": FIRST_WINDOW}.get(kind, FULL)
        if kind == "twin":
            twins.append((fresh[0], flip(fresh[0], rng.permutation(256)[:40].tolist())))
            items.append(hashes)
            hashes = [(FULL, twins[-1][1])]
        elif i and kind != "fresh":
            slot = slot if slot < len(hashes) else FULL
            hashes = [(v, near if idx == slot else c) for idx, (v, c) in enumerate(hashes)]
        if rng.random() < 0.05:
            hashes = [(v, c) for v, c in hashes if v != FULL]
        items.append(hashes)
    n = len(items)
    base = contents_of(items, quality=rng.choice([30, 70, 90, 100], n, p=[0.1, 0.3, 0.3, 0.3]))
    keys = rng.permutation(10 * n)[:n].astype(np.int64)
    return Contents(keys, base.quality, base.codes, keys[base.rows()], base.variant)


def brute(
    contents: Contents, threshold: int = 31, min_quality: int = 50, anchors: Anchors | None = None
) -> tuple[Assignment, Anchors]:
    """The rule taken literally: one content at a time against every anchor, all pairs."""
    anchors = anchors or Anchors.empty()
    ids, targets, next_id = list(anchors.cluster), list(anchors.codes), anchors.next_id
    rows = contents.rows()
    n = len(contents.keys)
    got = np.full(n, NO_CLUSTER), np.full(n, -1), np.zeros(n, dtype=bool)
    for i in range(n):
        mine = rows == i
        codes, variant = contents.codes[mine], contents.variant[mine]
        if FULL not in variant or contents.quality[i] < min_quality:
            continue
        if targets:
            dist = np.bitwise_count(codes[:, None] ^ np.array(targets)[None]).sum(-1).min(0)
            best = min((int(d), int(c)) for d, c in zip(dist, ids, strict=True))
            if best[0] <= threshold:
                got[0][i], got[1][i] = best[1], best[0]
                continue
        got[0][i], got[1][i], got[2][i] = next_id, 0, True
        keep = (variant == FULL) | (variant >= FIRST_WINDOW)
        ids += [next_id] * int(keep.sum())
        targets += list(codes[keep])
        next_id += 1
    return Assignment(contents.keys, *got), Anchors(np.array(ids), np.array(targets))


def assert_same(got: Assignment, want: Assignment) -> None:
    assert np.array_equal(got.keys, want.keys)
    assert got.cluster.tolist() == want.cluster.tolist()
    assert got.distance.tolist() == want.distance.tolist()
    assert got.anchor.tolist() == want.anchor.tolist()


def same_anchors(a: Anchors, b: Anchors) -> bool:
    def rows(x: Anchors) -> list[tuple[int, bytes]]:
        return sorted(zip(x.cluster.tolist(), map(bytes, x.codes), strict=True))

    return rows(a) == rows(b)


@pytest.mark.parametrize("batch", [1, 30, 200, 10**6])  # hashes: ~10 a content
@pytest.mark.parametrize("seed", range(8))
def test_fast_path_equals_one_at_a_time_brute_force(seed: int, batch: int) -> None:
    contents = planted(seed)
    got, anchors = cluster(contents, batch=batch)
    want, want_anchors = brute(contents)
    assert_same(got, want)
    assert same_anchors(anchors, want_anchors)
    # The planted data exercises what the rule decides: joins, new clusters and unclustered.
    assert (got.distance > 0).sum() > 20 and got.anchor.sum() > 20
    assert (got.cluster == NO_CLUSTER).sum() > 5


@pytest.mark.parametrize("threshold", [0, 12, 40, 64])
def test_other_thresholds_equal_brute_force(threshold: int) -> None:
    contents = planted(100 + threshold)
    got, _ = cluster(contents, threshold=threshold, min_quality=80, batch=16)
    assert_same(got, brute(contents, threshold, 80)[0])


@pytest.mark.parametrize("cuts", [(1,), (60, 61, 200), (120,)])
def test_runs_over_parts_equal_one_run_with_the_same_ids(cuts: tuple[int, ...]) -> None:
    contents = planted(42)
    whole, whole_anchors = cluster(contents, batch=32)
    rows = contents.rows()
    anchors, parts = None, []
    for lo, hi in zip((0, *cuts), (*cuts, len(contents.keys)), strict=True):
        take = (rows >= lo) & (rows < hi)
        part = Contents(
            contents.keys[lo:hi],
            contents.quality[lo:hi],
            contents.codes[take],
            contents.owner[take],
            contents.variant[take],
        )
        got, anchors = cluster(part, anchors, batch=32)
        parts.append(got)
    assert_same(Assignment.concat(parts), whole)
    assert anchors is not None and same_anchors(anchors, whole_anchors)


def test_anchors_rebuilt_in_any_row_order_with_gaps_in_ids_equal_brute_force() -> None:
    contents = planted(17)
    rows = contents.rows()
    first, second = (rows < 120), (rows >= 120)
    head = Contents(
        contents.keys[:120],
        contents.quality[:120],
        *(a[first] for a in (contents.codes, contents.owner, contents.variant)),
    )
    _, kept = brute(head)
    shuffle = np.random.default_rng(0).permutation(len(kept))
    kept = Anchors(kept.cluster[shuffle] * 3 + 7, kept.codes[shuffle])  # as a store returns it
    tail = Contents(
        contents.keys[120:],
        contents.quality[120:],
        *(a[second] for a in (contents.codes, contents.owner, contents.variant)),
    )
    got, anchors = cluster(tail, kept, batch=50)
    want, want_anchors = brute(tail, anchors=kept)
    assert_same(got, want)
    assert same_anchors(anchors, want_anchors)
    assert ((got.cluster >= 0) & (got.cluster < kept.next_id)).sum() > 10  # old clusters grew


def test_a_clusterer_fed_in_parts_equals_one_call() -> None:
    contents = planted(9)
    engine = Clusterer(batch=5)
    rows = contents.rows()
    halves = []
    for lo, hi in ((0, 100), (100, len(contents.keys))):
        take = (rows >= lo) & (rows < hi)
        keys, quality = contents.keys[lo:hi], contents.quality[lo:hi]
        part = Contents(
            keys,
            quality,
            *(a[take] for a in (contents.codes, contents.owner)),
            contents.variant[take],
        )
        halves.append(engine.add(part))
    assert_same(Assignment.concat(halves), brute(contents)[0])


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_a_chain_of_small_steps_splits_where_the_anchor_is_out_of_reach(batch: int) -> None:
    start = np.random.default_rng(5).integers(0, 256, 32, dtype=np.uint8)
    # Step k flips 8 new bits: content k is 8 bits from k-1 and exactly 8k bits from the first.
    chain = [flip(start, range(8 * k)) for k in range(9)]
    got, _ = cluster(contents_of([[(FULL, c)] for c in chain]), batch=batch)
    assert got.cluster.tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 3]
    assert got.distance.tolist() == [0, 8, 16, 24, 0, 8, 16, 24, 0]
    assert got.anchor.tolist() == [True, False, False, False, True, False, False, False, True]


def test_exactly_the_threshold_joins_one_more_bit_does_not() -> None:
    start = np.zeros(32, dtype=np.uint8)
    items = [[(FULL, start)], [(FULL, flip(start, range(31)))], [(FULL, flip(start, range(32)))]]
    got, _ = cluster(contents_of(items))
    assert got.cluster.tolist() == [1, 1, 2]
    got, _ = cluster(contents_of(items), threshold=30)
    assert got.cluster.tolist() == [1, 2, 2]


@pytest.mark.parametrize("batch", [1, 10])
def test_a_tie_goes_to_the_older_cluster(batch: int) -> None:
    a = np.zeros(32, dtype=np.uint8)
    b = flip(a, range(40))  # 40 bits apart: two clusters
    between = flip(a, range(20))  # 20 bits from each
    got, _ = cluster(contents_of([[(FULL, a)], [(FULL, b)], [(FULL, between)]]), batch=batch)
    assert got.cluster.tolist() == [1, 2, 1]
    got, _ = cluster(contents_of([[(FULL, b)], [(FULL, a)], [(FULL, between)]]), batch=batch)
    assert got.cluster.tolist() == [1, 2, 1]
    nearer_b = flip(a, range(21))  # 21 from a, 19 from b: the nearer anchor wins
    got, _ = cluster(contents_of([[(FULL, a)], [(FULL, b)], [(FULL, nearer_b)]]), batch=batch)
    assert got.cluster.tolist() == [1, 2, 2]


def test_mirrors_crops_and_captions_join_their_original_both_ways() -> None:
    rng = np.random.default_rng(11)
    full, window, other = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    original = [(FULL, full), (FIRST_WINDOW, window), (3, other)]
    mirror = [(FULL, rng.integers(0, 256, 32, dtype=np.uint8)), (5, flip(full, range(9)))]
    crop = [(FULL, flip(window, range(6)))]  # its full picture is the original's window
    captioned = [(FULL, rng.integers(0, 256, 32, dtype=np.uint8)), (9, flip(full, range(4)))]
    for copy, distance in ((mirror, 9), (crop, 6), (captioned, 4)):
        got, _ = cluster(contents_of([original, copy]))
        assert got.cluster.tolist() == [1, 1] and got.distance.tolist() == [0, distance]
    # The original arriving after its crop joins the crop's cluster through its window.
    got, _ = cluster(contents_of([crop, original]))
    assert got.cluster.tolist() == [1, 1] and got.distance.tolist() == [0, 6]
    # An anchor's other dihedral hashes are not compared: only the newcomer's are.
    got, _ = cluster(contents_of([original, [(FULL, flip(other, range(2)))]]))
    assert got.cluster.tolist() == [1, 2]


def test_no_pdq_or_low_quality_is_never_clustered_nor_an_anchor() -> None:
    code = np.random.default_rng(3).integers(0, 256, 32, dtype=np.uint8)
    items = [[(FULL, code)], [(FIRST_WINDOW, code)], [], [(FULL, flip(code, range(3)))]]
    got, anchors = cluster(contents_of(items, quality=[49, 90, 90, 50]))
    assert got.cluster.tolist() == [NO_CLUSTER, NO_CLUSTER, NO_CLUSTER, 1]
    assert got.distance.tolist() == [-1, -1, -1, 0]
    assert anchors.cluster.tolist() == [1]


def test_new_clusters_continue_after_the_largest_existing_id() -> None:
    rng = np.random.default_rng(4)
    old = rng.integers(0, 256, (2, 32), dtype=np.uint8)
    kept = Anchors(np.array([9, 5]), old)
    items = [[(FULL, rng.integers(0, 256, 32, dtype=np.uint8))], [(FULL, flip(old[1], [0]))]]
    got, anchors = cluster(contents_of(items), kept)
    assert got.cluster.tolist() == [10, 5] and got.anchor.tolist() == [True, False]
    assert sorted(anchors.cluster.tolist()) == [5, 9, 10]


def test_bad_input_is_refused() -> None:
    code = np.zeros((1, 32), dtype=np.uint8)
    one = np.array([1])
    with pytest.raises(ValueError, match="unique"):
        Contents(np.array([1, 1]), np.array([90, 90]), code, one, np.zeros(1, dtype=np.int8))
    with pytest.raises(ValueError, match="not among"):
        Contents(one, one, code, np.array([2]), np.zeros(1, dtype=np.int8)).rows()
    with pytest.raises(ValueError, match="batch"):
        Clusterer(batch=0)


@pytest.mark.parametrize("n", [0, 1_000, 1_000_000, 10_000_000])
def test_search_layout_can_search_the_threshold_within_its_memory(n: int) -> None:
    layout = search_layout(n, 31)
    assert layout.tables * layout.bits > 31
    assert 2 * layout.tables * 2**layout.bits <= max(48 * n, 2**21)
