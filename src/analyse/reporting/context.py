"""What a report notebook works on, loaded in one call.

The notebooks stay thin: their parameters cell names the corpus, codebook,
codings, coders, audience and output folder, and :func:`load_context` turns
those into validated data (corpus, codebook, codings, coded material), the
NLP frames (from the DocBin cache), the pseudonymiser and a
:class:`~analyse.reporting.report.Report` that saves and shows tables and figures.

A corpus is normally coded in part: the analysed coder (one rule,
:meth:`analyse.project.Project.analysed_coder`) may have covered some documents
only, or none of a territory. :func:`analyse.analysis.material.align` puts
every segment (vocabulary, material of the territory) and the coded part
(code tables) side by side, once; notebooks ask :attr:`Context.coverage`
how much is coded and show a sentence instead of code tables where nothing is.

Everything shared between reports is computed once and stored
(:mod:`analyse.reporting.context_store`). With ``territory=``, a report reads
only that territory's slice (segments, coded material, tokens, entities,
documents, vocabulary, code profile) and the shared one-row-per-code or
per-territory summaries: no row of another territory enters its memory. The
synthesis reads the whole stored context (``use_store=True``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from analyse.model.codebook import Codebook, load_codebook
from analyse.model.codings import CodingStore, Codings, load_codings
from analyse.model.corpus import Corpus, documents_frame, load_corpus, segments_frame
from analyse.errors import Problem, UsageError
from analyse.messages import msg
from analyse.analysis.invariants import CLASSES, code_territory_table, codebook_labels, invariance_table, saturation
from analyse.analysis.material import Aligned, Material, align, coded_material, coverage_table, rollup_parents
from analyse.project import Project
from analyse.reporting.labels import set_territory_labels, territory_label  # noqa: F401 - re-exported
from analyse.privacy.pseudonymise import Pseudonymiser
from analyse.reporting.report import Report
from analyse.reporting.context_store import StoredContext, ensure_context

@dataclass
class Context:
    """Validated inputs and outputs of one report."""

    corpus: Corpus | None        # None for a territory's slice (its frames come from the stored context)
    codebook: Codebook
    codings: Codings | None
    coders: list[str]
    material: Material
    report: Report
    pseudonymiser: Pseudonymiser
    nlp_cache: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    project: Project | None = None
    segments: pd.DataFrame | None = None   # every segment, with a ``coded`` flag
    min_coded_segments: int = 0
    store: StoredContext | None = None    # the stored shared context, when read from one
    territory: str | None = None          # set: this context holds that territory's slice only
    _invariance: dict = field(default_factory=dict, repr=False)
    _masker: object = field(default=None, repr=False)
    _figures: tuple | None = field(default=None, repr=False)

    @property
    def territories(self) -> list[str]:
        return self.corpus.territories if self.corpus is not None else self.store.territories

    def _stored(self, name: str) -> pd.DataFrame:
        """A table of the stored context: this territory's slice, or the whole corpus's."""
        return self.store.read(name, territory=self.territory)

    # ------------------------------------------------------------ partial coding
    @cached_property
    def coverage(self) -> pd.DataFrame:
        """How much of each territory the analysed coder covered (documents, segments, share)."""
        if self.store is not None:
            return self.store.read("coverage")
        return coverage_table(self.segments, self.material, self.min_coded_segments)

    @property
    def coded_territories(self) -> list[str]:
        if self.store is not None:
            cov = self.coverage
            return sorted(cov.loc[cov["segments_coded"] > 0, "territory"])
        return sorted(self.material.segments["territory"].unique())

    @property
    def small_territories(self) -> list[str]:
        """Territories with too little coded material to be classed (balises.toml threshold)."""
        cov = self.coverage
        return cov.loc[cov["little_material"] & (cov["segments_coded"] > 0), "territory"].tolist()

    def is_coded(self, territory: str) -> bool:
        return territory in set(self.coded_territories)

    def other_coders(self, territory: str) -> list[str]:
        """Coders other than the analysed one(s) who coded documents of ``territory``."""
        if self.store is not None:
            return list(self.store.meta["other_coders"].get(territory, []))
        docs = {d for d, doc in self.corpus.documents.items() if doc.territory == territory}
        f, cov = self.codings.frame, self.codings.coverage
        who = set(f.loc[f["doc"].isin(docs), "coder"]) | set(cov.loc[cov["doc"].isin(docs), "coder"])
        return sorted(who - set(self.coders))

    def coder_line(self) -> str:
        """« Codeur analysé : A (règle : …) », printed at the top of every report."""
        rule = self.project.coder_rule() if self.project is not None else ""
        who = ", ".join(self.coders)
        label = "Codeur analysé" if len(self.coders) == 1 else "Codeurs analysés"
        return f"{label} : {who}" + (f" (règle : {rule})" if rule else "")

    def uncoded_sentence(self, territory: str) -> str:
        """Why a territory has no code table yet, in one French sentence."""
        others = self.other_coders(territory)
        who = ", ".join(self.coders)
        text = (f"{self.territory_label(territory)} n'a pas encore de codage retenu pour l'analyse "
                f"(codeur analysé : {who}) : ce rapport présente son matériau (documents, intervenants, "
                "vocabulaire), sans tableau de codes.")
        if others:
            text += (f" Des codages existent de la part de {', '.join(others)} ; ils entreront dans "
                     "l'analyse une fois retenus (consensus, ou codeur principal dans balises.toml).")
        return text

    def coverage_note(self) -> str:
        """A French note on what is not coded and on territories left out of the classification."""
        cov = self.coverage
        parts = []
        partly = cov[cov["segments_coded"] < cov["segments"]]
        if len(partly):
            parts.append("Codage partiel : seuls les segments codés entrent dans les tableaux de codes ("
                         + ", ".join(f"{self.territory_label(t)} {_pct(s)}"
                                     for t, s in zip(partly["territory"], partly["coded_share"].fillna(0)))
                         + " du territoire codé) ; le vocabulaire porte sur tout le matériau.")
        if self.small_territories:
            parts.append("Peu de matériau codé (moins de "
                         f"{self.min_coded_segments} segments) : "
                         + ", ".join(self.territory_label(t) for t in self.small_territories)
                         + " — signalé dans les tableaux et laissé hors du classement invariant / singulier.")
        return " ".join(parts)

    def territory_label(self, slug: str) -> str:
        return self.project.territory_label(slug) if self.project is not None else territory_label(slug)

    def coverage_shown(self, territories: list[str] | None = None) -> pd.DataFrame:
        """The coverage table with French headers and display names (for a report table)."""
        cov = self.coverage if territories is None else self.coverage[self.coverage["territory"].isin(territories)]
        out = cov.assign(territory=cov["territory"].map(self.territory_label),
                         little_material=cov["little_material"].map({True: "oui", False: ""}))
        return out.rename(columns={
            "territory": "territoire", "documents_coded": "documents codés", "segments_coded": "segments codés",
            "coded_share": "part codée", "little_material": "peu de matériau"})

    # ------------------------------------------------------------ codebook
    @cached_property
    def labels(self) -> dict[str, str]:
        return codebook_labels(self.codebook)

    @cached_property
    def dimension_labels(self) -> dict[str, str]:
        return dict(self.codebook.dimensions)

    @cached_property
    def documents(self) -> pd.DataFrame:
        if self.store is not None:
            return self._stored("documents")
        return documents_frame(self.corpus)

    # ------------------------------------------------------------ stored tables (shared context)
    @cached_property
    def profile(self) -> pd.DataFrame:
        """This territory's code profile against the others (:func:`analyse.analysis.profile.territory_profile`,
        with the invariance class and the territory's ``rank`` among the classed territories)."""
        return self._stored("profile").drop(columns="territory")

    @cached_property
    def code_spread(self) -> pd.DataFrame:
        """Each code's share over the territories, in quartiles (:func:`context_store.code_spread`)."""
        return self.store.read("code_spread")

    @cached_property
    def code_territory(self) -> pd.DataFrame:
        """:func:`analyse.analysis.invariants.code_territory_table` of every territory (synthesis)."""
        if self.store is not None:
            return self.store.read("code_territory")
        return code_territory_table(self.material, codes=list(self.codebook.codes))

    @cached_property
    def specificities(self) -> pd.DataFrame:
        """:func:`analyse.analysis.specificities.specificities` (this territory's rows, or all)."""
        if self.store is not None:
            return self._stored("specificities")
        from analyse.analysis.specificities import specificities
        return specificities(self.tokens, self.segments)

    @cached_property
    def risk_specificities(self) -> pd.DataFrame:
        """:func:`analyse.privacy.risk.risk_specificities` of the coded material (the synthesis' risk model)."""
        if self.store is not None and self.territory is None:
            return self.store.read("risk_specificities")
        from analyse.privacy.risk import risk_specificities
        return risk_specificities(self.tokens, self.material.segments)

    @cached_property
    def flesh(self) -> pd.DataFrame:
        """Every lemma of the flesh (:func:`analyse.analysis.specificities.territory_flesh`), ranked."""
        if self.store is not None:
            return self._stored("flesh")
        from analyse.analysis.specificities import territory_flesh
        return territory_flesh(self.specificities, n=10**9)

    @cached_property
    def entity_counts(self) -> pd.DataFrame:
        """:func:`analyse.analysis.specificities.entities_by_territory` (this territory's rows, or all)."""
        if self.store is not None:
            return self._stored("entity_counts")
        from analyse.analysis.specificities import entities_by_territory
        return entities_by_territory(self.entities, self.segments)

    # ------------------------------------------------------------ NLP frames
    @cached_property
    def _nlp(self):
        from analyse import nlp

        layer = nlp.NLPLayer(cache_dir=self.nlp_cache or nlp.default_cache_dir(self.corpus.root),
                             progress=False, conventions=self.conventions)
        return nlp, layer

    @property
    def conventions(self) -> tuple[str, ...]:
        return tuple(self.project.conventions) if self.project is not None else ()

    @cached_property
    def _aligned(self) -> Aligned:
        if self.store is not None:
            return Aligned(self.segments, self.material, self._stored("tokens"), self._stored("entities"))
        tokens, entities = self._frames
        return align(self.segments, self.material, tokens, entities)

    @cached_property
    def _frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        # tokens and entities come from one read of the cache
        nlp, layer = self._nlp
        return nlp.token_entity_frames(self.corpus, layer)

    @cached_property
    def tokens(self) -> pd.DataFrame:
        """Token table (segment, i, text, lemma, pos, is_stop, ent_type) of every segment, from the NLP cache."""
        return self._aligned.tokens

    @cached_property
    def entities(self) -> pd.DataFrame:
        """Entity table (segment, start_char, end_char, text, label) from the NLP cache."""
        return self._aligned.entities

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
        return self.pseudonymiser.apply(text, self.person_spans(segment, text), self.conventions)

    # ------------------------------------------------------------ figures
    def figure(self, name: str):
        """A figure of this report (:mod:`analyse.reporting.territory`: a territory's or the synthesis's),
        shown and saved by the report: drawn once per stored context and audience, read afterwards."""
        if self.store is None:
            from analyse.reporting.territory import draw
            return self.report.figure(draw(self, name), name)
        if self._figures is None:
            from analyse.reporting.territory import stored_figures
            self._figures = stored_figures(self)
        titles, folder = self._figures
        return self.report.image((folder / f"{name}.png").read_bytes(), name, titles[name] or name)

    # ------------------------------------------------------------ masking and risk (the synthesis)
    def masker(self):
        """The project's masker (:func:`analyse.privacy.masking.load_masker`), one per report.

        Read from the stored context, its results are memoised there (:mod:`analyse.reporting.masks`):
        spaCy's model is loaded only for a text no earlier run masked.
        """
        if self._masker is None:
            if self.store is not None and self.territory is None:
                from analyse.reporting.masks import memo_masker
                self._masker = memo_masker(self.project, self.store, self.corpus)
            else:
                from analyse.privacy.masking import load_masker
                self._masker = load_masker(self.project, self.corpus)
        return self._masker

    def light_masker(self):
        """The masker without spaCy's entities, for texts masked already (fiches): memoised with the stored
        context (:func:`analyse.reporting.masks.memo_light_masker`) when the report reads one."""
        if self.store is not None and self.territory is None:
            from analyse.reporting.masks import memo_light_masker
            return memo_light_masker(self.project, self.store, self.corpus)
        from analyse.privacy.masking import load_masker
        return load_masker(self.project, self.corpus, nlp=None)

    def risk_model(self, lexicon):
        """:func:`analyse.privacy.risk.corpus_risk_model` of the coded material (stored with the context,
        so that the whole token table is read only to build it once)."""
        if self.store is not None and self.territory is None:
            from analyse.reporting.masks import stored_risk_model
            return stored_risk_model(self.project, self.store, lexicon, lambda: self.tokens,
                                     self.material.segments, spec=self.risk_specificities)
        from analyse.privacy.risk import corpus_risk_model
        return corpus_risk_model(self.tokens, self.material.segments, lexicon, spec=self.risk_specificities)

    def check_territory(self, territory: str) -> str:
        """Fail early, in one clear line, on a territory absent from the corpus."""
        if territory not in self.territories:
            raise UsageError(msg("unknown_territory", territory=territory),
                             hint=msg("available", items=", ".join(self.territories)))
        return territory

    def for_audience(self, spec: pd.DataFrame) -> pd.DataFrame:
        """Vocabulary rows fit for the audience: for the groupe miroir, no proper
        nouns and no word that is a participant's name."""
        if not self.report.public:
            return spec
        names = spec["lemma"].map(self.pseudonymiser.is_name)
        return spec[(spec["pos"] != "PROPN") & ~names]

    # ------------------------------------------------------------ the method (invariants on intervals)
    @cached_property
    def reliability(self) -> pd.DataFrame | None:
        """Per-code reliability on the team's double-coded sample (None without one)."""
        if self.store is not None:
            rel = self.store.read("reliability")
            return None if rel.empty else rel
        from analyse.reliability.per_code import shared_sample_reliability
        coders = self.project.agreement_coders if self.project else ["A", "B"]
        threshold = self.project.thresholds().min_reliability if self.project else 0.667
        return shared_sample_reliability(self.corpus, self.codebook, self.codings, coders, threshold=threshold)

    def invariance(self, level: str = "code") -> pd.DataFrame:
        """:func:`analyse.analysis.invariants.invariance_table` with the project's rules, reliability and
        small-territory threshold: the one table every report shows (computed once per level)."""
        if level not in self._invariance and self.store is not None:
            self._invariance[level] = self.store.read(f"invariance_{level}")
        if level not in self._invariance:
            t = self.project.thresholds() if self.project else None
            method = self.project.settings["method"] if self.project else {"n_boot": 500, "n_perm": 999}
            labels = self.labels if level == "code" else self.dimension_labels
            self._invariance[level] = invariance_table(
                self.material, level=level, labels=labels, thresholds=t, n_boot=method["n_boot"],
                n_perm=method["n_perm"], reliability=self.reliability if level == "code" else None,
                min_coded_segments=self.min_coded_segments)
        return self._invariance[level]

    def class_counts(self, level: str = "code") -> pd.Series:
        """Codes per class, every class listed in the method's order (the report's headline)."""
        return self.invariance(level).groupby("class").size().reindex(list(CLASSES), fill_value=0)

    def saturation(self) -> pd.DataFrame:
        """New codes as documents are read in date order (:func:`analyse.analysis.invariants.saturation`)."""
        return saturation(self.material, self.documents)

    def problems_frame(self) -> pd.DataFrame:
        """Problems found in the inputs, with paths relative to the project (no local path in reports)."""
        frame = pd.DataFrame([p if isinstance(p, dict) else p.as_dict() for p in self.problems],
                             columns=["path", "line", "severity", "message", "hint"])
        if self.project is not None and len(frame):
            root = str(self.project.root.resolve()) + os.sep
            frame["path"] = frame["path"].astype(str).str.replace(root, "", regex=False)
        frame["severity"] = [msg(f"severity.{s}") for s in frame["severity"]]
        return frame


def _pct(share: float) -> str:
    return f"{100 * float(share):.0f} %"


def load_context(corpus_dir: str | Path = "../corpus", codebook_path: str | Path = "../codebook/balises.yaml",
                 codings_dir: str | Path | None = None, coders: list[str] | tuple[str, ...] | None = None,
                 audience: str = "chercheurs", out_dir: str | Path | None = None,
                 pseudonyms_path: str | Path | None = None, prefix: str = "",
                 nlp_cache: str | Path | None = None, territories: list[str] | None = None,
                 project_dir: str | Path | None = None, territory: str | None = None,
                 context_dir: str | Path | None = None, use_store: bool = False) -> Context:
    """Load and validate everything a report needs.

    Input problems (a bad document, a bad coding line) do not stop the
    report: they are kept in ``context.problems`` so the notebook can show
    them, and the valid material is used. With no ``coders``, the project's
    rule chooses (:meth:`analyse.project.Project.analysed_coder`). A coder
    who has coded nothing yet gives an empty material, not an error.

    With ``territory``, the context is that territory's slice of the stored
    shared context (:func:`analyse.reporting.context_store.ensure_context`:
    read from ``context_dir`` when the batch gives it, else found or built
    here, the same way); with ``use_store`` (the synthesis), the whole stored
    context is read, unless ``territories`` selects a subset.

    Examples
    --------
    >>> ctx = load_context("../corpus", "../codebook/balises.yaml", territory="le-mene")   # doctest: +SKIP
    >>> ctx.coder_line(), ctx.coverage                                                     # doctest: +SKIP
    """
    project = Project.load(project_dir if project_dir is not None else Path(corpus_dir).resolve().parent,
                           corpus_dir, codebook_path, codings_dir)
    set_territory_labels(project.territory_names())
    store = None
    if territory is not None or use_store:
        if context_dir:
            store = StoredContext.open(context_dir)
        else:
            store = ensure_context(project, list(coders) if coders else None)
        if territories and sorted(set(territories)) != sorted(store.territories):
            store = None            # a subset synthesis: computed below, on the chosen territories
    if pseudonyms_path is None and store is not None:
        pseudonyms_path = project.private_dir / "pseudonymes.json"
    if territory is not None:
        return _slice_context(project, store, territory, audience, out_dir, pseudonyms_path, prefix)
    available = CodingStore(project.codings_dir).coders()
    coders = list(coders or (store.meta["coders"] if store else [project.analysed_coder(available)]))
    full = load_corpus(project.corpus_dir)
    corpus = full
    book = load_codebook(project.codebook_path)
    # Codings are read against the whole corpus (a coder's lines about other territories are not
    # problems), then kept for the territories of this report.
    codings = load_codings(full, book, project.codings_dir)
    if territories and store is None:
        unknown = sorted(set(territories) - set(full.territories))
        if unknown:
            raise UsageError(msg("unknown_territories", territories=", ".join(unknown)),
                             hint=msg("available", items=", ".join(full.territories)))
        corpus = full.subset(list(territories))
        docs = set(corpus.documents)
        codings = Codings(frame=codings.frame[codings.frame["doc"].isin(docs)].reset_index(drop=True),
                          coverage=codings.coverage[codings.coverage["doc"].isin(docs)].reset_index(drop=True),
                          problems=codings.problems)
    if pseudonyms_path and Path(pseudonyms_path).exists():
        pseudonymiser = Pseudonymiser.read_mapping(pseudonyms_path)
    else:
        pseudonymiser = Pseudonymiser.from_corpus(corpus)
    if store is not None:
        material = Material(segments=store.read("material_segments"), codes=store.read("material_codes"),
                            coders=tuple(store.meta["coders"]), how=store.meta["how"],
                            notes=list(store.meta["material_notes"]))
        aligned = Aligned(segments=store.read("segments"), material=material)
    else:
        segments = segments_frame(corpus)
        aligned = align(segments, coded_material(corpus, codings, coders, strict=False)
                        .rolled_up(rollup_parents(book)))
    # Figures flag the territories with little coded material, wherever they show them.
    cov = (store.read("coverage") if store is not None
           else coverage_table(aligned.segments, aligned.material, project.min_coded_segments))
    _flag_small(project, cov, corpus.territories)
    report = Report(out_dir or None, audience=audience, pseudonymiser=pseudonymiser, prefix=prefix)
    problems = [*corpus.problems.errors, *codings.problems.errors]
    return Context(corpus=corpus, codebook=book, codings=codings, coders=coders, material=aligned.material,
                   report=report, pseudonymiser=pseudonymiser,
                   nlp_cache=Path(nlp_cache) if nlp_cache else None, problems=problems, project=project,
                   segments=aligned.segments, min_coded_segments=project.min_coded_segments, store=store)


@dataclass
class ReportSetup:
    """What a report that only reads a stored part needs (the themes report): the project, the stored
    shared context, the analysed coders and the :class:`Report` — no corpus, no codings, no frames."""

    project: Project
    store: StoredContext
    coders: list[str]
    report: Report

    def coder_line(self) -> str:
        """« Codeur analysé : A (règle : …) », as :meth:`Context.coder_line`."""
        label = "Codeur analysé" if len(self.coders) == 1 else "Codeurs analysés"
        return f"{label} : {', '.join(self.coders)} (règle : {self.project.coder_rule()})"


def load_report(corpus_dir: str | Path = "../corpus", codebook_path: str | Path = "../codebook/balises.yaml",
                codings_dir: str | Path | None = None, coders: list[str] | tuple[str, ...] | None = None,
                audience: str = "chercheurs", out_dir: str | Path | None = None,
                pseudonyms_path: str | Path | None = None, prefix: str = "",
                project_dir: str | Path | None = None, context_dir: str | Path | None = None) -> ReportSetup:
    """The project, its stored shared context (given by the batch, else found or built) and a report.

    For a notebook that reads what library code stored (:func:`analyse.reporting.themes.stored_themes`):
    nothing of the corpus is loaded when the context is stored.
    """
    project = Project.load(project_dir if project_dir is not None else Path(corpus_dir).resolve().parent,
                           corpus_dir, codebook_path, codings_dir)
    set_territory_labels(project.territory_names())
    store = (StoredContext.open(context_dir) if context_dir
             else ensure_context(project, list(coders) if coders else None))
    if pseudonyms_path is None:
        pseudonyms_path = project.private_dir / "pseudonymes.json"
    if Path(pseudonyms_path).exists():
        pseudonymiser = Pseudonymiser.read_mapping(pseudonyms_path)
    else:   # ensure_context writes it; a context given by path without it: from the corpus, never unmasked
        pseudonymiser = Pseudonymiser.from_corpus(load_corpus(project.corpus_dir))
    report = Report(out_dir or None, audience=audience, pseudonymiser=pseudonymiser, prefix=prefix)
    return ReportSetup(project, store, list(coders or store.meta["coders"]), report)


def _flag_small(project: Project, coverage: pd.DataFrame, territories: list[str]) -> None:
    small = set(coverage.loc[coverage["little_material"] & (coverage["segments_coded"] > 0), "territory"])
    set_territory_labels({t: project.territory_label(t) + (" (peu de matériau)" if t in small else "")
                          for t in territories})


def _slice_context(project: Project, store: StoredContext, territory: str, audience: str, out_dir,
                   pseudonyms_path, prefix: str) -> Context:
    """One territory's context: its slice of the stored context and the shared summaries, nothing else."""
    if territory not in store.territories:
        raise UsageError(msg("unknown_territory", territory=territory),
                         hint=msg("available", items=", ".join(store.territories)))
    meta = store.meta
    material = Material(segments=store.read("material_segments", territory),
                        codes=store.read("material_codes", territory), coders=tuple(meta["coders"]),
                        how=meta["how"], notes=list(meta["material_notes"]))
    if pseudonyms_path and Path(pseudonyms_path).exists():
        pseudonymiser = Pseudonymiser.read_mapping(pseudonyms_path)
    else:   # ensure_context writes it; a context given by path without it: from the corpus, never unmasked
        pseudonymiser = Pseudonymiser.from_corpus(load_corpus(project.corpus_dir))
    _flag_small(project, store.read("coverage"), store.territories)
    # the input problems of this territory's documents and of the shared files (codebook, coder files)
    corpus_rel = Path(os.path.relpath(project.corpus_dir.resolve(), project.root.resolve())).as_posix()
    elsewhere = tuple(f"{corpus_rel}/{t}/" for t in store.territories if t != territory)
    problems = [p for p in meta["problems"] if not str(p.get("path") or "").startswith(elsewhere)]
    report = Report(out_dir or None, audience=audience, pseudonymiser=pseudonymiser, prefix=prefix)
    return Context(corpus=None, codebook=load_codebook(project.codebook_path), codings=None,
                   coders=list(meta["coders"]), material=material, report=report, pseudonymiser=pseudonymiser,
                   problems=problems, project=project, segments=store.read("segments", territory),
                   min_coded_segments=int(meta["min_coded_segments"]), store=store, territory=territory)
