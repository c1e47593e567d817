"""Lexical classes crossed with territories and with the codebook's balises.

Territories
    For class *c* and territory *t*: ``share`` = the class's units that are in
    *t*; ``expected`` = *t*'s share of all classified units; ``ratio`` =
    share / expected (1: the class is as present in *t* as *t* weighs). The rule,
    checked in this order:

    * « local » (to *t*): one territory holds at least half of the class
      (``share ≥ 0.5``) at at least twice its weight (``ratio ≥ 2``);
    * « invariant inductif »: every territory has between half and twice its
      expected share (``0.5 ≤ ratio ≤ 2`` everywhere);
    * « partagé » otherwise.

    Documents, not units, are the independent draws: a bootstrap resamples
    documents with replacement inside each territory (``n_boot`` times) and
    gives a 90 % percentile interval of each ratio and the share of replicates
    that give the class the same label (``stability``); a label that fewer
    than half the replicates confirm is flagged ``fragile``.

Balises
    The analysed coder's codes of each unit's segment (``segment_codes``, inside
    coverage only). For class *c* and code *x*: units of *c* whose segment has
    *x*, and the signed χ² of the 2 × 2 table (unit in *c* × segment coded *x*).

Ce que la grille ne voit pas
    A class is not covered by the grid when its units are much less often
    coded than the corpus's (share of its units whose segment has at least one
    code ≤ ``UNCOVERED_RATIO`` = ¾ of that share over all classified units), or
    when no code is over-represented in it (χ² ≥ 3.84). The team may then
    read its words and typical units and promote it to an emergent code
    (:func:`emergent_code`). (A rule on single codes would not do: coders give
    several fine-grained codes per segment, so no single code covers a large
    part of any class.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2 as chi2_law

from analyse.analysis.reinert import CHI2_05, chi2_2x2
from analyse.analysis.themes import Themes
from analyse.errors import UsageError

LOCAL_SHARE, LOCAL_RATIO, INVARIANT_RATIO = 0.5, 2.0, 0.5
INVARIANT, LOCAL, SHARED = "invariant inductif", "local", "partagé"
UNCOVERED_RATIO = 0.75


def _label(share: np.ndarray, ratio: np.ndarray) -> tuple[str, int]:
    """Label of one class from its territory shares and ratios (arrays over territories)."""
    top = int(np.argmax(share))
    if share[top] >= LOCAL_SHARE and ratio[top] >= LOCAL_RATIO:
        return LOCAL, top
    if np.all(ratio >= INVARIANT_RATIO) and np.all(ratio <= 1 / INVARIANT_RATIO):
        return INVARIANT, top
    return SHARED, top


def _shares(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share, ratio) of a territory × class count table."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = counts / counts.sum(axis=0, keepdims=True)
        expected = counts.sum(axis=1, keepdims=True) / counts.sum()
        ratio = share / expected
    return np.nan_to_num(share), np.nan_to_num(ratio)


def territory_crossing(themes: Themes, n_boot: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Classes × territories: a long table and one label per class (see the module docstring).

    Returns
    -------
    table : DataFrame
        ``class, territory, units, share, expected, ratio, ratio_low, ratio_high``.
    summary : DataFrame
        ``class, label, territory, top_share, stability, territories, fragile`` (``territory``: the
        territory of a local class, else the one where the class weighs most).
    """
    u = themes.units[themes.units["class"].notna()]
    if "territory" not in u.columns:
        raise UsageError("les unités n'ont pas de territoire")
    # the facilitator of an inter-territory workshop speaks for no territory: out of this crossing
    u = u[u["territory"].notna()]
    territories = sorted(u["territory"].dropna().unique())
    docs = sorted(u["doc"].unique())
    k = themes.k
    t_index = {t: j for j, t in enumerate(territories)}
    d_index = {d: j for j, d in enumerate(docs)}
    # documents × classes counts, and each document's territory (its units' territory; mixed
    # documents count their units where they belong, hence per-unit territory rows).
    per_doc = np.zeros((len(docs), len(territories), k))
    np.add.at(per_doc, (u["doc"].map(d_index).to_numpy(), u["territory"].map(t_index).to_numpy(),
                        u["class"].astype(int).to_numpy() - 1), 1)
    counts = per_doc.sum(axis=0)
    share, ratio = _shares(counts)
    expected = counts.sum(axis=1) / counts.sum()
    doc_territory = np.array([t_index[u.loc[u["doc"] == d, "territory"].mode().iloc[0]] for d in docs])
    rng = np.random.default_rng(seed)
    boot_ratio = np.empty((n_boot, len(territories), k))
    labels = [_label(share[:, c], ratio[:, c]) for c in range(k)]
    same = np.zeros(k)
    for b in range(n_boot):
        draw = np.zeros(len(docs))
        for t in range(len(territories)):
            members = np.flatnonzero(doc_territory == t)
            if len(members):
                np.add.at(draw, rng.choice(members, size=len(members), replace=True), 1)
        c_b = np.tensordot(draw, per_doc, axes=1)
        s_b, r_b = _shares(c_b)
        boot_ratio[b] = r_b
        same += [_label(s_b[:, c], r_b[:, c])[0] == labels[c][0] for c in range(k)]
    low, high = np.percentile(boot_ratio, [5, 95], axis=0)
    rows = [{"class": c + 1, "territory": t, "units": int(counts[j, c]), "share": share[j, c],
             "expected": expected[j], "ratio": ratio[j, c], "ratio_low": low[j, c], "ratio_high": high[j, c]}
            for c in range(k) for j, t in enumerate(territories)]
    summary = [{"class": c + 1, "label": labels[c][0], "territory": territories[labels[c][1]],
                "top_share": share[labels[c][1], c], "stability": same[c] / max(n_boot, 1),
                "territories": int((counts[:, c] > 0).sum()),
                "fragile": bool(same[c] / max(n_boot, 1) < 0.5)} for c in range(k)]
    return pd.DataFrame(rows), pd.DataFrame(summary)


def code_crossing(themes: Themes, seg_codes: dict[str, set[str]], codebook=None) -> pd.DataFrame:
    """Classes × codes over classified units of coded (covered) segments.

    Returns ``class, code, label, kind, units, share_class, share_code, chi2, p``, sorted by
    class and χ² descending; codes never met in a class are left out.
    """
    u = themes.units[themes.units["class"].notna() & themes.units["segment"].isin(seg_codes)]
    columns = ["class", "code", "label", "kind", "units", "share_class", "share_code", "chi2", "p"]
    if u.empty:
        return pd.DataFrame(columns=columns)
    codes = sorted({c for s in u["segment"] for c in seg_codes[s]})
    c_index = {c: j for j, c in enumerate(codes)}
    x = np.zeros((len(u), len(codes)))
    for row, seg in enumerate(u["segment"]):
        for code in seg_codes[seg]:
            x[row, c_index[code]] = 1
    cls = u["class"].astype(int).to_numpy()
    n = len(u)
    ind = np.stack([cls == c for c in range(1, themes.k + 1)]).astype(float)
    n_cx = ind @ x
    n_c = ind.sum(axis=1)[:, None]
    n_x = x.sum(axis=0)[None, :]
    chi = chi2_2x2(n_cx, n_c, n_x, n)
    signed = np.where(n_cx >= n_c * n_x / n, chi, -chi)
    rows = []
    for c, j in zip(*np.nonzero(n_cx > 0)):
        code = codes[j]
        known = codebook is not None and code in codebook
        rows.append({"class": c + 1, "code": code, "label": codebook[code].label if known else "",
                     "kind": codebook[code].kind if known else "", "units": int(n_cx[c, j]),
                     "share_class": n_cx[c, j] / n_c[c, 0], "share_code": n_cx[c, j] / n_x[0, j],
                     "chi2": signed[c, j], "p": float(chi2_law.sf(chi[c, j], 1))})
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["class", "chi2", "code"], ascending=[True, False, True], ignore_index=True)


def class_balises(codes: pd.DataFrame, cls: int, n: int = 5) -> pd.DataFrame:
    """The codes over-represented in a class (χ² ≥ 3.84), strongest first."""
    rows = codes[(codes["class"] == cls) & (codes["chi2"] >= CHI2_05)]
    return rows.head(n)


def coded_share(themes: Themes, seg_codes: dict[str, set[str]]) -> tuple[pd.Series, float]:
    """Per class, the share of its (covered) units whose segment carries at least one code; and that share overall."""
    u = themes.units[themes.units["class"].notna() & themes.units["segment"].isin(seg_codes)]
    coded = u["segment"].map(lambda s: bool(seg_codes[s])).astype(float)
    per_class = coded.groupby(u["class"].astype(int)).mean().reindex(range(1, themes.k + 1))
    return per_class, float(coded.mean()) if len(coded) else float("nan")


def unseen_classes(themes: Themes, codes: pd.DataFrame, seg_codes: dict[str, set[str]],
                   n_words: int = 12) -> pd.DataFrame:
    """Classes the grid does not see (see the module docstring).

    Returns ``class, units, words, coded_share, corpus_coded_share, reason, best_code, best_code_share``.
    """
    shares, overall = coded_share(themes, seg_codes)
    rows = []
    covered = themes.units["segment"].isin(seg_codes).any()
    for cls in range(1, themes.k + 1 if covered else 1):   # nothing coded: nothing to say
        over = codes[(codes["class"] == cls) & (codes["chi2"] >= CHI2_05)]
        share = float(shares.get(cls, np.nan))
        if len(over) and not share <= UNCOVERED_RATIO * overall:
            continue
        reason = ("aucun code sur-représenté" if not len(over)
                  else "unités peu codées (moins des trois quarts du taux du corpus)")
        best = codes[codes["class"] == cls].sort_values(["share_class", "code"], ascending=[False, True]).head(1)
        rows.append({"class": cls, "units": int((themes.units["class"] == cls).sum()),
                     "words": ", ".join(themes.top_words(cls, n_words)),
                     "coded_share": share, "corpus_coded_share": overall, "reason": reason,
                     "best_code": best["code"].iloc[0] if len(best) else "",
                     "best_code_share": float(best["share_class"].iloc[0]) if len(best) else 0.0})
    return pd.DataFrame(rows, columns=["class", "units", "words", "coded_share", "corpus_coded_share", "reason",
                                       "best_code", "best_code_share"])


def emergent_code(themes: Themes, cls: int, code_id: str, codebook, dimension: str | None = None,
                  label: str | None = None, n_words: int = 8, n_examples: int = 3) -> dict:
    """A candidate code (``status: emergent``) drawn from a class: words as keywords, typical units as examples.

    The definition and criteria are drafts that say where they come from; the
    team rewrites them before the code is used for coding.
    """
    if not 1 <= cls <= themes.k:
        raise UsageError(f"classe {cls} inconnue", hint=f"classes : 1 à {themes.k}")
    if code_id in codebook:
        raise UsageError(f"le code '{code_id}' existe déjà dans la grille", hint="choisissez un nouvel identifiant")
    dim = dimension or code_id.split(".")[0]
    if dim not in codebook.dimensions:
        raise UsageError(f"dimension '{dim}' inconnue pour le code '{code_id}'",
                         hint=f"préfixez l'identifiant par une dimension déclarée ({', '.join(codebook.dimensions)}), "
                              "par exemple CON.20")
    words = themes.top_words(cls, n_words)
    if not words:
        raise UsageError(f"la classe {cls} n'a aucune forme caractéristique")
    typical = themes.typical[themes.typical["class"] == cls]
    examples = [" ".join(str(t).split()) for t in typical.get("text", pd.Series(dtype=str)).head(n_examples)]
    if len(examples) < 2:
        examples += [f"Segment employant : {', '.join(words[:4])}."] * (2 - len(examples))
    return {
        "id": code_id,
        "label": label or f"Classe émergente {cls} : {', '.join(words[:3])}",
        "dimension": dim,
        "kind": "concept",
        "parent": None,
        "status": "emergent",
        "definition": (f"Code candidat issu de la classe {cls} de la classification descendante hiérarchique "
                       f"(méthode Reinert, k = {themes.k}, graine {themes.params['seed']}), que la grille ne couvrait "
                       f"pas. Vocabulaire caractéristique : {', '.join(words)}. À redéfinir par l'équipe."),
        "include": [f"Le segment développe le thème de la classe {cls} ({', '.join(words[:5])})."],
        "exclude": ["Le segment relève déjà clairement d'une balise existante : coder cette balise."],
        "examples": examples,
        "keywords": words,
    }
