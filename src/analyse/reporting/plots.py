"""Figures of the cross-territory analysis (matplotlib; each function returns a Figure).

Every figure is built on a :class:`matplotlib.figure.Figure` without pyplot,
so nothing is shown or kept in a global state: a notebook displays the
returned object, a batch run saves it (``fig.savefig(path)``).

Conventions, for figures printed in black and white and read by people with
a colour-vision deficiency: labels in French (decimal comma in written
values); font sizes of at least 9 pt;
sequential data in *cividis*; categories in the Okabe–Ito palette *and* with
distinct marker shapes or written values, so that no information is carried
by colour alone.

Examples
--------
>>> fig = heatmap_shares(code_territory_table(material))   # doctest: +SKIP
>>> fig.savefig("outputs/heatmap.png", dpi=150)            # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as _MatplotlibFigure

from analyse.messages import msg
from analyse.reporting.labels import (MAX_TERRITORY_COLUMNS, TERRITORY_LABELS, set_territory_labels,  # noqa: F401
                                     territory_label)
from analyse.textutil import fr_number, fr_percent

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
             "grey": "#999999"}
CLASS_STYLE = {  # class: (colour, marker, legend label) — the classes of analysis.invariants.CLASSES
    "invariant robuste": (OKABE_ITO["green"], "o", "invariant robuste"),
    "invariant probable": (OKABE_ITO["sky"], "h", "invariant probable"),
    "partagé": (OKABE_ITO["blue"], "s", "partagé"),
    "singulier": (OKABE_ITO["vermillion"], "D", "singulier"),
    "rare": (OKABE_ITO["grey"], "^", "rare"),
    "indéterminé": (OKABE_ITO["purple"], "X", "indéterminé"),
}
DIMENSION_COLOURS = {"ENG": OKABE_ITO["orange"], "SYS": OKABE_ITO["sky"], "COOP": OKABE_ITO["green"],
                     "VAL": OKABE_ITO["yellow"], "MGT": OKABE_ITO["purple"], "ECH": OKABE_ITO["blue"],
                     "CON": OKABE_ITO["grey"]}
FONT = 10
SMALL = 9


class Figure(_MatplotlibFigure):
    """A matplotlib Figure that displays itself in Jupyter as PNG.

    Built without pyplot, a plain Figure shows as ``<Figure size …>`` in a
    notebook unless ``%matplotlib inline`` ran first; this one carries its
    own ``_repr_png_`` (the inline backend, when active, still takes
    precedence, so it is never shown twice).
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        return buffer.getvalue()


def _dimension(code: str) -> str:
    return str(code).split(".")[0]


def _code_label(code: str, labels: dict[str, str] | None, width: int = 38) -> str:
    label = (labels or {}).get(code, "")
    if not label:
        return str(code)
    return f"{code} {label if len(label) <= width else label[:width - 1] + '…'}"


def heatmap_shares(table: pd.DataFrame, value: str = "segment_share", codes: Sequence[str] | None = None,
                   territories: Sequence[str] | None = None, labels: dict[str, str] | None = None,
                   title: str | None = None) -> Figure:
    """Heatmap code × territory of the share of each territory's material coded with each code.

    Parameters
    ----------
    table : DataFrame
        From :func:`analyse.analysis.invariants.code_territory_table` (``territory,
        code`` and ``value``).
    value : {"segment_share", "word_share"}
    codes, territories : list of str, optional
        Row and column order (default: as in the table / sorted).
    labels : dict, optional
        ``{code: label}`` shown beside the ids.

    Every cell is written out in per cent, so the figure reads without colour.

    Examples
    --------
    >>> heatmap_shares(code_territory_table(material), labels=codebook_labels(book))  # doctest: +SKIP
    """
    codes = list(codes) if codes is not None else list(dict.fromkeys(table["code"]))
    territories = list(territories) if territories is not None else sorted(table["territory"].unique())
    wide = (table.pivot_table(index="code", columns="territory", values=value, aggfunc="sum")
            .reindex(index=codes, columns=territories))
    data = wide.to_numpy(dtype=float) * 100.0
    height = max(3.0, 0.32 * len(codes) + 1.6)
    fig = Figure(figsize=(2.0 + 1.3 * len(territories) + (2.6 if labels else 0.6), height), layout="constrained")
    ax = fig.add_subplot()
    vmax = np.nanmax(data) if np.isfinite(data).any() else 1.0
    image = ax.imshow(np.ma.masked_invalid(data), cmap="cividis", aspect="auto", vmin=0.0, vmax=vmax or 1.0)
    ax.set_xticks(range(len(territories)), [territory_label(t) for t in territories], fontsize=FONT)
    ax.set_yticks(range(len(codes)), [_code_label(c, labels) for c in codes], fontsize=SMALL)
    ax.tick_params(axis="x", top=True, bottom=False, labeltop=True, labelbottom=False)
    for i in range(len(codes)):
        for j in range(len(territories)):
            v = data[i, j]
            if not np.isfinite(v):
                continue
            # cividis is dark at the bottom of the scale: light text there.
            colour = "black" if v > 0.55 * (vmax or 1.0) else "white"
            ax.text(j, i, fr_percent(v / 100, 0 if v >= 1 or v == 0 else 1),
                    ha="center", va="center", fontsize=SMALL, color=colour)
    what = "segments" if value == "segment_share" else msg("plot.words")
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label(msg("plot.heatmap_colorbar", what=what), fontsize=FONT)
    bar.ax.tick_params(labelsize=SMALL)
    ax.set_title(title or msg("plot.heatmap_title", what=what), fontsize=FONT + 1)
    return fig


def dispersion_chart(invariance: pd.DataFrame, thresholds: dict | None = None,
                     labels: dict[str, str] | None = None, title: str | None = None,
                     include_rare: bool = True) -> Figure:
    """Juilland's D of each code with its bootstrap interval, ordered, by class.

    Parameters
    ----------
    invariance : DataFrame
        From :func:`analyse.analysis.invariants.invariance_table`.
    thresholds : dict, optional
        ``d_inv`` and ``d_sing`` lines; default ``invariance.attrs["thresholds"]``.
    labels : dict, optional
        ``{code: label}``; default the table's ``label`` column.
    include_rare : bool
        Show rare codes too (their intervals are wide).

    Each class has its own colour *and* marker shape; the thresholds are drawn
    as labelled vertical lines.

    Examples
    --------
    >>> dispersion_chart(invariance_table(material))   # doctest: +SKIP
    """
    t = thresholds or invariance.attrs.get("thresholds", {})
    rows = invariance.dropna(subset=["D"])
    if not include_rare:
        rows = rows[rows["class"] != "rare"]
    rows = rows.sort_values(["D", "code"], ascending=[True, False], ignore_index=True)
    if labels is None and "label" in rows:
        labels = dict(zip(rows["code"], rows["label"]))
    height = max(3.0, 0.3 * len(rows) + 1.8)
    fig = Figure(figsize=(8.0, height), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    for cls, (colour, marker, name) in CLASS_STYLE.items():
        sel = (rows["class"] == cls).to_numpy()
        if not sel.any():
            continue
        d = rows.loc[sel, "D"].to_numpy()
        low = np.nan_to_num(d - rows.loc[sel, "D_low"].to_numpy(), nan=0.0).clip(min=0)
        high = np.nan_to_num(rows.loc[sel, "D_high"].to_numpy() - d, nan=0.0).clip(min=0)
        ax.errorbar(d, y[sel], xerr=[low, high], fmt=marker, color=colour, ecolor=colour, elinewidth=1.2,
                    capsize=2.5, markersize=6, label=f"{name} ({int(sel.sum())})", gid=f"class:{cls}")
    for key, style, text in (("d_inv", "--", "seuil invariant"), ("d_sing", ":", "seuil singulier")):
        if key in t:
            ax.axvline(t[key], color="black", linestyle=style, linewidth=1)
            ax.text(t[key], len(rows) - 0.4, f" {text} ({t[key]:g})", fontsize=SMALL, va="bottom", ha="left")
    ax.set_yticks(y, [_code_label(c, labels) for c in rows["code"]], fontsize=SMALL)
    ax.set_xlim(-0.02, 1.05)
    ax.set_ylim(-0.8, len(rows) + 0.6)
    ci = invariance.attrs.get("ci", 0.95)
    ax.set_xlabel(msg("plot.dispersion_xlabel", ci=f"{ci:.0%}".replace("%", " %")), fontsize=FONT)
    ax.tick_params(axis="x", labelsize=SMALL)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.legend(title="Classe", fontsize=SMALL, title_fontsize=SMALL, loc="lower right")
    ax.set_title(title or msg("plot.dispersion_title"), fontsize=FONT + 1)
    return fig


def cooccurrence_network(pairs: pd.DataFrame, frequencies: pd.Series | dict | None = None,
                         weight: str = "jaccard", top: int = 40, min_together: int = 2,
                         seed: int = 0, labels: dict[str, str] | None = None,
                         title: str | None = None) -> Figure:
    """Network of the strongest co-occurring code pairs.

    Parameters
    ----------
    pairs : DataFrame
        From :func:`analyse.analysis.cooccurrence.cooccurrence`.
    frequencies : Series or dict, optional
        Units per code (node size); default the ``n_a``/``n_b`` of ``pairs``.
    weight : {"jaccard", "lift"}
        Edge width, and the measure that picks the ``top`` pairs.
    min_together : int
        Pairs seen together fewer times are left out.
    seed : int
        Seed of the spring layout: the same input gives the same picture.

    Node size is the code's frequency, edge width the weight; every node is
    labelled with its id (its colour, by dimension, only repeats the prefix).

    Examples
    --------
    >>> cooccurrence_network(cooccurrence(material), code_frequencies(material))   # doctest: +SKIP
    """
    import networkx as nx

    from analyse.analysis.cooccurrence import strongest_pairs

    kept = strongest_pairs(pairs, by=weight, n=top, min_together=min_together)
    freq = dict(frequencies) if frequencies is not None else {}
    for a, b, na, nb in zip(pairs["code_a"], pairs["code_b"], pairs["n_a"], pairs["n_b"]):
        freq.setdefault(a, na)
        freq.setdefault(b, nb)
    graph = nx.Graph()
    for a, b, w, n_ab in zip(kept["code_a"], kept["code_b"], kept[weight], kept["together"]):
        graph.add_edge(a, b, weight=float(w), together=int(n_ab))
    fig = Figure(figsize=(8.0, 7.0), layout="constrained")
    ax = fig.add_subplot()
    ax.set_axis_off()
    what = "Jaccard" if weight == "jaccard" else "lift"
    ax.set_title(title or msg("plot.network_title", n=len(kept), what=what),
                 fontsize=FONT + 1)
    if graph.number_of_nodes() == 0:
        ax.text(0.5, 0.5, msg("plot.network_empty"), ha="center", va="center",
                fontsize=FONT, transform=ax.transAxes)
        return fig
    # Nodes and edges in sorted order so that the layout does not depend on input order.
    ordered = nx.Graph()
    ordered.add_nodes_from(sorted(graph.nodes))
    ordered.add_edges_from(sorted((min(a, b), max(a, b), d) for a, b, d in graph.edges(data=True)))
    pos = nx.spring_layout(ordered, seed=seed, weight="weight")
    weights = np.array([d["weight"] for _, _, d in ordered.edges(data=True)])
    span = weights.max() - weights.min()
    widths = 1.0 + 5.0 * ((weights - weights.min()) / span if span > 0 else np.full(len(weights), 0.5))
    for (a, b, d), w in zip(ordered.edges(data=True), widths):
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.plot([xa, xb], [ya, yb], color="#555555", linewidth=w, alpha=0.7, zorder=1, gid=f"edge:{a}|{b}")
    nodes = list(ordered.nodes)
    sizes = np.array([float(freq.get(n, 1)) for n in nodes])
    areas = 200.0 + 1400.0 * sizes / sizes.max()
    colours = [DIMENSION_COLOURS.get(_dimension(n), OKABE_ITO["grey"]) for n in nodes]
    xy = np.array([pos[n] for n in nodes])
    ax.scatter(xy[:, 0], xy[:, 1], s=areas, c=colours, edgecolors="black", linewidths=0.8, zorder=2,
               gid="nodes")
    for n, (x, y) in zip(nodes, xy):
        ax.text(x, y, _code_label(n, labels, width=18) if labels else n, ha="center", va="center",
                fontsize=SMALL, zorder=3, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                                "alpha": 0.75})
    ax.margins(0.12)
    ax.text(0.0, 0.0, msg("plot.network_legend", what=what),
            transform=ax.transAxes, fontsize=SMALL, va="bottom")
    return fig


def specificity_bars(spec: pd.DataFrame, n: int = 10, measure: str = "specificity",
                     territories: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Most over-represented lemmas of each territory, one panel per territory.

    Parameters
    ----------
    spec : DataFrame
        From :func:`analyse.analysis.specificities.specificities` (or the rows kept by
        :func:`analyse.analysis.specificities.territory_flesh`).
    n : int
        Lemmas per territory.
    measure : {"specificity", "g2"}
        Lafon's specificity or signed G².

    Bars carry their value written at their end.

    Examples
    --------
    >>> specificity_bars(specificities(tokens, segments_frame(corpus)), n=12)   # doctest: +SKIP
    """
    territories = list(territories) if territories is not None else sorted(spec["territory"].unique())
    cols = min(2, max(1, len(territories)))
    rows_n = max(1, math.ceil(len(territories) / cols))
    fig = Figure(figsize=(5.2 * cols, 0.34 * n * rows_n + 1.4 * rows_n + 0.6), layout="constrained")
    axes = fig.subplots(rows_n, cols, squeeze=False)
    xlabel = msg("plot.specificity_xlabel") if measure == "specificity" else msg("plot.g2_xlabel")
    for k, territory in enumerate(territories):
        ax = axes[k // cols][k % cols]
        top = (spec[(spec["territory"] == territory) & (spec[measure] > 0)]
               .sort_values([measure, "lemma"], ascending=[False, True]).head(n).iloc[::-1])
        y = np.arange(len(top))
        ax.barh(y, top[measure], color=OKABE_ITO["blue"], edgecolor="black", linewidth=0.5)
        ax.set_yticks(y, top["lemma"], fontsize=SMALL)
        for yi, v, f in zip(y, top[measure], top["f"]):
            ax.text(v, yi, f" {fr_number(v, 1)} ({f})", va="center", ha="left", fontsize=SMALL)
        ax.set_xlim(0, (top[measure].max() if len(top) else 1.0) * 1.3)
        ax.set_title(territory_label(territory), fontsize=FONT)
        ax.set_xlabel(xlabel, fontsize=SMALL)
        ax.tick_params(axis="x", labelsize=SMALL)
    for k in range(len(territories), rows_n * cols):
        axes[k // cols][k % cols].set_axis_off()
    fig.suptitle(title or msg("plot.specificity_title"),
                 fontsize=FONT + 1)
    return fig


def profile_bars(profile: pd.DataFrame, territory: str, n: int = 15, labels: dict[str, str] | None = None,
                 title: str | None = None) -> Figure:
    """Share of the territory's segments coded with each code, against the other territories' mean.

    Parameters
    ----------
    profile : DataFrame
        From :func:`analyse.analysis.profile.territory_profile` (``code, share,
        share_elsewhere``).
    territory : str
    n : int
        Codes shown (the largest shares here).

    Two bars per code (this territory: filled blue; elsewhere: hatched
    grey), values written in per cent, so the figure reads in black and white.

    Examples
    --------
    >>> profile_bars(territory_profile(table, "le-mene"), "le-mene")   # doctest: +SKIP
    """
    top = profile.sort_values(["share", "code"], ascending=[False, True]).head(n).iloc[::-1]
    y = np.arange(len(top))
    fig = Figure(figsize=(8.5, 0.42 * len(top) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    h = 0.38
    here = top["share"].to_numpy(dtype=float) * 100
    other = np.nan_to_num(top["share_elsewhere"].to_numpy(dtype=float)) * 100
    ax.barh(y + h / 2, here, height=h, color=OKABE_ITO["blue"], edgecolor="black", linewidth=0.5,
            label=territory_label(territory))
    ax.barh(y - h / 2, other, height=h, color="#DDDDDD", edgecolor="black", linewidth=0.5, hatch="///",
            label=msg("plot.profile_elsewhere"))
    for yi, v in zip(y, here):
        ax.text(v, yi + h / 2, " " + fr_percent(v / 100), va="center", fontsize=SMALL)
    for yi, v in zip(y, other):
        ax.text(v, yi - h / 2, " " + fr_percent(v / 100), va="center", fontsize=SMALL, color="#333333")
    ax.set_yticks(y, [_code_label(c, labels) for c in top["code"]], fontsize=SMALL)
    ax.set_xlabel(msg("plot.profile_xlabel"), fontsize=SMALL)
    ax.set_xlim(0, max(here.max() if len(here) else 1, other.max() if len(other) else 1) * 1.25 + 0.5)
    ax.tick_params(axis="x", labelsize=SMALL)
    ax.legend(fontsize=SMALL, loc="lower right")
    ax.set_title(title or msg("plot.profile_title", territory=territory_label(territory)), fontsize=FONT + 1)
    return fig


def share_spread(spread: pd.DataFrame, codes: Sequence[str] | None = None, labels: dict[str, str] | None = None,
                 here: pd.Series | dict | None = None, territory: str | None = None,
                 title: str | None = None) -> Figure:
    """Each code's share of segments over the territories, as a box per code; one territory as a dot.

    Readable for any number of territories (one row per code, whatever their number): the line
    runs from the smallest to the largest share, the box from the first to the third quartile, the
    tick is the median. With ``here`` (``{code: share}``, e.g. a territory's profile), the
    territory's own share is a blue diamond with its value written out.

    Parameters
    ----------
    spread : DataFrame
        From :func:`analyse.reporting.context_store.code_spread` (``code, territories, min, q1,
        median, q3, max``): a summary, so a territory report never holds another territory's rows.
    codes : list of str, optional
        Rows, top to bottom (default: the spread's order).

    Examples
    --------
    >>> share_spread(ctx.code_spread, balises, here=ctx.profile.set_index("code")["share"])  # doctest: +SKIP
    """
    rows = spread.set_index("code")
    codes = [c for c in (codes if codes is not None else rows.index) if c in rows.index]
    here = pd.Series(here if here is not None else {}, dtype=float)
    n = int(rows["territories"].max()) if len(rows) else 0
    fig = Figure(figsize=(8.5, 0.36 * len(codes) + 1.7), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(codes))[::-1]
    q = rows.loc[codes, ["min", "q1", "median", "q3", "max"]].to_numpy(dtype=float) * 100
    # one collection per element (not one artist per code): the figure draws as fast for 60 codes as for 6
    ax.hlines(y, q[:, 0], q[:, 4], color="black", linewidth=0.8)
    ax.barh(y, np.maximum(q[:, 3] - q[:, 1], 0.05), left=q[:, 1], height=0.56, color="#DDDDDD",
            edgecolor="black", linewidth=0.6)
    ax.vlines(q[:, 2], y - 0.28, y + 0.28, color="black", linewidth=1.4)
    shown = [(yi, float(here[c]) * 100, hi) for yi, c, hi in zip(y, codes, q[:, 4])
             if c in here.index and np.isfinite(here[c])]
    if shown:
        ax.scatter([v for _, v, _ in shown], [yi for yi, _, _ in shown], marker="D", s=36,
                   color=OKABE_ITO["blue"], edgecolors="black", zorder=3)
        for yi, v, hi in shown:
            ax.text(max(v, hi), yi, "  " + fr_percent(v / 100), va="center", fontsize=SMALL,
                    color=OKABE_ITO["blue"])
    ax.set_yticks(y, [_code_label(c, labels) for c in codes], fontsize=SMALL)
    ax.set_ylim(-0.7, len(codes) - 0.3)
    top = float(rows.loc[codes, "max"].max()) * 100 if codes else 1.0
    ax.set_xlim(0, (top or 1.0) * 1.2 + 1)
    ax.set_xlabel(msg("plot.spread_xlabel", n=n), fontsize=SMALL)
    ax.tick_params(axis="x", labelsize=SMALL)
    if territory is not None:
        ax.plot([], [], marker="D", color=OKABE_ITO["blue"], markeredgecolor="black", linestyle="none",
                label=territory_label(territory))
        ax.legend(fontsize=SMALL, loc="lower right")
    ax.set_title(title or msg("plot.spread_title"), fontsize=FONT + 1)
    return fig


def saturation_curve(sat: pd.DataFrame, title: str | None = None, max_lines: int = 12) -> Figure:
    """Codes (and code × valence pairs) found so far, as documents are read in date order.

    The whole corpus in black; each territory in grey, labelled at its end (past ``max_lines``
    territories only the whole corpus and the slowest to settle are drawn, so the figure stays
    readable for a large network).

    Examples
    --------
    >>> saturation_curve(saturation(material, documents_frame(corpus)))   # doctest: +SKIP
    """
    fig = Figure(figsize=(8.0, 4.6), layout="constrained")
    ax = fig.subplots()
    scopes = [s for s in sat["scope"].unique() if s != "ensemble"]
    if len(scopes) > max_lines:   # the territories still finding new codes latest
        last_new = sat[(sat["scope"] != "ensemble") & (sat["new"] > 0)].groupby("scope")["step"].max()
        scopes = list(last_new.sort_values(ascending=False).index[:max_lines])
    for scope in scopes:
        rows = sat[sat["scope"] == scope]
        ax.plot(rows["step"], rows["cumulative"], color=OKABE_ITO["grey"], linewidth=1.2, marker=".",
                gid=f"scope:{scope}")
        if len(rows):
            ax.annotate(territory_label(scope), (rows["step"].iloc[-1], rows["cumulative"].iloc[-1]),
                        fontsize=SMALL, xytext=(3, 0), textcoords="offset points", va="center")
    whole = sat[sat["scope"] == "ensemble"]
    ax.plot(whole["step"], whole["cumulative"], color=OKABE_ITO["black"], linewidth=2.2, marker="o",
            markersize=3, label="codes, tout le corpus", gid="scope:ensemble")
    ax.plot(whole["step"], whole["cumulative_valences"], color=OKABE_ITO["vermillion"], linewidth=1.4,
            linestyle="--", label="codes × valence, tout le corpus", gid="scope:valences")
    ax.set_xlabel("documents lus, par ordre de date", fontsize=SMALL)
    ax.set_ylabel("codes rencontrés (cumul)", fontsize=SMALL)
    ax.legend(fontsize=SMALL, loc="lower right", frameon=False)
    ax.set_title(title or "Saturation : de nouveaux codes apparaissent-ils encore ?", fontsize=FONT + 1)
    return fig
