"""Where a balise is at work, where it fails, where it is contested: the balises put to the test.

The référentiel wants its balises « contredites et améliorées »: a failure story is not evidence *for*
a balise. Every coding carries a valence (*à l'œuvre* by default, *mise en échec*, *contestée*); this
module counts them per code and territory and picks the verbatims of each, facilitator turns never.
"""

from __future__ import annotations

import pandas as pd

from analyse.analysis.material import FACILITATOR, Material
from analyse.model.codings import VALENCES


def valence_table(material: Material, codes: list[str] | None = None) -> pd.DataFrame:
    """Coded segments per code, territory and valence: one row per (code, territory).

    Columns: ``code, territory`` then one count column per valence (``à l'œuvre``, ``mise en échec``,
    ``contestée``) and ``total``; codes with at least one failing or contested coding come first.

    Examples
    --------
    >>> valence_table(material).query("code == 'ENG.5'")   # doctest: +SKIP
    """
    coded = material.codes.merge(material.segments[["segment", "territory"]], on="segment")
    if codes is not None:
        coded = coded[coded["code"].isin(codes)]
    if "valence" not in coded:
        coded = coded.assign(valence=VALENCES[0])
    table = (coded.assign(valence=coded["valence"].fillna(VALENCES[0]))
             .groupby(["code", "territory", "valence"]).size().unstack("valence", fill_value=0)
             .reindex(columns=list(VALENCES), fill_value=0).reset_index())
    table.columns.name = None
    table["total"] = table[list(VALENCES)].sum(axis=1)
    against = table.groupby("code")[list(VALENCES[1:])].transform("sum").sum(axis=1)
    table = table.assign(_against=against).sort_values(["_against", "code", "territory"],
                                                       ascending=[False, True, True])
    return table.drop(columns="_against").reset_index(drop=True)


def valence_verbatims(material: Material, code: str, per_valence: int = 2) -> pd.DataFrame:
    """A few verbatims of ``code`` for each valence, from as many territories as possible.

    Never a facilitator turn. Columns: ``valence, territory, segment, role, text``.
    """
    coded = material.codes[material.codes["code"] == code]
    rows = coded.merge(material.segments[["segment", "territory", "role", "text", "doc", "n"]], on="segment")
    rows = rows[rows["role"] != FACILITATOR]
    if "valence" not in rows:
        rows = rows.assign(valence=VALENCES[0])
    out = []
    for valence in VALENCES:
        pool = rows[rows["valence"].fillna(VALENCES[0]) == valence].sort_values(["territory", "doc", "n"])
        # one per territory first, then the rest, so that several places speak
        pool = pool.assign(_rank=pool.groupby("territory").cumcount()).sort_values(["_rank", "territory"])
        out.append(pool.head(per_valence))
    result = pd.concat(out, ignore_index=True) if out else rows.head(0)
    return result[["valence", "territory", "segment", "role", "text"]]
