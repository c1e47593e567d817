"""Coding stripes: which segment of a document carries which codes (like MAXQDA's coding stripes).

:func:`coding_stripes` computes the table (one row per segment and code, with the share of the
segment the code covers, so a coded passage is told apart from a whole segment);
:func:`stripes_html` draws it as a small self-contained HTML grid: one line per code, one
column per segment, a coloured cell where the code is (the dimension's colour, paler for a
passage), the current segment framed; in the panel a click on a cell or a segment number goes there. The panel shows it under the text; a notebook can draw
it for any coder from :func:`~analyse.model.codings.load_codings`'s frame.
"""

from __future__ import annotations

import html

import pandas as pd

from analyse.messages import msg
from analyse.model.codebook import Codebook
from analyse.model.corpus import Segment
from analyse.textutil import fr_percent

STRIPE_COLUMNS = ["n", "segment", "code", "dimension", "codings", "coverage", "span"]
# matplotlib's « tab10 » colours, one per dimension in codebook order
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def dimension_colors(codebook: Codebook) -> dict[str, str]:
    """``{dimension: colour}``, in codebook order."""
    return {dim: PALETTE[i % len(PALETTE)] for i, dim in enumerate(codebook.dimensions)}


def _covered_length(intervals: list[tuple[int, int]]) -> int:
    """Characters covered by the union of ``[start, end)`` intervals."""
    total, last = 0, None
    for start, end in sorted(intervals):
        if last is not None and start < last:
            start = last
        if end > start:
            total += end - start
            last = end
        elif last is None or end > last:
            last = end
    return total


def coding_stripes(frame: pd.DataFrame, segments: list[Segment], codebook: Codebook | None = None) -> pd.DataFrame:
    """One row per segment and code of the document's codings.

    Parameters
    ----------
    frame : DataFrame
        Codings with at least ``segment``, ``code``, ``start`` and ``end`` (body offsets), such as
        ``load_codings(...).frame`` restricted to one coder and document.
    segments : list of Segment
        The document's segments, in order (``n`` is the 1-based position).
    codebook : Codebook, optional
        Gives each code's dimension and the order of the rows (codebook order); else by id.

    Returns
    -------
    DataFrame
        Columns ``n, segment, code, dimension, codings`` (how many codings), ``coverage`` (share
        of the segment's characters covered by the code, 0–1) and ``span`` (True when the code
        covers only part of the segment), sorted by code order then segment.

    Examples
    --------
    >>> coding_stripes(codings.frame.query("coder == 'A' and doc == 'le-mene-valeur'"),
    ...                corpus.segments_of("le-mene-valeur"), book)              # doctest: +SKIP
    """
    position = {s.id: (i + 1, s) for i, s in enumerate(segments)}
    rows = []
    frame = frame[frame["segment"].isin(position)]
    for (seg_id, code), group in frame.groupby(["segment", "code"], sort=False):
        n, seg = position[seg_id]
        clipped = [(max(int(a), seg.start), min(int(b), seg.end)) for a, b in zip(group["start"], group["end"])]
        coverage = _covered_length(clipped) / max(1, seg.end - seg.start)
        dimension = (codebook.dimension_of(code) if codebook is not None and code in codebook
                     else code.split(".")[0])
        rows.append({"n": n, "segment": seg_id, "code": code, "dimension": dimension,
                     "codings": len(group), "coverage": round(min(1.0, coverage), 4), "span": coverage < 0.999})
    out = pd.DataFrame(rows, columns=STRIPE_COLUMNS)
    order = {cid: i for i, cid in enumerate(codebook.codes)} if codebook is not None else {}
    out["_order"] = [order.get(c, len(order)) for c in out["code"]]
    return (out.sort_values(["_order", "code", "n"]).drop(columns="_order").reset_index(drop=True)
            .astype({"n": int, "codings": int, "coverage": float, "span": bool}))


def stripes_html(stripes: pd.DataFrame, n_segments: int, codebook: Codebook | None = None,
                 current: int | None = None) -> str:
    """The stripes as an HTML grid (codes down, segments across); ``current`` is a 1-based segment number."""
    if stripes.empty:
        return f"<div class='balises-stripes'><i>{html.escape(msg('stripes.empty'))}</i></div>"
    colors = dimension_colors(codebook) if codebook is not None else {}
    head = "".join(
        f"<th data-n='{n}' title='{html.escape(msg('stripes.segment', n=n))}' style='font-weight:normal;font-size:9px;cursor:pointer;"
        f"padding:0 1px;line-height:10px;{'outline:2px solid #1a6;' if n == current else ''}'>{n}</th>"
        for n in range(1, n_segments + 1))
    body = []
    for code, rows in stripes.groupby("code", sort=False):
        label = codebook[code].label if codebook is not None and code in codebook else ""
        by_n = {int(r.n): r for r in rows.itertuples()}
        cells = []
        for n in range(1, n_segments + 1):
            frame = "outline:2px solid #1a6;" if n == current else ""
            r = by_n.get(n)
            if r is None:
                cells.append(f"<td style='width:10px;height:10px;padding:0;{frame}'></td>")
                continue
            color = colors.get(r.dimension, "#555")
            opacity = 1.0 if not r.span else 0.35 + 0.5 * r.coverage
            what = msg("stripes.passage", share=fr_percent(r.coverage, 0)) if r.span else msg("stripes.whole")
            title = html.escape(f"{msg('stripes.segment', n=n)} · {code} — {label} · {what}")
            cells.append(f"<td class='balises-stripe{' balises-stripe-span' if r.span else ''}' "
                         f"data-code='{html.escape(code)}' data-n='{n}' title='{title}' "
                         f"style='width:10px;height:10px;padding:0;cursor:pointer;background:{color};opacity:{opacity:.2f};"
                         f"{frame}'></td>")
        body.append(f"<tr><th title='{html.escape(label)}' style='text-align:right;font-weight:normal;"
                    f"font-size:10px;line-height:10px;padding:0 4px 0 0;white-space:nowrap'>{html.escape(code)}</th>"
                    f"{''.join(cells)}</tr>")
    return (f"<div class='balises-stripes' style='overflow-x:auto;line-height:10px'><table style='border-collapse:"
            f"separate;border-spacing:1px;line-height:10px'><tr><th></th>{head}</tr>{''.join(body)}</table></div>")
