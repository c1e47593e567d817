"""Figures of the lexical classification: dendrogram of the classes, territory × class heat map.

Same conventions as :mod:`analyse.reporting.plots` (no pyplot, French labels,
cividis, written values so nothing is carried by colour alone).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyse.reporting.plots import FONT, SMALL, Figure, territory_label


def _fr(x: float, digits: int = 0) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _leaves(tree) -> list[int]:
    if isinstance(tree, list):
        return [leaf for sub in tree for leaf in _leaves(sub)]
    return [tree]


def class_dendrogram(tree, classes: pd.DataFrame, words: dict[int, list[str]] | None = None,
                     labels: dict[int, str] | None = None, title: str | None = None) -> Figure:
    """The classes as leaves of the (reduced) tree of the classification, with size and top words.

    Parameters
    ----------
    tree : nested lists of class indices (0-based)
        :func:`analyse.analysis.reinert.class_tree`.
    classes : DataFrame
        ``class, units, share`` (``Themes.classes``).
    words : dict, optional
        Class (1-based) → top words written beside its leaf.
    labels : dict, optional
        Class (1-based) → short label (e.g. « invariant inductif »), shown after the size.
    """
    order = _leaves(tree)
    n = len(order)
    fig = Figure(figsize=(10, 0.9 * n + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    y_of = {leaf: n - 1 - j for j, leaf in enumerate(order)}

    def depth(t) -> int:
        return 1 + max(depth(s) for s in t) if isinstance(t, list) else 0

    top = depth(tree)

    # Horizontal links from each node to its children are drawn by the children (from their parent level).
    def draw_links(t, level: int) -> float:
        if not isinstance(t, list):
            ax.plot([level, top], [y_of[t], y_of[t]], color="black", lw=1.2)
            return y_of[t]
        ys = [draw_links(s, level + 1) for s in t]
        for y in ys:
            ax.plot([level, level + 1], [y, y], color="black", lw=1.2)
        ax.plot([level, level], [min(ys), max(ys)], color="black", lw=1.2)
        return float(np.mean([min(ys), max(ys)]))

    root_y = draw_links(tree, 0) if isinstance(tree, list) else draw_links([tree], 0)
    ax.plot([-0.4, 0], [root_y, root_y], color="black", lw=1.2)
    info = classes.set_index("class")
    for leaf in order:
        cls = leaf + 1
        size = int(info.loc[cls, "units"]) if cls in info.index else 0
        share = float(info.loc[cls, "share"]) if cls in info.index else 0.0
        head = f"Classe {cls} — {size} unités ({_fr(100 * share)} %)"
        if labels and cls in labels:
            head += f" — {labels[cls]}"
        ax.text(top + 0.15, y_of[leaf] + 0.12, head, fontsize=FONT, fontweight="bold", va="bottom")
        if words and words.get(cls):
            ax.text(top + 0.15, y_of[leaf] - 0.08, ", ".join(words[cls][:8]), fontsize=SMALL, va="top")
    ax.set_xlim(-0.5, top + 4.5)
    ax.set_ylim(-0.8, n - 0.2)
    ax.axis("off")
    ax.set_title(title or "Classification descendante hiérarchique (méthode Reinert)", fontsize=FONT + 1)
    fig.tight_layout()
    return fig


def territory_class_heatmap(table: pd.DataFrame, value: str = "ratio", title: str | None = None) -> Figure:
    """Territories × classes: colour = ratio of the class's share in the territory to the territory's weight.

    ``table`` is the long table of :func:`analyse.analysis.theme_crossing.territory_crossing`;
    each cell writes the ratio and the number of units.
    """
    ratio = table.pivot(index="territory", columns="class", values=value)
    units = table.pivot(index="territory", columns="class", values="units")
    fig = Figure(figsize=(1.1 * ratio.shape[1] + 3, 0.6 * ratio.shape[0] + 1.8))
    ax = fig.add_subplot(1, 1, 1)
    shown = np.log2(np.clip(ratio.to_numpy(dtype=float), 1 / 8, 8))
    image = ax.imshow(shown, cmap="cividis", vmin=-3, vmax=3, aspect="auto")
    for i in range(ratio.shape[0]):
        for j in range(ratio.shape[1]):
            dark = shown[i, j] < 0.5
            ax.text(j, i, f"{_fr(ratio.iat[i, j], 1)}\n({int(units.iat[i, j])})", ha="center", va="center",
                    fontsize=SMALL, color="white" if dark else "black")
    ax.set_xticks(range(ratio.shape[1]), [f"Classe {c}" for c in ratio.columns], fontsize=SMALL, rotation=30,
                  ha="right")
    ax.set_yticks(range(ratio.shape[0]), [territory_label(t) for t in ratio.index], fontsize=SMALL)
    bar = fig.colorbar(image, ax=ax, ticks=[-3, -2, -1, 0, 1, 2, 3])
    bar.ax.set_yticklabels(["÷8", "÷4", "÷2", "1", "×2", "×4", "×8"], fontsize=SMALL)
    bar.set_label("présence relative (part de la classe / poids du territoire)", fontsize=SMALL)
    ax.set_title(title or "Classes lexicales par territoire (entre parenthèses : unités)", fontsize=FONT + 1)
    fig.tight_layout()
    return fig
