"""Figures of the cross-territory analysis (analyse.reporting.plots)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from analyse.analysis.cooccurrence import code_frequencies, cooccurrence, strongest_pairs  # noqa: E402
from analyse.analysis.invariants import code_territory_table, invariance_table, material_from_frames  # noqa: E402
from analyse.reporting.plots import (CLASS_STYLE, cooccurrence_network, dispersion_chart, heatmap_shares,  # noqa: E402
                           specificity_bars)


@pytest.fixture(scope="module")
def material():
    rng = np.random.default_rng(0)
    territories = ["grande-synthe", "le-mene", "loos-en-gohelle", "malaunay"]
    segs, codes = [], []
    for t in territories:
        for d in range(3):
            for n in range(1, 21):
                seg = f"{t}-{d}#{n}"
                segs.append({"segment": seg, "doc": f"{t}-{d}", "territory": t, "words": 30})
                for code, p in (("ENG.1", 0.3), ("SYS.1", 0.25), ("COOP.1", 0.2),
                                ("VAL.6", 0.5 if t == "le-mene" else 0.0), ("ECH", 0.01)):
                    if rng.random() < p:
                        codes.append({"segment": seg, "code": code})
    return material_from_frames(pd.DataFrame(segs), pd.DataFrame(codes))


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]


def _assert_readable(fig):
    assert isinstance(fig, Figure)
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 9]
    assert not small, small
    assert fig._repr_png_().startswith(b"\x89PNG")           # renders, and shows itself in Jupyter
    assert plt.get_fignums() == []                           # no pyplot figure was opened


def test_heatmap_shows_the_shares_as_colour_and_as_text(material):
    from analyse.project import Project
    from analyse.reporting.plots import set_territory_labels

    from tests.helpers import ROOT
    set_territory_labels(Project.load(ROOT).territory_names())   # display names come from balises.toml
    table = code_territory_table(material)
    fig = heatmap_shares(table, labels={"ENG.1": "Proximité au territoire vécu"})
    _assert_readable(fig)
    ax = fig.axes[0]
    image = ax.get_images()[0].get_array()
    expected = table.pivot(index="code", columns="territory", values="segment_share") * 100
    assert np.allclose(image, expected.to_numpy())
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == expected.size and all(c.endswith("%") for c in cells)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Grande-Synthe", "Le Mené", "Loos-en-Gohelle", "Malaunay"]
    assert "ENG.1 Proximité au territoire vécu" in [t.get_text() for t in ax.get_yticklabels()]
    assert "Part des segments" in fig.axes[1].get_ylabel()
    assert ax.get_images()[0].get_cmap().name == "cividis"


def test_dispersion_chart_orders_codes_and_marks_classes(material):
    table = invariance_table(material, n_boot=50)
    fig = dispersion_chart(table)
    _assert_readable(fig)
    ax = fig.axes[0]
    shown = table.dropna(subset=["D"]).sort_values(["D", "code"], ascending=[True, False])
    labels = [t.get_text().split(" ")[0] for t in ax.get_yticklabels()]
    assert labels == shown["code"].tolist()                # bottom to top by D
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for cls, count in shown["class"].value_counts().items():
        assert f"{cls} ({count})" in legend
    # Classes differ by marker shape too, not by colour alone.
    assert len({m for _, m, _ in CLASS_STYLE.values()}) == len(CLASS_STYLE)
    assert any("seuil invariant" in t.get_text() for t in ax.texts)
    assert ax.get_xlabel().startswith("Dispersion de Juilland")


def _node_offsets(fig):
    return next(c for c in fig.axes[0].collections if isinstance(c, PathCollection)).get_offsets()


def test_network_is_deterministic_and_scaled(material):
    pairs = cooccurrence(material)
    freq = code_frequencies(material)
    fig = cooccurrence_network(pairs, freq, weight="jaccard", top=10, min_together=1, seed=1)
    _assert_readable(fig)
    again = cooccurrence_network(pairs, freq, weight="jaccard", top=10, min_together=1, seed=1)
    assert np.allclose(_node_offsets(fig), _node_offsets(again))
    kept = strongest_pairs(pairs, by="jaccard", n=10, min_together=1)
    edges = [line for line in fig.axes[0].lines if (line.get_gid() or "").startswith("edge:")]
    assert len(edges) == len(kept)
    widths = {line.get_gid(): line.get_linewidth() for line in edges}
    strongest = kept.iloc[0]
    weakest = kept.iloc[-1]
    assert widths[f"edge:{strongest.code_a}|{strongest.code_b}"] >= widths[f"edge:{weakest.code_a}|{weakest.code_b}"]
    nodes = next(c for c in fig.axes[0].collections if isinstance(c, PathCollection))
    names = sorted(set(kept["code_a"]) | set(kept["code_b"]))
    sizes = dict(zip(names, nodes.get_sizes()))
    assert sizes["ENG.1"] > sizes["COOP.1"]                  # more frequent, bigger node
    assert set(names) <= {t.get_text() for t in fig.axes[0].texts}


def test_network_without_pairs_says_so():
    fig = cooccurrence_network(pd.DataFrame(columns=["code_a", "code_b", "n_a", "n_b", "together",
                                                     "units", "expected", "jaccard", "lift"]))
    assert any("Aucune paire" in t.get_text() for t in fig.axes[0].texts)


def test_specificity_bars_one_panel_per_territory():
    spec = pd.DataFrame({
        "territory": ["x"] * 4 + ["y"] * 2,
        "lemma": ["mine", "terril", "projet", "rare", "éolienne", "projet"],
        "f": [10, 6, 5, 1, 12, 5], "specificity": [5.0, 3.0, -0.5, 0.2, 6.0, -0.1],
        "g2": [20.0, 9.0, -1.0, 0.3, 25.0, -0.2],
    })
    fig = specificity_bars(spec, n=2)
    _assert_readable(fig)
    x_ax, y_ax = fig.axes[:2]
    assert x_ax.get_title() == "x" and y_ax.get_title() == "y"
    assert [t.get_text() for t in x_ax.get_yticklabels()] == ["terril", "mine"]     # top one at the top
    assert [t.get_text() for t in y_ax.get_yticklabels()] == ["éolienne"]           # only positive ones
    bars = [p for p in x_ax.patches if isinstance(p, Rectangle)]
    assert sorted(b.get_width() for b in bars) == [3.0, 5.0]
    assert any(t.get_text().strip() == "5,0 (10)" for t in x_ax.texts)
    assert x_ax.get_xlabel().startswith("Spécificité")
