"""Visual clusters: near-duplicate pictures grouped by PDQ, by leader (anchor) clustering.

The rule. Contents are taken one at a time in the given (first-seen) order. The distance from
a content c to an anchor a is the smallest Hamming distance between any hash of c (its full
hash, its other seven dihedral hashes, its windows) and a's full hash or any of a's windows:
the matcher's comparison, so mirrored, rotated, cropped and captioned copies join their
original, and an original joins a cluster anchored on its crop. c joins the cluster whose
anchor is nearest, if within the threshold T; a tie goes to the older cluster (smaller id).
Otherwise c becomes the anchor of a new cluster, with the next id. Hence:
  * every member is within T of its anchor; membership never runs through other members, so a
    chain of small steps A→B→C→… splits where the distance to its anchor passes T;
  * no anchor is within T of an older anchor (it would have joined it), so two clusters whose
    anchors are within T never both form;
  * nothing already assigned ever changes: a case clustered over several runs, each given the
    previous `Anchors`, gets exactly the clusters and ids of one run over all of it.
Contents with no PDQ, or quality below the floor, are not clustered.

How it stays fast without comparing all pairs. Contents go in batches. A batch's hashes are
searched in two `PdqIndex`es: `main`, the older anchors' hashes, and `local`, the anchors made
since `main` was built plus the full and window hashes of every content in the batch. Hits on
anchors give each content its best earlier-batch anchor; hits inside the batch are resolved
greedily in order, in Python only for contents that have an earlier near content in the batch.
That is exactly one-at-a-time processing (the tests compare with a brute force). `main` is
rebuilt once the recent anchors reach an eighth of it, so rebuilds add up to a few builds of
the final index (a geometric series), and `local` stays a fraction of `main`.
"""

from __future__ import annotations

import numpy as np

from vigil.index import Layout, PdqIndex
from vigil.index.codec import CODE_BYTES, check_threshold
from vigil.triage.anchors import FIRST_WINDOW, FULL, NO_CLUSTER, Anchors, Assignment, Contents

# Hashes per batch (a content's are never split): enough to amortise building `local`, few
# enough that it stays small. Both constants were picked with benchmarks/triage.py at 1 and
# at 14 hashes a content.
BATCH = 65536
MERGE_FRACTION = 8  # rebuild `main` when the recent anchors' hashes exceed 1/8 of its own
# Per-probe and per-candidate costs (ns) of a PdqIndex search on one core, fitted to measured
# searches at 100k–4M hashes; they pick a layout up to ~48 B/hash of offsets, about twice
# as fast as the default layout, which is sized for memory rather than for speed.
_NS_PER_PROBE, _NS_PER_CANDIDATE, _OFFSET_BYTES = 27, 42, 48
_NONE = np.iinfo(np.int16).max


def search_layout(n: int, threshold: int) -> Layout:
    """The quickest layout, by the fitted costs, for searching `n` hashes at `threshold`."""
    best: tuple[float, Layout] | None = None
    for tables in range(8, 17):
        for bits in range(8, min(24, 256 // tables) + 1):
            too_big = 2 * tables * 2**bits > max(_OFFSET_BYTES * n, 2**21)
            if too_big or tables * bits <= threshold:
                continue
            layout = Layout(tables, bits)
            probes, candidates = layout.cost(threshold, n)
            cost = probes * _NS_PER_PROBE + candidates * _NS_PER_CANDIDATE
            if best is None or cost < best[0]:
                best = (cost, layout)
    if best is None:
        raise ValueError(f"no layout can search at threshold {threshold}")
    return best[1]


class Clusterer:
    """Clusters contents batch by batch onto the anchors it holds (see the module docstring).

    Feed it contents with `add`, in first-seen order, as many times as needed (each call is
    the next part of the sequence); `anchors` is the state to keep for the next run.
    `batch` is how many hashes go into one batch: a speed knob, results never depend on it.
    """

    def __init__(
        self,
        anchors: Anchors | None = None,
        *,
        threshold: int = 31,
        min_quality: int = 50,
        batch: int = BATCH,
        workers: int | None = None,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.threshold = check_threshold(threshold)
        self.min_quality, self.batch, self.workers = min_quality, batch, workers
        anchors = anchors or Anchors.empty()
        self._next = anchors.next_id
        self._main_cluster, self._main_codes = anchors.cluster, anchors.codes
        self._main = self._index(self._main_cluster, self._main_codes)
        self._recent: list[Anchors] = []

    @property
    def anchors(self) -> Anchors:
        """Every cluster's anchor hashes so far: pass it to the next run's `Clusterer`."""
        return _join([Anchors(self._main_cluster, self._main_codes), *self._recent])

    def add(self, contents: Contents) -> Assignment:
        """Cluster the next contents, in their order; returns what each became."""
        rows = contents.rows()
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        n = len(contents.keys)
        before = np.cumsum(np.bincount(rows, minlength=n)) - np.bincount(rows, minlength=n)
        cuts = np.flatnonzero(np.diff(before // self.batch)) + 1
        parts = []
        for start, stop in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):
            lo, hi = np.searchsorted(rows, [start, stop])
            take = order[lo:hi]
            part = self._batch(
                contents.quality[start:stop],
                contents.codes[take],
                rows[lo:hi] - start,
                contents.variant[take],
            )
            parts.append(Assignment(contents.keys[start:stop], *part))
        return Assignment.concat(parts)

    def _index(self, cluster: np.ndarray, codes: np.ndarray) -> PdqIndex:
        if not len(codes):
            return PdqIndex(self.threshold)
        layout = search_layout(len(codes), self.threshold)
        return PdqIndex.build(cluster, codes, threshold=self.threshold, layout=layout)

    def _search(self, index: PdqIndex, codes: np.ndarray) -> np.ndarray:
        return index.search(codes, threshold=self.threshold, workers=self.workers)

    def _batch(
        self, quality: np.ndarray, codes: np.ndarray, pos: np.ndarray, variant: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cluster, distance, anchor) of one batch; `pos` is each hash's content in it."""
        n, offset = len(quality), self._next
        ok = np.zeros(n, dtype=bool)
        ok[pos[variant == FULL]] = True
        ok &= quality >= self.min_quality
        keep = ok[pos]
        codes, pos, variant = codes[keep], pos[keep], variant[keep]
        target = (variant == FULL) | (variant >= FIRST_WINDOW)
        # Batch contents are indexed under offset + position: above every existing cluster id.
        recent = _join(self._recent)
        local = self._index(
            np.concatenate([recent.cluster, offset + pos[target]]),
            np.concatenate([recent.codes, codes[target]]),
        )
        near = self._search(local, codes)
        inside = near["id"] >= offset
        prior = np.concatenate([self._search(self._main, codes), near[~inside]])
        best_d, best_cluster = _nearest_prior(n, pos[prior["query"]], prior)
        member, joined = _resolve(
            n, ok, best_d, self.threshold, pos[near["query"][inside]], near[inside], offset
        )
        anchor = ok & (member < 0) & (best_d > self.threshold)
        cluster = np.full(n, NO_CLUSTER, dtype=np.int64)
        cluster[anchor] = offset + np.arange(int(anchor.sum()))
        from_prior = ok & ~anchor & (member < 0)
        cluster[from_prior] = best_cluster[from_prior]
        cluster[member >= 0] = cluster[member[member >= 0]]
        distance = np.where(member >= 0, joined, best_d).astype(np.int16)
        distance[anchor] = 0
        distance[~ok] = -1
        self._next = offset + int(anchor.sum())
        new = target & anchor[pos]
        self._keep(Anchors(cluster[pos[new]], codes[new]))
        return cluster, distance, anchor

    def _keep(self, new: Anchors) -> None:
        """Hold new anchors in `recent`; fold them into `main` once they reach a fraction."""
        self._recent.append(new)
        if MERGE_FRACTION * sum(len(a) for a in self._recent) > len(self._main_codes):
            merged, self._recent = self.anchors, []
            self._main_cluster, self._main_codes = merged.cluster, merged.codes
            self._main = PdqIndex(self.threshold)  # let the old tables go before the build
            self._main = self._index(merged.cluster, merged.codes)


def cluster(
    contents: Contents,
    anchors: Anchors | None = None,
    *,
    threshold: int = 31,
    min_quality: int = 50,
    batch: int = BATCH,
    workers: int | None = None,
) -> tuple[Assignment, Anchors]:
    """Cluster `contents` (in their order) onto `anchors` from earlier runs, if any: what each
    content became, and the anchors to keep for the next run."""
    engine = Clusterer(
        anchors, threshold=threshold, min_quality=min_quality, batch=batch, workers=workers
    )
    return engine.add(contents), engine.anchors


def _join(parts: list[Anchors]) -> Anchors:
    if not parts:
        return Anchors.empty()
    return Anchors(
        np.concatenate([p.cluster for p in parts]),
        np.concatenate([p.codes for p in parts]).reshape(-1, CODE_BYTES),
    )


def _nearest_prior(n: int, pos: np.ndarray, hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per content, (distance, cluster) of its nearest older anchor, the smaller id on a tie;
    (_NONE, NO_CLUSTER) where no older anchor is within the threshold."""
    distance = np.full(n, _NONE, dtype=np.int64)
    cluster = np.full(n, NO_CLUSTER, dtype=np.int64)
    if len(hits):
        order = np.lexsort((hits["id"], hits["distance"], pos))
        first = order[np.r_[True, pos[order][1:] != pos[order][:-1]]]
        distance[pos[first]] = hits["distance"][first]
        cluster[pos[first]] = hits["id"][first]
    return distance, cluster


def _resolve(
    n: int,
    ok: np.ndarray,
    prior_d: np.ndarray,
    threshold: int,
    pos: np.ndarray,
    hits: np.ndarray,
    offset: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(position of the in-batch anchor each content joins or -1, distance to it): the
    contents are decided in order, each seeing which earlier ones became anchors."""
    member = np.full(n, -1, dtype=np.int64)
    joined = np.full(n, _NONE, dtype=np.int64)
    other = hits["id"] - offset
    earlier = other < pos  # a later content cannot be an earlier one's anchor
    if not earlier.any():
        return member, joined
    cs, xs, ds = pos[earlier], other[earlier], hits["distance"][earlier].astype(np.int64)
    order = np.lexsort((ds, xs, cs))
    cs, xs, ds = cs[order], xs[order], ds[order]
    is_anchor = (ok & (prior_d > threshold)).tolist()
    later, starts = np.unique(cs, return_index=True)
    ends = np.r_[starts[1:], len(cs)]
    x_list, d_list, priors = xs.tolist(), ds.tolist(), prior_d.tolist()
    for c, lo, hi in zip(later.tolist(), starts.tolist(), ends.tolist(), strict=True):
        best_d, best_x = priors[c], -1
        # A content's pairs come by ascending position, so `<` keeps the older anchor on a
        # tie, and any earlier-batch anchor beats an in-batch one at the same distance.
        for j in range(lo, hi):
            x = x_list[j]
            if d_list[j] < best_d and is_anchor[x]:
                best_d, best_x = d_list[j], x
        if best_x >= 0:
            is_anchor[c] = False
            member[c], joined[c] = best_x, best_d
    return member, joined
