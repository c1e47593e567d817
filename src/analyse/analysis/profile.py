"""One territory seen against the others: its code profile and characteristic verbatims.

These feed the per-territory report: which codes take a larger share of this
territory's material than of the others', and a few segments that show them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from analyse.privacy.decontext import representative_verbatims
from analyse.analysis.material import Material
from analyse.messages import msg


def territory_profile(table: pd.DataFrame, territory: str, labels: dict[str, str] | None = None,
                      classes: pd.DataFrame | None = None, value: str = "segment_share") -> pd.DataFrame:
    """Share of each code here and, on average, in the other territories.

    Parameters
    ----------
    table : DataFrame
        From :func:`analyse.analysis.invariants.code_territory_table` (all territories).
    territory : str
    labels : dict, optional
        ``{code: label}``.
    classes : DataFrame, optional
        From :func:`analyse.analysis.invariants.invariance_table` (adds ``class`` and
        ``top_territory``).
    value : {"segment_share", "word_share"}

    Returns
    -------
    DataFrame
        ``code, label, segments, share, share_elsewhere, ratio[, class,
        top_territory]``, sorted by share here (descending), then code. The
        ratio is ``share / share_elsewhere`` (``inf`` when the code is absent
        elsewhere, NaN when absent everywhere).

    Examples
    --------
    >>> t = pd.DataFrame({"territory": ["x", "y", "x", "y"], "code": ["A", "A", "B", "B"],
    ...                   "segments": [2, 1, 0, 3], "segment_share": [0.2, 0.1, 0.0, 0.3]})
    >>> territory_profile(t, "x")[["code", "share", "share_elsewhere", "ratio"]].values.tolist()
    [['A', 0.2, 0.1, 2.0], ['B', 0.0, 0.3, 0.0]]
    """
    if territory not in set(table["territory"]):
        raise ValueError(msg("profile.unknown_territory", territory=territory))
    here = table[table["territory"] == territory].set_index("code")
    others = table[table["territory"] != territory]
    elsewhere = others.groupby("code")[value].mean() if len(others) else pd.Series(dtype=float)
    out = pd.DataFrame({
        "code": here.index,
        "label": [(labels or {}).get(c, "") for c in here.index],
        "segments": here["segments"].to_numpy(),
        "share": here[value].to_numpy(dtype=float),
        "share_elsewhere": elsewhere.reindex(here.index).to_numpy(dtype=float),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = np.where(out["share_elsewhere"] > 0, out["share"] / out["share_elsewhere"],
                                np.where(out["share"] > 0, np.inf, np.nan))
    if classes is not None:
        out = out.merge(classes[["code", "class", "top_territory"]], on="code", how="left")
    return out.sort_values(["share", "code"], ascending=[False, True], ignore_index=True)


def characteristic_codes(profile: pd.DataFrame, n: int = 6, min_segments: int = 3,
                         kinds: Sequence[str] | None = None) -> list[str]:
    """Codes most over-represented here (highest ratio, then share), with enough segments.

    A small territory where no code reaches ``min_segments`` still gets its
    most over-represented codes among those present at all.
    """
    rows = profile if kinds is None else profile[profile["code"].isin(kinds)]
    enough = rows[rows["segments"] >= min_segments]
    rows = enough if len(enough) else rows[rows["segments"] > 0]
    rows = rows.assign(_r=rows["ratio"].replace(np.inf, np.finfo(float).max))
    return rows.sort_values(["_r", "share", "code"], ascending=[False, False, True])["code"].head(n).tolist()


def territory_verbatims(material: Material, territory: str, codes: Sequence[str], n: int = 2) -> pd.DataFrame:
    """A few representative segments of this territory for each code (fixed selection rule).

    The rule is that of :func:`analyse.privacy.decontext.representative_verbatims`;
    rows come with the segment's role and document.
    """
    verbatims = representative_verbatims(material, list(codes), n=n)
    verbatims = verbatims[verbatims["territory"] == territory]
    meta = material.segments[["segment", "doc", "role"]]
    return verbatims.merge(meta, on="segment", how="left", suffixes=("", "_seg")).reset_index(drop=True)


def leading_territories(table: pd.DataFrame, codes: Sequence[str], n: int = 3, value: str = "segment_share",
                        name=lambda t: t) -> pd.DataFrame:
    """For each code, the territories where it takes the largest share: a sorted table that stays
    readable for hundreds of territories (where a code × territory map no longer does).

    Returns
    -------
    DataFrame
        ``code, territories`` (how many have the code), ``leaders`` (« name share », best first, ties
        broken by name), in the order of ``codes``.

    Examples
    --------
    >>> t = pd.DataFrame({"territory": ["x", "y", "z"], "code": "A", "segment_share": [0.1, 0.3, 0.0]})
    >>> out = leading_territories(t, ["A"], n=2)
    >>> out["territories"].tolist(), out["leaders"].str.replace("\xa0", " ").tolist()   # French no-break spaces
    ([2], ['y 30 %, x 10 %'])
    """
    from analyse.textutil import fr_percent

    rows = []
    for code in codes:
        sub = table[(table["code"] == code) & (table[value] > 0)]
        sub = sub.assign(_name=sub["territory"].map(name)).sort_values([value, "_name"], ascending=[False, True])
        rows.append({"code": code, "territories": int(len(sub)),
                     "leaders": ", ".join(f"{nm} {fr_percent(v, 0)}" for nm, v in zip(sub["_name"].head(n),
                                                                                   sub[value].head(n)))})
    return pd.DataFrame(rows, columns=["code", "territories", "leaders"])
