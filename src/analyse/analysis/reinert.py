"""Reinert's descending hierarchical classification (the Alceste method), sparse.

Why hand-written: no maintained Python package implements it. IRaMuTeQ is an
application and rainette an R package; this module follows the method as
published (Reinert 1983, 1990) and as rainette's documentation describes it,
without reusing their code.

The method, on a binary unit × form matrix ``X`` (a unit contains a form or not):

1. **One split.** Take a class; run a correspondence analysis (CA) of its
   rows; order the units along the first axis; among the cuts of that order
   into a prefix and a suffix, keep the one that maximises the χ² of the
   2 × forms table (summed presences of each form in each half). Then move
   single units from one half to the other while a move raises that χ².
2. **Descending classification.** Start from every unit that has a form;
   split the largest class that can still be split; repeat until there are
   ``k`` leaves. The splits form a binary tree. Before a class is split
   again, forms seen fewer than ``tsj`` (3) times in it are set aside, and a
   form strongly tied to one side of the split that made the class
   (contingency coefficient √(χ²/(χ²+n)) > ``cc_test`` = 0.3) is kept only on
   the side where it is over-represented.
3. **Double classification.** Run (2) twice, on *context units* of two
   sizes (consecutive units gathered to a minimum length, see
   :func:`analyse.analysis.units.context_units`); every unit inherits the
   class of its context in each run. Each pair (class of run 1, class of
   run 2), at every level of the two trees, gives a *crossed class*: the
   units in both. A crossed class is a candidate when it has at least
   ``min_members`` units, more than expected, an association χ² (2 × 2 table
   of the two memberships) ≥ ``min_chi2`` (rainette's "full" analysis, the
   default); with ``full=False`` its two classes must also be *mutually* most
   associated (each the other's best partner by that χ², the "classical"
   analysis, which on short corpora leaves few classes). The final partition is the set of ``k``
   pairwise disjoint candidates with the largest total χ². Units in no
   chosen class stay unclassified: that is the method's guard against
   classes that depend on how the text was cut.

Everything is sparse: the CA's first axis comes from ``scipy.sparse.linalg.svds``
on a linear operator for the standardised residual matrix
``D_r^-1/2 (P − r cᵀ) D_c^-1/2``, never formed; the cut scan and the unit moves
update the χ² incrementally. Results do not depend on the order of the rows:
callers pass units in a canonical order (:func:`analyse.analysis.units.build_units`)
and ties are broken by unit number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, svds

# χ² of a 2 × 2 table with one degree of freedom: p < 0.05.
CHI2_05 = 3.841458820694124
SEARCH_BUDGET = 200_000   # branch-and-bound steps for the final partition


def _binary(x: sparse.spmatrix) -> sparse.csr_matrix:
    x = sparse.csr_matrix(x, dtype=np.float64, copy=True)
    x.sum_duplicates()
    x.data[:] = 1.0
    x.eliminate_zeros()
    return x


def ca_first_axis(x: sparse.csr_matrix, seed: int = 0) -> np.ndarray:
    """Row coordinates on the first axis of the correspondence analysis of ``x``.

    ``x`` must have no empty row nor column. The residual matrix is applied
    as an operator, so ``x`` is never densified.
    """
    total = x.sum()
    r = np.asarray(x.sum(axis=1)).ravel() / total
    c = np.asarray(x.sum(axis=0)).ravel() / total
    sr, sc = np.sqrt(r), np.sqrt(c)
    p = x / total
    pt = p.T.tocsr()

    def matvec(v):
        v = np.asarray(v).ravel()
        return (p @ (v / sc) - r * (sc @ v)) / sr

    def rmatvec(u):
        u = np.asarray(u).ravel()
        return (pt @ (u / sr) - c * (sr @ u)) / sc

    n, m = x.shape
    if min(n, m) <= 3:
        dense = (p.toarray() - np.outer(r, c)) / np.outer(sr, sc)
        u, s, _ = np.linalg.svd(dense, full_matrices=False)
        return u[:, 0] * s[0] / sr
    op = LinearOperator((n, m), matvec=matvec, rmatvec=rmatvec, dtype=np.float64)
    v0 = np.random.default_rng(seed).uniform(0.5, 1.5, size=min(n, m))
    u, s, _ = svds(op, k=1, v0=v0)
    return u[:, 0] * s[0] / sr


def _chi2(q: np.ndarray | float, n_a: np.ndarray | float, total: float):
    """χ² of the 2 × forms table from ``Q = Σ a_j² / c_j`` and the first row's total.

    With ``b_j = c_j − a_j``: χ² = N (Q / n_A + (N − 2 n_A + Q) / (N − n_A) − 1).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return total * (q / n_a + (total - 2 * n_a + q) / (total - n_a) - 1.0)


def _best_cut(x: sparse.csr_matrix, order: np.ndarray, colsum: np.ndarray, min_side: int = 1) -> tuple[int, float]:
    """Best prefix length of ``order`` (``min_side`` … n − ``min_side``) and its χ²; vectorised over all cuts."""
    xo = x[order].tocoo()
    # a_j when a unit joins the prefix = how many earlier units of the order hold form j.
    by_col = np.lexsort((xo.row, xo.col))
    cols, rows = xo.col[by_col], xo.row[by_col]
    first = np.r_[0, np.flatnonzero(np.diff(cols)) + 1]
    run_start = np.repeat(first, np.diff(np.r_[first, len(cols)]))
    rank = np.arange(len(cols)) - run_start
    gain = (2 * rank + 1) / colsum[cols]
    q = np.cumsum(np.bincount(rows, weights=gain, minlength=x.shape[0]))
    n_a = np.cumsum(np.bincount(xo.row, minlength=x.shape[0]))
    chi = _chi2(q[:-1], n_a[:-1].astype(float), float(colsum.sum()))
    chi = np.nan_to_num(chi, nan=-np.inf)
    n = x.shape[0]
    if n - 2 * min_side >= 0:
        chi[:min_side - 1] = -np.inf
        chi[n - min_side:] = -np.inf
    best = int(np.argmax(chi))
    return best + 1, float(chi[best])


def _improve(x: sparse.csr_matrix, in_a: np.ndarray, colsum: np.ndarray, max_passes: int = 25,
             min_side: int = 1) -> float:
    """Move single units between the two halves while the χ² rises (in place); returns the χ²."""
    total = float(colsum.sum())
    a = np.asarray(x[in_a].sum(axis=0)).ravel()
    q = float((a * a / colsum).sum())
    n_a = float(a.sum())
    sizes = [int(in_a.sum()), int((~in_a).sum())]
    chi = float(_chi2(q, n_a, total))
    indptr, indices = x.indptr, x.indices
    inv_c = 1.0 / colsum
    for _ in range(max_passes):
        moved = 0
        for u in range(x.shape[0]):
            cols = indices[indptr[u]:indptr[u + 1]]
            if not len(cols):
                continue
            if in_a[u]:
                if sizes[0] <= min_side:
                    continue
                dq = float(((1 - 2 * a[cols]) * inv_c[cols]).sum())
                new_n = n_a - len(cols)
            else:
                if sizes[1] <= min_side:
                    continue
                dq = float(((2 * a[cols] + 1) * inv_c[cols]).sum())
                new_n = n_a + len(cols)
            if new_n <= 0 or new_n >= total:
                continue
            new = float(_chi2(q + dq, new_n, total))
            if new > chi * (1 + 1e-12) + 1e-12:
                step = -1 if in_a[u] else 1
                a[cols] += step
                q, n_a, chi = q + dq, new_n, new
                sizes[0] += step
                sizes[1] -= step
                in_a[u] = not in_a[u]
                moved += 1
        if not moved:
            break
    return chi


def split_class(x: sparse.csr_matrix, seed: int = 0, tsj: int = 3,
                min_share: float = 0.01) -> tuple[np.ndarray, float] | None:
    """Split the rows of a binary matrix in two (CA first axis, best cut, unit moves).

    Forms seen fewer than ``tsj`` times in the class are left out of the split.
    Each half keeps at least ``min_share`` of the class's rows (and 2): without
    it the χ² is often best served by peeling off a handful of atypical units
    with forms of their own (a leaf of one unit), which says nothing of the
    corpus's lexical worlds; IRaMuTeQ has a minimum class size for the same reason.
    Returns a boolean mask (True: the half holding row 0) and the split's χ²,
    or None when the class cannot be split (fewer than 2 usable rows or forms).
    """
    colsum = np.asarray(x.sum(axis=0)).ravel()
    keep = colsum >= max(2, tsj)   # a rare form in the class says nothing about a split
    sub = x[:, keep].tocsr()
    rowsum = np.asarray(sub.sum(axis=1)).ravel()
    rows = np.flatnonzero(rowsum > 0)
    if len(rows) < 2 or keep.sum() < 2:
        return None
    sub = sub[rows]
    colsum = colsum[keep]
    coords = ca_first_axis(sub, seed)
    order = np.lexsort((np.arange(len(rows)), np.round(coords, 10)))
    min_side = max(2, int(np.ceil(min_share * len(rows))))
    if len(rows) < 2 * min_side:
        return None
    cut, _ = _best_cut(sub, order, colsum, min_side)
    in_a = np.zeros(len(rows), dtype=bool)
    in_a[order[:cut]] = True
    chi = _improve(sub, in_a, colsum, min_side=min_side)
    mask = np.zeros(x.shape[0], dtype=bool)
    mask[rows[in_a]] = True
    # Rows with no usable form follow the larger half.
    empty = np.setdiff1d(np.arange(x.shape[0]), rows)
    if len(empty) and in_a.sum() >= (~in_a).sum():
        mask[empty] = True
    if mask.all() or not mask.any():
        return None
    if not mask[0]:
        mask = ~mask   # orientation fixed by the first unit, not by the sign of the CA axis
    return mask, chi


@dataclass
class Hierarchy:
    """The binary tree of a descending classification. Node 0 is the root.

    ``members[node]`` are row numbers (sorted) of the classified matrix;
    ``children[node]`` is ``(left, right)`` or ``None`` for a leaf; ``leaves``
    lists leaf nodes from left to right.
    """

    n_rows: int
    members: list[np.ndarray] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    children: list[tuple[int, int] | None] = field(default_factory=list)
    chi2: list[float] = field(default_factory=list)

    def _add(self, rows: np.ndarray, parent: int) -> int:
        self.members.append(rows)
        self.parent.append(parent)
        self.children.append(None)
        self.chi2.append(0.0)
        return len(self.members) - 1

    @property
    def leaves(self) -> list[int]:
        out, stack = [], [0]
        while stack:
            node = stack.pop()
            if self.children[node] is None:
                out.append(node)
            else:
                stack.extend(reversed(self.children[node]))
        return out

    def labels(self) -> np.ndarray:
        """Leaf position (0 … k−1, left to right) of every row; −1 for rows left out."""
        out = np.full(self.n_rows, -1, dtype=np.int64)
        for j, leaf in enumerate(self.leaves):
            out[self.members[leaf]] = j
        return out

    def nodes_in_order(self) -> list[int]:
        """Every node but the root, in depth-first order (left first)."""
        out, stack = [], [0]
        while stack:
            node = stack.pop()
            if node:
                out.append(node)
            if self.children[node] is not None:
                stack.extend(reversed(self.children[node]))
        return out


def _side_forms(x: sparse.csr_matrix, mask: np.ndarray, forms: np.ndarray, cc_test: float):
    """Forms each half keeps: a form with contingency coefficient > ``cc_test`` stays on its over-represented side."""
    n = x.shape[0]
    in_a = np.asarray(x[mask].sum(axis=0)).ravel()
    total = np.asarray(x.sum(axis=0)).ravel()
    n_a = mask.sum()
    chi = chi2_2x2(in_a, total, n_a, n)
    cc = np.sqrt(chi / (chi + n))
    over_a = in_a > total * n_a / n
    strong = cc > cc_test
    return forms & ~(strong & ~over_a), forms & ~(strong & over_a)


def descending_classification(x: sparse.spmatrix, k: int, min_split_members: int = 5,
                              seed: int = 0, tsj: int = 3, cc_test: float = 0.3) -> Hierarchy:
    """Reinert's descending hierarchical classification of the rows of ``x`` into ``k`` leaves.

    Rows with no form are left out (label −1). The largest leaf is split
    first (ties: the leaf created first); a leaf smaller than
    ``min_split_members`` or that cannot be split is kept as it is, so the
    tree may end with fewer than ``k`` leaves. ``tsj`` and ``cc_test``: form
    selection between splits (module docstring).
    """
    x = _binary(x)
    tree = Hierarchy(n_rows=x.shape[0])
    tree._add(np.flatnonzero(np.diff(x.indptr) > 0), -1)
    forms = {0: np.ones(x.shape[1], dtype=bool)}
    stuck: set[int] = set()
    while len(tree.leaves) < k:
        open_leaves = [n for n in tree.leaves if n not in stuck and len(tree.members[n]) >= max(2, min_split_members)]
        if not open_leaves:
            break
        node = max(open_leaves, key=lambda n: (len(tree.members[n]), -n))
        rows = tree.members[node]
        sub = x[rows][:, forms[node]].tocsr()
        result = split_class(sub, seed, tsj)
        if result is None:
            stuck.add(node)
            continue
        mask, chi = result
        left = tree._add(rows[mask], node)
        right = tree._add(rows[~mask], node)
        forms[left], forms[right] = _side_forms(x[rows], mask, forms[node], cc_test)
        tree.children[node] = (left, right)
        tree.chi2[node] = chi
    return tree


def group_rows(x: sparse.spmatrix, groups: np.ndarray) -> sparse.csr_matrix:
    """Binary matrix of groups of rows (a group holds a form if one of its rows does)."""
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    g = sparse.csr_matrix((np.ones(len(groups)), (groups, np.arange(len(groups)))), shape=(n_groups, len(groups)))
    return _binary(g @ x)


def _node_membership(tree: Hierarchy, groups: np.ndarray) -> tuple[list[int], sparse.csr_matrix]:
    """Nodes (depth-first) and a node × unit boolean matrix: units whose context is in the node."""
    nodes = tree.nodes_in_order()
    rows, cols = [], []
    for j, node in enumerate(nodes):
        member = np.isin(groups, tree.members[node])
        idx = np.flatnonzero(member)
        rows.append(np.full(len(idx), j))
        cols.append(idx)
    data = np.concatenate(rows) if rows else np.zeros(0, int)
    m = sparse.csr_matrix((np.ones(len(data)), (data, np.concatenate(cols) if cols else data)),
                          shape=(len(nodes), len(groups)))
    return nodes, m


def chi2_2x2(a, row, col, n):
    """χ² (1 d.f., no continuity correction) of 2 × 2 tables from cell ``a``, its row and column totals and ``n``."""
    a, row, col, n = (np.asarray(v, dtype=float) for v in (a, row, col, n))
    b, c = row - a, col - a
    d = n - row - col + a
    den = row * (n - row) * col * (n - col)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, n * (a * d - b * c) ** 2 / den, 0.0)
    return out


def _best_partition(weights: np.ndarray, compatible: np.ndarray, n: int, budget: int = SEARCH_BUDGET):
    """Indices of ``n`` pairwise compatible candidates with the largest total weight (branch and bound)."""
    order = np.argsort(-weights, kind="stable")
    best = {"total": -np.inf, "set": None}
    steps = [0]

    def dfs(chosen: list[int], cands: np.ndarray, total: float) -> None:
        if len(chosen) == n:
            if total > best["total"]:
                best["total"], best["set"] = total, list(chosen)
            return
        need = n - len(chosen)
        for pos in range(len(cands) - need + 1):
            steps[0] += 1
            if steps[0] > budget or total + weights[cands[pos:pos + need]].sum() <= best["total"]:
                return
            c = cands[pos]
            rest = cands[pos + 1:]
            dfs(chosen + [int(c)], rest[compatible[c, rest]], total + weights[c])

    dfs([], order, 0.0)
    return best["set"], best["total"], steps[0] > budget


@dataclass
class Classification:
    """Final classes of the units (−1: unclassified), with the trees that produced them."""

    labels: np.ndarray
    trees: list[Hierarchy]
    groups: list[np.ndarray]
    class_nodes: list[tuple[int, ...]]   # per class: its node in each tree
    class_chi2: np.ndarray
    candidates: int = 0
    truncated: bool = False

    @property
    def k(self) -> int:
        return len(self.class_nodes)


def simple_classification(x: sparse.spmatrix, groups: np.ndarray, k: int, min_split_members: int = 5,
                          seed: int = 0) -> Classification:
    """One descending classification on context units ``groups``; units inherit their context's leaf."""
    tree = descending_classification(group_rows(x, groups), k, min_split_members, seed)
    leaf = tree.labels()
    labels = np.where(leaf[groups] >= 0, leaf[groups], -1)
    return Classification(labels=labels, trees=[tree], groups=[groups],
                          class_nodes=[(n,) for n in tree.leaves], class_chi2=np.zeros(len(tree.leaves)))


def double_classification(x: sparse.spmatrix, groups1: np.ndarray, groups2: np.ndarray, k: int,
                          min_members: int = 10, min_chi2: float = CHI2_05, min_split_members: int = 5,
                          seed: int = 0, full: bool = True, tree_k: int | None = None) -> Classification:
    """Reinert's double classification of the units (rows of ``x``) on two context sizes.

    Parameters
    ----------
    x : sparse matrix
        Unit × active form matrix (binary or counts).
    groups1, groups2 : ndarray
        Context unit of every unit in each run (:func:`analyse.analysis.units.context_units`).
    k : int
        Number of final classes sought (fewer when no partition of ``k``
        disjoint associated crossed classes exists).
    tree_k : int, optional
        Leaves of each of the two trees (default ``k``). Deeper trees (IRaMuTeQ
        uses 10 terminal classes) give more crossed classes to choose from.
    min_members, min_chi2 : int, float
        Smallest size and association χ² of a crossed class.
    full : bool
        Keep every associated crossed class (default), not only mutually most associated pairs.
    """
    x = _binary(x)
    trees = [descending_classification(group_rows(x, g), tree_k or k, min_split_members, seed)
             for g in (groups1, groups2)]
    (nodes1, m1), (nodes2, m2) = (_node_membership(t, g) for t, g in zip(trees, (groups1, groups2)))
    classified = np.flatnonzero((np.asarray(m1.sum(axis=0)).ravel() > 0) & (np.asarray(m2.sum(axis=0)).ravel() > 0))
    m1, m2 = m1[:, classified].tocsr(), m2[:, classified].tocsr()
    n = len(classified)
    inter = (m1 @ m2.T).toarray()
    n1 = np.asarray(m1.sum(axis=1)).ravel()
    n2 = np.asarray(m2.sum(axis=1)).ravel()
    chi = chi2_2x2(inter, n1[:, None], n2[None, :], n)
    expected = np.outer(n1, n2) / max(n, 1)
    ok = (inter >= min_members) & (inter > expected) & (chi >= min_chi2)
    if not full:
        # Mutually most associated: the pair's χ² is the best of its row and of its column.
        ok &= (chi >= chi.max(axis=1, keepdims=True)) & (chi >= chi.max(axis=0, keepdims=True))
    pairs = np.argwhere(ok)               # row-major: deterministic order
    if len(pairs):
        # Two pairs holding exactly the same units are one crossed class: keep the first.
        members = m1[pairs[:, 0]].multiply(m2[pairs[:, 1]]).tocsr()
        seen, keep = set(), []
        for j in range(len(pairs)):
            key = members[j].indices.tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(j)
        pairs = pairs[keep]
    labels = np.full(x.shape[0], -1, dtype=np.int64)
    if not len(pairs):
        return Classification(labels, trees, [groups1, groups2], [], np.zeros(0), 0, False)
    cand = m1[pairs[:, 0]].multiply(m2[pairs[:, 1]]).tocsr()
    compatible = (cand @ cand.T).toarray() == 0
    weights = chi[pairs[:, 0], pairs[:, 1]]
    chosen, truncated = None, False
    for size in range(min(k, len(pairs)), 0, -1):
        chosen, _, truncated = _best_partition(weights, compatible, size)
        if chosen is not None:
            break
    # Classes numbered in the order of the first tree (then the second), as a dendrogram reads.
    rank1 = {node: j for j, node in enumerate(nodes1)}
    rank2 = {node: j for j, node in enumerate(nodes2)}
    chosen = sorted(chosen, key=lambda c: (rank1[nodes1[pairs[c, 0]]], rank2[nodes2[pairs[c, 1]]]))
    for j, c in enumerate(chosen):
        labels[classified[cand[c].indices]] = j
    class_nodes = [(nodes1[pairs[c, 0]], nodes2[pairs[c, 1]]) for c in chosen]
    return Classification(labels, trees, [groups1, groups2], class_nodes, weights[chosen],
                          candidates=len(pairs), truncated=truncated)


def class_tree(tree: Hierarchy, class_nodes: list[int]):
    """The first tree reduced to the final classes, as nested lists of class numbers (for a dendrogram).

    Classes whose node is the same (or nested) are siblings under it.
    """
    def walk(node: int):
        here = [j for j, c in enumerate(class_nodes) if c == node]
        parts = list(here)
        if tree.children[node] is not None:
            for child in tree.children[node]:
                sub = walk(child)
                if sub is not None:
                    parts.append(sub)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else parts

    out = walk(0)
    return out if isinstance(out, list) else [out]
