"""Everything a report shows about inductive themes, computed in one call.

A notebook only formats what :func:`themes_report` returns: the classes
(size, words, territory label, balises), the words and illustrative
variables, the typical units (original and masked text), the topics beside
the classes, the crossings with territories and balises, what the grid does
not see, and the two figures.

Examples
--------
>>> rep = themes_report(corpus, codebook, codings, tokens, coder="A", k=6)   # doctest: +SKIP
>>> rep.classes                                                               # doctest: +SKIP
>>> rep.figures["dendrogramme"]                                               # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from analyse.analysis.reinert import class_tree
from analyse.analysis.theme_crossing import (class_balises, code_crossing, coded_share, territory_crossing,
                                             unseen_classes)
from analyse.analysis.themes import Themes, Topics, classify_themes, topic_model
from analyse.analysis.units import speaker_names
from analyse.errors import UsageError
from analyse.messages import msg

# Below this many classified text units a lexical classification says nothing a reader could use.
MIN_CLASSIFIED_UNITS = 30


@dataclass
class ThemesReport:
    themes: Themes
    topics: Topics
    classes: pd.DataFrame          # one row per class, in French headers-ready columns
    territories: pd.DataFrame      # long class × territory table (ratios, bootstrap interval)
    territory_labels: pd.DataFrame
    codes: pd.DataFrame            # long class × code table
    unseen: pd.DataFrame           # classes no code covers
    typical: pd.DataFrame          # typical units with `text` and `shown` (masked when asked)
    figures: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Numbers for a notebook's prose: units, classified share, classes, topic stability."""
        return {"units": len(self.themes.units), "classified_share": self.themes.classified_share,
                "classes": self.themes.k, "topic_stability": self.topics.mean_stability,
                "params": dict(self.themes.params)}


def _masker(corpus, mask):
    if mask is None or mask is False:
        return lambda segment, text: text
    if callable(mask):
        return mask
    from analyse.privacy.decontext import build_gazetteer, mask_text

    gazetteer = build_gazetteer(corpus)
    return lambda segment, text: mask_text(text, gazetteer)


def themes_report(corpus, codebook, codings, tokens: pd.DataFrame, coder: str = "A", k: int = 10, seed: int = 0,
                  unit_size: int = 40, min_freq: int = 3, n_boot: int = 200,
                  mask: bool | Callable[[str, str], str] = True, figures: bool = True) -> ThemesReport:
    """Classify, describe, cross and draw.

    Parameters
    ----------
    corpus, codebook, codings
        Loaded project data (``codings`` from :func:`analyse.model.codings.load_codings`).
    tokens : DataFrame
        ``analyse.nlp.token_frame(corpus, layer, sentences=True)``.
    coder : str
        Whose codings are crossed with the classes.
    mask : bool or callable
        ``True``: typical units are also given decontextualised (names and places
        masked, :func:`analyse.privacy.decontext.mask_text`) in ``shown``; a
        callable ``(segment id, text) → text`` (e.g. a report context's
        ``shown_text``) is used as is; ``False``: ``shown`` is the text.
    """
    from analyse.model.codings import segment_codes
    from analyse.model.corpus import segments_frame

    estimated_units = len(tokens) // max(unit_size, 1)   # before classifying: is there text enough?
    if estimated_units < MIN_CLASSIFIED_UNITS:
        raise UsageError(msg("themes.too_small", units=estimated_units, minimum=MIN_CLASSIFIED_UNITS))
    themes = classify_themes(tokens, segments_frame(corpus), k=k, seed=seed, unit_size=unit_size,
                             min_freq=min_freq, exclude=speaker_names(corpus))
    classified = int(themes.units["class"].notna().sum())
    if themes.k < 2 or classified < MIN_CLASSIFIED_UNITS:
        raise UsageError(msg("themes.too_small", units=classified, minimum=MIN_CLASSIFIED_UNITS))
    try:
        topics = topic_model(themes, seed=seed)
    except ValueError:   # scikit-learn's way of saying there is too little text for topics
        raise UsageError(msg("themes.too_small", units=classified, minimum=MIN_CLASSIFIED_UNITS)) from None
    table, labels = territory_crossing(themes, n_boot=n_boot, seed=seed)
    seg_codes = segment_codes(codings, corpus, coder)
    codes = code_crossing(themes, seg_codes, codebook)
    unseen = unseen_classes(themes, codes, seg_codes)
    shown = _masker(corpus, mask)
    typical = themes.typical.copy()
    if "text" in typical.columns:
        typical["shown"] = [shown(s, t) for s, t in zip(typical["segment"], typical["text"])]
    coded, _ = coded_share(themes, seg_codes)
    best_topic = topics.closest() if len(topics.by_class) else pd.Series(dtype=str)
    classes = themes.classes.merge(labels[["class", "label", "territory", "stability", "fragile"]], on="class",
                                   how="left")
    classes["balises"] = [", ".join(class_balises(codes, c)["code"]) for c in classes["class"]]
    classes["coded_share"] = classes["class"].map(coded)
    classes["unseen"] = classes["class"].isin(unseen["class"])
    classes["topic"] = classes["class"].map(best_topic)
    rep = ThemesReport(themes=themes, topics=topics, classes=classes, territories=table,
                       territory_labels=labels, codes=codes, unseen=unseen, typical=typical)
    if figures and themes.k:
        from analyse.reporting.plots import territory_label
        from analyse.reporting.theme_plots import class_dendrogram, territory_class_heatmap

        tree = class_tree(themes.classification.trees[0], [n[0] for n in themes.classification.class_nodes])
        words = {c: themes.top_words(c, 8) for c in range(1, themes.k + 1)}
        label_of = {r["class"]: (r["label"] if r["label"] != "local" else f"local ({territory_label(r['territory'])})")
                    + (" (fragile)" if r["fragile"] else "") for _, r in labels.iterrows()}
        rep.figures["dendrogramme"] = class_dendrogram(tree, themes.classes, words, label_of)
        rep.figures["territoires"] = territory_class_heatmap(table)
    return rep
