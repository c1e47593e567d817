"""Everything a report shows about inductive themes, computed in one call.

A notebook only formats what :func:`themes_report` returns: the classes
(size, words, territory label, balises), the words and illustrative
variables, the typical units (original and masked text), the topics beside
the classes, the crossings with territories and balises, what the grid does
not see, and the two figures.

The batch's themes report reads :func:`stored_themes`: the same report computed once per shared
context (:mod:`analyse.reporting.context_store`) and stored as a part of it, tables and figures
(PNG) for both audiences, so that the notebook's kernel neither parses sentences with spaCy nor
classifies again when nothing changed.

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
    from analyse.analysis.reinert import class_tree
    from analyse.analysis.theme_crossing import (class_balises, code_crossing, coded_share, territory_crossing,
                                                 unseen_classes)
    from analyse.analysis.themes import classify_themes, topic_model
    from analyse.analysis.units import speaker_names
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


# ---------------------------------------------------------------------------
# Stored with the shared context: what the themes notebook reads
# ---------------------------------------------------------------------------

THEMES_PART = "themes"
THEMES_PART_FORMAT = 2   # 2: typical units for the groupe miroir through the project masker
THEMES_FIGURES = ("dendrogramme", "territoires")


@dataclass
class StoredThemes:
    """A themes report as stored (:func:`stored_themes`): tables, figures' PNG, summary numbers.

    ``error`` holds the French sentence of a corpus too small to classify (then no table).
    ``typical`` has ``text`` and the typical units shown to each audience: ``shown`` (researchers:
    the text) and ``shown_public`` (groupe miroir: names and places masked).
    """

    summary: dict | None
    error: str = ""
    classes: pd.DataFrame | None = None
    unseen: pd.DataFrame | None = None
    typical: pd.DataFrame | None = None
    figures: dict = field(default_factory=dict)     # name → (PNG bytes, title)

    def figure(self, report, key: str, name: str):
        """A stored figure shown and saved by ``report`` (:meth:`Report.image`), as :meth:`Report.figure` would."""
        data, title = self.figures[key]
        return report.image(data, name, title or name)

    def typical_for(self, public: bool) -> pd.DataFrame:
        """Typical units with ``shown`` the text fit for the audience."""
        typical = self.typical
        if public and "shown_public" in typical.columns:
            typical = typical.assign(shown=typical["shown_public"])
        return typical.drop(columns=[c for c in ("shown_public",) if c in typical.columns])


def public_masker(masker, corpus, pseudonymiser) -> Callable[[str, str], str]:
    """``(segment, text) → text`` as the groupe miroir sees every other verbatim of the batch: ``masker``
    (the project's: lexicons, head-noun rules, spaCy's entities — in a batch the memoised one of
    :func:`analyse.reporting.masks.memo_masker`), then the participants' pseudonyms.

    The gazetteer alone (:func:`analyse.privacy.decontext.mask_text`) misses a person mentioned in
    passing (« monsieur Pellegrin ») or an organisation nobody listed: not enough for a shared folder.
    """
    territory = {s.id: s.territory for s in corpus.segments}
    return lambda segment, text: pseudonymiser.apply(masker.mask(text, territory.get(segment))[0])


def themes_tables(corpus, codebook, codings, tokens: pd.DataFrame, coder: str, k: int = 10, seed: int = 0,
                  unit_size: int = 40, public: Callable[[str, str], str] | None = None) -> tuple[dict, dict, dict]:
    """:func:`themes_report` for both audiences at once, as ``(meta, tables, files)`` to store.

    Researchers see the typical units as written (``shown`` = ``text``); the groupe miroir sees them
    through ``public`` (:func:`public_masker` in a batch; without it, the gazetteer's masking
    :func:`analyse.privacy.decontext.mask_text`, as ``themes_report(mask=True)`` gives them).
    """
    try:
        rep = themes_report(corpus, codebook, codings, tokens, coder=coder, k=k, seed=seed, unit_size=unit_size,
                            mask=False)
    except UsageError as exc:     # a corpus too small to classify: the notebook shows the sentence
        return {"error": exc.message}, {}, {}
    from analyse.reporting.report import figure_png

    public = public or _masker(corpus, True)
    typical = rep.typical
    if "text" in typical.columns:
        typical = typical.assign(shown_public=[public(s, t) for s, t in zip(typical["segment"], typical["text"])])
    files, titles = {}, {}
    for name in THEMES_FIGURES:
        if name in rep.figures:
            files[f"{name}.png"], titles[name] = figure_png(rep.figures[name], dpi=_figure_dpi(rep.figures[name]))
    meta = {"summary": rep.summary(), "figures": titles}
    return meta, {"classes": rep.classes, "unseen": rep.unseen, "typical": typical}, files


# Stored figures are drawn at FIGURE_DPI unless that passes MAX_FIGURE_PIXELS: drawing an image
# (imshow) resamples it at the output size in float64 arrays, about 30 bytes a pixel, so the heat map
# of 64 territories (14 × 40 in) took 340 MB at 150 dpi, the peak of the whole themes process.
FIGURE_DPI = 150
MAX_FIGURE_PIXELS = 4_000_000


def _figure_dpi(fig) -> int:
    width, height = fig.get_size_inches()
    fit = int((MAX_FIGURE_PIXELS / max(width * height, 1e-9)) ** 0.5)
    return max(min(FIGURE_DPI, fit), 50)


def stored_themes(project, store, coder: str, territories: list[str] | None = None, k: int = 10, seed: int = 0,
                  unit_size: int = 40) -> StoredThemes:
    """The themes report of ``store`` (a :class:`~analyse.reporting.context_store.StoredContext`): read
    when stored, else computed (:func:`themes_tables`, spaCy's sentences included) and stored first.

    Whether computed now or earlier, what is returned is read back from the store: a report shows the
    same thing on its first run and on the next ones.
    """
    from analyse.reporting.context_store import part_folder, read_part, write_part

    # as given: the batch names every territory, which keeps documents of no territory out (Corpus.subset)
    chosen = sorted(set(territories)) if territories else []
    params = {"format": THEMES_PART_FORMAT, "coder": coder, "territories": chosen, "k": k, "seed": seed,
              "unit_size": unit_size}
    folder = part_folder(store, THEMES_PART, params)
    got = read_part(folder)
    if got is None:
        write_part(folder, *_compute_themes(project, store, coder, chosen, k, seed, unit_size))
        got = read_part(folder)
    meta, tables = got
    if meta.get("error"):
        return StoredThemes(summary=None, error=meta["error"])
    figures = {name: ((folder / f"{name}.png").read_bytes(), title) for name, title in meta["figures"].items()}
    return StoredThemes(summary=meta["summary"], classes=tables["classes"], unseen=tables["unseen"],
                        typical=tables["typical"], figures=figures)


def _compute_themes(project, store, coder: str, territories: list[str], k: int, seed: int, unit_size: int):
    from analyse import nlp
    from analyse.reporting.masks import memo_masker
    from analyse.reporting.context import load_context

    # as the notebook did before the report was stored: the same loading, territory labels included
    # the batch's pseudonym table when it exists: the same pseudonyms as in every other report
    ctx = load_context(project.corpus_dir, project.codebook_path, project.codings_dir, [coder], prefix="themes",
                       territories=territories or None, project_dir=project.root,
                       pseudonyms_path=project.private_dir / "pseudonymes.json")
    # no progress bar: a report shows the same output whether its part was stored or computed now
    tokens = sentence_tokens(ctx.corpus, nlp.NLPLayer(cache_dir=project.cache_dir, progress=False))
    return themes_tables(ctx.corpus, ctx.codebook, ctx.codings, tokens, coder, k=k, seed=seed, unit_size=unit_size,
                         public=public_masker(memo_masker(project, store, ctx.corpus), ctx.corpus,
                                              ctx.pseudonymiser))


# Rows gathered as Python tuples before each compact flush: bounds the transient memory of the build.
TOKEN_CHUNK = 50_000


def sentence_tokens(source, layer=None, chunk: int = TOKEN_CHUNK) -> pd.DataFrame:
    """``analyse.nlp.token_frame(source, layer, sentences=True)``, built in compact chunks.

    Same rows, order and values; the string columns are categorical and the numbers int32, and
    the rows are turned into columns every ``chunk`` tokens: a list of Python tuples per token
    (with a new ``str`` per token) is what made the themes process grow with the corpus.
    """
    import numpy as np
    from pandas.api.types import union_categoricals

    from analyse import nlp

    columns = nlp.TOKEN_COLUMNS + ["sent", "idx"]
    strings = ("segment", "text", "lemma", "pos", "ent_type")
    parts: list[pd.DataFrame] = []
    rows: list[tuple] = []

    def flush() -> None:
        frame = pd.DataFrame(rows, columns=columns)
        rows.clear()
        for col in strings:
            frame[col] = frame[col].astype("category")
        for col in ("i", "sent", "idx"):
            frame[col] = frame[col].astype(np.int32)
        frame["is_stop"] = frame["is_stop"].astype(bool)
        parts.append(frame)

    for seg, doc in nlp.parse_segments(source, layer):
        for n, sent in enumerate(doc.sents):
            rows.extend((seg.id, t.i, t.text, t.lemma_, t.pos_, t.is_stop, t.ent_type_, n, t.idx)
                        for t in sent if not t.is_space)
        if len(rows) >= chunk:
            flush()
    if rows or not parts:
        flush()
    if len(parts) == 1:
        return parts[0]
    out = {col: (union_categoricals([p[col] for p in parts]) if col in strings
                 else np.concatenate([p[col].to_numpy() for p in parts])) for col in columns}
    return pd.DataFrame(out, columns=columns)
