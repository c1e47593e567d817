"""The agreement report's tables and figure, computed once per shared context and stored with it.

The agreement between two coders (:mod:`analyse.reliability.agreement`) takes seconds (hundreds of
kappas through scikit-learn, and its import); it depends only on the corpus, the codebook and the
coder files, which the shared context's key covers. :func:`stored_agreement` computes it once
(:func:`agreement_tables`) into a part of the stored context (:mod:`analyse.reporting.context_store`)
and the notebook only formats what it reads.

Examples
--------
>>> rep = stored_agreement(project, store, ["A", "B"])    # doctest: +SKIP
>>> rep.headline["alpha"], rep.tables["by_code"]          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

AGREEMENT_PART = "accord"
AGREEMENT_PART_FORMAT = 1
FIGURE = "alpha-par-code"
SAMPLE = 12        # disagreements shown as an extract
TOP_CODES = 15     # most discussed codes


@dataclass
class StoredAgreement:
    """What the agreement notebook shows: the headline numbers, the tables, the figure's PNG."""

    headline: dict
    tables: dict = field(default_factory=dict)
    figure_png: bytes = b""
    figure_title: str = ""

    def figure(self, report, name: str = FIGURE):
        """The stored figure shown and saved by ``report`` (:meth:`Report.image`)."""
        return report.image(self.figure_png, name, self.figure_title or name)


def agreement_tables(corpus, codebook, codings, coders: list[str]) -> tuple[dict, dict, dict]:
    """Everything the agreement report shows, as ``(meta, tables, files)`` to store.

    Tables: ``by_code``, ``by_dimension``, ``by_territory`` (segments), ``documents`` (presence in the
    document, by dimension), ``disputed`` (codes with the most disagreements) and ``disagreements``
    (the first ones, an extract).
    """
    from analyse.reliability import agreement, reconcile
    from analyse.reporting.headlines import agreement_headline
    from analyse.reporting.report import figure_png

    rel = agreement.reliability_data(codings, corpus, coders, codebook=codebook)
    by_code = agreement.agreement_table(rel, by="code")
    head = agreement_headline(rel, by_code)
    png, title = figure_png(agreement.plot_agreement(by_code, value="alpha"))
    doc_rel = agreement.reliability_data(codings, corpus, coders, codebook=codebook, level="document")
    dis = reconcile.disagreements(codings, corpus, coders, codebook=codebook)
    disputed = (dis.groupby(["code", "label"], sort=False).size().rename("désaccords").reset_index()
                .sort_values(["désaccords", "code"], ascending=[False, True]).head(TOP_CODES))
    tables = {"by_code": by_code, "by_dimension": agreement.agreement_table(rel, by="dimension"),
              "by_territory": agreement.agreement_table(rel, by="territory"),
              "documents": agreement.agreement_table(doc_rel, by="dimension"),
              "disputed": disputed, "disagreements": dis.head(SAMPLE)}
    meta = {"headline": {"coders": list(head.coders), "units": head.units, "documents": head.documents,
                         "alpha": head.alpha, "kappa": head.kappa},
            "figure_title": title}
    return meta, tables, {f"{FIGURE}.png": png}


def stored_agreement(project, store, coders: list[str]) -> StoredAgreement:
    """The agreement report between ``coders`` for ``store``'s inputs: read, or computed and stored first.

    What is returned is always read back from the store, so a first run and the next ones show the same.
    """
    from analyse.reporting.context_store import part_folder, read_part, write_part

    folder = part_folder(store, AGREEMENT_PART, {"format": AGREEMENT_PART_FORMAT, "coders": list(coders)})
    got = read_part(folder)
    if got is None:
        write_part(folder, *_compute(project, list(coders)))
        got = read_part(folder)
    meta, tables = got
    return StoredAgreement(meta["headline"], tables, (folder / f"{FIGURE}.png").read_bytes(),
                           meta.get("figure_title", ""))


def _compute(project, coders: list[str]):
    from analyse.reporting.context import load_context

    # as the notebook loaded them before the report was stored
    ctx = load_context(project.corpus_dir, project.codebook_path, project.codings_dir, coders, prefix="accord",
                       project_dir=project.root)
    return agreement_tables(ctx.corpus, ctx.codebook, ctx.codings, coders)
