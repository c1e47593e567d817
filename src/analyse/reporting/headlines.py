"""The figures at the top of each report, computed by the library.

A notebook only formats them: a figure worked out inside a notebook cell is not
tested, and one was wrong (the agreement report divided the shared segments by
the number of codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from analyse.analysis.invariants import CLASSES
from analyse.reporting.context import Context
from analyse.reporting.labels import territory_label

if TYPE_CHECKING:
    from analyse.reliability.agreement import Reliability


@dataclass(frozen=True)
class AgreementHeadline:
    """What the agreement report opens with."""

    coders: list[str]
    documents: int          # documents every compared coder covered
    units: int              # compared units: shared segments (or documents at document level)
    level: str
    alpha: float            # pooled over the codes in play (NaN when undefined)
    kappa: float


@dataclass(frozen=True)
class SynthesisHeadline:
    """What the cross-territory synthesis opens with."""

    territories: list[str]  # display names
    coders: list[str]
    audience: str
    class_counts: dict[str, int] = field(default_factory=dict)   # class -> number of codes, in CLASSES order
    thresholds: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TerritoryHeadline:
    """What a territory report opens with."""

    territory: str
    name: str
    coders: list[str]
    audience: str
    documents: int
    segments: int
    words: int


def agreement_headline(rel: "Reliability", table: pd.DataFrame | None = None) -> AgreementHeadline:
    """Coders, shared documents and units, and the pooled alpha and kappa of ``rel``.

    ``table`` is :func:`~analyse.reliability.agreement.agreement_table` of ``rel``
    when the caller already has it (any grouping: the overall row is the same).
    """
    from analyse.reliability.agreement import OVERALL, agreement_table   # sklearn: only for this report

    table = agreement_table(rel, by="code") if table is None else table
    overall = table[table["group"] == OVERALL].iloc[0]
    return AgreementHeadline(coders=list(rel.coders), documents=len(rel.documents), units=len(rel.units),
                             level=rel.level, alpha=float(overall["alpha"]), kappa=float(overall["kappa"]))


def synthesis_headline(ctx: Context, invariance: pd.DataFrame | None, audience: str) -> SynthesisHeadline:
    """Territories, coders, and how many codes fall in each class of ``invariance``
    (:func:`~analyse.analysis.invariants.invariance_table`; None before it is computed)."""
    counts, thresholds = {}, {}
    if invariance is not None:
        counts = invariance.groupby("class").size().reindex(list(CLASSES), fill_value=0)
        counts = {k: int(v) for k, v in counts.items()}
        thresholds = dict(invariance.attrs.get("thresholds", {}))
    return SynthesisHeadline(territories=[territory_label(t) for t in ctx.territories], coders=list(ctx.coders),
                             audience=audience, class_counts=counts, thresholds=thresholds)


def territory_headline(ctx: Context, territory: str, audience: str) -> TerritoryHeadline:
    """A territory's name, the coders, and its documents, segments and words in the corpus (its speakers'
    segments, in its own documents and in inter-territory workshops)."""
    ctx.check_territory(territory)
    # what the territory's speakers said, inter-territory workshops included
    segments = ctx.segments[ctx.segments["territory"] == territory]
    docs = ctx.documents
    documents = set(segments["doc"]) | set(docs.loc[docs["territory"] == territory, "doc"])
    return TerritoryHeadline(territory=territory, name=territory_label(territory), coders=list(ctx.coders),
                             audience=audience, documents=len(documents), segments=len(segments),
                             words=int(segments["words"].sum()))
