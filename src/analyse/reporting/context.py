"""What a report notebook works on, loaded in one call.

The notebooks stay thin: their parameters cell names the corpus, codebook,
codings, coders, audience and output folder, and :func:`load_context` turns
those into validated data (corpus, codebook, codings, coded material), the
NLP frames (from the DocBin cache), the pseudonymiser and a
:class:`~analyse.reporting.report.Report` that saves and shows tables and figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from analyse.model.codebook import Codebook, load_codebook
from analyse.model.codings import Codings, load_codings
from analyse.model.corpus import Corpus, documents_frame, load_corpus
from analyse.errors import Problem, UsageError
from analyse.analysis.invariants import codebook_labels
from analyse.analysis.material import Material, coded_material
from analyse.reporting.plots import territory_label  # noqa: F401 - re-exported for notebooks
from analyse.privacy.pseudonymise import Pseudonymiser
from analyse.reporting.report import Report

@dataclass
class Context:
    """Validated inputs and outputs of one report."""

    corpus: Corpus
    codebook: Codebook
    codings: Codings
    coders: list[str]
    material: Material
    report: Report
    pseudonymiser: Pseudonymiser
    nlp_cache: Path | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def territories(self) -> list[str]:
        return self.corpus.territories

    @cached_property
    def labels(self) -> dict[str, str]:
        return codebook_labels(self.codebook)

    @cached_property
    def dimension_labels(self) -> dict[str, str]:
        return dict(self.codebook.dimensions)

    @cached_property
    def documents(self) -> pd.DataFrame:
        return documents_frame(self.corpus)

    @cached_property
    def _nlp(self):
        from analyse import nlp

        layer = nlp.NLPLayer(cache_dir=self.nlp_cache or nlp.default_cache_dir(self.corpus.root),
                             progress=False)
        return nlp, layer

    @cached_property
    def _frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        # tokens and entities come from one read of the cache
        nlp, layer = self._nlp
        return nlp.token_entity_frames(self.corpus, layer)

    @cached_property
    def tokens(self) -> pd.DataFrame:
        """Token table (segment, i, text, lemma, pos, is_stop, ent_type) from the NLP cache."""
        return self._frames[0]

    @cached_property
    def entities(self) -> pd.DataFrame:
        """Entity table (segment, start_char, end_char, text, label) from the NLP cache."""
        return self._frames[1]

    def person_spans(self, segment: str, text: str | None = None) -> list[tuple[int, int]]:
        """Person entity spans of a segment; with ``text``, only those that still
        match it (spans computed on the original must not cut into a masked text)."""
        ents = self.entities
        rows = ents[(ents["segment"] == segment) & (ents["label"] == "PER")]
        spans = zip(rows["start_char"].astype(int), rows["end_char"].astype(int), rows["text"])
        return [(s, e) for s, e, t in spans if text is None or text[s:e] == t]

    def shown_text(self, segment: str, text: str) -> str:
        """A segment's text as the audience may see it: participants' names and
        person entities replaced for the groupe miroir, untouched for researchers."""
        if not self.report.public:
            return text
        return self.pseudonymiser.apply(text, self.person_spans(segment, text))

    def check_territory(self, territory: str) -> str:
        """Fail early, in one clear line, on a territory absent from the corpus."""
        if territory not in self.territories:
            raise UsageError(f"unknown territory '{territory}'", hint=f"available: {', '.join(self.territories)}")
        return territory

    def for_audience(self, spec: pd.DataFrame) -> pd.DataFrame:
        """Vocabulary rows fit for the audience: for the groupe miroir, no proper
        nouns and no word that is a participant's name."""
        if not self.report.public:
            return spec
        names = spec["lemma"].map(self.pseudonymiser.is_name)
        return spec[(spec["pos"] != "PROPN") & ~names]

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([p.as_dict() for p in self.problems],
                            columns=["path", "line", "severity", "message", "hint"])


def load_context(corpus_dir: str | Path = "../corpus", codebook_path: str | Path = "../codebook/balises.yaml",
                 codings_dir: str | Path | None = None, coders: list[str] | tuple[str, ...] = ("A",),
                 audience: str = "chercheurs", out_dir: str | Path | None = None,
                 pseudonyms_path: str | Path | None = None, prefix: str = "",
                 nlp_cache: str | Path | None = None, territories: list[str] | None = None) -> Context:
    """Load and validate everything a report needs.

    Input problems (a bad document, a bad coding line) do not stop the
    report: they are kept in ``context.problems`` so the notebook can show
    them, and the valid material is used.

    Examples
    --------
    >>> ctx = load_context("../corpus", "../codebook/balises.yaml", coders=["A"])  # doctest: +SKIP
    >>> ctx.material.segments.shape                                              # doctest: +SKIP
    """
    if not list(coders):
        raise UsageError("no coder given", hint="set coders, e.g. ['A']")
    corpus = load_corpus(corpus_dir)
    book = load_codebook(codebook_path)
    # Codings are checked against the whole corpus: a subset selects what is reported,
    # never what the codings are checked against (else every other territory's
    # coding would be an « unknown document »).
    codings = load_codings(corpus, book, codings_dir, coders=list(coders))
    if territories:
        unknown = sorted(set(territories) - set(corpus.territories))
        if unknown:
            raise UsageError(f"unknown territory: {', '.join(unknown)}",
                             hint=f"available: {', '.join(corpus.territories)}")
        corpus = corpus.subset(list(territories))
        codings = codings.subset(corpus.documents)
    if pseudonyms_path and Path(pseudonyms_path).exists():
        pseudonymiser = Pseudonymiser.read_mapping(pseudonyms_path)
    else:
        pseudonymiser = Pseudonymiser.from_corpus(corpus)
    material = coded_material(corpus, codings, list(coders))
    report = Report(out_dir or None, audience=audience, pseudonymiser=pseudonymiser, prefix=prefix)
    problems = [*corpus.problems.errors, *codings.problems.errors]
    return Context(corpus=corpus, codebook=book, codings=codings, coders=list(coders), material=material,
                   report=report, pseudonymiser=pseudonymiser,
                   nlp_cache=Path(nlp_cache) if nlp_cache else None, problems=problems)
